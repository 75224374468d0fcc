"""`cnn-course grade` on a made-up class: small notebooks generated here with notebook 03's
exercises (pure arithmetic and one small function: cheap to run), graded once for the module."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnn_course import config, exercises
from cnn_course.tools import cli
from cnn_course.tools.grade import GradingError, grade_class, load_instructor_checks, student_name
from cnn_course.tools.grade_report import GRADING_MARKER, read_csv

EXERCISES_03 = exercises.exercises_of("03")
IDS_03 = [e.id for e in EXERCISES_03]
TIMEOUT = 40  # seconds per notebook: enough to import torch on a busy 2-core machine
CORES = len(os.sched_getaffinity(0))
# An instructor's checks receive the notebook's plain-data variables, in the grader's process:
# here `entorno`, which the honest notebooks below record from inside their kernel.
CHECKS = f'''\
POINTS = {{"check_03_primera": 0.5, "check_03_entorno": 0}}


def check_03_primera(ns):
    return None if ns.get("respuesta_03_1") == 28 else "la primera respuesta no es 28"


def check_03_entorno(ns):  # where the grader ran this notebook: the threads split, quick mode
    env = ns.get("entorno") or {{}}
    if env.get("hilos") != {max(1, CORES // 2)} or env.get("rapido") != "1":
        return f"{{env.get('hilos')}} hilos, rápido={{env.get('rapido')}}"
    data, cwd = env.get("datos", ""), env.get("cwd", "")
    if data == {str(config.data_dir())!r} or not env.get("datos_es_carpeta") or "trabajo" in data:
        return "carpeta de datos " + data
    if cwd == data or not cwd.endswith("/trabajo") or env.get("home") == {str(Path.home())!r}:
        return "carpeta de trabajo " + cwd
'''
ENV = """\
import os, torch
entorno = {"hilos": torch.get_num_threads(), "rapido": os.environ.get("CNN_COURSE_QUICK"),
           "datos": os.environ["CNN_COURSE_DATA"], "cwd": os.getcwd(), "home": os.environ["HOME"],
           "datos_es_carpeta": os.path.isdir(os.environ["CNN_COURSE_DATA"])}"""


def _notebook(path: Path, cells: list[str], notebook: str | None = "03",
              outputs: dict[int, str] | None = None) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# Ejercicios")]
                      + [new_code_cell(source) for source in cells])
    for index, text in (outputs or {}).items():
        nb.cells[index + 1].outputs = [new_output("stream", name="stdout", text=text)]
    if notebook:
        nb.metadata["cnn_course"] = {"notebook": notebook, "exercises": IDS_03, "version": "hoja"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _solution(e) -> str:
    return e.solution


def _checks() -> list[str]:
    return [f"comprueba({e.id!r}, {e.answer})" for e in EXERCISES_03]


IMPORT = "from cnn_course.exercises import comprueba\n" + ENV
DIE = "import os\nos._exit(1)"  # the kernel ends, as on running out of memory
READ_NONCE = """\
import glob, json, os, sys, types  # with the grader's nonce, stand in for its private package
for spec in glob.glob(os.path.join(os.getcwd(), "..", "*", "spec.json")):
    name = "_cnn_course_grader_" + json.load(open(spec))["nonce"]
    class Passed:
        status, message = "correcto", "✔ Correcto"
    fake = types.ModuleType(name + ".exercises")
    fake.check_namespace = lambda id, ns: Passed()
    sys.modules[name], sys.modules[name + ".exercises"] = types.ModuleType(name), fake
