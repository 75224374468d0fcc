"""Back-links: every lesson function or class a notebook uses names that notebook in its docstring
("Notebook 06b." / "Notebooks 02, 03."), and names no notebook that has stopped using it.

A notebook *uses* ``module.name`` (after ``from cnn_course import module``) or ``name`` (after
``from cnn_course.module import name``) in its code cells. Lesson modules only: ``cnn_course.tools``
is not taught. Constants and instances (``EVAL_BATCH_SIZE``, ``EXERCISE``) have no docstring of
their own and are left out.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import cnn_course

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
LESSON_MODULES = sorted(m.name for m in pkgutil.iter_modules(cnn_course.__path__)
                        if not m.ispkg)
# "Notebook 06b." or "Notebooks 02, 03, 06b." (a sentence of its own, so prose such as
# "notebook 07's random backbone" is not a back-link)
BACKLINK = re.compile(r"\bNotebooks? (\d\d[ab]?(?:,\s+\d\d[ab]?)*)\.")


def notebook_label(path: Path) -> str:
    """``06b_ejercicio_solucion.ipynb`` -> ``06b``."""
    return path.name.split("_", 1)[0]


def cell_tree(source: str) -> ast.Module | None:
    """A code cell parsed as Python, IPython magics and shell lines left out."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:  # a cell that is not Python (a deliberate error shown to the student)
        return None


def used_names(trees: list[ast.Module]) -> set[tuple[str, str]]:
    """(module, name) of every lesson name the cells of one notebook use (an import in one cell
    serves the cells after it)."""
    aliases: dict[str, str] = {}  # local name -> lesson module
    used: set[tuple[str, str]] = set()
    nodes = [node for tree in trees for node in ast.walk(tree)]
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module == "cnn_course":
            for alias in node.names:
                if alias.name in LESSON_MODULES:
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnn_course."):
            module = node.module.split(".", 1)[1]
            if module in LESSON_MODULES:
                used.update((module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module = alias.name.removeprefix("cnn_course.")
                if alias.name.startswith("cnn_course.") and module in LESSON_MODULES:
                    aliases[alias.asname or alias.name] = module
    for node in nodes:
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            used.add((aliases[node.value.id], node.attr))
    return used


def notebook_uses() -> dict[tuple[str, str], set[str]]:
    """(module, name) -> labels of the notebooks that use it, across all notebooks."""
    uses: dict[tuple[str, str], set[str]] = {}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        trees = [cell_tree("".join(cell["source"])) for cell in cells
                 if cell["cell_type"] == "code"]
        for key in used_names([tree for tree in trees if tree is not None]):
            uses.setdefault(key, set()).add(notebook_label(path))
    return uses


def documented(obj) -> bool:
    """A function or class: something with a docstring of its own."""
    return inspect.isfunction(obj) or inspect.isclass(obj)


def backlinks(obj) -> set[str]:
    """The notebook labels that ``obj``'s docstring names."""
    return {label for match in BACKLINK.finditer(inspect.getdoc(obj) or "")
            for label in re.split(r",\s+", match.group(1))}


def test_the_parser_finds_both_import_styles():
    trees = [ast.parse("from cnn_course import training as t, models\n"
                       "from cnn_course.datasets import TensorBatches\n"
                       "import cnn_course.tools.cli\n"),
             ast.parse("t.fit(models.FashionCNN(), x)\n")]
    assert used_names(trees) == {("training", "fit"), ("models", "FashionCNN"),
                                ("datasets", "TensorBatches")}
    assert backlinks(test_the_parser_finds_both_import_styles) == set()


def test_every_used_name_names_its_notebooks_and_only_those():
    uses = notebook_uses()
    assert uses, "no notebook uses the library? the parser is broken"
    problems = []
    for (module_name, name), labels in sorted(uses.items()):
        module = importlib.import_module(f"cnn_course.{module_name}")
        obj = getattr(module, name, None)
        if obj is None:
            problems.append(f"{module_name}.{name}: used by notebook(s) {sorted(labels)} but "
                            "cnn_course has no such name")
        elif documented(obj) and name in module.__all__ and backlinks(obj) != labels:
            problems.append(f"{module_name}.{name}: its docstring names notebooks "
                            f"{sorted(backlinks(obj))}, the notebooks use it in "
                            f"{sorted(labels)}")
    for module_name in LESSON_MODULES:
        module = importlib.import_module(f"cnn_course.{module_name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (documented(obj) and backlinks(obj) and (module_name, name) not in uses
                    and obj.__module__ == module.__name__):
                problems.append(f"{module_name}.{name}: its docstring names notebooks "
                                f"{sorted(backlinks(obj))}, but no notebook uses it")
    assert not problems, ("Write 'Notebook NN.' / 'Notebooks NN, MM.' in each docstring:\n"
                          + "\n".join(problems))
