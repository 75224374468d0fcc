"""Exercises of notebooks 07-08: transfer learning (a head, freezing) and ResNet. A head and a
residual layer are judged by what they compute under weights chosen here (``trace``), never by
how their modules are named or registered."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import models
from .behaviour import (
    Forbidden,
    ForbiddenCall,
    given,
    given_array,
    given_arrays,
    run,
    seeded,
    to_array,
)
from .common import Unreadable, Wrong, exercise, expect_number, number_of, probe_number, spanish
from .trace import (
    ACTIVATIONS,
    describe,
    fill_by_shape,
    layers,
    parameter_count,
    record,
    shaped_values,
)

__all__ = ["FORBID_08_2", "HEAD_INPUTS", "check_07_1", "check_07_2", "check_07_3", "check_07_4",
           "check_08_1", "check_08_2", "check_08_3", "judge_07_3", "judge_07_4", "judge_08_2",
           "probe_07_3", "probe_07_4", "probe_08_2"]


@exercise("07.1", "cuántos pesos se entrenan si la cabeza de la VGG16 es 512-256-1 (con la red "
          "base congelada)",
          "Solo cuenta la cabeza: dos capas lineales, cada una con pesos y sesgos.",
          "respuesta_07_1 = 512 * 256 + 256 + 256 * 1 + 1   # 131.585", probe=probe_number)
def check_07_1(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 131_585, [
        (131_328, "¿Y los sesgos? Cada neurona tiene uno."),
        (512 * 256 + 256, "Te falta la segunda capa, 256 → 1."),
        (512 * 256, "Faltan los sesgos y la segunda capa, 256 → 1."),
        (14_714_688 + 131_585, "Solo se entrenan los pesos de la cabeza: la red base está "
                               "congelada.")],
        "Cuenta pesos y sesgos de las dos capas lineales de la cabeza.")


@exercise("07.2", "cuántas entradas tendría la primera capa lineal de la VGG16, sin "
          "AdaptiveAvgPool2d((1, 1)), con imágenes de 224×224",
          "La VGG16 tiene 5 max poolings 2×2 y su último bloque da 512 canales; sin el promedio "
          "adaptativo, la capa lineal recibe el mapa entero.",
          "respuesta_07_2 = 512 * 7 * 7   # 25.088: 224 / 2⁵ = 7", probe=probe_number)
def check_07_2(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 25_088, [
        (512, "Eso es con AdaptiveAvgPool2d((1, 1)); sin él, cada canal es un mapa entero."),
        (512 * 14 * 14, "La VGG16 tiene 5 poolings, no 4: 224 / 2⁵."),
        (512 * 3 * 3, "La VGG16 tiene 5 poolings, no 6: 224 / 2⁵."),
        (7 * 7, "Faltan los 512 canales."),
        (3 * 224 * 224, "Eso es la imagen de entrada; la capa lineal va tras los bloques "
                        "convolutivos.")],
        "Sigue el tamaño de 224 tras cada pooling y multiplica por los canales.")


# ------------------------------------------------------------------------------ 07.3

HEAD_INPUTS = (1280, 512)     # EfficientNet-Lite0's cached features (notebook 07), VGG16's


def _features(seed: int, inputs: int) -> torch.Tensor:
    return torch.randn(6, inputs, generator=seeded(seed, 73 + inputs)) * 2


def probe_07_3(answer: Any, seed: int = 0) -> dict:
    """A copy of the student's head (their weights stay as they were), with each parameter given
    values that depend only on its shape, run in evaluation mode on 6 feature vectors of 1.280
    numbers (512 if it takes those): the operations it runs, its output, its trainable
    parameters."""
    if not isinstance(answer, nn.Module):
        raise Wrong("Se espera un nn.Module (un objeto, por ejemplo nn.Sequential(...)).")
    head = copy.deepcopy(answer)
    trainable = parameter_count(head, trainable_only=True)
    fill_by_shape(head, seed).eval()
    dtype = next((p.dtype for p in head.parameters()), torch.float32)
    first = None
    for inputs in HEAD_INPUTS:
        with torch.no_grad(), record() as ops:
            try:
                out = run(head, _features(seed, inputs).to(dtype),
                          inputs=f"6 vectores de {inputs} características, un tensor "
                                 f"(6, {inputs}) {str(dtype)[6:]}",
                          advice="la cabeza recibe 1.280 características (las de "
                                 "EfficientNet-Lite0; 512 las de la VGG16).")
            except ForbiddenCall:
                raise
            except Wrong as wrong:
                first = first or wrong
                continue
        return {"inputs": inputs, "ops": ops, "trainable": trainable,
                "output": to_array(out, "La cabeza devuelve").astype(np.float64)}
    raise first


def _reference_head(seed: int, inputs: int) -> nn.Module:
    head = nn.Sequential(nn.Linear(inputs, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid())
    return fill_by_shape(head, seed).double().eval()


def _diagnose_07_3(ops: list[dict], out: np.ndarray, inputs: int) -> None:
    kinds = [op["op"] for op in ops]
    if kinds and kinds[-1] in ("softmax", "log_softmax"):
        raise Wrong("La última capa es una softmax: con una sola salida da siempre 1 (y sobre la "
                    "bandeja mezcla unas imágenes con otras). La probabilidad de la segunda "
                    "clase la da una sigmoide, nn.Sigmoid().")
    if out.min() < 0 or out.max() > 1:
        raise Wrong("La salida no está entre 0 y 1: BCELoss necesita probabilidades; falta la "
                    "sigmoide al final.")
    linears = [i for i, op in enumerate(ops) if op["op"] == "linear"]
    shapes = [ops[i]["weight"] for i in linears]
    if shapes != [[128, inputs], [1, 128]]:
        sizes = " → ".join(str(n) for n in ([shapes[0][1]] if shapes else []) +
                           [w[0] for w in shapes])
        raise Wrong(f"Las capas lineales de tu cabeza van {sizes or 'sin capas lineales'}; se "
                    f"esperaba {inputs} → 128 → 1.")
    hidden = [op["op"] for op in ops[linears[0] + 1:linears[1]] if op["op"] in ACTIVATIONS]
    if not hidden:
        raise Wrong("Falta la ReLU entre las dos capas lineales: sin una activación (un Dropout "
                    "no lo es), las dos equivalen a una sola capa lineal.")
    if "relu" not in hidden:
        raise Wrong(f"La activación oculta es {describe([{'op': hidden[0]}])}; el enunciado pide "
                    "ReLU.")
    after = [op["op"] for op in ops[linears[1] + 1:] if op["op"] in ACTIVATIONS]
    if after[:-1] or after[-1:] != ["sigmoid"]:
        raise Wrong("Tras la última capa lineal solo va la sigmoide: con una ReLU delante, la "
                    "sigmoide nunca recibe negativos y la probabilidad nunca baja de 0,5 (la "
                    "cabeza jamás predice la primera clase). La ReLU va entre las dos capas "
                    "lineales.")
    raise Wrong("Con los mismos pesos, tu cabeza no calcula lo mismo que "
                f"{inputs} → 128 → ReLU → 1 → sigmoide. La tuya hace: {describe(ops)}.")


def judge_07_3(evidence: dict, seed: int = 0) -> None:
    inputs = given(evidence, "inputs", int)
    if inputs not in HEAD_INPUTS:
        raise Unreadable("«inputs»")
    out = given_array(evidence, "output")
    if out.shape == (6, 2):
        raise Wrong("La cabeza da 2 salidas; con BCELoss es una: la probabilidad de la segunda "
                    "clase.")
    if out.shape != (6, 1):
        raise Wrong(f"Con 6 vectores de {inputs} la cabeza da {tuple(out.shape)}; se esperaba "
                    "(6, 1).")
    with torch.no_grad():
        right = _reference_head(seed, inputs)(_features(seed, inputs).double()).numpy()
    if np.abs(out - right).max() > 1e-5:
        _diagnose_07_3(layers(given(evidence, "ops", list)), out, inputs)
    expected = inputs * 128 + 128 + 128 + 1
    if given(evidence, "trainable", int) != expected:
        raise Wrong(f"La cabeza tiene {spanish(evidence['trainable'])} pesos entrenables; una "
                    f"{inputs}-128-1 tiene {spanish(expected)}: ¿has congelado alguno?")



@exercise("07.3", "una cabeza (un nn.Module) para las características en caché: 1.280 "
          "entradas (512 si son de la VGG16), 128 ocultas con ReLU y 1 salida, la probabilidad "
          "de la segunda clase (perro; sin conexión, camisa)",
          "BCELoss compara probabilidades entre 0 y 1: la última capa necesita una sigmoide.",
          """
