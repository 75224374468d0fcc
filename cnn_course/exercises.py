"""Exercises that answer back: ``comprueba("03.1", respuesta_03_1)`` prints "✔ Correcto" or, in
Spanish, what is wrong, aimed at the mistake; ``pista`` and ``solucion`` only on request.

Every notebook 00-08 (and the assignment, 06a/06b) ends with exercises. Each exercise has an id
``NN.k``, a variable the student assigns (``respuesta_03_1``) and one check function in
``cnn_course/exercise_checks/`` (by part of the course). ``check`` and ``check_namespace`` are
pure: they never print and never raise for a bad answer, so a grader can call them on a
student's namespace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .exercise_checks import assignment, first_steps, networks, sizes, transfer
from .exercise_checks.behaviour import explain
from .exercise_checks.common import REGISTRY, Exercise, Wrong

__all__ = ["EXERCISES", "GRADED", "Exercise", "Result", "Wrong", "check", "check_namespace",
           "comprueba", "evidence_from_json", "evidence_to_json", "exercises_of", "judge",
           "pista", "probe", "probe_namespace", "solucion"]

_PARTS = (first_steps, sizes, networks, assignment, transfer)   # imported to register them


def _course_order(id: str) -> tuple[str, int]:
    notebook, index = id.split(".")
    return notebook, int(index)


EXERCISES: dict[str, Exercise] = {id: REGISTRY[id] for id in sorted(REGISTRY, key=_course_order)}

CORRECT = "✔ Correcto"
UNSOLVED = "sin resolver todavía"


@dataclass(frozen=True)
class Result:
    """The outcome of one check: ``status`` is "correcto", "incorrecto" or "sin resolver";
    ``message`` is what the student reads (Spanish)."""

    id: str
    status: str
    message: str
    shown: bool = field(default=False, compare=False, repr=False)   # printed by comprueba

    @property
    def passed(self) -> bool:
        return self.status == "correcto"

    def __str__(self) -> str:
        return f"{self.id}: {self.message}"

    def _ipython_display_(self) -> None:
        """A notebook shows the verdict once: ``comprueba`` has already printed it."""
        if not self.shown:
            print(self)


def exercises_of(notebook: str) -> list[Exercise]:
    """The exercises of ``notebook`` ("03", "06a"), in order. Notebooks 00-08."""
    return [e for e in EXERCISES.values() if e.notebook == notebook]


def _exercise(id: str) -> Exercise:
    if id in EXERCISES:
        return EXERCISES[id]
    notebook = str(id).split(".")[0]
    known = [e.id for e in exercises_of(notebook)]
    listed = ", ".join(known) if known else ", ".join(EXERCISES)
    raise ValueError(f"No hay ningún ejercicio «{id}». Los ejercicios "
                     f"{'de este cuaderno' if known else 'del curso'} son: {listed}.")


# A check has two halves, so that a grader can run the first where the student's code runs (a
# sandboxed kernel) and the second where no student code ever ran (its own process):
#   probe(id, answer, seed) -> evidence   runs the answer; records what it does as plain data
#                                         (numbers, strings, lists, dicts, NumPy arrays)
#   judge(id, evidence, seed) -> Result   compares that data with the reference; runs nothing
# The evidence crosses between them as JSON (evidence_to_json / evidence_from_json), never as a
# pickle of the student's objects. In a notebook, check() does both in one process. Each
# exercise registers its own probe and judge (exercise_checks.common.exercise); what a probe
# refuses on the spot (an error in the student's code, a forbidden call) is the evidence
# {"wrong": message, ...details} ({"forbidden_called": ["F.max_pool2d"]}, {"error": {"type",
# "inputs"}}), which can only fail.

_MALFORMED = "✘ No se pudo leer lo que comprobó el núcleo: vuelve a ejecutar el cuaderno."


def probe(id: str, answer: Any, seed: int = 0) -> dict:
    """Run ``answer`` for exercise ``id`` and return the evidence (plain data) that ``judge``
    needs. Never raises for a bad answer: the student's errors are evidence too."""
    exercise = _exercise(id)
    if answer is None or answer is Ellipsis:
        return {"unsolved": True}
    try:
        evidence = exercise.probe(answer, seed)
    except Wrong as wrong:
        return {"wrong": str(wrong), **wrong.details}
    except Exception as error:  # the student's code failed where no probe explained it
        return {"wrong": explain(error, "las entradas del comprobador"),
                "error": {"type": type(error).__name__}}
    return evidence


