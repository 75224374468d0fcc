"""Handouts: the students' version of the notebooks, with the solutions removed.

Each exercise's solution cell (tagged ``solution``) becomes ``respuesta_03_1 = ...  # what to
write``, so its check prints "sin resolver todavía"; folded Soluciones blocks go; a solution
notebook (06b, whose exercises are another notebook's) gets no handout: 06a is its handout.
A handout remembers a hash of its cells, so running ``cnn-course handout`` again refreshes an
untouched handout but never overwrites one a student has changed: the new one goes beside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor

from .. import config
from ..exercises import EXERCISES
from .course_map import course_map, default_notebooks_dir
from .execute import write_notebook

__all__ = ["NEW_SUFFIX", "SOLUTION_TAG", "STUDENT_PLACEHOLDER", "HandoutsWritten",
           "RemoveSolutions", "cells_hash", "is_solution_notebook", "make_handout",
           "make_handouts", "placeholder", "student_cell"]

SOLUTION_TAG = "solution"
STUDENT_PLACEHOLDER = "# tu código aquí\n"
NEW_SUFFIX = ".nuevo.ipynb"
_SOLUTION_DETAILS = re.compile(
    r"<details[^>]*>\s*<summary[^>]*>\s*Soluci(?:ón|ones|on)\b.*?</details>[ \t]*\n?",
    re.DOTALL | re.IGNORECASE)
_ANSWER = re.compile(r"^(respuesta_\w+)\s*=", re.MULTILINE)
_BY_ANSWER = {e.answer: e for e in EXERCISES.values()}


class RemoveSolutions(Preprocessor):
    """The students' version of a notebook: code cells tagged ``solution`` become a placeholder
    (see ``placeholder``), markdown cells tagged ``solution`` go, ``<details>`` blocks whose
    summary says Solución/Soluciones are cut out of markdown cells, and the checks' stored
    verdicts are cleared."""

    def preprocess(self, nb, resources):
        nb.cells = [kept for cell in nb.cells if (kept := student_cell(cell)) is not None]
        identity = dict(nb.metadata.get("cnn_course", {}))
        nb.metadata["cnn_course"] = identity | {"version": "hoja"}
        return nb, resources


def placeholder(solution: str) -> str:
    """What replaces a solution cell: ``respuesta_03_1 = ...  # <what to write>`` for an
    exercise's answer (a long statement goes on comment lines above), so that its check says
    "sin resolver todavía"; any other solution cell becomes ``# tu código aquí``."""
    lines = []
    for name in _ANSWER.findall(solution):
        if (e := _BY_ANSWER.get(name)) is None:
            continue
        line = f"{e.answer} = ...  # {e.statement}"
        if len(line) > 99:       # the statement above, wrapped, and the answer below
            line = "\n".join(textwrap.wrap(e.statement, 97, initial_indent="# ",
                                            subsequent_indent="# ")) + f"\n{e.answer} = ..."
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else STUDENT_PLACEHOLDER


def student_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """One cell as students get it (see RemoveSolutions), or None when nothing of it is left."""
    solution = SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
    if solution and cell.cell_type == "code":
        blank = nbformat.v4.new_code_cell(placeholder(cell.source))
        if "id" in cell:
            blank.id = cell.id
        return blank
    if solution:
        return None
    if cell.cell_type == "code" and "comprueba(" in cell.source:
        cell.outputs, cell.execution_count = [], None     # the course's verdict is not theirs
    if cell.cell_type == "markdown":
        source, found = _SOLUTION_DETAILS.subn("", cell.source)
        if found:
            cell.source = re.sub(r"\n{3,}", "\n\n", source).strip()
            return cell if cell.source else None
    return cell


def is_solution_notebook(nb: nbformat.NotebookNode) -> bool:
    """True for a notebook that solves another one's exercises (06b solves 06a's): it gets no
    handout, since the other notebook is its handout."""
    identity = nb.metadata.get("cnn_course", {})
    return any(not i.startswith(identity.get("notebook", "") + ".")
               for i in identity.get("exercises", []))


def cells_hash(nb: nbformat.NotebookNode) -> str:
    """A hash of a notebook's cells (sources, outputs, everything): stored in a handout's
    metadata when written, it tells later whether a student has changed the file."""
    cells = json.dumps(nb.get("cells", []), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(cells.encode()).hexdigest()


def make_handout(source: Path | str, target: Path | str) -> Path:
    """Write the students' version of notebook ``source`` to ``target`` (see RemoveSolutions),
    with its cells' hash in ``metadata["cnn_course"]["hash"]``."""
    nb = nbformat.read(source, as_version=4)
    nb, _ = RemoveSolutions().preprocess(nb, {})
    nb.metadata["cnn_course"]["hash"] = cells_hash(nb)
    nbformat.validate(nb)
    return write_notebook(nb, Path(target))


def _untouched(path: Path) -> bool:
    """True when ``path`` does not exist or is a handout nobody changed since it was written."""
    if not path.exists():
        return True
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return False
    return nb.metadata.get("cnn_course", {}).get("hash") == cells_hash(nb)


class HandoutsWritten(list):
    """The handouts written (paths), and ``beside``: {changed notebook: the new handout}."""

    def __init__(self, paths=(), beside: dict[Path, Path] | None = None):
        super().__init__(paths)
        self.beside = beside or {}


def make_handouts(out: Path | str | None = None,
                  notebooks_dir: Path | str | None = None) -> HandoutsWritten:
    """Write the students' version of every notebook in ``notebooks_dir`` into ``out`` (default
    ``<project>/handouts``). An existing handout is refreshed only if nobody changed it; a
    changed one stays as it is and the new handout goes beside it (``NN_x.nuevo.ipynb``). If
    that one was changed too, nothing is written and a ValueError says which."""
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    out = Path(out) if out else config.project_root() / "handouts"
    if out.resolve() == folder.resolve():
        raise ValueError(f"the handouts would overwrite the notebooks in {folder}; "
                         "choose another --out folder.")
    plan, beside = [], {}
    for info in course_map(folder):
        if is_solution_notebook(nbformat.read(info.path, as_version=4)):
            continue
        target = out / info.path.name
        if not _untouched(target):
            new = target.with_name(target.stem + NEW_SUFFIX)
            if not _untouched(new):
                raise ValueError(f"{target} y {new} tienen cambios tuyos: no se sobrescribe "
                                 f"ninguno. Cambia de nombre uno de ellos (o usa otra carpeta "
                                 f"--out) y vuelve a ejecutar cnn-course handout.")
            beside[target] = new
            target = new
        plan.append((info.path, target))
    return HandoutsWritten([make_handout(src, dst) for src, dst in plan], beside)