respuesta_07_3 = nn.Sequential(nn.Linear(1280, 128), nn.ReLU(), nn.Linear(128, 1),
                               nn.Sigmoid())""", code=True,
          note="Con `nn.Sequential` basta.")
class check_07_3:
    probe = staticmethod(probe_07_3)
    judge = staticmethod(judge_07_3)


# ------------------------------------------------------------------------------ 07.4

class _Transfer(nn.Module):
    """A small stand-in for a transfer model: ``backbone`` and ``head``."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.head = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())

    def forward(self, x):
        return self.head(self.backbone(x))


def probe_07_4(answer: Any, seed: int = 0) -> dict:
    """Run ``congela`` twice, on a model whose head comes frozen (as an earlier cell may leave
    it) and on one all trainable; record requires_grad of every parameter afterwards."""
    runs = []
    for head_frozen in (True, False):
        model = _Transfer()
        model.head.requires_grad_(not head_frozen)
        result = run(answer, model, inputs="un modelo con model.backbone y model.head"
                     + (" (la cabeza congelada)" if head_frozen else ""))
        model = result if isinstance(result, _Transfer) else model
        runs.append({"backbone": [p.requires_grad for p in model.backbone.parameters()],
                     "head": [p.requires_grad for p in model.head.parameters()]})
    return {"runs": runs}