"""


def _class(folder: Path) -> list[Path]:
    """The made-up class: one submission per kind of trouble a grader meets."""
    full = [IMPORT, *(_solution(e) for e in EXERCISES_03), *_checks()]
    partial = [IMPORT, _solution(EXERCISES_03[0]), _solution(EXERCISES_03[3]),
               *(f"{e.answer} = ..." for e in EXERCISES_03[1:3]), *_checks()]
    raises = [IMPORT, "1 / 0", _solution(EXERCISES_03[0]), "respuesta_03_2 = sin_definir",
              _solution(EXERCISES_03[2])]
    loops = [ENV, _solution(EXERCISES_03[0]), "while True:\n    pass", _solution(EXERCISES_03[1])]
    forged = [
        "def comprueba(*args):\n    print('✔ Correcto')",
        "import cnn_course.exercises as ex\n"
        "ex.check_namespace = lambda id, ns: ex.Result(id, 'correcto', '✔ Correcto')\n"
        "ex.check = lambda id, answer: ex.Result(id, 'correcto', '✔ Correcto')",
        *(f"{e.answer} = 0" for e in EXERCISES_03[:3]),
        "from cnn_course.ops import output_size as respuesta_03_4",
        READ_NONCE,
        "import os\nfrom cnn_course import config\n"
        "(config.data_dir() / 'marca.txt').write_text('x')\nopen('escrito.txt', 'w').write('x')",
        *_checks()]
    stored = {i: "✔ Correcto\n" for i in range(len(forged) - 4, len(forged))}
    moodle = folder / "Ana García_12345_assignsubmission_file_"
    subs = [_notebook(folder / "completa.ipynb", full),
            _notebook(folder / "parcial.ipynb", partial),
            _notebook(folder / "lanza.ipynb", raises),
            _notebook(folder / "bucle.ipynb", loops),
            _notebook(folder / "muere.ipynb", [_solution(EXERCISES_03[0]), DIE]),
            _notebook(folder / "falsificada.ipynb", forged, outputs=stored),
            moodle]
    # renamed (identity from metadata), with the student's own module beside it
    _notebook(moodle / "entrega final (1).ipynb",
              [IMPORT, "from utilidades import TAMANO as respuesta_03_1", *full[2:]])
    (moodle / "utilidades.py").write_text("TAMANO = (32 - 5) // 1 + 1\n")
    _notebook(moodle / "borrador.ipynb", full[:2], notebook=None)  # not the course's
    (folder / "vacia.ipynb").write_text("")
    (folder / "texto.ipynb").write_text("esto no es un cuaderno\n")
    return [*subs, folder / "vacia.ipynb", folder / "texto.ipynb"]


def _digest(paths: list[Path]) -> dict[str, str]:
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*")))]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("clase")
    subs = _class(root / "entregas")
    checks = root / "comprobaciones.py"
    checks.write_text(CHECKS)
    before = _digest(subs)
    data_before = sorted(p.name for p in config.data_dir().rglob("*"))
    out = root / "notas"
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "7"  # what the grader must not pass on to the kernels
    try:
        summary = grade_class(subs, out, timeout=TIMEOUT, jobs=2, checks=checks,
                              progress=lambda line: None)
    finally:
        os.environ.pop("OMP_NUM_THREADS")
        if threads is not None:
            os.environ["OMP_NUM_THREADS"] = threads
    rows = read_csv(out / "grades.csv")
    grades = {(r["submission"], r["exercise"]): r for r in rows}
    return {"out": out, "rows": rows, "grades": grades, "summary": summary, "subs": subs,
            "unchanged": _digest(subs) == before, "root": root,
            "data_unchanged": sorted(p.name for p in config.data_dir().rglob("*")) == data_before}


def _passed(graded, student: str) -> dict[str, bool]:
    return {r["exercise"]: r["passed"] == "1" for r in graded["rows"]
            if r["submission"] == student}


def test_every_submission_gets_a_row_per_exercise_and_check(graded):
    with open(graded["out"] / "grades.csv", encoding="utf-8") as f:  # BOM, ";": any spreadsheet
        assert f.readline().strip() == ("\ufeffsubmission;notebook;exercise;passed;points;"
                                        "reason;aviso")
    students = {"completa", "parcial", "lanza", "bucle", "muere", "falsificada", "Ana García",
                "vacia", "texto"}
    expected = {(s, x) for s in students
                for x in [*IDS_03, "check_03_primera", "check_03_entorno"]}
    assert set(graded["grades"]) == expected and len(graded["rows"]) == len(expected)
    assert {name for name, _, _ in graded["summary"]} == students


def test_full_solution_and_renamed_folder_pass_everything(graded):
    for student in ("completa", "Ana García"):
        assert all(_passed(graded, student).values()), _passed(graded, student)
    totals = {name: (total, top) for name, total, top in graded["summary"]}
    assert totals["completa"] == (4.5, 4.5)
    summary = {r["submission"]: r for r in read_csv(graded["out"] / "resumen.csv")}
    assert summary["Ana García"]["total"] == "4,5" and summary["parcial"]["maximum"] == "4,5"


def test_partial_earns_only_what_it_answered(graded):
    passed = _passed(graded, "parcial")
    assert passed == {IDS_03[0]: True, IDS_03[1]: False, IDS_03[2]: False, IDS_03[3]: True,
                      "check_03_primera": True, "check_03_entorno": True}
    assert graded["grades"]["parcial", IDS_03[1]]["reason"].startswith("sin resolver todavía")


def test_a_cell_that_raises_costs_only_its_exercise(graded):
    passed = _passed(graded, "lanza")
    assert passed[IDS_03[0]] and passed[IDS_03[2]]  # answered after the ZeroDivisionError
    assert not passed[IDS_03[1]] and not passed[IDS_03[3]]
    assert "NameError" in graded["grades"]["lanza", IDS_03[1]]["reason"]  # its own cell's error
    feedback = (graded["out"] / "informes" / "lanza.md").read_text()
    assert "ZeroDivisionError" in feedback and "NameError" in feedback


def test_a_notebook_that_never_ends_is_stopped_and_says_so(graded):
    passed = _passed(graded, "bucle")
    assert passed[IDS_03[0]] and not passed[IDS_03[1]]
    reason = graded["grades"]["bucle", IDS_03[1]]["reason"]
    assert f"límite de tiempo ({TIMEOUT} s)" in reason and "while True" in reason


def test_each_kernel_runs_quick_with_its_share_of_threads_and_its_own_folders(graded):
    for student in ("completa", "parcial", "lanza", "bucle", "Ana García"):
        assert graded["grades"][student, "check_03_entorno"]["passed"] == "1", student


def test_a_kernel_that_dies_still_gets_its_rows(graded):
    assert not any(_passed(graded, "muere").values())
    assert "se cerró en la celda 3" in graded["grades"]["muere", IDS_03[0]]["reason"]


def test_forged_outputs_redefined_check_and_library_answer_earn_nothing(graded):
    passed = _passed(graded, "falsificada")
    assert not any(v for k, v in passed.items() if k != "check_03_entorno")
    reason = graded["grades"]["falsificada", IDS_03[3]]["reason"]
    assert "`ops.output_size`" in reason and "no permite" in reason   # issue 25: forbidden, by name


def test_files_that_are_not_notebooks_get_rows_and_a_reason(graded):
    grades = graded["grades"]
    assert "vacío" in grades["vacia", IDS_03[0]]["reason"]
    assert "no es JSON" in grades["texto", IDS_03[0]]["reason"]
    assert all(r["points"] == "0" for r in graded["rows"] if r["submission"] in ("vacia", "texto"))
    ana = (graded["out"] / "informes" / "Ana García.md").read_text()
    assert "borrador.ipynb" in ana and "no es un cuaderno del curso" in ana


def test_submissions_and_instructor_data_untouched(graded):
    assert graded["unchanged"] and graded["data_unchanged"]
    assert not any(graded["root"].rglob("escrito.txt")) and not any(
        graded["root"].rglob("marca.txt"))


def test_feedback_is_spanish_and_regrading_replaces_only_a_grading_folder(graded, tmp_path):
    text = (graded["out"] / "informes" / "parcial.md").read_text()
    assert "Total: 2,5 de 4,5 puntos" in text and "sin resolver todavía" in text
    assert (graded["out"] / GRADING_MARKER).is_file()
    mine = tmp_path / "mis_cosas"
    mine.mkdir()
    (mine / "notas.xlsx").write_text("del profesor")
    with pytest.raises(GradingError, match="no es una carpeta de calificaciones"):
        grade_class(graded["subs"][-2:], mine)
    with pytest.raises(GradingError, match="se solapan"):
        grade_class(graded["subs"][-1:], graded["subs"][-1].parent)
    assert (mine / "notas.xlsx").read_text() == "del profesor"
    again = shutil.copytree(graded["out"], tmp_path / "notas")
    assert cli.main(["grade", str(graded["subs"][-1]), "--out", str(again)]) == 0
    assert [p.name for p in (again / "informes").iterdir()] == ["texto.md"]


def test_cli_refuses_in_spanish_with_exit_2(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("x")
    assert cli.main(["grade", str(tmp_path / "x.txt"), "--out", str(tmp_path)]) == 2
    assert "se solapan" in capsys.readouterr().err
    assert cli.main(["grade", str(tmp_path / "nada.ipynb"), "--out", str(tmp_path / "o")]) == 2
    assert "no existen" in capsys.readouterr().err


def test_instructor_checks_file_form(tmp_path):
    path = tmp_path / "c.py"
    path.write_text(CHECKS)
    first, _ = load_instructor_checks(path)
    assert (first.name, first.notebook, first.points) == ("check_03_primera", "03", 0.5)
    path.write_text("def comprueba_algo(ns):\n    return None\n")
    with pytest.raises(GradingError, match="check_<cuaderno>_<nombre>"):
        load_instructor_checks(path)
    path.write_text("def check_99_x(ns):\n    return None\n")
    with pytest.raises(GradingError, match="«99»"):
        load_instructor_checks(path)


def test_student_names_from_moodle_folders(tmp_path):
    download = tmp_path / "entregas"  # Moodle's "Descargar todas las entregas", unzipped
    for name in ("Ana García_12345_assignsubmission_file_",
                 "Luis Pérez_678_assignsubmission_file_"):
        (download / name).mkdir(parents=True)
        (download / name / "tarea.pdf").write_bytes(b"%PDF-1.4 \xff")
    assert student_name(download / "Ana García_12345_assignsubmission_file_") == "Ana García"
    assert student_name(tmp_path / "perez_tarea3.ipynb") == "perez_tarea3"
    summary = grade_class([download], tmp_path / "notas", progress=lambda line: None)
    assert [name for name, _, _ in summary] == ["Ana García", "Luis Pérez"]
    feedback = (tmp_path / "notas" / "informes" / "Luis Pérez.md").read_text()
    assert "«tarea.pdf»: no es un cuaderno de Jupyter" in feedback


COURSE_03 = Path(__file__).resolve().parent.parent / "notebooks" / "03_relleno_y_avance.ipynb"


@pytest.mark.skipif(not json.loads(COURSE_03.read_text()).get("metadata", {}).get("cnn_course"),
                    reason="notebook 03 has no cnn_course metadata yet")
def test_course_notebook_passes_and_its_handout_scores_nothing(tmp_path):
    from cnn_course.tools.handouts import make_handout

    handout = make_handout(COURSE_03, tmp_path / "entregas" / "hoja.ipynb")
    course = tmp_path / "entregas" / "curso.ipynb"
    course.write_bytes(COURSE_03.read_bytes())
    summary = dict((n, (t, m)) for n, t, m in grade_class(
        [course, handout], tmp_path / "notas", timeout=300, jobs=2, progress=lambda s: None))
    top = sum(e.points for e in EXERCISES_03)
    assert summary == {"curso": (top, top), "hoja": (0.0, top)}
    assert os.environ.get("CNN_COURSE_QUICK") == "1"  # the grader never changes the caller's


COURSE_06A = COURSE_03.parent / "06a_ejercicio_enunciado.ipynb"
# A student's 06a, right in forms of their own: a functional network whose layers are
# registered out of order, the loss written with F.cross_entropy, the history under the slides'
# key names, accuracy in percent on the figure.
STUDENT_06A = {
    6: """\
