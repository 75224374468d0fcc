"""How long `cnn-course grade` takes for a class: made-up 06a submissions graded in quick mode.

    python benchmarks/bench_grade.py                 # 40 students, --jobs = this machine's cores
    python benchmarks/bench_grade.py --students 3    # a quick look
    python benchmarks/bench_grade.py --sin-aislamiento   # the same without bubblewrap

The made-up class, laid out as Moodle downloads it (one folder per student): three of every four
students hand in the solved assignment (notebook 06b, which trains the network and answers every
06a exercise: the slow case), the fourth the 06a handout as given out (nothing answered). The
target (issues 19 and 26): a class of 40 in at most 10 minutes on a 2-core laptop, each notebook
in its own bubblewrap sandbox.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from cnn_course import config
from cnn_course.tools.grade import grade_class
from cnn_course.tools.grade_report import read_csv
from cnn_course.tools.handouts import make_handout

NOTEBOOKS = config.project_root() / "notebooks"


def make_class(folder: Path, students: int) -> list[Path]:
    """``students`` Moodle-style folders under ``folder``, each with one notebook."""
    handout = make_handout(NOTEBOOKS / "06a_ejercicio_enunciado.ipynb", folder / "hoja.ipynb")
    submissions = []
    for i in range(students):
        student = folder / f"Estudiante {i + 1:02d}_{1000 + i}_assignsubmission_file_"
        student.mkdir(parents=True)
        source = handout if i % 4 == 3 else NOTEBOOKS / "06b_ejercicio_solucion.ipynb"
        shutil.copyfile(source, student / "entrega.ipynb")
        submissions.append(student)
    handout.unlink()
    return submissions


def main() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=cores)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--sin-aislamiento", action="store_true",
                        help="without the sandbox, to measure what it costs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        submissions = make_class(Path(tmp) / "entregas", args.students)
        start = time.perf_counter()
        summary = grade_class(submissions, Path(tmp) / "notas", timeout=args.timeout,
                              jobs=args.jobs, isolation=not args.sin_aislamiento,
                              warn=lambda line: None)
        wall = time.perf_counter() - start
        rows = read_csv(Path(tmp) / "notas" / "grades.csv")
    full = [total for _, total, _ in summary[::4]]
    sandbox = "without sandbox" if args.sin_aislamiento else "in bubblewrap"
    print(f"{args.students} students {sandbox}, --jobs {args.jobs} on {cores} cores, load "
          f"average {os.getloadavg()[0]:.1f}: {wall:.0f} s in all, "
          f"{wall / args.students:.1f} s per submission ({len(rows)} rows); "
          f"projected for 40: {wall / args.students * 40 / 60:.1f} min")
    print(f"totals (students 1, 5, 9, ...: solved): {full}; maximum {summary[0][2]:g}")


if __name__ == "__main__":
    main()
