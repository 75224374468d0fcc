"""Handouts: the students' version of the notebooks, with the solutions removed."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor

from .. import config
from .course_map import course_map, default_notebooks_dir
from .execute import write_notebook

__all__ = ["SOLUTION_TAG", "STUDENT_PLACEHOLDER", "RemoveSolutions", "make_handout",
           "make_handouts", "student_cell"]

SOLUTION_TAG = "solution"
STUDENT_PLACEHOLDER = "# tu código aquí\n"
_SOLUTION_DETAILS = re.compile(
    r"<details[^>]*>\s*<summary[^>]*>\s*Soluci(?:ón|ones|on)\b.*?</details>[ \t]*\n?",
    re.DOTALL | re.IGNORECASE)


class RemoveSolutions(Preprocessor):
    """The students' version of a notebook: code cells tagged ``solution`` become an empty
    ``# tu código aquí`` cell, markdown cells tagged ``solution`` go, and ``<details>`` blocks
    whose summary says Solución/Soluciones are cut out of markdown cells."""

    def preprocess(self, nb, resources):
        nb.cells = [kept for cell in nb.cells if (kept := student_cell(cell)) is not None]
        return nb, resources


def student_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """One cell as students get it (see RemoveSolutions), or None when nothing of it is left."""
    solution = SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
    if solution and cell.cell_type == "code":
        blank = nbformat.v4.new_code_cell(STUDENT_PLACEHOLDER)
        if "id" in cell:
            blank.id = cell.id
        return blank
    if solution:
        return None
    if cell.cell_type == "markdown":
        source, found = _SOLUTION_DETAILS.subn("", cell.source)
        if found:
            cell.source = re.sub(r"\n{3,}", "\n\n", source).strip()
            return cell if cell.source else None
    return cell


def make_handout(source: Path | str, target: Path | str) -> Path:
    """Write the students' version of notebook ``source`` to ``target`` (see RemoveSolutions)."""
    nb = nbformat.read(source, as_version=4)
    nb, _ = RemoveSolutions().preprocess(nb, {})
    nbformat.validate(nb)
    return write_notebook(nb, Path(target))


def make_handouts(out: Path | str | None = None,
                  notebooks_dir: Path | str | None = None) -> list[Path]:
    """Write the students' version of every notebook in ``notebooks_dir`` into ``out`` (default
    ``<project>/handouts``, replacing handouts of the same name); returns their paths."""
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    out = Path(out) if out else config.project_root() / "handouts"
    if out.resolve() == folder.resolve():
        raise ValueError(f"los cuadernos de estudiante sobrescribirían los de {folder}; "
                         "elige otra carpeta con --out.")
    return [make_handout(p, out / p.name) for p in (i.path for i in course_map(folder))]
