"""`cnn-course grade` attacked: a made-up class (tests/attack_class.py) whose students try what a
class that wants better grades would try, graded once for the module, in bubblewrap. Every
honest student keeps their grade, every cheat earns nothing it did not solve, nothing outside
the sandboxes changes, nothing is left running, and the instructor's secrets stay out."""

import hashlib
import json
import os
import secrets
import sys
from pathlib import Path

import psutil
import pytest

from cnn_course import config
from cnn_course.tools import cli, sandbox
from cnn_course.tools.grade import GradingError, grade_class
from cnn_course.tools.grade_report import read_csv

from . import attack_class

pytestmark = pytest.mark.skipif(sandbox.find_bwrap() is None,
                                reason="bubblewrap cannot create a sandbox here")
STARTUP = Path.home() / ".ipython" / "profile_default" / "startup" / "00-curso.py"


def _digest(folder: Path) -> dict[str, str]:
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def _marked(marker: str = attack_class.MARKER) -> list[psutil.Process]:
    """The processes whose command line holds ``marker``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("ataque")
    secret = secrets.token_hex(8)
    checks, out = root / "profesor" / "comprobaciones.py", root / "notas"
    checks.parent.mkdir()
    expected = attack_class.make_class(root / "entregas", checks=checks, out=out,
                                       home=Path.home(), data=config.data_dir(), secret=secret)
    assert not STARTUP.exists()
    before, home_before = _digest(root / "entregas"), sorted(os.listdir(Path.home()))
    os.environ["CNN_COURSE_SECRETO"] = secret
    try:
        summary = grade_class([root / "entregas"], out, timeout=60, jobs=2, checks=checks,
                              memory=attack_class.MEMORY, progress=lambda line: None)
    finally:
        del os.environ["CNN_COURSE_SECRETO"]
    log = checks.with_suffix(".log").read_text().splitlines()
    seen = {who: variables for who, variables in map(json.loads, log) if who}
    return {"root": root, "out": out, "secret": secret, "expected": expected, "seen": seen,
            "totals": {name: total for name, total, _ in summary},
            "maxima": {name: top for name, _, top in summary},
            "rows": read_csv(out / "grades.csv"), "left": _marked(),
            "unchanged": _digest(root / "entregas") == before,
            "home": sorted(os.listdir(Path.home())) == home_before}


def test_every_student_gets_exactly_what_they_solved(attacked):
    assert attacked["totals"] == attacked["expected"]
    assert set(attacked["maxima"].values()) == {4.0}   # Dora's notebook 04 changes no maximum


def test_nothing_outside_the_sandboxes_changed_and_nothing_is_left_running(attacked):
    assert attacked["unchanged"] and attacked["home"] and not STARTUP.exists()
    assert attacked["left"] == []
    assert sorted(p.name for p in attacked["out"].iterdir()) == [
        ".cnn-course-grade", "grades.csv", "informes", "no_calificado.csv", "resumen.csv"]
    assert not (attacked["root"].parent / "fuera.ipynb").exists()


def test_the_instructors_secrets_never_reach_a_kernel(attacked):
    spy = attacked["seen"]["espia"]
    assert "CNN_COURSE_SECRETO" not in spy["espia_entorno"]
    added_by_jupyter = ("PWD", "JPY_", "PYDEVD_", "CLICOLOR", "FORCE_COLOR", "GIT_PAGER", "PAGER",
                        "TERM", "JUPYTER_")
    extra = {k for k in spy["espia_entorno"] if not k.startswith(added_by_jupyter)}
    assert extra <= set(sandbox.sandbox_env("/x", 1, False, "/x")), extra
    home = spy["espia_leido"].pop(str(Path.home()))
    assert all(value in ("FileNotFoundError", "PermissionError")
               for value in spy["espia_leido"].values()), spy["espia_leido"]
    python_roots = {Path(p).relative_to(Path.home()).parts[0] for p in (sys.prefix, sys.base_prefix)
                    if Path(p).is_relative_to(Path.home())}
    assert home == "FileNotFoundError" or set(home) <= python_roots, home  # only the interpreter
    texts = [p.read_text(encoding="utf-8-sig") for p in attacked["out"].rglob("*") if p.is_file()]
    assert not any(attacked["secret"] in text for text in texts)


def test_a_kernel_sees_only_its_own_sandbox(attacked):
    spy = attacked["seen"]["espia"]
    assert spy["espia_cmdlines"]["/proc/1"].split()[0].endswith("bwrap")
    assert not any(str(attacked["root"]) in line for line in spy["espia_cmdlines"].values())
    assert not any("job-" in p or "evidencia-" in p or str(attacked["root"]) in p
                   or p.endswith((".ipynb", ".jsonl")) for p in spy["espia_ajenos"]), spy
    assert spy.get("espia_copia") == "FileNotFoundError"   # a classmate's notebook


def test_no_capability_no_write_no_signal_out_of_the_sandbox(attacked):
    broke = attacked["seen"]["destructiva"]
    assert broke["espia_pid1"].endswith("bwrap")
    assert broke["espia_mount"] != 0 and broke["espia_mount_syscall"][0] == -1
    assert broke["espia_escrito"] == []
    assert broke["espia_rlimit_as"] == attack_class.MEMORY + sandbox.VIRTUAL_SLACK
    persist = attacked["seen"]["persistente"]
    assert persist["espia_salida_vista"] is False   # what it wrote there stayed in its sandbox
    assert persist["espia_arranque"][0].startswith("/calificacion/home")  # its own, empty HOME


def test_signals_memory_and_output_end_only_the_culprit(attacked):
    rows = {(r["submission"], r["exercise"]): r for r in attacked["rows"]}
    assert "no terminó" in rows["senal", "03.1"]["reason"]
    assert "límite de memoria (1,5 GB)" in rows["bomba", "03.1"]["reason"]
    report = (attacked["out"] / "informes" / "grifo.md").read_text()
    assert "pasó de 2 MB y se recortó" in report


def test_every_file_handed_in_is_accounted_for(attacked):
    rows = {(r["submission"], r["exercise"]): r for r in attacked["rows"]}
    assert {r["submission"] for r in attacked["rows"]} == set(attacked["expected"])  # NFC names
    assert rows["Eva Curso", "03.1"]["aviso"].startswith("versión del curso")
    dora = [r for r in attacked["rows"] if r["submission"] == "Dora Otro"]
    assert {r["notebook"] for r in dora} == {"03", "04"}
    assert all("no cuenta en el total" in r["aviso"] for r in dora if r["notebook"] == "04")
    skipped = read_csv(attacked["out"] / "no_calificado.csv")
    reasons = {(r["submission"], r["fichero"]): r["motivo"] for r in skipped}
    assert "fuera de su carpeta" in reasons["Hugo Malo", "entrega.zip"]
    assert ("Ana García", "onlinetext.html") in reasons
    assert not any(f.endswith(".py") for _, f in reasons)   # helper modules are used, not listed


def test_csv_cells_never_start_a_formula_and_reports_keep_their_markdown(tmp_path):
    from cnn_course.tools.grade_report import csv_text, markdown_text

    assert csv_text(("a",), [("=1+1",), ("-2",), ("@x",)]).splitlines()[1:] == [
        "'=1+1", "'-2", "'@x"]
    assert markdown_text("# título\n```\n| x") == "\\# título \\`\\`\\` \\| x"


def test_without_bubblewrap_the_command_refuses_unless_told(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    notebook = attack_class.notebook(tmp_path / "a.ipynb", attack_class.SOLVED)
    assert cli.main(["grade", str(notebook), "--out", str(tmp_path / "notas")]) == 2
    assert "sudo apt-get install bubblewrap" in capsys.readouterr().err
    with pytest.raises(GradingError, match="--sin-aislamiento"):
        grade_class([notebook], tmp_path / "notas")
    assert not (tmp_path / "notas").exists()


def test_sigterm_keeps_what_finished_and_leaves_nothing_behind(tmp_path):
    """A grader stopped by SIGTERM (as a student's cell once did) writes the finished grades,
    kills the sandboxes and removes its temporary files."""
    import signal
    import subprocess
    import time

    class_folder, tmp = tmp_path / "entregas", tmp_path / "tmp"
    tmp.mkdir()
    quick = attack_class.notebook(class_folder / "rapida.ipynb", attack_class.SOLVED)
    slow = attack_class.notebook(class_folder / "lenta.ipynb", ["import time\ntime.sleep(600)"])
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(Path(__file__).parents[1]),
           "PYTHONUNBUFFERED": "1"}
    grader = subprocess.Popen([sys.executable, "-m", "cnn_course.tools.cli", "grade", str(quick),
                               str(slow), "--out", str(tmp_path / "notas"), "--jobs", "2",
                               "--timeout", "300"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    for line in grader.stdout:   # progress: the quick one has finished
        if "rapida" in line:
            break
    time.sleep(1)
    grader.send_signal(signal.SIGTERM)
    _, err = grader.communicate(timeout=60)
    assert grader.returncode == 130 and "interrumpida" in err
    grades = {(r["submission"], r["exercise"]): r for r in read_csv(tmp_path / "notas" /
                                                                     "grades.csv")}
    assert all(grades["rapida", id]["passed"] == "1" for id in attack_class.IDS)
    assert "se interrumpió" in grades["lenta", "03.1"]["reason"]
    assert list(tmp.iterdir()) == [] and _marked(str(tmp)) == []


def test_instructor_files_inside_a_shown_folder_are_masked(tmp_path):
    shown = tmp_path / "venv"
    (shown / "notas").mkdir(parents=True)
    (shown / "comprobaciones.py").write_text("# secreto\n")
    masks = sandbox._masks(["--ro-bind", str(shown), str(shown)],
                           [shown / "comprobaciones.py", shown / "notas", tmp_path / "fuera.py"])
    assert masks == ["--ro-bind", "/dev/null", str(shown / "comprobaciones.py"),
                     "--tmpfs", str(shown / "notas")]
