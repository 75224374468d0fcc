"""The part of grading that runs in a worker process of its own, one per notebook:
``python -m cnn_course.tools.grade_worker SPEC.json`` runs the student's cells (a time limit for
all of them, errors noted and passed over), then one grader cell per check, and writes
``report.json``. It imports neither torch nor the lessons: only the kernel does."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import nbformat

__all__ = ["check_cell", "run_worker"]

_PROBE_TIMEOUT = 15  # seconds an interrupted kernel has to answer again

# One check, run in the student's kernel after their cells: a fresh copy of the cnn_course
# package under a private random name (a redefined `comprueba` or a patched module changes
# nothing), the student's namespace read from the cell's own frame (not from a name they could
# redefine), the result appended (as the repr of a dict of strings, which no student code can
# change, unlike a `json` module they may have patched) to a file outside their folder, after the
# nonce.
_CHECK_CELL = '''\
def _grade_{nonce}():
    import importlib, importlib.util, sys
    name = "_cnn_course_grader_{nonce}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, {init!r}, submodule_search_locations=[{package!r}])
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    namespace = sys._getframe(1).f_globals
    kind, target = {kind!r}, {target!r}
    if kind == "load":
        return
    try:
        if kind == "exercise":
            exercises = importlib.import_module(name + ".exercises")
            result = exercises.check_namespace(target, namespace)
            row = {{"status": str(result.status), "message": str(result.message)}}
        else:
            if name + "_checks" not in sys.modules:
                spec = importlib.util.spec_from_file_location(name + "_checks", {checks!r})
                sys.modules[name + "_checks"] = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(sys.modules[name + "_checks"])
            message = getattr(sys.modules[name + "_checks"], target)(namespace)
            row = ({{"status": "correcto", "message": "✔ Correcto"}} if message is None
                   else {{"status": "incorrecto", "message": str(message)}})
    except BaseException as err:
        row = {{"status": "error", "message": type(err).__name__ + ": " + str(err)}}
    row["id"] = target
    with open({results!r}, "a", encoding="utf-8") as out:
        out.write({nonce!r} + "%r\\n" % (row,))  # repr of built-in types: nothing to patch
_grade_{nonce}()
del _grade_{nonce}
'''


def check_cell(nonce: str, kind: str, target: str, results: str, package: str,
               checks: str | None = None) -> str:
    """The source of the grader's cell that checks ``target`` (an exercise id, or the name of
    an instructor's check in ``checks`` when ``kind`` is not ``"exercise"``)."""
    return _CHECK_CELL.format(nonce=nonce, init=str(Path(package) / "__init__.py"),
                              package=package, kind=kind, target=target, results=results,
                              checks=checks or "")


def _cell_label(nb: nbformat.NotebookNode, index: int) -> str:
    first = next((line.strip() for line in nb.cells[index].source.splitlines() if line.strip()),
                 "")
    return f"celda {index + 1} («{first[:60]}»)" if first else f"celda {index + 1}"


def _stuck(client, nb: nbformat.NotebookNode) -> bool:
    """After an interrupt: whether the kernel fails to answer again (code that swallows
    KeyboardInterrupt keeps running)."""
    probe = nbformat.v4.new_code_cell("pass")
    nb.cells.append(probe)
    client.timeout, start = _PROBE_TIMEOUT, time.monotonic()
    client.execute_cell(probe, len(nb.cells) - 1)
    return time.monotonic() - start >= _PROBE_TIMEOUT


def run_worker(spec_file: str | Path) -> dict:
    """Run the notebook and the checks that ``spec_file`` (JSON) names; write and return the
    report: cell errors (with the cell's source), the cell where the time limit was reached or
    the kernel died, whether it was left stuck, and the checks that ran past their own limit.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    spec = json.loads(Path(spec_file).read_text())
    Path(spec_file).unlink()  # it holds the nonce: gone before any student code runs
    nb = nbformat.read(spec["notebook"], as_version=4)
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True,
                            resources={"metadata": {"path": spec["cwd"]}},
                            error_on_timeout={"ename": "TimeoutError", "evalue": "",
                                              "traceback": []})  # so a stuck kernel is left
    report = {"errors": [], "timeout": None, "dead": None, "stuck": False, "check_timeouts": []}
    deadline = time.monotonic() + spec["timeout"]
    with client.setup_kernel(env=spec["env"]):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            start, client.timeout = time.monotonic(), math.ceil(deadline - time.monotonic())
            if client.timeout <= 0:
                report["timeout"] = _cell_label(nb, index)
                break
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                report["dead"] = "la " + _cell_label(nb, index)
                break
            if time.monotonic() - start >= client.timeout:  # interrupted by the time limit
                report["timeout"] = _cell_label(nb, index)
                report["stuck"] = _stuck(client, nb)
                break
            error = next((o for o in cell.outputs if o.output_type == "error"), None)
            if error is not None:
                report["errors"].append({"source": cell.source, "text": (
                    f"la {_cell_label(nb, index)} lanzó {error.ename}: {error.evalue}"[:300])})
        # the fresh package first, in a cell of its own: its imports count against no check
        targets = [["load", ""], *spec["targets"]]
        for kind, target in [] if report["dead"] or report["stuck"] else targets:
            cell = nbformat.v4.new_code_cell(check_cell(
                spec["nonce"], kind, target, spec["results"], spec["package"], spec["checks"]))
            nb.cells.append(cell)
            client.timeout = spec["check_timeout"]
            start = time.monotonic()
            try:
                client.execute_cell(cell, len(nb.cells) - 1)
            except DeadKernelError:
                report["dead"] = f"la comprobación de {target}"
                break
            if time.monotonic() - start >= spec["check_timeout"] and kind != "load":
                report["check_timeouts"].append(target)
                if _stuck(client, nb):
                    report["stuck"] = True
                    break
    Path(spec["report"]).write_text(json.dumps(report, ensure_ascii=False))
    return report


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("uso interno: python -m cnn_course.tools.grade_worker SPEC.json (para "
                 "calificar: cnn-course grade ENTREGAS... --out CARPETA)")
    run_worker(sys.argv[1])
