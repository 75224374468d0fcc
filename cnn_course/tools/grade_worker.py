"""The part of grading that runs inside the sandbox, one per notebook:
``python -m cnn_course.tools.grade_worker SPEC.json`` runs the student's cells (a time limit for
all of them, errors noted and passed over, output over ``output_limit`` bytes per cell dropped),
then one probe cell per exercise that writes its evidence (plain data, JSON) for the grader, and
``informe.json``. It decides no verdict: the grader reads the evidence in its own process and
judges it there (``exercises.judge``). It imports neither torch nor the lessons: only the kernel
does."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

__all__ = ["REPORT", "evidence_file", "plain_globals", "probe_cell", "run_worker"]

REPORT = "informe.json"
VARIABLES = "variables.json"
_PROBE_TIMEOUT = 15  # seconds an interrupted kernel has to answer again
_MAX_ELEMENTS = 1_000_000  # numbers exported per array, and in all, for the instructor's checks
_MAX_TEXT = 100_000

# One probe, run in the student's kernel after their cells. Each loads a fresh copy of the
# cnn_course package under a name drawn when the cell runs (a module planted in sys.modules, a
# redefined `comprueba` or a patched cnn_course change nothing), with fresh copies of the
# standard modules the checks compare with (a patched `math.isclose` changes nothing), reads the
# student's namespace from the cell's own frame and writes the evidence. The evidence is about
# this notebook's own answers only, and the verdict is computed outside the sandbox.
_PROBE_CELL = '''\
def _probe_{tag}():
    import importlib.util, os, sys
    name = "_cnn_course_grader_" + os.urandom(8).hex()
    saved = {{m: sys.modules.get(m) for m in {fresh!r}}}
    try:
        for module in saved:
            spec = importlib.util.find_spec(module)
            sys.modules[module] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(sys.modules[module])
        spec = importlib.util.spec_from_file_location(
            name, {init!r}, submodule_search_locations=[{package!r}])
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
        exercises = importlib.import_module(name + ".exercises")
        worker = importlib.import_module(name + ".tools.grade_worker")
    finally:
        sys.modules.update({{m: v for m, v in saved.items() if v is not None}})
    namespace = sys._getframe(1).f_globals
    target = {target!r}
    try:
        if target == "*":
            evidence = worker.plain_globals(namespace)
        else:
            evidence = exercises.probe_namespace(target, namespace, {seed!r})
        text = exercises.evidence_to_json(evidence)
    except BaseException as err:
        text = exercises.evidence_to_json({{"probe_error": type(err).__name__}})
    with open({path!r}, "w", encoding="utf-8") as out:
        out.write(text)
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
_probe_{tag}()
del _probe_{tag}
'''
_FRESH = ("math", "cmath", "operator", "functools")  # what the checks compare with


def evidence_file(target: str) -> str:
    """The file name, in the sandbox's output folder, of the evidence for ``target`` (an
    exercise id, or ``"*"``: the notebook's plain-data variables)."""
    return VARIABLES if target == "*" else f"evidencia-{target}.json"


def probe_cell(tag: str, target: str, out: str, package: str, seed: int) -> str:
    """The source of the grader's cell that writes the evidence for ``target`` into ``out``."""
    return _PROBE_CELL.format(tag=tag, init=str(Path(package) / "__init__.py"), package=package,
                              target=target, seed=seed, fresh=_FRESH,
                              path=str(Path(out) / evidence_file(target or "-")))


def _plain(value, budget: list[int], depth: int = 0):
    """``value`` as plain data (numbers, text, lists, dicts, NumPy arrays), or raise TypeError."""
    import numpy as np

    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) > _MAX_TEXT:
            raise TypeError("text too long")
        return value
    if isinstance(value, np.generic):
        return value.item()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.size > budget[0]:
            raise TypeError("not a small numeric array")
        budget[0] -= value.size
        return np.array(value)
    if depth < 4 and isinstance(value, list | tuple | dict) and len(value) <= 10_000:
        if isinstance(value, dict):
            return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
        return [_plain(v, budget, depth + 1) for v in value]
    raise TypeError(type(value).__name__)


def plain_globals(namespace: dict) -> dict:
    """The notebook's variables that are plain data (numbers, text, lists and dicts of them,
    arrays and tensors as NumPy arrays of at most a million numbers): what an instructor's
    ``--checks`` function receives. Names starting with ``_`` and IPython's are left out."""
    skip = {"In", "Out", "exit", "quit", "get_ipython"}
    found, budget = {}, [_MAX_ELEMENTS]
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in skip:
            continue
        try:
            found[name] = _plain(value, budget)
        except Exception:  # not plain data (a module, a model, a function): left out
            continue
    return found


