"""Exercises of notebooks 03-04: padding and stride (the output-size formula), pooling."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import ops
from .behaviour import (
    Forbidden,
    describe,
    given,
    given_arrays,
    run,
    seeded,
    to_array,
    unseen_tensors,
)
from .common import Unreadable, Wrong, as_integer, exercise, expect_number, number_of, probe_number

__all__ = ["POOL_FORBIDDEN", "SIZE_FORBIDDEN", "MaxPool", "OutputSize", "judge_03_1",
           "judge_03_2", "judge_03_3", "judge_04_1", "judge_04_3"]

FORMULA = "⌊(n + 2P − k) / S⌋ + 1"


@exercise("03.1", "el tamaño de salida de una imagen 32×32 con un núcleo 5×5, sin relleno y "
          "avance 1 (la primera capa de LeNet)",
          f"La fórmula del cuaderno: {FORMULA}.",
          "respuesta_03_1 = (32 - 5) // 1 + 1   # 28, es decir, 28×28", probe=probe_number)
def judge_03_1(evidence, seed) -> None:
    expect_number(number_of(evidence), 28, [
        (27, "Te falta el +1: la primera posición del núcleo también cuenta."),
        (32, "Sin relleno la imagen encoge: el núcleo 5×5 no cabe centrado en los bordes."),
        (24, "Has quitado 8 píxeles; un núcleo 5×5 sin relleno quita k − 1 = 4."),
        (30, "Ese es el tamaño con un núcleo 3×3; el de LeNet es 5×5 y quita k − 1 = 4."),
        (36, "Sin relleno la salida encoge: n − k + 1, no n + k − 1.")],
        f"Aplica {FORMULA} con n = 32, k = 5, P = 0, S = 1.")


@exercise("03.2", "el tamaño de salida de una imagen 227×227 con un núcleo 11×11, avance 4 y sin "
          "relleno (la primera capa de AlexNet)",
          f"La fórmula del cuaderno: {FORMULA}; el avance divide.",
          "respuesta_03_2 = (227 - 11) // 4 + 1   # 55, es decir, 55×55", probe=probe_number)
def judge_03_2(evidence, seed) -> None:
    expect_number(number_of(evidence), 55, [
        (217, "Has olvidado el avance: el núcleo salta de 4 en 4 píxeles."),
        (54, "Te falta el +1: la primera posición del núcleo también cuenta."),
        (216 / 4, "Te falta el +1: la primera posición del núcleo también cuenta."),
        (227 / 4, "El avance divide lo que recorre el núcleo (n − k), no la imagen entera; y "
                  "falta el +1."),
        (57, "Has dividido la imagen entera por el avance: divide n − k, y suma 1.")],
        f"Aplica {FORMULA} con n = 227, k = 11, P = 0, S = 4.")


@exercise("03.3", "el relleno P (por lado) que conserva el tamaño 28×28 con un núcleo 7×7 y "
          "avance 1",
          "Un núcleo k x k sin relleno quita k − 1 píxeles; el relleno los devuelve, repartidos "
          "entre los dos lados.",
          "respuesta_03_3 = 7 // 2   # 3: (28 + 2·3 − 7) / 1 + 1 = 28", probe=probe_number)
def judge_03_3(evidence, seed) -> None:
    expect_number(number_of(evidence), 3, [
        (6, "Ese es el relleno de los dos lados juntos; P es lo que se añade en cada lado."),
        (7, "Con P = 7 la salida crece: (28 + 14 − 7) + 1 = 36."),
        (0, "Sin relleno, un núcleo 7×7 deja una salida de 22×22."),
        (5, "La fórmula 'k − 2' de las transparencias solo vale para k = 3.")],
        f"Busca P con {FORMULA} = 28 para n = 28, k = 7, S = 1.")


SIZE_FORBIDDEN = (Forbidden("ops.output_size", functions=(ops.output_size,)),)
"""What 03.4 forbids: the library's formula (notebook 03)."""

SIGNATURE = "tamano_salida(n, k, s=1, p=0)"


def _size_cases(seed: int) -> list[tuple[int, ...]]:
    """03.4's calls: the notebook's table, the defaults, and four the student never sees."""
    cases = [(28, 3, 1, 0), (28, 3, 1, 1), (227, 11, 4, 0), (224, 7, 2, 3), (29, 3, 2, 0),
             (28, 3), (28, 5, 2)]
    generator = seeded(seed, 34)
    for _ in range(4):
        n, k, s, p = (int(v) for v in torch.randint(0, 1000, (4,), generator=generator))
        n = 9 + n % 32
        cases.append((n, 1 + k % 7, 1 + s % 4, p % 4))
    return cases


