"""Grading a class: ``cnn-course grade`` runs every student's notebooks and scores them with the
exercises' own checks, trusting nothing the notebook printed.

Each notebook runs on a copy (outputs cleared) with nbclient, in quick mode unless ``full``, in its
own temporary folder and data folder, under a time limit, in a worker process of its own. After
the student's cells, the worker runs one cell per exercise that loads a fresh copy of the
``cnn_course`` package under a private, random name (so a redefined ``comprueba`` or a patched
``cnn_course.exercises`` changes nothing), calls ``check_namespace`` on the student's namespace
and appends the result, prefixed by a random nonce, to a file outside the student's folder; only
those lines are read. ``grade_report`` writes what comes out: ``grades.csv``, ``resumen.csv``
and one Spanish feedback file per student.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import config, downloads
from .. import exercises as course_exercises
from .grade_report import GRADING_MARKER, StudentGrades, write_report

__all__ = ["CHECK_TIMEOUT", "GradingError", "InstructorCheck", "NotebookRun", "grade_class",
           "load_instructor_checks", "student_name"]

CHECK_TIMEOUT = 120  # seconds each exercise's check may take (it runs the student's code)
_STARTUP_SLACK = 120  # seconds for a worker to start its kernel and write its report
_MOODLE_SUFFIX = re.compile(r"_(\d+)_assignsubmission_\w*$")
_CHECK_NAME = re.compile(r"^check_(\d\d[a-z]?)_\w+$")
_SKIPPED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
_LIVE: set[subprocess.Popen] = set()  # running workers, killed if grading is interrupted


class GradingError(ValueError):
    """A grading run cannot start (the message, in Spanish, says what to change)."""


@dataclass(frozen=True)
class InstructorCheck:
    """An instructor's extra check: ``check_<notebook>_<name>(ns) -> str | None`` in a file
    students never see (None passes; a string says what is wrong)."""

    name: str
    notebook: str
    points: float = 1.0


@dataclass
class NotebookRun:
    """One graded notebook file: per check id, (passed, points, reason); ``notes`` in Spanish."""

    path: Path
    notebook: str
    rows: dict[str, tuple[bool, float, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(points for _, points, _ in self.rows.values())


# ---------------------------------------------------------------- reading what was handed in
def student_name(path: Path) -> str:
    """A student's name from a submission: a folder's name without Moodle's
    ``_12345_assignsubmission_file_`` suffix, or a file's name without its extension."""
    path = Path(path)
    return _MOODLE_SUFFIX.sub("", path.name) if path.is_dir() else path.stem


def _students(submissions: list[Path]) -> list[Path]:
    """The submissions, with Moodle's unzipped download (a folder of folders named
    ``..._assignsubmission_...``) opened into one submission per student."""
    found = []
    for path in submissions:
        inside = sorted(p for p in path.iterdir() if p.is_dir()
                        and _MOODLE_SUFFIX.search(p.name)) if path.is_dir() else []
        found += inside or [path]
    return found


def _files_of(submission: Path) -> list[Path]:
    if submission.is_file():
        return [submission]
    return sorted(p for p in submission.rglob("*") if p.is_file()
                  and not any(part in _SKIPPED or part.startswith(".")
                              for part in p.relative_to(submission).parts))


