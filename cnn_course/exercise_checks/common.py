"""What every exercise check shares: the ``Exercise`` record, the ``Wrong`` answer, the registry,
and small helpers that read a student's answer (a number, a shape, an integer).

A check is two halves (issue 25), so that a grader can run the first inside a sandboxed kernel
and the second in its own process:
- ``probe(answer, seed) -> evidence``: runs the answer (``behaviour.run``) and returns what it
  did as plain data (numbers, strings, lists, dicts, NumPy arrays). It may raise ``Wrong`` for
  what it can refuse on the spot (a student's exception, a forbidden call, a string where a
  number is asked): ``exercises.probe`` turns that into the evidence ``{"wrong": message}``.
- ``judge(evidence, seed) -> None``: compares the evidence with the reference, regenerating the
  unseen inputs from ``seed`` (``behaviour.seeded``); it runs no student code, reads the
  evidence with ``behaviour.given``/``given_array`` and raises ``Wrong`` aimed at the mistake.
Numeric and shape answers share ``probe_number``/``probe_shape`` and ``number_of``/``shape_of``.

Notebooks 00-08 (``comprueba``) use it through ``cnn_course.exercises``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import config

__all__ = ["REGISTRY", "Exercise", "Unreadable", "Wrong", "as_integer", "as_number", "as_shape",
           "exercise", "expect_number", "number_of", "probe_number", "probe_shape",
           "read_number", "shape_of", "spanish"]


class Wrong(Exception):
    """A wrong answer; its message (Spanish, aimed at the mistake) is shown to the student.
    ``details`` is plain data a probe adds to the evidence beside the message (the forbidden
    functions called, the student's exception type and the input it failed on)."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its id ("03.1"), the variable the student assigns, its
    statement (also the handout's placeholder comment), hint, reference solution, and its
    check as ``probe``/``judge``. ``note`` is an optional paragraph the notebook shows below
    the statement. This record is the one source of the exercise's text: the notebooks'
    exercise cells are generated from it (``cnn_course.tools.exercise_cells``)."""

    id: str
    notebook: str
    answer: str
    statement: str
    hint: str
    solution: str
    probe: Callable[[Any, int], dict] = field(repr=False)
    judge: Callable[[dict, int], None] = field(repr=False)
    code: bool = False
    points: float = 1.0
    note: str = ""

    @property
    def kind(self) -> str:
        """What the answer is, as the statement's heading says it: código, forma, número (an
        assignment's tuple is a "respuesta")."""
        if self.code:
            return "código"
        return {probe_shape: "forma", probe_number: "número"}.get(self.probe, "respuesta")


REGISTRY: dict[str, Exercise] = {}


class Unreadable(Wrong):
    """Evidence a judge cannot read: the kernel that produced it did not run the probe."""

    def __init__(self, what: str = ""):
        super().__init__("No se pudo leer lo que comprobó el núcleo"
                         + (f" ({what})" if what else "") + ": vuelve a ejecutar el cuaderno.")


def exercise(id: str, statement: str, hint: str, solution: str, code: bool = False,
             points: float = 1.0, probe: Callable[[Any, int], dict] | None = None,
             note: str = "") -> Callable:
    """Register exercise ``id`` ("03.1", "06a.2"); decorate one of:
    - a class with ``probe(answer, seed)`` and ``judge(evidence, seed)`` (plain functions in
      its body, no ``self``);
    - a ``judge(evidence, seed)`` function, with ``probe=`` a shared probe (``probe_number``,
      ``probe_shape``).
    Returns what it decorates."""
    notebook = id.split(".")[0]

    def register(decorated: Any) -> Any:
        if id in REGISTRY:
            raise ValueError(f"exercise {id} is registered twice")
        if isinstance(decorated, type):
            halves = {"probe": decorated.probe, "judge": decorated.judge}
        elif probe is not None:
            halves = {"probe": probe, "judge": decorated}
        else:
            raise TypeError(f"exercise {id}: decorate a class with probe and judge, or a judge "
                            "with probe=")
        REGISTRY[id] = Exercise(id, notebook, "respuesta_" + id.replace(".", "_"), statement,
                                hint, solution.strip() + "\n", code=code, points=points,
                                note=note, **halves)
        return decorated
    return register


def spanish(x: float) -> str:
    """A number as the prose writes it (60.000; 0,9218)."""
    return config.format_number(x)


def as_number(answer: Any) -> float:
    """A numeric answer given as int, float, NumPy value or one-element tensor, as a float."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, np.ndarray | np.generic) and answer.size == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise Wrong(f"Se esperaba un número y la respuesta es {type(answer).__name__} "
                    f"({answer!r:.60}).")
    if not math.isfinite(answer):
        raise Wrong(f"La respuesta es {answer}: se esperaba un número finito.")
    return float(answer)


def as_integer(value: Any, what: str) -> int:
    """An integer answer (int, NumPy integer, one-element integer tensor) as an int; a float,
    even 28.0, is a ``Wrong`` saying that ``what`` must be an integer."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()            # an int or a float, as the tensor's dtype says
    if isinstance(value, np.ndarray | np.generic) and value.size == 1:
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    shown = (f"{value!r} (un número decimal)" if isinstance(value, float)
             else f"{value!r:.40} ({type(value).__name__})")
    raise Wrong(f"{what} da {shown}; debe ser un entero: usa la división entera // (o "
                "int(...)).")


def as_shape(answer: Any) -> tuple[int, ...]:
    """A shape given as tuple, list, ``torch.Size`` or NumPy array, as a tuple of ints."""
    if isinstance(answer, torch.Tensor | np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, tuple | list) or not all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in answer):
        raise Wrong(f"Se esperaba una forma, como (32, 1, 28, 28), y la respuesta es "
                    f"{answer!r:.60}.")
    return tuple(int(v) for v in answer)


def read_number(answer: Any) -> float:
    """A numeric answer in any form (``as_number``); a square size may come as (n, n)."""
    if isinstance(answer, tuple | list | torch.Size) and answer and len(set(answer)) == 1:
        answer = answer[0]           # a square size given as (28, 28)
    return as_number(answer)


def probe_number(answer: Any, seed: int = 0) -> dict:
    """The probe of a numeric exercise: ``{"number": value}`` (``Wrong`` if not a number)."""
    return {"number": read_number(answer)}


def number_of(evidence: Any) -> float:
    """The number ``probe_number`` recorded; anything else is unreadable evidence."""
    number = evidence.get("number") if isinstance(evidence, dict) else None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise Unreadable("«number»")
    return float(number)


def probe_shape(answer: Any, seed: int = 0) -> dict:
    """The probe of a shape exercise: ``{"shape": [ints]}`` (``Wrong`` if not a shape)."""
    return {"shape": list(as_shape(answer))}


def shape_of(evidence: Any) -> tuple[int, ...]:
    """The shape ``probe_shape`` recorded, re-read with ``as_shape``."""
    shape = evidence.get("shape") if isinstance(evidence, dict) else None
    if not isinstance(shape, list):
        raise Unreadable("«shape»")
    return as_shape(shape)


def expect_number(answer: Any, right: float, mistakes: Iterable[tuple[float, str]] = (),
                  otherwise: str = "", rel: float = 1e-9) -> None:
    """Pass when ``answer`` is ``right`` (any numeric form; a size may come as (n, n));
    raise the message of the first matching typical mistake, or ``otherwise``. A judge passes
    it ``number_of(evidence)``."""
    value = read_number(answer)
    if math.isclose(value, right, rel_tol=rel, abs_tol=1e-12):
        return
    for wrong, message in mistakes:
        if math.isclose(value, wrong, rel_tol=max(rel, 1e-9)):
            raise Wrong(message)
    raise Wrong(otherwise or f"{spanish(value)} no es la respuesta; repasa el razonamiento.")

