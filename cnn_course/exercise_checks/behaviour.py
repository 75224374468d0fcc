"""Running a student's answer and recording what it *does* (issue 25): the helpers every probe
uses.

- ``Forbidden`` names one thing a statement forbids ("F.max_pool2d") and how to recognise its
  call: torch callables (seen through ``torch.overrides.TorchFunctionMode``), ``nn.Module``
  classes (a global forward pre-hook: subclasses count) and pure-Python functions (their code
  objects, seen through ``sys.setprofile``). Nothing in a module is replaced, so a wrapper, a
  ``functools.partial``, a subclass or a name imported before is caught all the same.
- ``run(function, *args, inputs=..., forbid=...)`` calls the answer with those forbidden: a
  forbidden call raises ``ForbiddenCall`` (a ``Wrong`` naming the function actually called) and
  an exception of the student's code raises ``Wrong`` explained in Spanish (``explain``), with the
  input used and what to change.
- ``to_array`` reads what the answer returned (tensor, array, nested list; any dtype) as NumPy.
- ``seeded``/``unseen_tensors`` draw an exercise's unseen inputs from the seed (probe and judge
  alike).
- ``describe`` writes an input as the messages name it ("un tensor (1, 2, 7, 9) float32").
- ``given``/``given_array``/``given_arrays`` read evidence in a judge without trusting it:
  anything unexpected is ``common.Unreadable`` (a ``Wrong``).

Notebooks 00-08 use it through ``cnn_course.exercises`` (``comprueba``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from .common import Unreadable, Wrong

__all__ = ["ForbiddenCall", "Forbidden", "describe", "explain", "forbidding",
           "given", "given_array", "given_arrays", "run", "seeded", "to_array",
           "unseen_tensors"]


@dataclass(frozen=True)
class Forbidden:
    """One thing a statement forbids, named as the statement writes it (``name``), and what
    counts as calling it: ``torch`` callables (``F.max_pool2d``, ``torch.Tensor.unfold``),
    ``modules`` (``nn.MaxPool2d``: an instance of it or of a subclass runs its forward) and
    ``functions`` (pure-Python functions such as ``ops.pool2d``: their code runs)."""

    name: str
    torch: tuple[Callable, ...] = ()
    modules: tuple[type, ...] = ()
    functions: tuple[Callable, ...] = ()


class ForbiddenCall(Wrong):
    """The answer called something its statement forbids; ``called`` lists the names."""

    def __init__(self, called: Sequence[str]):
        self.called = list(called)
        names = " y ".join(f"`{name}`" for name in self.called)
        super().__init__(f"Tu respuesta llama a {names}, que el enunciado no permite (tampoco "
                         "a través de otra función, un partial o una subclase): escribe tú el "
                         "cálculo.", {"forbidden_called": self.called})


class _Stopped(BaseException):
    """Raised inside the answer at a forbidden call; BaseException so that a student's
    ``except Exception`` does not swallow it (the call is recorded either way)."""


class _TorchWatch(TorchFunctionMode):
    def __init__(self, rules: Sequence[Forbidden], hit: Callable[[str], None]):
        super().__init__()
        self.names = {id(f): rule.name for rule in rules for f in rule.torch}
        self.hit = hit

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if id(func) in self.names:
            self.hit(self.names[id(func)])
        return func(*args, **(kwargs or {}))


@contextmanager
def forbidding(rules: Sequence[Forbidden]) -> Iterator[list[str]]:
    """While the block runs, a call to any of ``rules`` is recorded (the yielded list, by
    name) and stopped with a private exception that ``run`` turns into ``ForbiddenCall``."""
    called: list[str] = []
    if not rules:
        yield called
        return

    def hit(name: str) -> None:
        if name not in called:
            called.append(name)
        raise _Stopped(name)

    codes = {f.__code__: rule.name for rule in rules for f in rule.functions}
    modules = [(rule.modules, rule.name) for rule in rules if rule.modules]

    def profile(frame, event, arg) -> None:
        if event == "call" and frame.f_code in codes:
            hit(codes[frame.f_code])

    def pre_hook(module, args) -> None:
        for classes, name in modules:
            if isinstance(module, classes):
                hit(name)

    handle = torch.nn.modules.module.register_module_forward_pre_hook(pre_hook)
    previous = sys.getprofile()
    if codes:
        sys.setprofile(profile)
    try:
        with _TorchWatch(rules, hit):
            yield called
    finally:
        sys.setprofile(previous)
        handle.remove()


def run(function: Any, *args: Any, inputs: str, forbid: Sequence[Forbidden] = (),
        advice: str = "") -> Any:
    """Call the student's ``function(*args)`` with ``forbid`` enforced and return its result.
    ``inputs`` says in Spanish what it was called with (``describe``); ``advice`` is added to
    the explanation of an error (a signature, an odd size). Raises ``ForbiddenCall`` or a
    ``Wrong`` explaining the student's exception; never lets the exception through."""
    if not callable(function):
        raise Wrong(f"La respuesta debe ser una función (su nombre, sin paréntesis) y es "
                    f"{type(function).__name__}.")
    given_as_is = [rule.name for rule in forbid if _is(function, rule)]
    if given_as_is:                 # the forbidden function itself, handed in as the answer
        raise ForbiddenCall(given_as_is)
    error = None
    with forbidding(forbid) as called:
        try:
            out = function(*args)
        except _Stopped:
            out = None
        except Exception as raised:   # the student's code failed: explained below
            error = raised
    if called:
        raise ForbiddenCall(called)
    if error is not None:
        raise Wrong(explain(error, inputs, advice),
                    {"error": {"type": type(error).__name__, "inputs": inputs}}) from None
    return out