def judge_07_4(evidence: dict, seed: int = 0) -> None:
    frozen_first, trainable_first = given(evidence, "runs", list)
    base = frozen_first["backbone"] + trainable_first["backbone"]
    if all(base) and not any(frozen_first["head"]) and all(trainable_first["head"]):
        raise Wrong("No has congelado nada: la red base sigue entrenable, con requires_grad como "
                    "estaba. Pon requires_grad = False en los parámetros de model.backbone.")
    if all(base) and not any(trainable_first["head"]):
        raise Wrong("Lo has congelado al revés: la red base sigue entrenable y la cabeza no.")
    if any(base):
        raise Wrong("La red base sigue entrenable (al menos en parte): el optimizador cambiaría "
                    "los pesos preentrenados.")
    if not all(frozen_first["head"]):
        raise Wrong("La cabeza quedó congelada: la red base se congela, la cabeza es lo que se "
                    "entrena (y puede venir congelada de antes: pon su requires_grad a True).")
    if not all(trainable_first["head"]):
        raise Wrong("Has congelado también la cabeza: solo se congela model.backbone.")



@exercise("07.4", "una función congela(model) que deje entrenable solo la cabeza, model.head, y "
          "congele la red base, model.backbone",
          "Cada parámetro tiene requires_grad; el optimizador solo mueve los que lo tienen a "
          "True.",
          """
def congela(model):
    for p in model.backbone.parameters():
        p.requires_grad = False
    for p in model.head.parameters():
        p.requires_grad = True
    return model

respuesta_07_4 = congela""", code=True,
          note="Pruébala con `model` y cuenta los pesos entrenables con "
               "`models.count_parameters(model, trainable_only=True)`.")
class check_07_4:
    probe = staticmethod(probe_07_4)
    judge = staticmethod(judge_07_4)


@exercise("08.1", "cuántos parámetros tiene models.ResLayer(64, 128, 3, stride=2)",
          "Con 64 ≠ 128 canales el atajo no puede ser la identidad: también tiene parámetros.",
          "respuesta_08_1 = (128 * 64 * 3 * 3 + 128) + (128 * 64 + 128)   # 82.176",
          probe=probe_number)