def _read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """(notebook, its course id) or (None, why it cannot be graded, in Spanish)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, "no es un cuaderno de Jupyter (no es un fichero de texto)"
    if not text.strip():
        return None, "el fichero está vacío"
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return None, f"no es un cuaderno de Jupyter (no es JSON válido: línea {err.lineno})"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds for a malformed notebook
        return None, f"no es un cuaderno de Jupyter válido ({type(err).__name__})"
    identity = nb.metadata.get("cnn_course")
    if not isinstance(identity, dict) or not identity.get("notebook"):
        return None, ("no es un cuaderno del curso (le faltan los metadatos «cnn_course»: "
                      "entrega el cuaderno que se repartió, sin copiar sus celdas a uno nuevo)")
    notebook = str(identity["notebook"])
    if course_exercises.exercises_of(notebook):
        return nb, notebook
    # a notebook that solves another's exercises (06b solves 06a's) is graded as that one
    solved = {course_exercises.EXERCISES[id].notebook for id in identity.get("exercises", [])
              if id in course_exercises.EXERCISES}
    if len(solved) == 1:
        return nb, solved.pop()
    return None, f"el cuaderno «{notebook}» del curso no tiene ejercicios que calificar"


def load_instructor_checks(path: Path | str) -> list[InstructorCheck]:
    """The checks defined in the instructor's file ``path``: every function named
    ``check_<notebook>_<name>`` (e.g. ``check_06a_sin_dropout``), worth ``POINTS[name]`` (a dict
    in the file; default 1). GradingError (Spanish) if it cannot be used."""
    import importlib.util

    path = Path(path)
    if not path.is_file():
        raise GradingError(f"no existe el fichero de comprobaciones {path}.")
    spec = importlib.util.spec_from_file_location(f"_cnn_course_checks_{secrets.token_hex(4)}",
                                                  path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise GradingError(f"el fichero de comprobaciones {path} no se puede cargar "
                           f"({type(err).__name__}: {err}); corrígelo y vuelve a calificar."
                           ) from err
    points = getattr(module, "POINTS", {})
    found = []
    for name, value in vars(module).items():
        match = _CHECK_NAME.match(name)
        if match and callable(value):
            if not course_exercises.exercises_of(match[1]):
                raise GradingError(f"{path}: {name} nombra el cuaderno «{match[1]}», que no tiene "
                                   "ejercicios en el curso.")
            found.append(InstructorCheck(name, match[1], float(points.get(name, 1))))
    if not found:
        raise GradingError(f"{path} no define ninguna comprobación: cada una es una función "
                           "check_<cuaderno>_<nombre>(ns), p. ej. check_06a_sin_dropout(ns), que "
                           "devuelve None si está bien o un texto que dice qué falla.")
    return found


# ---------------------------------------------------------------- one notebook, from outside
@dataclass(frozen=True)
class _Job:
    path: Path
    nb: nbformat.NotebookNode
    notebook: str
    targets: tuple[tuple[str, str, float], ...]  # (kind, id, points)
    folder: Path | None = None  # the student's folder: its other files go beside the notebook


def _kernel_env(data: Path, tmp: Path, threads: int, full: bool) -> dict[str, str]:
    package_parent = str(Path(course_exercises.__file__).resolve().parent.parent)
    drop = {"CNN_COURSE_QUICK", "CNN_COURSE_DATA", "MPLBACKEND", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"CNN_COURSE_DATA": str(data), "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
                "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [package_parent,
                                                             os.environ.get("PYTHONPATH")])),
                **{k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                             "OPENBLAS_NUM_THREADS")}})
    if not full:
        env["CNN_COURSE_QUICK"] = "1"
    return env


def _run_job(job: _Job, root: Path, shared_data: Path, options: dict) -> NotebookRun:
    """Grade one notebook file in a fresh folder under ``root`` (removed afterwards)."""
    start = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="job-", dir=root))
    cwd, data, tmp, private = (folder / name for name in ("trabajo", "datos", "tmp", "grader"))
    if job.folder:  # a helper module or an image the student handed in beside the notebook
        shutil.copytree(job.folder, cwd, ignore=shutil.ignore_patterns(".*", "__MACOSX"))
    for path in (cwd, tmp, private):
        path.mkdir(exist_ok=True)
    _copy_data(shared_data, data)
    nb = nbformat.from_dict(json.loads(json.dumps(job.nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook = cwd / job.path.name
    nbformat.write(nb, notebook)
    nonce = secrets.token_hex(16)
    spec = {"notebook": str(notebook), "cwd": str(cwd), "nonce": nonce,
            "results": str(private / f"{nonce}.jsonl"), "report": str(private / "report.json"),
            "env": _kernel_env(data, tmp, options["threads"], options["full"]),
            "timeout": options["timeout"], "check_timeout": CHECK_TIMEOUT,
            "checks": options["checks"], "targets": [[k, t] for k, t, _ in job.targets],
            "package": str(Path(course_exercises.__file__).resolve().parent)}
    (private / "spec.json").write_text(json.dumps(spec))
    limit = options["timeout"] + CHECK_TIMEOUT * len(job.targets) + _STARTUP_SLACK
    proc = subprocess.Popen([sys.executable, "-m", "cnn_course.tools.grade_worker",
                             str(private / "spec.json")], cwd=cwd, start_new_session=True,
                            env=spec["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _LIVE.add(proc)
    try:
        log = proc.communicate(timeout=limit)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        _kill(proc)
        log = proc.communicate()[0].decode(errors="replace") + "\n(worker killed)"
    finally:
        _LIVE.discard(proc)
    run = NotebookRun(job.path, job.notebook)
    if job.nb.metadata["cnn_course"].get("version") == "curso":
        run.notes.append("Es la versión del curso con las soluciones, no la hoja repartida.")
    _collect(run, job, private, nonce, options["timeout"], log)
    run.seconds = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    return run


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _run_job_safely(job: _Job, root: Path, shared_data: Path, options: dict) -> NotebookRun:
    """``_run_job``, or rows that say the grader itself failed: one notebook never stops the
    class."""
    try:
        return _run_job(job, root, shared_data, options)
    except Exception as err:
        run = NotebookRun(job.path, job.notebook)
        why = f"el calificador falló con este cuaderno ({type(err).__name__}: {err})"
        run.rows = {target: (False, 0.0, why) for _, target, _ in job.targets}
        run.notes.append(_capital(why))
        return run


def _collect(run: NotebookRun, job: _Job, private: Path, nonce: str, timeout: int,
             log: str) -> None:
    """Fill ``run.rows`` from the nonce-marked results and the worker's report."""
    report_file, results_file = private / "report.json", private / f"{nonce}.jsonl"
    report = json.loads(report_file.read_text()) if report_file.is_file() else None
    results = {}
    if results_file.is_file():
        for line in results_file.read_text(encoding="utf-8").splitlines():
            if line.startswith(nonce):
                row = ast.literal_eval(line[len(nonce):])
                results[row["id"]] = row
    if report is None:
        run.notes.append("la calificación de este cuaderno no terminó (se superó el límite de "
                         "tiempo total o falló el proceso que lo ejecutaba)")
        run.notes.append("detalle técnico: " + log.strip().splitlines()[-1][:200]
                         if log.strip() else "sin detalle")
        report = {"errors": [], "timeout": None, "dead": None, "stuck": False,
                  "check_timeouts": []}
    errors = report["errors"]
    stop = ""
    if report["timeout"]:
        stop = (f"se alcanzó el límite de tiempo ({config.format_number(timeout)} s) en la "
                f"{report['timeout']}; las celdas siguientes no se ejecutaron")
    elif report["dead"]:
        stop = (f"el núcleo de Python se cerró en {report['dead']} (¿exit(), falta de "
                "memoria?); las celdas siguientes no se ejecutaron")
    if report.get("stuck"):
        stop += ("; el código siguió sin detenerse al interrumpirlo (¿un except que atrapa "
                 "KeyboardInterrupt?), y no se pudo comprobar nada más")
    run.notes += [_capital(text) for text in ([stop] if stop else []) + [e["text"] for e in errors]]
    for kind, target, points in job.targets:
        row = results.get(target)
        if target in report["check_timeouts"]:
            reason = (f"la comprobación superó su límite de {CHECK_TIMEOUT} s (¿un bucle sin fin "
                      "en tu código?)")
        elif row is None:
            reason = "no se pudo comprobar"
        elif row["status"] == "error":
            reason = f"la comprobación falló: {row['message']}"
        else:
            reason = row["message"]
        passed = row is not None and row["status"] == "correcto"
        context = stop or _related_error(errors, kind, target)
        if not passed and context:
            reason = f"{reason} — {context}"
        run.rows[target] = (passed, points if passed else 0.0, reason)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _related_error(errors: list[dict], kind: str, target: str) -> str:
    """The error that most likely cost exercise ``target``: one raised by a cell that mentions
    its answer variable, else the notebook's first error (an import that failed, say)."""
    answer = course_exercises.EXERCISES[target].answer if kind == "exercise" else None
    related = [e for e in errors if answer and answer in e["source"]]
    return (related or errors or [{"text": ""}])[0]["text"]


