"""Exercises of notebooks 03-04: padding and stride (the output-size formula), pooling."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import Wrong, exercise, expect_number, own_code

__all__ = ["check_03_1", "check_03_2", "check_03_3", "check_03_4", "check_04_1", "check_04_2",
           "check_04_3"]

FORMULA = "⌊(n + 2P − k) / S⌋ + 1"


@exercise("03.1", "el tamaño de salida de una imagen 32×32 con un núcleo 5×5, sin relleno y "
          "avance 1 (la primera capa de LeNet)",
          f"La fórmula del cuaderno: {FORMULA}.",
          "respuesta_03_1 = (32 - 5) // 1 + 1   # 28, es decir, 28×28")
def check_03_1(answer) -> None:
    expect_number(answer, 28, [
        (27, "Te falta el +1: la primera posición del núcleo también cuenta."),
        (32, "Sin relleno la imagen encoge: el núcleo 5×5 no cabe centrado en los bordes."),
        (24, "Has quitado 8 píxeles; un núcleo 5×5 sin relleno quita k − 1 = 4.")],
        f"Aplica {FORMULA} con n = 32, k = 5, P = 0, S = 1.")


@exercise("03.2", "el tamaño de salida de una imagen 227×227 con un núcleo 11×11, avance 4 y sin "
          "relleno (la primera capa de AlexNet)",
          f"La fórmula del cuaderno: {FORMULA}; el avance divide.",
          "respuesta_03_2 = (227 - 11) // 4 + 1   # 55, es decir, 55×55")
def check_03_2(answer) -> None:
    expect_number(answer, 55, [
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
          "respuesta_03_3 = 7 // 2   # 3: (28 + 2·3 − 7) / 1 + 1 = 28")
def check_03_3(answer) -> None:
    expect_number(answer, 3, [
        (6, "Ese es el relleno de los dos lados juntos; P es lo que se añade en cada lado."),
        (7, "Con P = 7 la salida crece: (28 + 14 − 7) + 1 = 36."),
        (0, "Sin relleno, un núcleo 7×7 deja una salida de 22×22."),
        (5, "La fórmula 'k − 2' de las transparencias solo vale para k = 3.")],
        f"Busca P con {FORMULA} = 28 para n = 28, k = 7, S = 1.")


@exercise("03.4", "una función tamano_salida(n, k, s=1, p=0) que devuelva el tamaño de salida "
          "(un entero) de una convolución",
          f"Escribe la fórmula {FORMULA} con división entera.",
          """
def tamano_salida(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1

respuesta_03_4 = tamano_salida""", code=True)
def check_03_4(answer) -> None:
    own_code(answer, "función")
    generator = torch.Generator().manual_seed(34)
    cases = [(28, 3, 1, 0), (28, 3, 1, 1), (227, 11, 4, 0), (224, 7, 2, 3), (29, 3, 2, 0)]
    for _ in range(4):   # and a few the student never sees: n 9..27, k, s, p 1..3
        n, k, s, p = (torch.randint(1, 4, (4,), generator=generator) * torch.tensor([9, 1, 1, 1]))
        cases.append((int(n), int(k), int(s), int(p)))
    got = [answer(n, k, s, p) for n, k, s, p in cases]
    if got == [(n + 2 * p - k) // s + 1 for n, k, s, p in cases]:
        return
    mistakes = [
        (lambda n, k, s, p: (n + 2 * p - k) // s, "te falta el +1"),
        (lambda n, k, s, p: (n + p - k) // s + 1, "has sumado el relleno de un solo lado; se "
                                                  "rellena arriba y abajo (izquierda y derecha)"),
        (lambda n, k, s, p: n + 2 * p - k + 1, "has olvidado el avance"),
        (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "el tamaño es un entero: redondea hacia "
                                                     "abajo"),
        (lambda n, k, s, p: (n - k) // s + 1, "has olvidado el relleno")]
    for formula, why in mistakes:
        if got == [formula(*case) for case in cases]:
            n, k, s, p = next(c for c, g in zip(cases, got, strict=True)
                              if g != (c[0] + 2 * c[3] - c[1]) // c[2] + 1)
            raise Wrong(f"Para n={n}, k={k}, s={s}, p={p} da {formula(n, k, s, p)}: {why}.")
    for (n, k, s, p), value in zip(cases, got, strict=True):
        if value != (n + 2 * p - k) // s + 1:
            raise Wrong(f"Para n={n}, k={k}, s={s}, p={p} da {value}, y no es el tamaño de "
                        "salida.")


@exercise("04.1", "el tamaño de salida de un max pooling 3×3 con avance 3 sobre un mapa de 28×28",
          f"El pooling sigue la misma fórmula que la convolución: {FORMULA}.",
          "respuesta_04_1 = (28 - 3) // 3 + 1   # 9: cubre 27 filas y se pierde la última")
def check_04_1(answer) -> None:
    expect_number(answer, 9, [
        (26, "Has olvidado el avance: la ventana salta de 3 en 3."),
        (8, "Te falta el +1: la primera ventana también cuenta."),
        (28 / 3, "El tamaño es un número entero de ventanas: redondea hacia abajo."),
        (10, "Una ventana que se sale del mapa no cuenta: redondea hacia abajo.")],
        f"Aplica {FORMULA} con n = 28, k = 3, P = 0, S = 3.")


@exercise("04.2", "una función max_pool(x) que haga, sin usar la de PyTorch, el max pooling 2×2 "
          "con avance 2 de un tensor (N, C, alto, ancho)",
          "Cada canal de cada imagen se reduce por separado; cada ventana 2×2 da su máximo. Con "
          "alto o ancho impar, la última fila o columna se pierde.",
          """
def max_pool(x):
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))

