"""The notebooks' exercise cells, generated from the exercise registry (a maintainers' tool).

Each exercise's text is written once, in its ``@exercise(...)`` record in
``cnn_course/exercise_checks/``: statement, hint, solution and an optional note. The installed
package reads the record (``comprueba``, ``pista``, ``solucion``, the grader, the handouts'
placeholders); the notebooks' copies are generated from it by::

    python -m cnn_course.tools.exercise_cells notebooks/*.ipynb            # rewrite
    python -m cnn_course.tools.exercise_cells --check notebooks/*.ipynb    # exit 1 if stale

A generated cell carries ``metadata["cnn_course"] = {"exercise": "03.1", "part": ..., "hash":
...}``; ``part`` is one of ``PARTS``. The tool rewrites those cells' sources and nothing else:
every other cell, every output and execution count stays byte for byte. ``hash`` is the hash of
the source it last wrote, so a cell edited by hand since is noticed and the notebook refused
(edit the record instead, or pass ``--force`` to overwrite the hand edit). A notebook whose
metadata lists an exercise must hold that exercise's cells: a new exercise needs its cells added
once, empty, with that metadata (see ``docs/library.md``, Exercises); the tool fills them.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import nbformat

from ..exercises import EXERCISES, GRADED, Exercise
from .execute import write_notebook
from .handouts import is_solution_notebook, placeholder

__all__ = ["PARTS", "HandEdited", "cell_source", "generate", "main", "required_parts",
           "source_hash", "statement_text"]

PARTS = ("statement", "solution", "placeholder", "check")
# a statement that opens with an interrogative word (accented in Spanish) is a question
_QUESTION = re.compile(r"^(?:por |para |de |con |en )?(?:cuánt|qué|cuál|cómo|dónde|cuándo|quién)",
                       re.IGNORECASE)


class HandEdited(ValueError):
    """A notebook whose generated cells were edited by hand (or are missing)."""


def statement_text(exercise: Exercise) -> str:
    """The statement cell (markdown): ``**Ejercicio 03.1** (número). El tamaño ... Escribe la
    respuesta en `respuesta_03_1`.``, then the note, if any, as a paragraph of its own."""
    text = exercise.statement[0].upper() + exercise.statement[1:]
    sentence = f"¿{text}?" if _QUESTION.match(exercise.statement) else f"{text}."
    cell = (f"**Ejercicio {exercise.id}** ({exercise.kind}). {sentence} Escribe la respuesta en "
            f"`{exercise.answer}`.")
    return f"{cell}\n\n{exercise.note}" if exercise.note else cell


def cell_source(exercise: Exercise, part: str) -> str:
    """The source of ``exercise``'s cell ``part`` (one of ``PARTS``)."""
    if part == "statement":
        return statement_text(exercise)
    if part == "solution":
        return exercise.solution.strip()
    if part == "placeholder":           # the graded notebook (06a) holds what a handout holds
        return placeholder(exercise.solution).rstrip("\n")
    if part == "check":
        return f'comprueba("{exercise.id}", {exercise.answer})'
    raise ValueError(f"unknown part {part!r}; the parts are {', '.join(PARTS)}")


def required_parts(nb: nbformat.NotebookNode, exercise: Exercise) -> tuple[str, ...]:
    """The generated cells a notebook holds for ``exercise``: statement, solution and check; the
    graded notebook (06a) a placeholder and the check; its solution notebook (06b), which solves
    the exercises in its own words, on its own model, only the check."""
    if is_solution_notebook(nb):
        return ("check",)
    if exercise.notebook in GRADED:
        return ("placeholder", "check")
    return ("statement", "solution", "check")


def source_hash(source: str) -> str:
    """The short hash a generated cell keeps of the source the tool wrote into it."""
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def _owned(nb: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    return [(i, cell.metadata["cnn_course"]) for i, cell in enumerate(nb.cells)
            if isinstance(cell.metadata.get("cnn_course"), dict)
            and "exercise" in cell.metadata["cnn_course"]]


def _problems(nb: nbformat.NotebookNode, force: bool) -> list[str]:
    """What stops generation: unknown ids or parts, missing or doubled cells, hand edits."""
    problems, seen = [], set()
    listed = nb.metadata.get("cnn_course", {}).get("exercises", [])
    for i, owner in _owned(nb):
        id, part = owner.get("exercise"), owner.get("part")
        if id not in EXERCISES or id not in listed:
            problems.append(f"cell {i}: exercise {id!r} is not one of this notebook's {listed}")
        elif part not in required_parts(nb, EXERCISES[id]):
            problems.append(f"cell {i}: part {part!r} does not belong in this notebook "
                            f"(expected {', '.join(required_parts(nb, EXERCISES[id]))})")
        elif (id, part) in seen:
            problems.append(f"cell {i}: a second {part} cell for exercise {id}")
        elif (not force and "hash" in owner
              and source_hash(nb.cells[i].source) != owner["hash"]):
            problems.append(f"cell {i} ({id} {part}) was edited by hand since it was generated: "
                            f"edit the @exercise record of {id} instead, or pass --force to "
                            f"overwrite the edit")
        seen.add((id, part))
    for id in listed:
        for part in required_parts(nb, EXERCISES[id]) if id in EXERCISES else ():
            if (id, part) not in seen:
                problems.append(f"exercise {id} has no {part} cell: add an empty cell where it "
                                f'goes with metadata {{"cnn_course": {{"exercise": "{id}", '
                                f'"part": "{part}"}}}} and run the tool again')
    return problems


def generate(path: Path | str, force: bool = False, write: bool = True) -> list[str]:
    """Regenerate the exercise cells of notebook ``path`` from the registry and return what
    changed ("cell 37 (03.1 statement)"); write the file only if something did and ``write``.
    Raise ``HandEdited`` (nothing written) if a generated cell was edited by hand, unless
    ``force``, or if a cell is missing or misplaced."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    problems = _problems(nb, force)
    if problems:
        raise HandEdited(f"{path}: nothing written:\n  " + "\n  ".join(problems))
    changed = []
    for i, owner in _owned(nb):
        cell, id, part = nb.cells[i], owner["exercise"], owner["part"]
        source = cell_source(EXERCISES[id], part)
        if cell.source != source or owner.get("hash") != source_hash(source):
            cell.source = source
            cell.metadata["cnn_course"] = {"exercise": id, "part": part,
                                           "hash": source_hash(source)}
            changed.append(f"cell {i} ({id} {part})")
    if changed and write:
        write_notebook(nb, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnn_course.tools.exercise_cells",
        description="Regenerate the notebooks' exercise cells from the @exercise records.")
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook is not what the records give")
    parser.add_argument("--force", action="store_true",
                        help="overwrite generated cells that were edited by hand")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        try:
            changed = generate(path, force=args.force, write=not args.check)
        except HandEdited as problem:
            print(problem, file=sys.stderr)
            status = 1
            continue
        if changed:
            verb = "would change" if args.check else "rewrote"
            print(f"{path}: {verb} {', '.join(changed)}")
            status = status or int(args.check)
    return status


if __name__ == "__main__":
    sys.exit(main())