def judge(id: str, evidence: dict, seed: int = 0) -> Result:
    """The verdict on exercise ``id`` from ``probe``'s evidence, computed without running any of
    the student's code. Malformed evidence (a kernel that lied) is "incorrecto"."""
    exercise = _exercise(id)
    if not isinstance(evidence, dict):
        return Result(id, "incorrecto", _MALFORMED)
    if evidence.get("unsolved") is True:
        return Result(id, "sin resolver", f"{UNSOLVED}: {exercise.statement}")
    if "wrong" in evidence:
        message = evidence["wrong"]
        if not isinstance(message, str):
            return Result(id, "incorrecto", _MALFORMED)
        return Result(id, "incorrecto", f"✘ {message[:1000]}")
    try:
        exercise.judge(evidence, seed)
    except Wrong as wrong:
        return Result(id, "incorrecto", f"✘ {wrong}")
    except Exception:               # evidence the judge could not read: never a crash
        return Result(id, "incorrecto", _MALFORMED)
    return Result(id, "correcto", CORRECT)


def check(id: str, answer: Any, seed: int = 0) -> Result:
    """Check ``answer`` for exercise ``id`` without printing: ``judge(probe(answer))``, the
    evidence passed through its JSON as in the grader. ``...`` or None is "sin resolver"; an
    exception raised by the student's code is "incorrecto", explained in Spanish. Notebooks
    00-08 call it through ``comprueba``."""
    evidence = evidence_from_json(evidence_to_json(probe(id, answer, seed)))
    return judge(id, evidence, seed)


def probe_namespace(id: str, namespace: dict, seed: int = 0) -> dict:
    """``probe`` on the variable exercise ``id`` asks for in ``namespace`` (a notebook's
    globals): missing or ``...`` is "sin resolver". For the grader, inside the sandbox."""
    return probe(id, namespace.get(_exercise(id).answer), seed)


def check_namespace(id: str, namespace: dict, seed: int = 0) -> Result:
    """``check`` on the variable exercise ``id`` asks for in ``namespace``."""
    return judge(id, probe_namespace(id, namespace, seed), seed)


_ARRAY = "__ndarray__"


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {_ARRAY: value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"evidence must be plain data, not {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if _ARRAY in value:
            dtype = np.dtype(value["dtype"])
            if dtype.hasobject:
                raise ValueError("evidence arrays hold numbers, not objects")
            return np.asarray(value[_ARRAY], dtype=dtype).reshape(value["shape"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def evidence_to_json(evidence: dict) -> str:
    """Evidence as JSON text (NumPy arrays with their dtype and shape; NaN kept)."""
    return json.dumps(_encode(evidence), ensure_ascii=False, allow_nan=True)


def evidence_from_json(text: str) -> dict:
    """The evidence back from ``evidence_to_json``'s text: plain data only, nothing executed."""
    return _decode(json.loads(text))


def comprueba(id: str, respuesta: Any) -> Result:
    """Check an answer and print the verdict (Spanish), in the cell after each exercise.
    Notebooks 00, 01, 02, 03, 04, 05, 06, 06a, 06b, 07, 08."""
    result = check(id, respuesta)
    print(result)
    return replace(result, shown=True)


def pista(id: str) -> None:
    """Print the hint of exercise ``id``.
    Notebooks 00, 01, 02, 03, 04, 05, 06, 06a, 06b, 07, 08."""
    print(f"Pista {id}: {_exercise(id).hint}")


GRADED = ("06a",)   # the assignment: its solutions stay with the instructor (06b)


def solucion(id: str) -> None:
    """Print the reference solution of exercise ``id`` (source code); the assignment's (06a)
    only says where it is. Notebooks 00, 01, 02, 03, 04, 05, 06, 06b, 07, 08."""
    exercise = _exercise(id)
    if exercise.notebook in GRADED:
        print(f"{id} es parte de la entrega: su solución no se muestra aquí (el profesor "
              f"entrega después el cuaderno 06b). comprueba(\"{id}\", ...) te dice qué falla "
              f"y pista(\"{id}\") da una pista.")
        return
    print(f"# Solución {id}\n{exercise.solution}", end="")