import torch.nn.functional as F
from torch.utils.data import DataLoader
data = datasets.load_fashion_mnist()
train_loader = DataLoader(data.train, batch_size=32, shuffle=True)
test_loader = DataLoader(data.test, batch_size=500)""",
    8: """\
class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.salida = nn.Linear(128, 10)
        self.oculta = nn.Linear(2048, 128)
        self.c4, self.c3 = nn.Conv2d(64, 128, 3), nn.Conv2d(32, 64, 3)
        self.c2, self.c1 = nn.Conv2d(16, 32, 3), nn.Conv2d(1, 16, 3)

    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.c2(F.leaky_relu(self.c1(x)))), 2)
        x = F.max_pool2d(F.leaky_relu(self.c4(F.leaky_relu(self.c3(x)))), 2)
        return self.salida(F.leaky_relu(self.oculta(torch.flatten(x, 1))))

respuesta_06a_1 = Network""",
    10: "respuesta_06a_2 = 128 * 4 * 4",
    13: """\
config.seed_everything(0)
model = Network()
loss_fn = lambda out, y: F.cross_entropy(out, y)
optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
EPOCHS = 2
respuesta_06a_3 = (train_loader, loss_fn, optimizer, EPOCHS)""",
    16: """\
history = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
for epoch in range(EPOCHS):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    for name, loader in (("train", train_loader), ("test", test_loader)):
        total = correct = seen = 0
        with torch.no_grad():
            for x, y in loader:
                out = model(x)
                total += F.cross_entropy(out, y, reduction="sum").item()
                correct += (out.argmax(1) == y).sum().item()
                seen += len(y)
        history[name + "_loss"].append(total / seen)
        history[name + "_accuracy"].append(correct / seen)
