"""What ``cnn-course grade`` writes: ``grades.csv`` (one row per submission and exercise),
``resumen.csv`` (one row per student) and one Spanish feedback file per student, to hand back."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import format_number
from ..downloads import atomic_write

__all__ = ["GRADES_COLUMNS", "GRADING_MARKER", "StudentGrades", "csv_text", "feedback",
           "markdown_text", "read_csv", "write_report"]

GRADING_MARKER = ".cnn-course-grade"  # marks a folder that `cnn-course grade` wrote
GRADES_COLUMNS = ("submission", "notebook", "exercise", "passed", "points", "reason", "aviso")
SUMMARY_COLUMNS = ("submission", "total", "maximum", "feedback", "aviso")
SKIPPED_COLUMNS = ("submission", "fichero", "motivo")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN = re.compile(r"([\\`*_#|<>\[\]~])")


@dataclass
class StudentGrades:
    """One student's submission: notebook files to grade (``jobs``), files that could not be
    (``rejected``: (path, Spanish reason)), their graded ``runs`` (``grade.NotebookRun``) and the
    ``rows`` (notebook, exercise, passed, points, reason, aviso, counts) the report gives them:
    ``counts`` is False for a notebook that was not asked for (graded, flagged, not summed)."""

    name: str
    submission: Path
    jobs: list = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    runs: list = field(default_factory=list)
    rows: list[tuple[str, str, bool, float, str, str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    worth: dict[tuple[str, str], float] = field(default_factory=dict)  # (notebook, id) -> points

    @property
    def total(self) -> float:
        return sum(row[3] for row in self.rows if row[6])

    @property
    def flags(self) -> list[str]:
        return list(dict.fromkeys(row[5] for row in self.rows if row[5]))


def _points(value: float) -> str:
    """Points as a Spanish spreadsheet reads them: 4,5."""
    return f"{value:g}".replace(".", ",")


def _run_rows(run, targets: tuple, extra: str, counts: bool) -> list[tuple]:
    aviso = "; ".join([*run.flags, *([extra] if extra else [])])
    return [(run.notebook, target, *run.rows[target], aviso, counts)
            for _, target, _ in targets]


def _grade_rows(student: StudentGrades, expected: list[str], targets: dict) -> None:
    """``student.rows`` and ``student.notes``: the best run of each expected notebook, or zero
    rows that say why (nothing handed in, or each file's reason); runs of notebooks not asked
    for, flagged and not counted."""
    student.notes += [f"«{path.name}» no se calificó: {reason}."
                      for path, reason in student.rejected]
    for notebook in expected:
        runs = sorted((r for r in student.runs if r.notebook == notebook),
                      key=lambda r: -r.points)
        if runs:
            best = runs[0]
            if len(runs) > 1:
                student.notes.append(
                    f"Se entregaron {len(runs)} ficheros del cuaderno {notebook}; cuenta el "
                    f"de más puntos, «{best.path.name}».")
            student.rows += _run_rows(best, targets[notebook], "", True)
            continue
        why = "; ".join(f"«{path.name}»: {reason}" for path, reason in student.rejected)
        reason = (f"no se pudo calificar: {why}" if why else
                  f"no se entregó el cuaderno {notebook}")
        student.rows += [(notebook, target, False, 0.0, reason, "", True)
                         for _, target, _ in targets[notebook]]
    for run in student.runs:
        if run.notebook not in expected:
            extra = (f"«{run.path.name}» es el cuaderno {run.notebook}, que no se pide: se "
                     "califica aparte y no cuenta en el total")
            student.rows += _run_rows(run, targets[run.notebook], extra, False)
    if not student.rows:
        student.rows += [("", "", False, 0.0, f"«{path.name}»: {reason}", "", True)
                         for path, reason in student.rejected]


def markdown_text(text: str) -> str:
    """``text`` (a student's error, a file name) safe inside a Markdown line or table cell: no
    heading, code fence, link, HTML or column break of its own."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def feedback(student: StudentGrades, maximum: float) -> str:
    """The Markdown feedback handed back to ``student`` (Spanish)."""
    md = markdown_text
    lines = [f"# Calificación: {md(student.name)}", "",
             f"**Total: {format_number(student.total)} de {format_number(maximum)} puntos.**",
             ""]
    runs = {run.notebook: run for run in student.runs}
    for notebook in dict.fromkeys(row[0] for row in student.rows):
        run = runs.get(notebook)
        rows = [row for row in student.rows if row[0] == notebook]
        got, worth = sum(r[3] for r in rows), sum(student.worth.get(r[:2], 0.0) for r in rows)
        where = f" (fichero «{md(run.path.name)}»)" if run else ""
        title = f"Cuaderno {notebook}{where}" if notebook else "Ficheros sin calificar"
        lines += [f"## {title}", "",
                  f"{format_number(got)} de {format_number(worth)} puntos.", ""]
        lines += [f"**Aviso:** {md(flag)}." for flag in dict.fromkeys(r[5] for r in rows if r[5])]
        lines += ["", "| ejercicio | resultado | puntos | comentario |",
                  "| --- | --- | --- | --- |"]
        for _, exercise, passed, points, reason, *_ in rows:
            mark = "✔" if passed else "✘"
            lines.append(f"| {md(exercise)} | {mark} | {format_number(points)} | {md(reason)} |")
        if run and run.notes:
            lines += ["", "Al ejecutar tu cuaderno:", *(f"- {md(note)}" for note in run.notes)]
        lines.append("")
    if student.notes:
        lines += ["## Otros avisos", "", *(f"- {md(note)}" for note in student.notes), ""]
    if student.runs:
        lines += ["Tu cuaderno se ejecutó de nuevo desde cero, sin las salidas guardadas, en un "
                  "entorno aislado; cada ejercicio se comprobó con las mismas comprobaciones "
                  "que `comprueba`. Con `pista(\"id\")` en el cuaderno tienes una pista de "
                  "cada uno.", ""]
    return "\n".join(lines)


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding=encoding)


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_text(header: tuple, rows: list) -> str:
    """CSV a spreadsheet opens as columns in Spanish and in English: ``;`` between fields
    (decimal commas inside), to be written with a UTF-8 BOM; no cell can start a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV that ``write_report`` wrote (BOM, ``;``)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _file_name(name: str, used: set[str]) -> str:
    base = _UNSAFE.sub("_", name).strip(" .") or "estudiante"
    stem, k = base, 2
    while stem.lower() in used:
        stem, k = f"{base}-{k}", k + 1
    used.add(stem.lower())
    return f"{stem}.md"


def write_report(out: Path, students: list[StudentGrades], expected: list[str],
                 targets: dict) -> list[tuple[str, float, float]]:
    """Write ``out/grades.csv``, ``out/resumen.csv``, ``out/no_calificado.csv``,
    ``out/informes/*.md`` and the marker that lets a later run replace them; returns (student,
    total, maximum) per student. The maximum is the points of the ``expected`` notebooks."""
    maximum = sum(points for nb in expected for *_, points in targets[nb])
    out.mkdir(parents=True, exist_ok=True)
    (out / GRADING_MARKER).write_text(json.dumps({"written": time.strftime("%Y-%m-%d %H:%M"),
                                                  "expected": expected}))
    shutil.rmtree(out / "informes", ignore_errors=True)
    grades, summary, skipped, used = [], [], [], set()
    for student in students:
        _grade_rows(student, expected, targets)
        student.worth = {(nb, t): p for nb in targets for _, t, p in targets[nb]}
        grades += [(student.name, nb, ex, int(ok), _points(points), reason, aviso)
                   for nb, ex, ok, points, reason, aviso, _ in student.rows]
        skipped += [(student.name, path.name, reason) for path, reason in student.rejected]
        name = _file_name(student.name, used)
        _write(out / "informes" / name, feedback(student, maximum))
        summary.append((student, name))
    _write(out / "grades.csv", csv_text(GRADES_COLUMNS, grades), "utf-8-sig")
    _write(out / "resumen.csv", csv_text(SUMMARY_COLUMNS, [
        (s.name, _points(s.total), _points(maximum), f"informes/{name}", "; ".join(s.flags))
        for s, name in summary]), "utf-8-sig")
    _write(out / "no_calificado.csv", csv_text(SKIPPED_COLUMNS, skipped), "utf-8-sig")
    return [(s.name, s.total, maximum) for s, _ in summary]