# ---------------------------------------------------------------- data: read-only, per notebook
def _prepare_shared_data(folder: Path) -> Path:
    """A read-only copy of the instructor's prepared data (Fashion-MNIST; cats vs dogs if
    there) from which every notebook gets its own data folder; the instructor's stay apart."""
    raw, source = downloads.raw_folder(folder), downloads.raw_folder(config.data_dir())
    if all((source / name).is_file() for name in downloads.FASHION_FILES):
        raw.mkdir(parents=True)
        for name in downloads.FASHION_FILES:
            shutil.copyfile(source / name, raw / name)
    else:
        try:
            downloads.prepare_fashion_mnist(folder, download=False)
        except (downloads.DatasetNotFoundError, downloads.CorruptDatasetError):
            pass  # quick mode falls back on the sample shipped with the package
    cats_dogs = downloads.cats_dogs_dir(config.data_dir())
    if cats_dogs.is_dir():
        shutil.copytree(cats_dogs, downloads.cats_dogs_dir(folder))
    _set_writable(folder, False)
    return folder


def _set_writable(folder: Path, writable: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in [*folder.rglob("*"), folder]:
        mode = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if path.is_dir():
            mode |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | (stat.S_IWUSR * writable)
        path.chmod(mode | (stat.S_IWUSR * writable))


def _copy_data(shared: Path, data: Path) -> None:
    """``data``: this notebook's own copy of ``shared`` (copies, not links: whatever it writes
    or overwrites, even as root, stays in ``data`` and goes with it)."""
    shutil.copytree(shared, data)
    _set_writable(data, True)


# ---------------------------------------------------------------- a class
def _check_out(out: Path, submissions: list[Path]) -> None:
    out = out.resolve()
    for submission in submissions:
        where = submission.resolve()
        if out == where or out.is_relative_to(where) or where.is_relative_to(out):
            raise GradingError(f"la carpeta de salida {out} y la entrega {submission} se solapan; "
                               "elige una --out fuera de las entregas (no se toca ninguna).")
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / GRADING_MARKER).is_file())):
        raise GradingError(f"{out} ya existe y no es una carpeta de calificaciones de cnn-course: "
                           "elige otra --out (no se sobrescribe nada).")


