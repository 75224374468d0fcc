"""The README's library table lists exactly each module's ``__all__`` (issue 10: the public
surface declared in one place a student reads)."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(".".join(p.relative_to(ROOT / "cnn_course").with_suffix("").parts)
                 for p in (ROOT / "cnn_course").rglob("*.py")
                 if p.stem != "__init__" and (p.parent / "__init__.py").is_file())


def declared(module: str) -> set[str]:
    """The names in ``module.__all__``, read from the source (no import)."""
    path = ROOT / "cnn_course" / f"{module.replace('.', '/')}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"cnn_course/{module}.py has no __all__")


def readme_rows() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The library", 1)[1].split("\n\n", 2)[1]
    return {m[1]: m[2] for m in re.finditer(r"^\| `([\w.]+)` \| (.*) \|$", table, re.M)}


@pytest.mark.parametrize("module", MODULES)
def test_readme_library_table_lists_exactly_all(module: str):
    rows = readme_rows()
    assert module in rows, f"README's library table has no row for {module}"
    listed = set(re.findall(r"`(\w+)(?:\(|`)", rows[module]))
    names = declared(module)
    assert not names - listed, f"{module}: in __all__ but not in the README: {names - listed}"
    assert not listed - names, f"{module}: in the README but not in __all__: {listed - names}"