def check_08_1(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 82_176, [
        (73_856, "¿Y el atajo? Con 64 → 128 canales es una convolución 1×1, con sus pesos y "
                 "sesgos."),
        (8_320, "Eso es solo el atajo; falta la convolución 3×3."),
        (73_728 + 8_192, "¿Y los sesgos? Cada convolución tiene uno por canal de salida.")],
        "Cuenta la convolución 3×3 y la del atajo, con sus sesgos.")


# ------------------------------------------------------------------------------ 08.2

FORBID_08_2 = (Forbidden("models.ResLayer", modules=(models.ResLayer,)),)
_CASES_08_2 = ((16, 32, 3, 1, "ni != no", "el atajo debe llevar x de ni a no canales (una "
                "convolución 1×1, o rellenar los canales que faltan con ceros)"),
               (12, 12, 5, 1, "un núcleo 5×5", "con núcleo 5 el tamaño cambia; el relleno k − 2 "
                "de las transparencias solo conserva el tamaño con 3×3: usa kernel_size // 2"),
               (8, 12, 3, 2, "avance 2", "con avance 2 el atajo también debe saltar de 2 en 2"))


def _inputs_08_2(seed: int, ni: int) -> list[torch.Tensor]:
    generator = seeded(seed, 82 + ni)
    x1, x2 = (torch.randn(1, ni, 9, 9, generator=generator) for _ in range(2))
    return [x1, x2, x1 + x2, torch.zeros_like(x1)]


def _directions(seed: int, size: int) -> np.ndarray:
    """16 random directions to read an output of ``size`` numbers along: an affine relation
    between outputs holds along them too, and 16 numbers travel instead of thousands."""
    generator = seeded(seed, 820 + size)
    return torch.randn(16, size, generator=generator, dtype=torch.float64).numpy()


def probe_08_2(answer: Any, seed: int = 0) -> dict:
    """For each case (ni != no, a 5×5 kernel, stride 2): build the student's layer, give each
    parameter values that depend only on its shape, and record its forward pass on x1 (the
    operations), its output's shape and its outputs on x1, x2, x1 + x2 and zeros, read along
    16 directions drawn from the seed (is the shortcut added, and affine?)."""
    if not isinstance(answer, type) or not issubclass(answer, nn.Module):
        raise Wrong("Se espera tu clase ResLayer, una subclase de nn.Module.")
    cases = []
    for ni, no, k, stride, case, why in _CASES_08_2:
        call = f"ResLayer({ni}, {no}, {k}, stride={stride})"
        layer = run(lambda ni=ni, no=no, k=k, stride=stride: answer(ni, no, k, stride=stride),
                    inputs=call, forbid=FORBID_08_2, advice=f"Con {case}, {why}.")
        fill_by_shape(layer, seed).eval()
        size = (9 - 1) // stride + 1
        shape, projections, ops = None, [], []
        for x in _inputs_08_2(seed, ni):
            with torch.no_grad(), record() as recorded:
                out = run(layer, x, forbid=FORBID_08_2, advice=f"Con {case}, {why}.",
                          inputs=f"{call} y una entrada (1, {ni}, 9, 9)")
            ops = ops or recorded
            out = to_array(out, "La capa devuelve").astype(np.float64)
            shape = shape or list(out.shape)
            if out.shape == (1, no, size, size):
                projections.append(_directions(seed, out.size) @ out.reshape(-1))
        cases.append({"ops": ops, "shape": shape, "projections": projections})
    return {"cases": cases}


