"""What every exercise check shares: the ``Exercise`` record, the ``Wrong`` answer, the registry,
and small helpers that read a student's answer (a number, a shape, their own code).

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

__all__ = ["REGISTRY", "Exercise", "Wrong", "as_number", "as_shape", "exercise", "expect_number",
           "own_code", "spanish"]


class Wrong(Exception):
    """A wrong answer; its message (Spanish, aimed at the mistake) is shown to the student."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its id ("03.1"), the variable the student assigns, its
    statement (also the handout's placeholder comment), hint, reference solution and check."""

    id: str
    notebook: str
    answer: str
    statement: str
    hint: str
    solution: str
    check: Callable[[Any], None] = field(repr=False)
    code: bool = False
    points: float = 1.0


REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, statement: str, hint: str, solution: str, code: bool = False,
             points: float = 1.0) -> Callable:
    """Register the decorated check function as exercise ``id`` ("03.1", "06a.2")."""
    notebook = id.split(".")[0]

    def register(check: Callable[[Any], None]) -> Callable[[Any], None]:
        if id in REGISTRY:
            raise ValueError(f"exercise {id} is registered twice")
        REGISTRY[id] = Exercise(id, notebook, "respuesta_" + id.replace(".", "_"), statement,
                                hint, solution.strip() + "\n", check, code, points)
        return check
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


def as_shape(answer: Any) -> tuple[int, ...]:
    """A shape given as tuple, list, ``torch.Size`` or NumPy array, as a tuple of ints."""
    if isinstance(answer, torch.Tensor | np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, tuple | list) or not all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in answer):
        raise Wrong(f"Se esperaba una forma, como (32, 1, 28, 28), y la respuesta es "
                    f"{answer!r:.60}.")
    return tuple(int(v) for v in answer)


def expect_number(answer: Any, right: float, mistakes: Iterable[tuple[float, str]] = (),
                  otherwise: str = "", rel: float = 1e-9) -> None:
    """Pass when ``answer`` is ``right`` (any numeric form; a size may come as (n, n));
    raise the message of the first matching typical mistake, or ``otherwise``."""
    if isinstance(answer, tuple | list | torch.Size) and len(set(answer)) == 1 and answer:
        answer = answer[0]           # a square size given as (28, 28)
    value = as_number(answer)
    if math.isclose(value, right, rel_tol=rel, abs_tol=1e-12):
        return
    for wrong, message in mistakes:
        if math.isclose(value, wrong, rel_tol=max(rel, 1e-9)):
            raise Wrong(message)
    raise Wrong(otherwise or f"{spanish(value)} no es la respuesta; repasa el razonamiento.")


_LIBRARIES = ("cnn_course", "torch", "torchvision", "numpy", "scipy")


def own_code(obj: Any, what: str) -> None:
    """Refuse the library's own answer (``ops.output_size``, ``F.conv2d``, ``nn.MaxPool2d()``,
    ``models.ResLayer``...): the exercise is to write ``what`` yourself."""
    if obj is None or obj is Ellipsis:
        return
    module = getattr(obj, "__module__", None) if isinstance(obj, type) or callable(obj) else None
    if not isinstance(obj, type) and not _is_plain_function(obj):
        module = type(obj).__module__
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    if module and module.split(".")[0] in _LIBRARIES:
        raise Wrong(f"Esa es la versión de la biblioteca ({module}.{name}); el ejercicio es "
                    f"escribir tu propia {what}.")


def _is_plain_function(obj: Any) -> bool:
    return callable(obj) and hasattr(obj, "__qualname__") and not isinstance(obj, torch.nn.Module)
