"""The notebooks' exercise cells are generated from the @exercise records
(``cnn_course.tools.exercise_cells``): the committed notebooks are what the records give, and the
generator rewrites only its own cells, keeps outputs, and refuses a hand edit."""

import dataclasses
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from cnn_course import exercises
from cnn_course.exercises import EXERCISES
from cnn_course.tools import exercise_cells
from cnn_course.tools.exercise_cells import HandEdited, generate

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSON = NOTEBOOKS / "03_relleno_y_avance.ipynb"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_committed_notebooks_are_what_the_records_generate(name):
    """Nothing to change and nothing missing: every exercise the notebook lists has its cells."""
    assert generate(NOTEBOOKS / name, write=False) == []


def test_every_exercise_is_generated_somewhere():
    owned = set()
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if "exercise" in cell.metadata.get("cnn_course", {}):
                owned.add(cell.metadata["cnn_course"]["exercise"])
    assert owned == set(EXERCISES)


def test_statement_text():
    assert exercise_cells.statement_text(EXERCISES["03.1"]) == (
        "**Ejercicio 03.1** (número). El tamaño de salida de una imagen 32×32 con un núcleo 5×5, "
        "sin relleno y avance 1 (la primera capa de LeNet). Escribe la respuesta en "
        "`respuesta_03_1`.")
    question = exercise_cells.statement_text(EXERCISES["08.3"])
    assert question.startswith("**Ejercicio 08.3** (número). ¿Por cuánto se multiplica")
    assert "0,41? Escribe" in question
    assert exercise_cells.statement_text(EXERCISES["02.4"]).startswith(
        "**Ejercicio 02.4** (forma). La forma")
    noted = exercise_cells.statement_text(EXERCISES["03.4"])
    assert noted.startswith("**Ejercicio 03.4** (código). Una función tamano_salida")
    assert noted.endswith("`respuesta_03_4`.\n\n" + EXERCISES["03.4"].note)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _index(id: str, part: str) -> int:
    """Where exercise ``id``'s ``part`` cell is in the lesson notebook."""
    return next(i for i, c in enumerate(_cells(LESSON))
                if c["metadata"].get("cnn_course", {}) | {"hash": 0}
                == {"exercise": id, "part": part, "hash": 0})


def test_a_changed_record_rewrites_only_its_cell(tmp_path, monkeypatch):
    path = shutil.copy(LESSON, tmp_path / LESSON.name)
    before, i = _cells(path), _index("03.1", "statement")
    changed = dataclasses.replace(EXERCISES["03.1"], statement="otro enunciado")
    monkeypatch.setitem(exercises.EXERCISES, "03.1", changed)
    assert generate(path) == [f"cell {i} (03.1 statement)"]
    after = _cells(path)
    assert after[:i] + after[i + 1:] == before[:i] + before[i + 1:]
    assert "Otro enunciado." in "".join(after[i]["source"])
    assert after[i]["metadata"]["cnn_course"]["hash"] != before[i]["metadata"]["cnn_course"][
        "hash"]
    assert generate(path) == []


def test_a_hand_edit_is_refused_unless_forced(tmp_path):
    path = Path(shutil.copy(LESSON, tmp_path / LESSON.name))
    nb = nbformat.read(path, as_version=4)
    solution = next(c for c in nb.cells
                    if c.metadata.get("cnn_course", {}).get("part") == "solution")
    outputs, count = solution.outputs, solution.execution_count
    solution.source = "respuesta_03_1 = 28"
    nbformat.write(nb, path)
    edited = path.read_bytes()
    with pytest.raises(HandEdited, match=r"03\.1 solution\) was edited by hand.*--force"):
        generate(path)
    assert path.read_bytes() == edited
    assert exercise_cells.main(["--check", str(path)]) == 1
    i = _index("03.1", "solution")
    assert generate(path, force=True) == [f"cell {i} (03.1 solution)"]
    cell = nbformat.read(path, as_version=4).cells[i]
    assert cell.source == EXERCISES["03.1"].solution.strip()
    assert cell.outputs == outputs and cell.execution_count == count
    assert exercise_cells.main(["--check", str(path)]) == 0


def test_a_missing_cell_is_named_with_the_fix(tmp_path):
    path = Path(shutil.copy(LESSON, tmp_path / LESSON.name))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("cnn_course", {}).get("part") == "check":
            del cell.metadata["cnn_course"]
            break
    nbformat.write(nb, path)
    with pytest.raises(HandEdited, match=r'03\.1 has no check cell.*"part": "check"'):
        generate(path)


def test_an_empty_marked_cell_is_filled(tmp_path):
    """How a new exercise gets its cells: empty ones, marked, filled by the tool."""
    path = Path(shutil.copy(LESSON, tmp_path / LESSON.name))
    nb, i = nbformat.read(path, as_version=4), _index("03.1", "statement")
    nb.cells[i].source = ""
    del nb.cells[i].metadata["cnn_course"]["hash"]
    nbformat.write(nb, path)
    assert generate(path) == [f"cell {i} (03.1 statement)"]
    assert nbformat.read(path, as_version=4).cells[i].source == exercise_cells.statement_text(
        EXERCISES["03.1"])
