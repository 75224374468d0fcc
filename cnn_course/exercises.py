"""Exercises that answer back: ``comprueba("03.1", respuesta_03_1)`` prints "✔ Correcto" or, in
Spanish, what is wrong, aimed at the mistake; ``pista`` and ``solucion`` only on request.

Every notebook 00-08 (and the assignment, 06a/06b) ends with exercises. Each exercise has an id
``NN.k``, a variable the student assigns (``respuesta_03_1``) and one check function in
``cnn_course/exercise_checks/`` (by part of the course). ``check`` and ``check_namespace`` are
pure: they never print and never raise for a bad answer, so a grader can call them on a
student's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .exercise_checks import assignment, first_steps, networks, sizes, transfer
from .exercise_checks.common import REGISTRY, Exercise, Wrong

__all__ = ["EXERCISES", "GRADED", "Exercise", "Result", "Wrong", "check", "check_namespace",
           "comprueba", "exercises_of", "pista", "solucion"]

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


def check(id: str, answer: Any) -> Result:
    """Check ``answer`` for exercise ``id`` without printing. ``...`` or None is "sin resolver";
    an exception raised by the student's code is "incorrecto", named in Spanish. Notebooks 00-08
    call it through ``comprueba``; the grader calls it directly."""
    exercise = _exercise(id)
    if answer is None or answer is Ellipsis:
        return Result(id, "sin resolver", f"{UNSOLVED}: {exercise.statement}")
    try:
        exercise.check(answer)
    except Wrong as wrong:
        return Result(id, "incorrecto", f"✘ {wrong}")
    except Exception as error:  # the student's code failed on our inputs
        return Result(id, "incorrecto", f"✘ Tu respuesta da un error al probarla: "
                                        f"{type(error).__name__}: {error}")
    return Result(id, "correcto", CORRECT)


def check_namespace(id: str, namespace: dict) -> Result:
    """Check exercise ``id`` on the variable it asks for in ``namespace`` (a notebook's
    globals): missing or ``...`` is "sin resolver". For the grader."""
    return check(id, namespace.get(_exercise(id).answer))


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