respuesta_04_2 = max_pool""", code=True)
def check_04_2(answer) -> None:
    own_code(answer, "función de pooling")
    generator = torch.Generator().manual_seed(42)
    for shape in ((2, 3, 6, 8), (1, 2, 7, 9)):
        x = torch.randn(*shape, generator=generator)
        out = answer(x.clone())
        right = F.max_pool2d(x, 2)
        if not isinstance(out, torch.Tensor):
            raise Wrong(f"La función devuelve {type(out).__name__}; debe devolver un tensor.")
        if tuple(out.shape) == tuple(F.max_pool2d(x, 2, stride=1).shape):
            raise Wrong("La salida es casi tan grande como la entrada: ¿y el avance 2?")
        if out.ndim == 4 and out.shape[1] != x.shape[1]:
            raise Wrong(f"La salida tiene {out.shape[1]} canales y la entrada {x.shape[1]}: el "
                        "pooling actúa en cada canal por separado, sin mezclarlos.")
        if tuple(out.shape) != tuple(right.shape):
            raise Wrong(f"Con una entrada {shape} devuelve {tuple(out.shape)}; se esperaba "
                        f"{tuple(right.shape)}.")
        if torch.allclose(out, F.avg_pool2d(x, 2), atol=1e-5):
            raise Wrong("Eso es la media de cada ventana (average pooling); aquí se pide el "
                        "máximo.")
        if not torch.allclose(out, right, atol=1e-6):
            raise Wrong("La forma es la buena, pero los valores no son el máximo de cada ventana "
                        "2×2 (¿ventanas solapadas, o filas y columnas mezcladas?).")


@exercise("04.3", "cuántos parámetros tiene la primera convolución de VGG-16 (3 canales de "
          "entrada, 64 de salida, núcleo 3×3)",
          "Cada filtro tiene un peso por canal de entrada y posición del núcleo, más un sesgo.",
          "respuesta_04_3 = 64 * 3 * 3 * 3 + 64   # 1.792")
def check_04_3(answer) -> None:
    expect_number(answer, 1792, [
        (1728, "¿Y los sesgos? Cada filtro tiene uno."),
        (640, "Cada filtro recorre los 3 canales de entrada: 3×3 pesos en cada uno."),
        (576, "Cada filtro recorre los 3 canales de entrada, y tiene un sesgo."),
        (1731, "Hay un sesgo por filtro de salida (64), no por canal de entrada.")],
        "Cuenta filtros × (canales de entrada × alto × ancho del núcleo) + sesgos.")