def _main_path(seed: int, x: torch.Tensor, conv: dict, stride: int) -> np.ndarray:
    """relu(conv(x)) with the values ``fill_by_shape`` gave the student's k×k convolution."""
    weight = shaped_values(conv["weight"], seed).float().double()
    bias = shaped_values([conv["weight"][0]], seed).float().double() if conv.get("bias") else None
    k = conv["weight"][2]
    return torch.relu(F.conv2d(x.double(), weight, bias, stride, k // 2)).numpy()


def judge_08_2(evidence: dict, seed: int = 0) -> None:
    cases = given(evidence, "cases", list)
    for (ni, no, k, stride, case, why), found in zip(_CASES_08_2, cases, strict=True):
        size = (9 - 1) // stride + 1
        shape = given(found, "shape", list)
        if shape != [1, no, size, size]:
            raise Wrong(f"Con {case} ({ni} → {no} canales, núcleo {k}, avance {stride}) la "
                        f"salida de una entrada (1, {ni}, 9, 9) es {tuple(shape)}; se esperaba "
                        f"{(1, no, size, size)}: {why}.")
        projections = given_arrays(found, "projections", 4)
        ops = layers(found["ops"])
        conv = next((op for op in ops if op["op"] == "conv2d"
                     and op.get("weight") == [no, ni, k, k]), None)
        if conv is None:
            raise Wrong(f"Con {case} no encuentro la convolución {k}×{k} de {ni} a {no} "
                        f"canales: relu(conv(x)) + atajo(x), y tu capa hace {describe(ops)}.")
        if conv.get("stride") != [stride, stride]:
            raise Wrong(f"Con {case} la convolución {k}×{k} debe avanzar {stride}.")
        if conv.get("padding") not in ([k // 2, k // 2], ["same"]):
            raise Wrong(f"Con {case} la convolución lleva relleno {conv.get('padding')}: "
                        f"{why}.")
        xs = _inputs_08_2(seed, ni)
        directions = _directions(seed, no * size * size)
        rest = [seen - directions @ _main_path(seed, x, conv, stride).reshape(-1)
                for seen, x in zip(projections, xs, strict=True)]
        scale = 1e-4 * (1 + max(np.abs(r).max() for r in rest))
        if np.abs(rest[0] + rest[1] - rest[2] - rest[3]).max() > scale:
            raise Wrong(f"Con {case} la salida no es relu(conv(x)) + atajo(x): tu capa hace "
                        f"{describe(ops)}. La ReLU va sobre la convolución, antes de sumar el "
                        "atajo.")
        if np.abs(rest[0] - rest[3]).max() <= scale:
            raise Wrong(f"Con {case} el atajo no se suma: la salida es solo relu(conv(x)). "
                        "Devuelve relu(conv(x)) + atajo(x).")


@exercise("08.2", "tu clase ResLayer(ni, no, kernel_size, stride=1) que funcione también con "
          "ni != no y avance 2: relu(conv(x)) + atajo(x), sin `models.ResLayer`",
          "La suma residual necesita la misma forma en los dos sumandos: el relleno debe "
          "conservar el tamaño para cualquier núcleo impar, y el atajo debe llevar x a los "
          "canales (y el tamaño) de salida.",
          """
class ResLayer(nn.Module):
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2)
        if ni != no or stride > 1:
            self.shortcut = nn.Conv2d(ni, no, 1, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return torch.relu(self.conv(x)) + self.shortcut(x)

respuesta_08_2 = ResLayer""", code=True,
          note="El comprobador la prueba con `ni != no`, con un núcleo 5×5 y con avance 2.")
class check_08_2:
    probe = staticmethod(probe_08_2)
    judge = staticmethod(judge_08_2)


@exercise("08.3", "por cuánto se multiplica el gradiente tras 5 capas si cada una lo multiplica "
          "por 0,41",
          "Cada capa multiplica el gradiente que le llega: se encadenan 5 multiplicaciones.",
          "respuesta_08_3 = 0.41 ** 5   # ≈ 0,0116: unas 86 veces menos", probe=probe_number)
def check_08_3(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 0.41 ** 5, [
        (0.41 * 5, "Las capas multiplican el gradiente, no lo suman: 0,41 por 0,41 por..."),
        (0.41 ** 20, "Eso son 20 capas; aquí son 5."),
        (0.41 ** 4, "Son 5 capas: 5 factores de 0,41.")],
        "Encadena la multiplicación por 0,41 de cada capa.", rel=0.03)
