"""What a network *does*, as plain data: the operations its forward pass runs, in call order, with
their arguments (a convolution's weight shape, stride and padding; LeakyReLU's slope; max or mean
pooling), its parameter count and its outputs under weights chosen here.

The checks of notebooks 05-08 judge a student's network by this record, never by how the network
was built (module names, registration order): ``nn.LeakyReLU()``, ``F.leaky_relu`` and
``x.relu()`` are recorded by the operation they run. ``fill_by_shape`` gives every parameter of a
given shape the same values in the student's network and in the reference, so the two can be
compared output to output whatever the parameters are called.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["ACTIVATIONS", "Recorder", "describe", "fill_by_shape", "layers", "parameter_count",
           "parameter_shapes", "record", "shaped_values"]

# name of the torch function (its __name__, trailing "_" of in-place versions removed) -> op name
_CANONICAL = {
    "conv2d": "conv2d", "linear": "linear", "leaky_relu": "leaky_relu", "relu": "relu",
    "relu6": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "gelu": "gelu", "elu": "elu",
    "silu": "silu", "hardtanh": "hardtanh", "softmax": "softmax", "log_softmax": "log_softmax",
    "max_pool2d": "max_pool2d", "avg_pool2d": "avg_pool2d",
    "adaptive_avg_pool2d": "adaptive_avg_pool2d", "adaptive_max_pool2d": "adaptive_max_pool2d",
    "dropout": "dropout", "batch_norm": "batch_norm", "add": "add", "__add__": "add",
    "__radd__": "add", "__iadd__": "add", "sub": "sub", "mul": "mul", "cat": "cat",
    "flatten": "flatten", "view": "reshape", "reshape": "reshape", "pad": "pad",
    "maximum": "maximum", "where": "where", "clamp": "clamp", "matmul": "matmul",
    "mean": "mean", "amax": "max", "max": "max", "sum": "sum",
}
ACTIVATIONS = ("leaky_relu", "relu", "tanh", "sigmoid", "gelu", "elu", "silu", "hardtanh")
# the ops that make a network's layers (what ``layers`` keeps, in order)
_LAYERS = ("conv2d", "linear", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "batch_norm", "softmax", "log_softmax", "add") + ACTIVATIONS


def _pair(value: Any) -> list[int]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float):
        return [int(value), int(value)]
    return [int(v) for v in value]


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _shape(value: Any) -> list[int] | None:
    return list(value.shape) if isinstance(value, torch.Tensor) else None


def _details(op: str, args: tuple, kwargs: dict) -> dict:
    """The arguments of ``op`` that tell one layer from another, as plain data."""
    get = lambda i, name, default=None: _argument(args, kwargs, i, name, default)  # noqa: E731
    if op == "conv2d":
        return {"weight": _shape(get(1, "weight")), "bias": get(2, "bias") is not None,
                "stride": _pair(get(3, "stride", 1)), "padding": _pair(get(4, "padding", 0)),
                "groups": int(get(6, "groups", 1))}
    if op == "linear":
        return {"weight": _shape(get(1, "weight")), "bias": get(2, "bias") is not None}
    if op == "leaky_relu":
        return {"slope": float(get(1, "negative_slope", 0.01))}
    if op in ("max_pool2d", "avg_pool2d"):
        kernel = _pair(get(1, "kernel_size"))
        stride = get(2, "stride", None)
        return {"kernel": kernel, "stride": _pair(stride) if stride not in (None, []) else kernel,
                "padding": _pair(get(3, "padding", 0))}
    if op in ("softmax", "log_softmax"):
        dim = get(1, "dim")
        return {"dim": int(dim) if isinstance(dim, int) else None}
    if op == "dropout":
        return {"p": float(get(1, "p", 0.5)), "training": bool(get(2, "training", True))}
    if op in ("add", "sub", "mul", "maximum", "where"):
        return {"tensors": sum(isinstance(a, torch.Tensor) and a.ndim > 0 for a in args)}
    return {}


class Recorder(TorchFunctionMode):
    """Records each torch function a forward pass calls, outermost calls only (a ``LeakyReLU``
    module is one ``leaky_relu``, not the kernels it calls), with its input and output shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[dict] = []

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        op = _CANONICAL.get(name) or _CANONICAL.get(name.rstrip("_"))
        if op is None:
            return func(*args, **kwargs)
        try:
            entry = {"op": op, **_details(op, args, kwargs)}
        except (TypeError, ValueError, IndexError):
            entry = {"op": op}
        first = args[0] if args else None
        if isinstance(first, list | tuple) and first:
            first = first[0]
        entry["in"] = _shape(first)
        self.ops.append(entry)        # before the call: a layer that fails is recorded too
        result = func(*args, **kwargs)
        entry["out"] = _shape(result[0] if isinstance(result, tuple) and result else result)
        return result