respuesta_06a_4 = (model, history)""",
    20: """\
fig, (left, right) = plt.subplots(1, 2)
left.plot(history["train_loss"]); left.plot(history["test_loss"])
right.plot([100 * a for a in history["train_accuracy"]])
right.plot([100 * a for a in history["test_accuracy"]])
respuesta_06a_5 = (fig, history)""",
}


def test_a_right_assignment_in_a_students_own_forms_earns_full_marks(tmp_path, monkeypatch):
    """The same checks as the notebooks, judged in the mode the notebooks ran in (quick), even
    from an instructor's shell that does not set CNN_COURSE_QUICK."""
    nb = nbformat.read(COURSE_06A, as_version=4)
    for index, source in STUDENT_06A.items():
        assert nb.cells[index].cell_type == "code"
        nb.cells[index].source = source
    folder = tmp_path / "entregas" / "Marta Ruiz_555_assignsubmission_file_"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "06a_ejercicio_enunciado.ipynb")
    monkeypatch.delenv("CNN_COURSE_QUICK", raising=False)
    summary = grade_class([tmp_path / "entregas"], tmp_path / "notas", timeout=400,
                          progress=lambda line: None)
    top = sum(e.points for e in exercises.exercises_of("06a"))
    rows = read_csv(tmp_path / "notas" / "grades.csv")
    assert summary == [("Marta Ruiz", top, top)], rows
    assert "CNN_COURSE_QUICK" not in os.environ