def _full(case: tuple[int, ...]) -> tuple[int, ...]:
    """A call's (n, k, s, p), with the defaults s=1, p=0 where it left them out."""
    return (*case, *(1, 0)[len(case) - 2:])


_SIZE_MISTAKES = (
    (lambda n, k, s, p: (n + 2 * p - k) // s, "te falta el +1"),
    (lambda n, k, s, p: (n + p - k) // s + 1, "has sumado el relleno de un solo lado; se "
                                              "rellena arriba y abajo (izquierda y derecha)"),
    (lambda n, k, s, p: n + 2 * p - k + 1, "has olvidado el avance"),
    (lambda n, k, s, p: (n - k) // s + 1, "has olvidado el relleno"),
    (lambda n, k, s, p: (n + 2 * s - k) // p + 1 if p else None,
     f"has cambiado el orden del avance y el relleno: la firma es {SIGNATURE}"))


@exercise("03.4", "una función tamano_salida(n, k, s=1, p=0) que devuelva el tamaño de salida "
          "(un entero) de una convolución, sin usar `ops.output_size`",
          f"Escribe la fórmula {FORMULA} con división entera.",
          """
def tamano_salida(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1

respuesta_03_4 = tamano_salida""", code=True,
          note="Compárala con la tabla del cuaderno; el comprobador la prueba con casos que no "
               "ves.")
class OutputSize:
    """03.4: called on the notebook's cases, with its defaults, and on unseen ones; every result
    must be an integer; ``ops.output_size`` is forbidden."""

    def probe(answer, seed) -> dict:
        values = []
        for case in _size_cases(seed):
            call = f"tamano_salida{case}"
            value = run(answer, *case, inputs=call, forbid=SIZE_FORBIDDEN,
                        advice=f"La firma del enunciado es {SIGNATURE}: el avance s va antes "
                        "que el relleno p, y los dos tienen valor por defecto.")
            values.append(as_integer(value, f"Con {call} tu función"))
        return {"values": values}

    def judge(evidence, seed) -> None:
        cases = [_full(case) for case in _size_cases(seed)]
        values = given(evidence, "values", list)
        if len(values) != len(cases) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise Unreadable("«values»")
        wrong = [(case, v) for case, v in zip(cases, values, strict=True)
                 if v != ops.output_size(*case)]
        if not wrong:
            return
        for formula, why in _SIZE_MISTAKES:
            if values == [formula(*case) for case in cases]:
                (n, k, s, p), value = wrong[0]
                raise Wrong(f"Para n={n}, k={k}, s={s}, p={p} da {value}: {why}.")
        (n, k, s, p), value = wrong[0]
        raise Wrong(f"Para n={n}, k={k}, s={s}, p={p} da {value}, y el tamaño de salida es "
                    f"{ops.output_size(n, k, s, p)}.")


@exercise("04.1", "el tamaño de salida de un max pooling 3×3 con avance 3 sobre un mapa de 28×28",
          f"El pooling sigue la misma fórmula que la convolución: {FORMULA}.",
          "respuesta_04_1 = (28 - 3) // 3 + 1   # 9: cubre 27 filas y se pierde la última",
          probe=probe_number)
def judge_04_1(evidence, seed) -> None:
    expect_number(number_of(evidence), 9, [
        (26, "Has olvidado el avance: la ventana salta de 3 en 3."),
        (8, "Te falta el +1: la primera ventana también cuenta."),
        (28 / 3, "El tamaño es un número entero de ventanas: redondea hacia abajo."),
        (10, "Una ventana que se sale del mapa no cuenta: redondea hacia abajo.")],
        f"Aplica {FORMULA} con n = 28, k = 3, P = 0, S = 3.")


POOL_FORBIDDEN = (
    Forbidden("F.max_pool2d", torch=(F.max_pool2d, F.max_pool2d_with_indices, torch.max_pool2d)),
    Forbidden("nn.MaxPool2d", modules=(nn.MaxPool2d,)),
    Forbidden("ops.pool2d", functions=(ops.pool2d,)))
"""What 04.2 forbids: PyTorch's max pooling and the library's (notebook 04)."""

_POOL_SHAPES = ((2, 3, 6, 8), (1, 2, 7, 9), (3, 1, 5, 4))   # odd sides lose their last row


def _pool_inputs(seed: int) -> list[torch.Tensor]:
    return unseen_tensors(seed, 42, _POOL_SHAPES)


@exercise("04.2", "una función max_pool(x) que haga el max pooling 2×2 con avance 2 de un tensor "
          "(N, C, alto, ancho), sin `F.max_pool2d`, `nn.MaxPool2d` ni `ops.pool2d`; con alto o "
          "ancho impar, la última fila o columna se pierde, como en nn.MaxPool2d",
          "Cada canal de cada imagen se reduce por separado; cada ventana 2×2 da su máximo. Con "
          "alto o ancho impar, la última fila o columna se pierde.",
          """
def max_pool(x):
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))

respuesta_04_2 = max_pool""", code=True,
          note="Con `reshape` y `amax`, o con bucles; puede devolver un tensor o un array de "
               "NumPy, en float32 o float64. El comprobador la prueba con alto y ancho impares "
               "y no deja llamar a lo prohibido, tampoco desde otra función o una subclase.")
class MaxPool:
    """04.2: three unseen float32 tensors, two with odd sides; the result may be a tensor or an
    array, float32 or float64; PyTorch's and the library's pooling are forbidden."""

    def probe(answer, seed) -> dict:
        outputs = []
        for x in _pool_inputs(seed):
            odd = x.shape[2] % 2 or x.shape[3] % 2
            out = run(answer, x.clone(), inputs=f"x = {describe(x)}", forbid=POOL_FORBIDDEN,
                      advice="Con alto o ancho impar la última fila o columna se pierde: "
                      "recorta x[:, :, :alto // 2 * 2, :ancho // 2 * 2]." if odd else "")
            outputs.append(to_array(out))
        return {"outputs": outputs}

    def judge(evidence, seed) -> None:
        cases = _pool_inputs(seed)
        for x, out in zip(cases, given_arrays(evidence, "outputs", len(cases)), strict=True):
            _judge_pool(x.double(), out)


def _judge_pool(x: torch.Tensor, out: np.ndarray) -> None:
    """04.2's verdict on one input, aimed at the typical mistakes."""
    right = F.max_pool2d(x, 2).numpy()
    shape = tuple(x.shape)
    if out.shape == tuple(F.max_pool2d(x, 2, stride=1).shape):
        raise Wrong("La salida es casi tan grande como la entrada: ¿y el avance 2?")
    if out.ndim == 4 and out.shape[1] != x.shape[1]:
        raise Wrong(f"La salida tiene {out.shape[1]} canales y la entrada {x.shape[1]}: el "
                    "pooling actúa en cada canal por separado, sin mezclarlos.")
    if out.shape != right.shape and out.shape == tuple(F.max_pool2d(x, 2, ceil_mode=True).shape):
        raise Wrong(f"Con una entrada {shape} devuelve {out.shape}: con alto o ancho impar la "
                    f"última fila o columna se pierde, como en nn.MaxPool2d; salen {right.shape}.")
    if out.shape != right.shape:
        raise Wrong(f"Con una entrada {shape} devuelve {out.shape}; se esperaba {right.shape}.")
    if np.allclose(out, right, atol=1e-6):
        return
    if np.allclose(out, F.avg_pool2d(x, 2).numpy(), atol=1e-5):
        raise Wrong("Eso es la media de cada ventana (average pooling); aquí se pide el máximo.")
    raise Wrong("La forma es la buena, pero los valores no son el máximo de cada ventana 2×2 "
                "(¿ventanas solapadas, o filas y columnas mezcladas?).")


@exercise("04.3", "cuántos parámetros tiene la primera convolución de VGG-16 (3 canales de "
          "entrada, 64 de salida, núcleo 3×3)",
          "Cada filtro tiene un peso por canal de entrada y posición del núcleo, más un sesgo.",
          "respuesta_04_3 = 64 * 3 * 3 * 3 + 64   # 1.792", probe=probe_number)
def judge_04_3(evidence, seed) -> None:
    expect_number(number_of(evidence), 1792, [
        (1728, "¿Y los sesgos? Cada filtro tiene uno."),
        (640, "Cada filtro recorre los 3 canales de entrada: 3×3 pesos en cada uno."),
        (576, "Cada filtro recorre los 3 canales de entrada, y tiene un sesgo."),
        (1731, "Hay un sesgo por filtro de salida (64), no por canal de entrada.")],
        "Cuenta filtros × (canales de entrada × alto × ancho del núcleo) + sesgos.")
