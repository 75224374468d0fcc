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

__all__ = ["GRADES_COLUMNS", "GRADING_MARKER", "StudentGrades", "feedback", "write_report"]

GRADING_MARKER = ".cnn-course-grade"  # marks a folder that `cnn-course grade` wrote
GRADES_COLUMNS = ("submission", "notebook", "exercise", "passed", "points", "reason")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class StudentGrades:
    """One student's submission: notebook files to grade (``jobs``), files that could not be
    (``rejected``: (path, Spanish reason)), their graded ``runs`` (``grade.NotebookRun``) and the
    ``rows`` (notebook, exercise, passed, points, reason) the report gives them."""

    name: str
    submission: Path
    jobs: list = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    runs: list = field(default_factory=list)
    rows: list[tuple[str, str, bool, float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    worth: dict[tuple[str, str], float] = field(default_factory=dict)  # (notebook, id) -> points

    @property
    def total(self) -> float:
        return sum(row[3] for row in self.rows)


def _points(value: float) -> str:
    return f"{value:g}"


def _grade_rows(student: StudentGrades, expected: list[str], targets: dict) -> None:
    """``student.rows`` and ``student.notes``: the best run of each expected notebook, or zero
    rows that say why (nothing handed in, or each file's reason)."""
    student.notes += [f"«{job.path.name}» es el cuaderno {job.notebook}, que no se pide: no "
                      "se califica." for job in student.jobs if job.notebook not in expected]
    if student.jobs:
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
            student.rows += [(notebook, target, *best.rows[target]) for _, target, _ in
                             targets[notebook]]
            continue
        why = "; ".join(f"«{path.name}»: {reason}" for path, reason in student.rejected)
        reason = (f"no se pudo calificar: {why}" if why else
                  f"no se entregó el cuaderno {notebook}")
        student.rows += [(notebook, target, False, 0.0, reason)
                         for _, target, _ in targets[notebook]]
    if not expected:
        student.rows += [("", "", False, 0.0, f"«{path.name}»: {reason}")
                         for path, reason in student.rejected]


def feedback(student: StudentGrades, maximum: float) -> str:
    """The Markdown feedback handed back to ``student`` (Spanish)."""
    lines = [f"# Calificación: {student.name}", "",
             f"**Total: {format_number(student.total)} de {format_number(maximum)} puntos.**",
             ""]
    runs = {run.notebook: run for run in student.runs}
    for notebook in dict.fromkeys(row[0] for row in student.rows):
        run = runs.get(notebook)
        rows = [row for row in student.rows if row[0] == notebook]
        got, worth = sum(r[3] for r in rows), sum(student.worth.get(r[:2], 0.0) for r in rows)
        where = f" (fichero «{run.path.name}»)" if run else ""
        title = f"Cuaderno {notebook}{where}" if notebook else "Ficheros sin calificar"
        lines += [f"## {title}", "",
                  f"{format_number(got)} de {format_number(worth)} puntos.", "",
                  "| ejercicio | resultado | puntos | comentario |", "| --- | --- | --- | --- |"]
        for _, exercise, passed, points, reason in rows:
            mark = "✔" if passed else "✘"
            text = reason.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {exercise} | {mark} | {format_number(points)} | {text} |")
        if run and run.notes:
            lines += ["", "Al ejecutar tu cuaderno:", *(f"- {note}" for note in run.notes)]
        lines.append("")
    if student.notes:
        lines += ["## Otros avisos", "", *(f"- {note}" for note in student.notes), ""]
    if student.runs:
        lines += ["Tu cuaderno se ejecutó de nuevo desde cero, sin las salidas guardadas; cada "
                  "ejercicio se comprobó con las mismas comprobaciones que `comprueba`. Con "
                  "`pista(\"id\")` en el cuaderno tienes una pista de cada uno.", ""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _csv(header: tuple, rows: list) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _file_name(name: str, used: set[str]) -> str:
    base = _UNSAFE.sub("_", name).strip(" .") or "estudiante"
    stem, k = base, 2
    while stem.lower() in used:
        stem, k = f"{base}-{k}", k + 1
    used.add(stem.lower())
    return f"{stem}.md"


def write_report(out: Path, students: list[StudentGrades], expected: list[str],
                 maxima: dict[str, float], targets: dict) -> list[tuple[str, float, float]]:
    """Write ``out/grades.csv``, ``out/resumen.csv``, ``out/informes/*.md`` and the marker that
    lets a later run replace them; returns (student, total, maximum) per student."""
    maximum = sum(maxima.values())
    out.mkdir(parents=True, exist_ok=True)
    (out / GRADING_MARKER).write_text(json.dumps({"written": time.strftime("%Y-%m-%d %H:%M"),
                                                  "expected": expected}))
    shutil.rmtree(out / "informes", ignore_errors=True)
    grades, summary, used = [], [], set()
    for student in students:
        _grade_rows(student, expected, targets)
        student.worth = {(nb, t): p for nb in expected for _, t, p in targets[nb]}
        grades += [(student.name, nb, ex, int(ok), _points(points), reason)
                   for nb, ex, ok, points, reason in student.rows]
        name = _file_name(student.name, used)
        _write(out / "informes" / name, feedback(student, maximum))
        summary.append((student.name, _points(student.total), _points(maximum),
                        f"informes/{name}"))
    _write(out / "grades.csv", _csv(GRADES_COLUMNS, grades))
    _write(out / "resumen.csv", _csv(("submission", "total", "maximum", "feedback"), summary))
    return [(name, float(total), float(top)) for name, total, top, _ in summary]