class _CappedClient(NotebookClient):
    """nbclient that keeps at most ``output_limit`` bytes of output per cell (an endless print
    would otherwise fill the memory) and notes the cells whose output it cut or that exited."""

    def __init__(self, nb, output_limit: int, **kwargs):
        super().__init__(nb, **kwargs)
        self.output_limit, self.sizes, self.cut, self.exited = output_limit, {}, set(), None
        self.on_cell_executed = self._note_exit

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg["content"], default=str))
        self.sizes[cell_index] = self.sizes.get(cell_index, 0) + size
        if self.sizes[cell_index] > self.output_limit and msg["msg_type"] != "error":
            self.cut.add(cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _note_exit(self, cell, cell_index, execute_reply):
        """``exit()`` ends the kernel after its cell has finished: remember which cell."""
        payload = (execute_reply or {}).get("content", {}).get("payload", [])
        if any(p.get("source") == "ask_exit" for p in payload) and self.exited is None:
            self.exited = cell_index


def _cell_label(nb: nbformat.NotebookNode, index: int) -> str:
    """"celda N («first line»)": N counts every cell, as Jupyter shows them from the top."""
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


def _run_cells(client: _CappedClient, nb, deadline: float, report: dict) -> None:
    from nbclient.exceptions import DeadKernelError

    for index, cell in enumerate(list(nb.cells)):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        start, client.timeout = time.monotonic(), math.ceil(deadline - time.monotonic())
        if client.timeout <= 0:
            report["timeout"] = _cell_label(nb, index)
            return
        try:
            client.execute_cell(cell, index)
        except DeadKernelError:
            where = index if client.exited is None else client.exited
            report["dead"] = "la " + _cell_label(nb, where)
            report["exit"] = client.exited is not None
            return
        if client.exited is not None:  # exit(): the kernel goes away after this cell
            report["dead"], report["exit"] = "la " + _cell_label(nb, index), True
            return
        if time.monotonic() - start >= client.timeout:  # interrupted by the time limit
            report["timeout"] = _cell_label(nb, index)
            report["stuck"] = _stuck(client, nb)
            return
        error = next((o for o in cell.outputs if o.output_type == "error"), None)
        if error is not None:
            report["errors"].append({"source": cell.source, "text": (
                f"la {_cell_label(nb, index)} lanzó {error.ename}: {error.evalue}"[:300])})


def run_worker(spec_file: str | Path) -> dict:
    """Run the notebook and the probes that ``spec_file`` (JSON) names; write and return the
    report: cell errors (with the cell's source), the cell where the time limit was reached or
    the kernel died, whether it was left stuck, the probes that ran past their own limit, the
    cells whose output was cut."""
    from nbclient.exceptions import DeadKernelError

    spec = json.loads(Path(spec_file).read_text())
    nb = nbformat.read(spec["notebook"], as_version=4)
    client = _CappedClient(nb, spec["output_limit"], kernel_name="python3", allow_errors=True,
                           interrupt_on_timeout=True,
                           resources={"metadata": {"path": spec["cwd"]}},
                           error_on_timeout={"ename": "TimeoutError", "evalue": "",
                                             "traceback": []})  # so a stuck kernel is left
    report = {"errors": [], "timeout": None, "dead": None, "exit": False, "stuck": False,
              "check_timeouts": [], "cut": []}
    with client.setup_kernel():
        _run_cells(client, nb, time.monotonic() + spec["timeout"], report)
        for target in [] if report["dead"] or report["stuck"] else spec["targets"]:
            cell = nbformat.v4.new_code_cell(probe_cell(spec["tag"], target, spec["out"],
                                                        spec["package"], spec["seed"]))
            nb.cells.append(cell)
            client.timeout, start = spec["check_timeout"], time.monotonic()
            try:
                client.execute_cell(cell, len(nb.cells) - 1)
            except DeadKernelError:
                report["dead"] = f"la comprobación de {target}"
                break
            if time.monotonic() - start >= spec["check_timeout"]:
                report["check_timeouts"].append(target)
                if _stuck(client, nb):
                    report["stuck"] = True
                    break
    report["cut"] = [_cell_label(nb, i) for i in sorted(client.cut)]
    Path(spec["out"], REPORT).write_text(json.dumps(report, ensure_ascii=False))
    return report


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("uso interno: python -m cnn_course.tools.grade_worker SPEC.json (para "
                 "calificar: cnn-course grade ENTREGAS... --out CARPETA)")
    run_worker(sys.argv[1])