def _unique_names(submissions: list[Path]) -> list[str]:
    names = [student_name(p) for p in submissions]
    return [name if names.count(name) == 1 else path.name
            for name, path in zip(names, submissions, strict=True)]


def _targets(notebook: str, instructor: list[InstructorCheck]) -> tuple:
    return (*(("exercise", e.id, float(e.points)) for e in course_exercises.exercises_of(notebook)),
            *(("instructor", c.name, c.points) for c in instructor if c.notebook == notebook))


def grade_class(submissions, out: Path | str, *, timeout: int = 600, jobs: int = 1,
                checks: Path | str | None = None, full: bool = False,
                expect: list[str] | None = None, progress=print) -> list[tuple[str, float, float]]:
    """Grade ``submissions`` (notebook files, or folders: one student each) into ``out``:
    ``grades.csv``, ``resumen.csv`` and ``informes/<student>.md``. Notebooks expected of everyone
    are ``expect`` or every course notebook found among the submissions. ``jobs`` notebooks run at
    once, each kernel with ``cores // jobs`` threads. Returns (student, total, maximum) rows."""
    submissions, out = [Path(s) for s in submissions], Path(out)
    if timeout < 1 or jobs < 1:
        raise GradingError("--timeout y --jobs deben ser enteros positivos (p. ej. --timeout 600 "
                           "--jobs 2).")
    missing = [str(s) for s in submissions if not s.exists()]
    if missing:
        raise GradingError(f"no existen estas entregas: {', '.join(missing)}.")
    _check_out(out, submissions)
    submissions = _students(submissions)
    unknown = [n for n in expect or [] if not course_exercises.exercises_of(n)]
    if unknown:
        raise GradingError(f"--expect: {', '.join(unknown)} no son cuadernos con ejercicios.")
    instructor = load_instructor_checks(checks) if checks else []
    students = []
    for name, submission in zip(_unique_names(submissions), submissions, strict=True):
        student = StudentGrades(name, submission)
        for path in _files_of(submission):
            nb, what = _read_notebook(path)
            if nb is None:
                student.rejected.append((path, what))
            else:
                student.jobs.append(_Job(path, nb, what, _targets(what, instructor),
                                         path.parent if submission.is_dir() else None))
        students.append(student)
    expected = sorted(set(expect or {j.notebook for s in students for j in s.jobs}))
    todo = [job for student in students for job in student.jobs if job.notebook in expected]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    options = {"timeout": int(timeout), "full": full, "threads": max(1, (cores or 1) // jobs),
               "checks": str(Path(checks).resolve()) if checks else None}
    with tempfile.TemporaryDirectory(prefix="cnn-course-grade-") as root:
        try:
            shared = _prepare_shared_data(Path(root) / "compartido")
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(_run_job_safely, job, Path(root), shared, options)
                           for job in todo]
                try:
                    for done, future in enumerate(as_completed(futures), 1):
                        run = future.result()
                        top = sum(p for *_, p in _targets(run.notebook, instructor))
                        progress(f"[{done}/{len(todo)}] {run.path} — cuaderno {run.notebook}: "
                                 f"{config.format_number(run.points)} de "
                                 f"{config.format_number(top)} puntos "
                                 f"({config.format_number(run.seconds, 0)} s)")
                except BaseException:  # Ctrl+C: no worker or kernel is left running
                    for future in futures:
                        future.cancel()
                    for proc in list(_LIVE):
                        _kill(proc)
                    raise
        finally:
            _set_writable(Path(root), True)
    runs = {id(job): future.result() for job, future in zip(todo, futures, strict=True)}
    for student in students:
        student.runs = [runs[id(job)] for job in student.jobs if id(job) in runs]
    maxima = {nb: sum(points for *_, points in _targets(nb, instructor)) for nb in expected}
    return write_report(out, students, expected, maxima,
                        {nb: _targets(nb, instructor) for nb in expected})
