"""Grading a class: ``cnn-course grade`` runs every student's notebooks, each in a sandbox of its
own, and decides every verdict in the grader's own process, trusting nothing the notebook printed.

Each notebook runs on a copy (outputs cleared) with nbclient, in quick mode unless ``full``, under
a time limit, inside bubblewrap (``sandbox``): nbclient and the kernel together, with a private
work folder as the only writable place and a memory cap. After the student's cells, the worker
runs one probe per exercise (``exercises.probe_namespace``) that writes plain-data evidence as
JSON; the grader reads it back (``evidence_from_json``, nothing executed) and calls
``exercises.judge`` here, outside. An instructor's ``--checks`` run here too, on the notebook's
plain-data variables. ``grade_report`` writes what comes out, after every notebook has finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import config, downloads
from .. import exercises as course_exercises
from . import grade_worker, sandbox
from .grade_intake import HELPERS, gather, student_name
from .grade_report import GRADING_MARKER, StudentGrades, write_report

__all__ = ["CHECK_TIMEOUT", "OUTPUT_LIMIT", "GradingError", "InstructorCheck", "NotebookRun",
           "grade_class", "load_instructor_checks", "student_name"]

CHECK_TIMEOUT = 120  # seconds each exercise's probe may take (it runs the student's code)
OUTPUT_LIMIT = 2 << 20  # bytes of output kept per cell; the rest is dropped
_STARTUP_SLACK = 120  # seconds for a worker to start its kernel and write its report
_EVIDENCE_LIMIT = 64 << 20  # the largest evidence file the grader reads


class GradingError(ValueError):
    """A grading run cannot start (the message, in Spanish, says what to change)."""


@dataclass(frozen=True)
class InstructorCheck:
    """An instructor's extra check: ``check_<notebook>_<name>(variables) -> str | None`` in a
    file students never see, run by the grader on the notebook's plain-data variables (None
    passes; a string says what is wrong)."""

    name: str
    notebook: str
    points: float = 1.0
    function: object = field(default=None, compare=False, repr=False)


@dataclass
class NotebookRun:
    """One graded notebook file: per check id, (passed, points, reason); ``notes`` and
    ``flags`` in Spanish (a flag goes into the CSV's ``aviso`` column)."""

    path: Path
    notebook: str
    rows: dict[str, tuple[bool, float, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(points for _, points, _ in self.rows.values())


# ---------------------------------------------------------------- reading what was handed in
def _read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """(notebook, its course id) or (None, why it cannot be graded, in Spanish)."""
    if path.suffix.lower() != ".ipynb":
        return None, f"no es un cuaderno de Jupyter (fichero {path.suffix or 'sin extensión'})"
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
    in the file; default 1). They run in the grader's process, never in a student's kernel.
    GradingError (Spanish) if it cannot be used."""
    import importlib.util
    import re

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
        match = re.match(r"^check_(\d\d[a-z]?)_\w+$", name)
        if match and callable(value):
            if not course_exercises.exercises_of(match[1]):
                raise GradingError(f"{path}: {name} nombra el cuaderno «{match[1]}», que no tiene "
                                   "ejercicios en el curso.")
            found.append(InstructorCheck(name, match[1], float(points.get(name, 1)), value))
    if not found:
        raise GradingError(f"{path} no define ninguna comprobación: cada una es una función "
                           "check_<cuaderno>_<nombre>(variables), p. ej. "
                           "check_06a_sin_dropout(variables), que devuelve None si está bien o "
                           "un texto que dice qué falla.")
    return found


# ---------------------------------------------------------------- one notebook, in its sandbox
@dataclass(frozen=True)
class _Job:
    path: Path
    nb: nbformat.NotebookNode
    notebook: str
    targets: tuple[tuple[str, str, float], ...]  # (kind, id, points)
    folder: Path | None = None  # the student's folder: its other files go beside the notebook


def _job_folders(root: Path) -> tuple[Path, Path]:
    """A fresh job folder under ``root`` and, in it, the sandbox's private folder with its
    work folder, HOME, /tmp, data copy and output folder."""
    folder = Path(tempfile.mkdtemp(prefix="job-", dir=root))
    box = folder / "caja"
    for name in ("home", "tmp", "salida"):
        (box / name).mkdir(parents=True)
    return folder, box


def _run_job(job: _Job, root: Path, shared_data: Path, options: dict) -> NotebookRun:
    """Grade one notebook file in a fresh sandbox under ``root`` (removed afterwards)."""
    start = time.perf_counter()
    if options["stop"].is_set():
        raise KeyboardInterrupt  # grading was stopped before this notebook began
    folder, box = _job_folders(root)
    try:
        if job.folder:  # a helper module or an image the student handed in beside the notebook
            shutil.copytree(job.folder, box / "trabajo", symlinks=True,
                            ignore=shutil.ignore_patterns(".*", "__MACOSX", "*.zip"))
        (box / "trabajo").mkdir(exist_ok=True)
        shutil.copytree(shared_data, box / "datos")
        nb = nbformat.from_dict(json.loads(json.dumps(job.nb)))
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        name = "entrega.ipynb"
        nbformat.write(nb, box / "trabajo" / name)
        outcome = _sandboxed_run(job, box, options, name)
        run = NotebookRun(job.path, job.notebook)
        if job.nb.metadata["cnn_course"].get("version") == "curso":
            run.flags.append("versión del curso con las soluciones, no la hoja repartida")
        _collect(run, job, box / "salida", outcome, options)
    finally:
        _remove(folder)
    run.seconds = time.perf_counter() - start
    return run


def _sandboxed_run(job: _Job, box: Path, options: dict, name: str) -> sandbox.Outcome:
    """Run the worker on ``box``'s notebook: inside bubblewrap, or bare if the instructor
    accepted the risk."""
    package = Path(course_exercises.__file__).resolve().parent
    inside = sandbox.BOX if options["bwrap"] else str(box)
    package_root = sandbox.PACKAGE_ROOT if options["bwrap"] else str(package.parent)
    spec = {"notebook": f"{inside}/trabajo/{name}", "cwd": f"{inside}/trabajo",
            "out": f"{inside}/salida", "timeout": options["timeout"],
            "check_timeout": CHECK_TIMEOUT, "output_limit": OUTPUT_LIMIT,
            "targets": [t for kind, t, _ in job.targets if kind == "exercise"]
            + (["*"] if any(kind == "instructor" for kind, *_ in job.targets) else []),
            "tag": secrets.token_hex(8), "seed": options["seed"],
            "package": f"{package_root}/{package.name}"}
    (box / "spec.json").write_text(json.dumps(spec))
    env = sandbox.sandbox_env(inside, options["threads"], options["full"], package_root)
    argv = [sys.executable, "-m", "cnn_course.tools.grade_worker", f"{inside}/spec.json"]
    if options["bwrap"]:
        argv = sandbox.bwrap_command(options["bwrap"], box, package, env, argv,
                                     options["hidden"])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    seconds = options["timeout"] + CHECK_TIMEOUT * len(spec["targets"]) + _STARTUP_SLACK
    return sandbox.run_limited(argv, memory=options["memory"], seconds=seconds, env=env,
                               cwd=box / "trabajo")


def _remove(folder: Path) -> None:
    """Remove a job folder, even where the student's code took away permissions."""
    def retry(function, path, _):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
    shutil.rmtree(folder, onerror=retry)


def _read_box_file(folder: Path, name: str) -> str | None:
    """A regular file the sandbox wrote in ``folder`` (links, pipes and huge files refused:
    the student controls that folder), or None."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not (info.st_mode & 0o170000 == 0o100000) or info.st_size > _EVIDENCE_LIMIT:
            return None
        return file.read(_EVIDENCE_LIMIT).decode("utf-8", errors="replace")


def _evidence(out: Path, target: str) -> dict | None:
    """The evidence the probe wrote for ``target``, read as plain data; None if missing or
    not valid."""
    text = _read_box_file(out, grade_worker.evidence_file(target))
    try:
        evidence = course_exercises.evidence_from_json(text) if text is not None else None
    except (ValueError, TypeError, RecursionError):
        return None
    return evidence if isinstance(evidence, dict) else None


def _report(out: Path) -> dict | None:
    text = _read_box_file(out, grade_worker.REPORT)
    try:
        report = json.loads(text) if text is not None else None
    except (ValueError, RecursionError):
        return None
    keys = {"errors": list, "check_timeouts": list, "cut": list}
    if not isinstance(report, dict) or any(not isinstance(report.get(k), t)
                                           for k, t in keys.items()):
        return None
    report["errors"] = [{"text": e["text"][:300], "source": e["source"]} for e in report["errors"]
                        if isinstance(e, dict) and isinstance(e.get("text"), str)
                        and isinstance(e.get("source"), str)][:50]
    for key in ("timeout", "dead"):   # what a kernel may have written there: short text only
        report[key] = str(report.get(key))[:120] if report.get(key) else None
    report["cut"] = [str(cell)[:120] for cell in report["cut"][:50]]
    return report


def _stopped_reason(outcome: sandbox.Outcome, options: dict, report: dict | None) -> str:
    if outcome.stopped == "memoria":
        return (f"el cuaderno superó el límite de memoria "
                f"({config.format_number(options['memory'] / 2**30, 1)} GB) y se detuvo")
    if outcome.stopped == "procesos":
        return (f"el cuaderno lanzó más de {sandbox.MAX_PROCESSES} procesos a la vez y se "
                "detuvo")
    if outcome.stopped == "tiempo" or report is None:
        return ("la calificación de este cuaderno no terminó (se superó el límite de tiempo "
                "total o falló el proceso que lo ejecutaba)")
    return ""


def _stop_text(report: dict, options: dict) -> str:
    stop = ""
    if report.get("timeout"):
        stop = (f"se alcanzó el límite de tiempo ({config.format_number(options['timeout'])} "
                f"s) en la {report['timeout']}; las celdas siguientes no se ejecutaron")
    elif report.get("dead"):
        why = "llamó a exit()" if report.get("exit") else "¿exit(), falta de memoria?"
        stop = (f"el núcleo de Python se cerró en {report['dead']} ({why}); las celdas "
                "siguientes no se ejecutaron")
    if report.get("stuck"):
        stop += ("; el código siguió sin detenerse al interrumpirlo (¿un except que atrapa "
                 "KeyboardInterrupt?), y no se pudo comprobar nada más")
    return stop


def _collect(run: NotebookRun, job: _Job, out: Path, outcome: sandbox.Outcome,
             options: dict) -> None:
    """Fill ``run.rows``: every verdict judged here, from the evidence the sandbox left."""
    report = _report(out)
    stop = _stopped_reason(outcome, options, report)
    report = report or {"errors": [], "check_timeouts": [], "cut": []}
    stop = "; ".join(filter(None, [stop, _stop_text(report, options)]))
    errors = report["errors"]
    run.notes += [_capital(text) for text in ([stop] if stop else [])
                  + [e["text"] for e in errors]]
    run.notes += [f"La salida de la {cell} pasó de {OUTPUT_LIMIT >> 20} MB y se recortó."
                  for cell in report["cut"] if isinstance(cell, str)]
    variables = _evidence(out, "*")
    for kind, target, points in job.targets:
        if kind == "exercise":
            passed, reason = _judge(target, _evidence(out, target), options["seed"],
                                    target in report["check_timeouts"])
        else:
            passed, reason = _instructor(options["checks"][target], variables)
        context = stop or _related_error(errors, kind, target)
        if not passed and context:
            reason = f"{reason} — {context}"
        run.rows[target] = (passed, points if passed else 0.0, reason)


def _judge(id: str, evidence: dict | None, seed: int, timed_out: bool) -> tuple[bool, str]:
    if timed_out:
        return False, (f"la comprobación superó su límite de {CHECK_TIMEOUT} s (¿un bucle sin "
                       "fin en tu código?)")
    if evidence is None:
        return False, "no se pudo comprobar"
    if "probe_error" in evidence:
        return False, "la comprobación no pudo terminar con tu respuesta"
    result = course_exercises.judge(id, evidence, seed)
    return result.passed, result.message


def _instructor(check: InstructorCheck, variables: dict | None) -> tuple[bool, str]:
    if variables is None:
        return False, "no se pudo comprobar"
    try:
        message = check.function(dict(variables))
    except Exception as err:  # the instructor's own code: said as it is
        return False, f"la comprobación del profesor falló ({type(err).__name__}: {err})"
    return (True, "✔ Correcto") if message is None else (False, str(message))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _related_error(errors: list[dict], kind: str, target: str) -> str:
    """The error that most likely cost exercise ``target``: one raised by a cell that mentions
    its answer variable, else the notebook's first error (an import that failed, say)."""
    answer = course_exercises.EXERCISES[target].answer if kind == "exercise" else None
    related = [e for e in errors if answer and answer in e["source"]]
    return (related or errors or [{"text": ""}])[0]["text"]


def _run_job_safely(job: _Job, root: Path, shared_data: Path, options: dict) -> NotebookRun:
    """``_run_job``, or rows that say the grader itself failed: one notebook never stops the
    class."""
    try:
        run = _run_job(job, root, shared_data, options)
    except KeyboardInterrupt:
        return None
    except Exception as err:
        run = _failed_run(job, f"el calificador falló con este cuaderno ({type(err).__name__})")
    return None if options["stop"].is_set() else run  # stopped midway: not a result


def _failed_run(job: _Job, why: str) -> NotebookRun:
    run = NotebookRun(job.path, job.notebook)
    run.rows = {target: (False, 0.0, why) for _, target, _ in job.targets}
    run.notes.append(_capital(why))
    return run


# ---------------------------------------------------------------- data: one copy for the class
def _prepare_shared_data(folder: Path) -> Path:
    """A copy of the instructor's prepared data (Fashion-MNIST; cats vs dogs if there) from
    which every notebook gets its own data folder; the instructor's is never shown."""
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
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _targets(notebook: str, instructor: list[InstructorCheck]) -> tuple:
    return (*(("exercise", e.id, float(e.points)) for e in course_exercises.exercises_of(notebook)),
            *(("instructor", c.name, c.points) for c in instructor if c.notebook == notebook))


def _expected(students: list[StudentGrades], expect: list[str] | None) -> list[str]:
    """``expect``, or the notebooks at least half of the students who handed in a course
    notebook handed in (one student's odd notebook changes no one's maximum)."""
    if expect:
        return sorted(set(expect))
    counts: dict[str, int] = {}
    with_work = [s for s in students if s.jobs]
    for student in with_work:
        for notebook in {job.notebook for job in student.jobs}:
            counts[notebook] = counts.get(notebook, 0) + 1
    return sorted(nb for nb, n in counts.items() if 2 * n >= len(with_work))


def _sandbox_tool(isolation: bool, warn) -> str | None:
    if not isolation:
        warn("AVISO: se califica SIN AISLAMIENTO (--sin-aislamiento): el código de los "
             "estudiantes se ejecuta con tus permisos y puede leer tus ficheros, cambiar las "
             "notas de otros o las tuyas. Úsalo solo con entregas de confianza.")
        return None
    bwrap = sandbox.find_bwrap()
    if bwrap is None:
        raise GradingError("no se puede aislar cada entrega: falta bubblewrap (bwrap), o no "
                           "puede crear un entorno aislado en esta máquina. Instálalo con "
                           f"«{sandbox.INSTALL_HINT}» y vuelve a calificar (o, asumiendo el "
                           "riesgo, usa --sin-aislamiento).")
    return bwrap


@contextlib.contextmanager
def _judging_mode(full: bool):
    """Judge in the mode the notebooks ran in: the judges read quick mode from the environment
    (06a.3's epochs, 06a.4's threshold and the test images it scores), and the instructor's
    shell need not say it. The caller's environment comes back as it was."""
    before = os.environ.get("CNN_COURSE_QUICK")
    os.environ["CNN_COURSE_QUICK"] = "" if full else "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["CNN_COURSE_QUICK"]
        else:
            os.environ["CNN_COURSE_QUICK"] = before


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM stops grading as Ctrl+C does (finished results kept, sandboxes killed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_class(paths: list[Path], unpacked: Path, instructor: list[InstructorCheck]
                ) -> list[StudentGrades]:
    """Every student in ``paths`` with the notebooks to grade and the files that are not."""
    submissions = gather(paths)
    names = _unique_names([s.name for s in submissions])
    students = []
    for name, submission in zip(names, submissions, strict=True):
        student = StudentGrades(name, submission.sources[0])
        for path in submission.files(unpacked / str(len(students))):
            if path.suffix.lower() in HELPERS:
                continue  # a module a notebook imports: copied beside it
            nb, what = _read_notebook(path)
            if nb is None:
                student.rejected.append((path, what))
                continue
            # a loose notebook's folder is the class's: only a student's own folder goes along
            folder = None if path in submission.sources else path.parent
            student.jobs.append(_Job(path, nb, what, _targets(what, instructor), folder))
        student.rejected += submission.skipped
        students.append(student)
    return students


def grade_class(submissions, out: Path | str, *, timeout: int = 600, jobs: int = 1,
                checks: Path | str | None = None, full: bool = False,
                expect: list[str] | None = None, memory: int | None = None,
                isolation: bool = True, progress=print, warn=None
                ) -> list[tuple[str, float, float]]:
    """Grade ``submissions`` (notebook files, zips, or folders: one student each, or a Moodle
    download) into ``out``: ``grades.csv``, ``resumen.csv``, ``no_calificado.csv`` and
    ``informes/<student>.md``. Each notebook runs in its own bubblewrap sandbox (``isolation``
    False: bare, at the instructor's risk) with ``memory`` bytes (default: a share of the
    machine). ``jobs`` notebooks run at once, each kernel with ``cores // jobs`` threads.
    Interrupted (Ctrl+C, SIGTERM), it writes what had finished, then raises KeyboardInterrupt.
    Returns (student, total, maximum) rows."""
    submissions, out = [Path(s) for s in submissions], Path(out)
    warn = warn or (lambda line: print(line, file=sys.stderr))
    if timeout < 1 or jobs < 1 or (memory is not None and memory < 1 << 28):
        raise GradingError("--timeout y --jobs deben ser enteros positivos y --memoria de al "
                           "menos 0,25 GB (p. ej. --timeout 600 --jobs 2 --memoria 4).")
    missing = [str(s) for s in submissions if not s.exists()]
    if missing:
        raise GradingError(f"no existen estas entregas: {', '.join(missing)}.")
    _check_out(out, submissions)
    unknown = [n for n in expect or [] if not course_exercises.exercises_of(n)]
    if unknown:
        raise GradingError(f"--expect: {', '.join(unknown)} no son cuadernos con ejercicios.")
    instructor = load_instructor_checks(checks) if checks else []
    bwrap = _sandbox_tool(isolation, warn)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    options = {"timeout": int(timeout), "full": full, "threads": max(1, (cores or 1) // jobs),
               "checks": {c.name: c for c in instructor}, "bwrap": bwrap,
               "memory": memory or sandbox.default_memory(jobs),
               "seed": secrets.randbelow(2**31), "stop": threading.Event(),
               "hidden": [p for p in (checks, out, config.data_dir()) if p]}
    with tempfile.TemporaryDirectory(prefix="cnn-course-grade-") as root:
        students = _read_class(submissions, Path(root) / "zips", instructor)
        expected = _expected(students, expect)
        todo = [job for student in students for job in student.jobs]
        with _judging_mode(full):
            runs, interrupted = _run_all(todo, Path(root), options, instructor, jobs, progress)
    for student in students:
        student.runs = [runs[id(job)] for job in student.jobs]
    targets = {nb: _targets(nb, instructor) for nb in {*expected, *(j.notebook for j in todo)}}
    summary = write_report(out, students, expected, targets)
    if interrupted:
        raise KeyboardInterrupt
    return summary


def _run_all(todo: list[_Job], root: Path, options: dict, instructor: list, jobs: int,
             progress) -> tuple[dict[int, NotebookRun], bool]:
    """Run every job (``jobs`` at once); on Ctrl+C or SIGTERM, kill the sandboxes and give the
    unfinished ones rows that say so. Returns ({id(job): run}, interrupted)."""
    runs, interrupted = {}, False
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = {}
    try:
        with _sigterm_as_interrupt():
            shared = _prepare_shared_data(root / "compartido")
            futures = {pool.submit(_run_job_safely, job, root, shared, options): job
                       for job in todo}
            for done, future in enumerate(as_completed(futures), 1):
                run = future.result()
                top = sum(p for *_, p in _targets(run.notebook, instructor))
                progress(f"[{done}/{len(todo)}] {run.path} — cuaderno {run.notebook}: "
                         f"{config.format_number(run.points)} de "
                         f"{config.format_number(top)} puntos "
                         f"({config.format_number(run.seconds, 0)} s)")
    except KeyboardInterrupt:
        interrupted = True
        options["stop"].set()
        sandbox.kill_all()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        sandbox.kill_all()
    for future, job in futures.items():
        if future.done() and not future.cancelled() and future.result() is not None:
            runs[id(job)] = future.result()
    for job in todo:
        if id(job) not in runs:
            runs[id(job)] = _failed_run(job, "la calificación se interrumpió antes de terminar "
                                             "este cuaderno")
    return runs, interrupted
