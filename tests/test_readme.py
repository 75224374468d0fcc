"""The README is a short door (what the course is, the students' start in Spanish first, the two
commands, the folder map, where each reader goes next) whose every pointer leads somewhere; the
public surface is declared once, in each module's ``__all__``, and every declared name exists."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MODULES = sorted(".".join(p.relative_to(ROOT / "cnn_course").with_suffix("").parts)
                 for p in (ROOT / "cnn_course").rglob("*.py")
                 if p.stem != "__init__" and (p.parent / "__init__.py").is_file())


def test_readme_is_short_and_starts_with_the_students():
    assert len(README.splitlines()) <= 200
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings[0] == "Para estudiantes (en español)", headings


def test_readme_holds_nothing_dated():
    """No dates, issue numbers or commit hashes: what changed when is git's job."""
    months = ("January|February|March|April|May|June|July|August|September|October|November|"
              "December|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
              "noviembre|diciembre")
    assert not re.search(rf"\b(?:{months}) \d{{1,2}}\b|\b\d{{1,2}} de (?:{months})\b|"
                         r"\b20\d\d-\d\d-\d\d\b", README)
    assert not re.search(r"\b[Ii]ssues? \d+|#\d+\b|\bPR \d+", README)
    assert not re.search(r"`[0-9a-f]{7,40}`", README)


def test_every_path_the_readme_names_exists():
    named = set(re.findall(r"`((?:docs|benchmarks|notebooks|cnn_course|tests|scripts)/[\w./-]*)`",
                           README))
    assert {"docs/guia_profesor.md", "benchmarks/README.md"} <= named
    missing = [p for p in sorted(named) if "..." not in p and not (ROOT / p).exists()]
    assert not missing, f"the README points at what is not there: {missing}"


def test_the_guides_it_points_to_exist_in_their_language():
    guide = (ROOT / "docs" / "guia_profesor.md").read_text(encoding="utf-8")
    for section in ("hojas", "proyector", "Calificar", "Publicar", "sin conexión"):
        assert re.search(rf"^## .*{section}", guide, re.M | re.I), section
    for name in ("library.md", "site.md", "grading.md"):
        assert f"`docs/{name}`" in README
        assert (ROOT / "docs" / name).read_text(encoding="utf-8").startswith("# ")


def declared(module: str) -> tuple[set[str], set[str]]:
    """The names in ``module.__all__`` and the names the module defines at its top level,
    read from the source (no import)."""
    path = ROOT / "cnn_course" / f"{module.replace('.', '/')}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    listed, defined = None, set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        defined.add(name.id)
                if getattr(target, "id", "") == "__all__":
                    listed = set(ast.literal_eval(node.value))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    assert listed is not None, f"cnn_course/{module}.py has no __all__"
    return listed, defined


@pytest.mark.parametrize("module", MODULES)
def test_every_module_declares_its_public_names_and_defines_them(module: str):
    listed, defined = declared(module)
    assert listed, f"cnn_course/{module}.py declares no public name"
    assert not listed - defined, f"{module}: in __all__ but not defined: {listed - defined}"