def _is(answer: Any, rule: Forbidden) -> bool:
    """Whether ``answer`` is ``rule``'s function or module (a partial of it, an instance)."""
    answer = getattr(answer, "func", answer)           # functools.partial
    return (any(answer is f for f in (*rule.torch, *rule.functions))
            or isinstance(answer, rule.modules)
            or isinstance(answer, type) and issubclass(answer, rule.modules))


_TORCH_ONLY = {"permute", "float", "double", "unsqueeze", "squeeze", "view", "size", "clone",
               "numel", "dim", "movedim", "amax", "flip", "item"}


def _advice(error: Exception) -> str:
    """What to change, read from the exception's type and text (the text is never shown)."""
    text = str(error)
    if isinstance(error, ZeroDivisionError):
        return "divide por cero: ¿algún argumento vale 0 o está en otro orden?"
    if isinstance(error, IndexError):
        return ("un índice se sale de la entrada: usa las medidas de la entrada (x.shape) en "
                "vez de números fijos, y recorre solo las posiciones que caben.")
    if isinstance(error, AttributeError):
        name, obj = getattr(error, "name", None), getattr(error, "obj", None)
        if isinstance(obj, np.ndarray) and name in _TORCH_ONLY:
            return (f"recibe un array de NumPy, que no tiene «.{name}» (es de los tensores): "
                    "usa la función de NumPy (np.transpose, np.moveaxis, .astype) o conviértelo "
                    "con torch.as_tensor.")
        what = type(obj).__name__ if obj is not None else "lo que recibe"
        return (f"usa «.{name}», que {what} no tiene: trabaja con lo que recibe (tensor o "
                "array) o conviértelo primero.")
    if ("Double" in text and "Float" in text) or "dtype" in text or "scalar type" in text:
        return ("mezcla float64 y float32 (o enteros y decimales): convierte al tipo de la "
                "entrada, con .float() en PyTorch o .astype(np.float32) en NumPy.")
    if isinstance(error, RuntimeError | ValueError) and any(
            word in text for word in ("shape", "size", "dimension", "mat1")):
        return ("las formas no encajan: usa las medidas de la entrada (x.shape) en vez de "
                "números fijos; ¿supones algo que esta entrada no cumple?")
    if isinstance(error, TypeError) and "axis" in text:
        return ("usa un argumento de NumPy (axis=) con un tensor: en PyTorch es dim=, o "
                "convierte la entrada con np.asarray.")
    if isinstance(error, TypeError):
        return ("la llamada no encaja con tu función o con lo que recibe: revisa su firma (los "
                "argumentos y su orden) y los tipos que usa.")
    return "pruébala tú con una entrada así y corrige el error."