@contextmanager
def record() -> Iterator[list[dict]]:
    """``with record() as ops: model(x)`` fills ``ops`` with the forward pass's operations."""
    recorder = Recorder()
    with recorder:
        yield recorder.ops


def layers(ops: list[dict]) -> list[dict]:
    """The ops that make layers (convolutions, linear layers, activations, pooling, softmax,
    normalisation, additions), in call order: what a network's description lists."""
    return [op for op in ops if isinstance(op, dict) and op.get("op") in _LAYERS]


_NAMES = {"conv2d": "conv", "linear": "lineal", "leaky_relu": "LeakyReLU", "relu": "ReLU",
          "tanh": "tanh", "sigmoid": "sigmoide", "gelu": "GELU", "elu": "ELU", "silu": "SiLU",
          "hardtanh": "hardtanh", "softmax": "softmax", "log_softmax": "log_softmax",
          "max_pool2d": "max pooling", "avg_pool2d": "pooling de media",
          "adaptive_avg_pool2d": "media adaptativa", "adaptive_max_pool2d": "máximo adaptativo",
          "batch_norm": "BatchNorm", "add": "suma"}


def describe(ops: list[dict]) -> str:
    """The layers of a recorded forward pass in Spanish, one after another:
    "conv(1→16, 3×3) → LeakyReLU → ... → lineal(128→10)"."""
    words = []
    for op in layers(ops):
        name = _NAMES.get(op["op"], str(op["op"]))
        weight = op.get("weight")
        if op["op"] == "conv2d" and isinstance(weight, list) and len(weight) == 4:
            name += f"({weight[1]}→{weight[0]}, {weight[2]}×{weight[3]})"
        elif op["op"] == "linear" and isinstance(weight, list) and len(weight) == 2:
            name += f"({weight[1]}→{weight[0]})"
        words.append(name)
    return " → ".join(words) or "ninguna capa"


def parameter_count(module: nn.Module, trainable_only: bool = False) -> int:
    """How many numbers the parameters of ``module`` hold (only trainable ones, if asked)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def parameter_shapes(module: nn.Module) -> list[list[int]]:
    """The shapes of ``module``'s parameters, sorted: the same set whatever their names."""
    return sorted(list(p.shape) for p in module.parameters())


def shaped_values(shape: tuple[int, ...] | list[int], seed: int) -> torch.Tensor:
    """The float64 values ``fill_by_shape`` gives a parameter of ``shape``."""
    shape = tuple(int(n) for n in shape)
    key = zlib.crc32(repr((int(seed), shape)).encode())
    generator = torch.Generator().manual_seed(key)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 4
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) / fan_in ** 0.5


def fill_by_shape(module: nn.Module, seed: int) -> nn.Module:
    """Give each parameter values that depend only on its shape and ``seed`` (and reset
    BatchNorm's running statistics): two networks with the same layers compute the same function,
    whatever their parameters are called. Returns ``module``, changed in place."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(shaped_values(tuple(p.shape), seed).to(p.dtype))
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.reset_running_stats()
    return module
