"""The reading list (``cnn_course/__init__.py``'s docstring) says, for each notebook, exactly the
lesson modules it uses and the public names it takes from them."""

import importlib
import json
import re
from pathlib import Path

import pytest

import cnn_course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LESSONS = ("config", "downloads", "ops", "datasets", "images", "efficientnet", "models",
           "training", "memory", "plots", "animations", "panels", "exercises")


def used_names(path: Path) -> dict[str, set[str]]:
    """{module: public names} that notebook ``path``'s code takes from the lesson modules, by
    ``from cnn_course.m import a, b`` or ``from cnn_course import m [as x]`` then ``x.a``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    used: dict[str, set[str]] = {}
    for module, names in re.findall(r"from cnn_course\.(\w+) import ([^\n]+)", code):
        used.setdefault(module, set()).update(re.findall(r"\w+", names.split("#")[0]))
    for line in re.findall(r"from cnn_course import ([^\n]+)", code):
        for part in line.split("#")[0].strip("() ").split(","):
            module, _, alias = part.strip().partition(" as ")
            if module:
                names = re.findall(rf"(?<![\w.]){alias.strip() or module}\.(\w+)", code)
                used.setdefault(module, set()).update(names)
    public = {m: set(importlib.import_module(f"cnn_course.{m}").__all__) for m in LESSONS}
    return {m: used[m] & public[m] for m in LESSONS if used.get(m, set()) & public[m]}


def docstring_entries() -> dict[str, dict[str, set[str]]]:
    """{notebook number: {module: names}} from the package docstring's reading list."""
    entries: dict[str, dict[str, set[str]]] = {}
    current = module = None
    for line in cnn_course.__doc__.split("Reading list", 1)[1].splitlines():
        if match := re.match(r"^(\d\d[ab]?) · ", line):
            current = entries.setdefault(match[1], {})
        elif current is not None and (match := re.match(r"^    (\w+) +(.+)$", line)):
            module = match[1]
            current[module] = set(re.findall(r"\w+", match[2]))
        elif current is not None and module and re.match(r"^ {18}\S", line):
            current[module] |= set(re.findall(r"\w+", line))
    return entries


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_reading_list_says_what_each_notebook_uses(path: Path):
    used = used_names(path)
    number = path.name.split("_")[0]
    assert docstring_entries().get(number) == used, (
        f"cnn_course/__init__.py's reading list for {number} should read: "
        + "; ".join(f"{m}: {', '.join(sorted(n, key=str.lower))}" for m, n in used.items()))


def test_the_reading_list_follows_the_course_order():
    assert list(docstring_entries()) == [p.name.split("_")[0] for p in NOTEBOOKS]