def explain(error: Exception, inputs: str, advice: str = "") -> str:
    """The Spanish explanation of an exception raised by the student's code: its type, the
    input the check used and what to change (never the English text)."""
    extra = f" {advice}" if advice else ""
    return f"Tu función da un error ({type(error).__name__}) con {inputs}: {_advice(error)}{extra}"


def describe(value: Any) -> str:
    """An input as a message names it: "un tensor (1, 2, 7, 9) float32", "un array...", 28."""
    if isinstance(value, torch.Tensor):
        return f"un tensor {tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}"
    if isinstance(value, np.ndarray):
        return f"un array de NumPy {value.shape} {value.dtype}"
    return repr(value)


MAX_NUMBERS = 1_000_000     # more than any exercise's answer: the evidence stays small


def to_array(out: Any, what: str = "La función devuelve") -> np.ndarray:
    """What an answer returned (tensor, NumPy array or value, nested list of numbers; any
    dtype) as a NumPy array of numbers; anything else, or more than ``MAX_NUMBERS`` numbers,
    is a ``Wrong`` naming what came back."""
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu()
        out = (out.float() if out.dtype == torch.bfloat16 else out).resolve_conj().numpy()
    try:
        array = np.asarray(out) if isinstance(out, list | tuple | np.ndarray | np.generic |
                                                   int | float) else None
    except ValueError:      # ragged lists
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise Wrong(f"{what} {type(out).__name__}; debe ser un tensor o un array de números.")
    if array.size > MAX_NUMBERS:
        raise Wrong(f"{what} un resultado de forma {array.shape}: demasiados números para lo "
                    "que se pide; revisa la forma.")
    return array


def seeded(seed: int, salt: int) -> torch.Generator:
    """The generator of an exercise's unseen inputs: the probe and the judge both draw them
    from (seed, salt), so the judge never trusts inputs reported by the probe."""
    return torch.Generator().manual_seed(int(seed) * 1009 + salt)


def unseen_tensors(seed: int, salt: int, shapes: Sequence[tuple[int, ...]],
                   draw: Callable = torch.randn) -> list[torch.Tensor]:
    """One float32 tensor per shape, drawn with ``draw`` (``torch.randn``, ``torch.rand``)
    from ``seeded(seed, salt)``: the unseen inputs of an exercise, the same in probe and
    judge."""
    generator = seeded(seed, salt)
    return [draw(*shape, generator=generator) for shape in shapes]


def given(evidence: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """``evidence[key]`` when it is a ``kind``; anything else is ``Unreadable``."""
    if not isinstance(evidence, dict) or key not in evidence:
        raise Unreadable(f"falta «{key}»")
    value = evidence[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in (
            kind if isinstance(kind, tuple) else (kind,))):
        raise Unreadable(f"«{key}» no es lo esperado")
    return value


def given_array(evidence: Any, key: str) -> np.ndarray:
    """``evidence[key]`` when it is a NumPy array of numbers; anything else is ``Unreadable``."""
    value = given(evidence, key, np.ndarray)
    if value.dtype.kind not in "biuf":
        raise Unreadable(f"«{key}» no son números")
    return value


def given_arrays(evidence: Any, key: str, count: int) -> list[np.ndarray]:
    """``evidence[key]`` when it is a list of ``count`` arrays of numbers (one per unseen
    input); anything else is ``Unreadable``."""
    values = given(evidence, key, list)
    if len(values) != count:
        raise Unreadable(f"«{key}» no tiene {count} elementos")
    return [given_array({key: value}, key) for value in values]
