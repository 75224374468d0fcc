"""Exercises of notebooks 00-02: images as numbers, colour and tensors, convolution."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import ops
from .behaviour import (
    Forbidden,
    ForbiddenCall,
    describe,
    given_array,
    given_arrays,
    run,
    seeded,
    to_array,
    unseen_tensors,
)
from .common import Wrong, exercise, expect_number, number_of, probe_number, probe_shape, shape_of

__all__ = ["CONV_FORBIDDEN", "ConvRGB", "HorizontalEdges", "PrepareBatch", "ToPyTorch",
           "judge_00_1", "judge_00_2", "judge_01_2", "judge_02_2", "judge_02_4"]




@exercise("00.1", "el número de bytes de una bandeja de 32 imágenes en color de 224×224 en float32",
          "Cuenta los números de la bandeja (bandeja × canales × alto × ancho) y multiplica por "
          "lo que ocupa cada uno en float32.",
          "respuesta_00_1 = 32 * 3 * 224 * 224 * 4   # 19.267.584 bytes, unos 19,3 MB",
          probe=probe_number)
def judge_00_1(evidence, seed) -> None:
    right = 32 * 3 * 224 * 224 * 4
    expect_number(number_of(evidence), right, [
        (right / 4, "Eso es lo que ocupa en uint8 (1 byte por número); un float32 ocupa 4 bytes."),
        (right / 3, "Te faltan los canales: una imagen en color tiene 3 números por píxel."),
        (right / 32, "Eso es una sola imagen; la bandeja tiene 32."),
        (right / 1e6, "Escribe el número de bytes, no de megabytes."),
        (right / 2**20, "Escribe el número de bytes, no de MiB."),
        (right * 8, "Eso son bits: un float32 ocupa 4 bytes (32 bits).")],
        "Multiplica bandeja × canales × alto × ancho × bytes por número.")


@exercise("00.2", "la posición (desde 0) del píxel de la fila 5, columna 7 en la imagen de 28×28 "
          "aplanada",
          "Al aplanar, las filas se ponen una tras otra: ¿cuántos píxeles hay delante de la "
          "fila 5?",
          "respuesta_00_2 = 5 * 28 + 7   # 147: 5 filas completas delante, y 7 píxeles más",
          probe=probe_number)
def judge_00_2(evidence, seed) -> None:
    expect_number(number_of(evidence), 5 * 28 + 7, [
        (7 * 28 + 5, "Has cambiado filas por columnas: al aplanar se recorre fila tras fila."),
        (4 * 28 + 6, "Los índices empiezan en 0: la fila 5 tiene delante las filas 0 a 4."),
        (6 * 28 + 8, "Los índices empiezan en 0: la fila 5 tiene delante las filas 0 a 4."),
        (5 * 7, "No es el producto de fila y columna: cuenta las filas completas que hay "
                "delante.")],
        "Cuenta los píxeles de las filas completas que hay delante y suma la columna.")


_BATCH_SIZES = (5, 1, 7)     # the example's five images, then sizes the student never saw


def _batches(seed: int) -> list[torch.Tensor]:
    generator = seeded(seed, 3)
    return [torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=generator)
            for n in _BATCH_SIZES]


@exercise("00.3", "una función que reciba una bandeja uint8 de forma (N, 28, 28) y devuelva un "
          "tensor float32 (N, 784) con valores entre 0 y 1",
          "Dos pasos: cambiar la forma sin perder la bandeja (una fila por imagen) y pasar de "
          "0..255 a 0..1 en float32.",
          """
def prepara(images):
    return images.reshape(len(images), -1).float() / 255

respuesta_00_3 = prepara""", code=True,
          note="Por ejemplo, `respuesta_00_3(torch.zeros(5, 28, 28, dtype=torch.uint8)).shape` "
               "debe ser `(5, 784)`.")
class PrepareBatch:
    """00.3: run on bandejas of N = 5, 1 and 7 images; must give (N, 784) float32 in 0..1."""

    def probe(answer, seed) -> dict:
        outputs = []
        for images in _batches(seed):
            out = run(answer, images.clone(), inputs=f"una bandeja de {len(images)} imágenes, "
                      f"{describe(images)}", advice="El comprobador prueba bandejas de varios "
                      f"tamaños (N = {', '.join(map(str, _BATCH_SIZES))}): toma N de la entrada.")
            if not isinstance(out, torch.Tensor):
                raise Wrong(f"Con una bandeja de {len(images)} imágenes la función devuelve "
                            f"{type(out).__name__}; debe devolver un tensor (torch.as_tensor "
                            "convierte un array).")
            outputs.append(to_array(out))
        return {"outputs": outputs}

    def judge(evidence, seed) -> None:
        batches = _batches(seed)
        for images, out in zip(batches, given_arrays(evidence, "outputs", len(batches)),
                               strict=True):
            n = len(images)
            if out.ndim == 1:
                raise Wrong("Has aplanado toda la bandeja en un solo vector: cada imagen debe "
                            "quedar en su propia fila, (N, 784).")
            if out.shape != (n, 784):
                raise Wrong(f"Con una bandeja de forma ({n}, 28, 28) devuelve {out.shape}; se "
                            f"esperaba ({n}, 784): usa el N de la bandeja que recibe.")
            if out.dtype != np.float32:
                raise Wrong(f"El resultado es {out.dtype}; la red trabaja en float32 "
                            "(.float()).")
            if out.max() > 1.5:
                raise Wrong("Los valores llegan hasta 255: falta llevarlos al intervalo de 0 "
                            "a 1.")
            if not np.allclose(out, images.reshape(n, 784).numpy() / 255, atol=1e-6):
                raise Wrong("La forma y el tipo están bien, pero los píxeles no están en su "
                            "sitio o en su escala: cada fila debe ser la imagen recorrida fila "
                            "tras fila, entre 0 y 1.")


_KERAS_SHAPES = ((2, 5, 7, 3), (1, 6, 4, 2))


def _keras_batches(seed: int) -> list[torch.Tensor]:
    return unseen_tensors(seed, 11, _KERAS_SHAPES, torch.rand)


@exercise("01.1", "una función que pase una bandeja de Keras (N, alto, ancho, canales) al formato "
          "de PyTorch (N, canales, alto, ancho); puede recibir y devolver un tensor o un array "
          "de NumPy",
          "No basta con cambiar la forma: hay que mover el eje de los canales a su sitio.",
          """
def a_pytorch(batch):
    return batch.permute(0, 3, 1, 2)

respuesta_01_1 = a_pytorch""", code=True)
class ToPyTorch:
    """01.1: each unseen batch goes in as a tensor; an answer written for NumPy gets the same
    batch as an array. Either way, the result must be the batch with its axes moved."""

    def probe(answer, seed) -> dict:
        outputs = []
        for batch in _keras_batches(seed):
            try:
                out = run(answer, batch.clone(), inputs=f"la bandeja {describe(batch)}")
            except ForbiddenCall:
                raise
            except Wrong as with_tensor:
                try:
                    out = run(answer, batch.numpy().copy(), inputs="")
                except Wrong:
                    raise Wrong(f"{with_tensor} (Con la bandeja como array de NumPy también "
                                "falla.)") from None
            outputs.append(to_array(out))
        return {"outputs": outputs}

    def judge(evidence, seed) -> None:
        batches = _keras_batches(seed)
        for batch, out in zip(batches, given_arrays(evidence, "outputs", len(batches)),
                              strict=True):
            n, h, w, c = batch.shape
            if out.shape == (n, h, w, c):
                raise Wrong("Los canales siguen al final: PyTorch los quiere justo después de la "
                            "bandeja.")
            if out.shape == (n, c, w, h):
                raise Wrong("Los canales están en su sitio, pero el alto y el ancho quedaron "
                            "intercambiados.")
            if out.shape != (n, c, h, w):
                raise Wrong(f"Con una bandeja {tuple(batch.shape)} devuelve {out.shape}; se "
                            f"esperaba {(n, c, h, w)}.")
            if not np.allclose(out, batch.permute(0, 3, 1, 2).numpy()):
                raise Wrong("La forma es la buena, pero los números están revueltos: reshape y "
                            "view reinterpretan los datos en su orden, no mueven el eje de los "
                            "canales.")


@exercise("01.2", "cuántos números tiene un vídeo de 2 muestras, 30 fotogramas, 3 canales y "
          "112×112 píxeles",
          "Un vídeo es un tensor de 5 dimensiones; cuenta sus elementos.",
          "respuesta_01_2 = 2 * 30 * 3 * 112 * 112   # 2.257.920", probe=probe_number)
def judge_01_2(evidence, seed) -> None:
    right = 2 * 30 * 3 * 112 * 112
    expect_number(number_of(evidence), right, [
        (right / 30, "Te faltan los 30 fotogramas."),
        (right / 2, "Eso es una sola muestra; hay 2."),
        (right / 3, "Te faltan los 3 canales de color."),
        (2 * 30 * 3 * 112, "Cada fotograma tiene 112 × 112 píxeles, no 112."),
        (right * 4, "Eso son bytes en float32; se pregunta cuántos números tiene.")],
        "Multiplica las cinco dimensiones del tensor del vídeo.")


@exercise("02.1", "un núcleo 3×3 (lista, array o tensor) que detecte los bordes horizontales",
          "Un borde horizontal es un cambio de arriba abajo; en una zona lisa el núcleo debe dar "
          "0. Mira el núcleo de bordes verticales del cuaderno.",
          """
respuesta_02_1 = [[-1, -1, -1],
                  [0, 0, 0],
                  [1, 1, 1]]   # o el de bordes verticales traspuesto""", code=True,
          note="Pruébalo también con la imagen del cuaderno: `convolve(small, "
               "torch.tensor(respuesta_02_1, dtype=torch.float32))`. ¿Dónde sale positivo y "
               "dónde negativo?")
class HorizontalEdges:
    """02.1: the kernel, run by the judge on a flat patch and on a vertical and a horizontal
    edge of unseen brightness."""

    def probe(answer, seed) -> dict:
        return {"kernel": to_array(answer, "La respuesta es").astype(np.float64)}

    def judge(evidence, seed) -> None:
        kernel = torch.from_numpy(given_array(evidence, "kernel").astype(np.float64))
        if kernel.numel() != 9:
            raise Wrong(f"El núcleo tiene forma {tuple(kernel.shape)}; se esperaba 3×3.")
        kernel = kernel.reshape(1, 1, 3, 3)
        low, high = torch.rand(2, generator=seeded(seed, 21), dtype=torch.float64).sort().values
        flat = torch.full((1, 1, 8, 9), float(low), dtype=torch.float64)
        rows = flat.clone()
        rows[..., 4:, :] = high          # dark above, bright below: a horizontal edge
        cols = flat.clone()
        cols[..., :, 5:] = high          # a vertical edge
        scale = float(high - low)
        if F.conv2d(flat, kernel).abs().max() > 1e-6 * (1 + float(low)):
            raise Wrong("En una zona lisa tu núcleo no da 0: sus pesos deben sumar 0 para que "
                        "solo respondan los cambios.")
        if F.conv2d(cols, kernel).abs().max() > 1e-6 * (1 + scale):
            raise Wrong("Tu núcleo responde a los bordes verticales (cambios de izquierda a "
                        "derecha); buscamos los cambios de arriba abajo.")
        if F.conv2d(rows, kernel).abs().max() < 0.1 * scale:
            raise Wrong("Tu núcleo apenas responde a un borde horizontal.")


@exercise("02.2", "cuántas multiplicaciones hace la convolución de la foto (3×600×512) con 2 "
          "filtros 3×3 y padding=1",
          "Cuenta las multiplicaciones de una posición de la ventana (en todos los canales), "
          "las posiciones de la salida y los filtros.",
          "respuesta_02_2 = 3 * 3 * 3 * 600 * 512 * 2   # 16.588.800", probe=probe_number)
def judge_02_2(evidence, seed) -> None:
    window, cells, filters = 27, 600 * 512, 2
    expect_number(number_of(evidence), window * cells * filters, [
        (9 * cells * filters, "Cada ventana recorre los 3 canales: 3×3 en cada uno."),
        (window * cells, "Hay 2 filtros, y cada uno recorre la imagen entera."),
        (9 * cells, "Faltan los 3 canales de cada ventana y los 2 filtros."),
        (window * 598 * 510 * filters, "Con padding=1 la salida conserva el tamaño: 600×512.")],
        "Multiplica: multiplicaciones por ventana × posiciones de la salida × filtros.")


CONV_FORBIDDEN = (
    Forbidden("F.conv2d", torch=(F.conv2d,)),
    Forbidden("nn.Conv2d", modules=(nn.Conv2d,)),
    Forbidden("F.unfold", torch=(F.unfold,)),
    Forbidden("ops.conv2d_naive", functions=(ops.conv2d_naive,)),
    Forbidden("ops.conv2d_im2col", functions=(ops.conv2d_im2col,)),
    Forbidden("ops.im2col", functions=(ops.im2col,)))
"""What 02.3 forbids: PyTorch's convolution and the library's (notebook 02)."""

_CONV_CASES = (((3, 7, 9), (2, 3, 2, 3)), ((2, 6, 5), (3, 2, 3, 3)), ((1, 5, 8), (2, 1, 1, 4)))


def _conv_inputs(seed: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    generator = seeded(seed, 23)
    return [(torch.randn(*image, generator=generator), torch.randn(*weight, generator=generator),
             torch.randn(weight[0], generator=generator) + 2) for image, weight in _CONV_CASES]


@exercise("02.3", "una función conv_rgb(image, weight, bias) que aplique los filtros weight "
          "(F, C, kh, kw), cuadrados o no, y sus sesgos bias (F,) a una imagen (C, alto, ancho), "
          "sin relleno y con avance 1, y devuelva (F, alto', ancho'), sin `F.conv2d`, "
          "`nn.Conv2d`, `F.unfold`, `ops.conv2d_naive`, `ops.conv2d_im2col` ni `ops.im2col`",
          "Como convolve, pero cada ventana tiene C canales: el filtro f multiplica la ventana de "
          "todos los canales por weight[f], lo suma todo y le añade bias[f].",
          """
def conv_rgb(image, weight, bias):
    n_filters, channels, kh, kw = weight.shape
    out = torch.zeros(n_filters, image.shape[1] - kh + 1, image.shape[2] - kw + 1)
    for f in range(n_filters):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[f, i, j] = (image[:, i:i + kh, j:j + kw] * weight[f]).sum() + bias[f]
    return out

respuesta_02_3 = conv_rgb""", code=True,
          note="Puedes partir de `convolve` (con bucles) o usar `Tensor.unfold`, que no está "
               "prohibido. Compárala con `F.conv2d` fuera de la respuesta (el peso necesita su "
               "bandeja: `F.conv2d(image[None], weight, bias)[0]`); el comprobador la prueba "
               "con imágenes y filtros que no ves (no cuadrados) y no deja llamar a lo "
               "prohibido, tampoco desde otra función.")
class ConvRGB:
    """02.3: three unseen images and filter banks (non-square kernels, 1 to 3 channels), run
    with PyTorch's and the library's convolutions forbidden."""

    def probe(answer, seed) -> dict:
        outputs = []
        for image, weight, bias in _conv_inputs(seed):
            inputs = (f"image = {describe(image)}, weight = {describe(weight)} y bias = "
                      f"{describe(bias)}")
            out = run(answer, image.clone(), weight.clone(), bias.clone(), inputs=inputs,
                      forbid=CONV_FORBIDDEN, advice="Los núcleos pueden no ser cuadrados: toma "
                      "kh y kw de weight.shape.")
            outputs.append(to_array(out))
        return {"outputs": outputs}

    def judge(evidence, seed) -> None:
        cases = _conv_inputs(seed)
        for (image, weight, bias), out in zip(cases, given_arrays(evidence, "outputs",
                                                                  len(cases)), strict=True):
            _judge_conv(image.double(), weight.double(), bias.double(), out)


def _judge_conv(image: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                out: np.ndarray) -> None:
    """02.3's verdict on one case, aimed at the typical mistakes."""
    def conv(x, w, b=None) -> np.ndarray:
        return F.conv2d(x[None], w, b)[0].numpy()

    right = conv(image, weight, bias)
    (n_filters, _, kh, kw), (_, h, w) = weight.shape, image.shape
    if out.ndim == 4 and out.shape[:2] == weight.shape[:2]:
        raise Wrong(f"La salida es {out.shape}: cada filtro da un solo mapa, la suma de lo que "
                    "saca en todos los canales de entrada.")
    if out.shape in {(n_filters, h - k + 1, w - k + 1) for k in (kh, kw)} - {right.shape}:
        raise Wrong(f"Con filtros {tuple(weight.shape)} devuelve {out.shape}, y salen "
                    f"{right.shape}: ¿supones un núcleo cuadrado? kh y kw pueden ser distintos.")
    if out.shape in ((n_filters, h - kh, w - kw + 1), (n_filters, h - kh + 1, w - kw),
                     (n_filters, h - kh, w - kw)):
        raise Wrong(f"La salida es {out.shape}, con una fila o columna de menos: en un lado de n "
                    "píxeles caben n - k + 1 posiciones del núcleo.")
    if out.shape != right.shape:
        raise Wrong(f"Con una imagen {tuple(image.shape)} y filtros {tuple(weight.shape)} "
                    f"devuelve {out.shape}; sin relleno y con avance 1 salen {right.shape}.")
    if np.allclose(out, right, atol=1e-4):
        return
    if np.allclose(out, conv(image, weight.flip(2, 3), bias), atol=1e-4):
        raise Wrong("Has volteado el núcleo (la convolución de los libros de señales): las "
                    "redes convolutivas lo aplican tal cual.")
    if np.allclose(out, conv(image, weight), atol=1e-4):
        raise Wrong("Falta el sesgo: cada filtro suma su bias[f] en cada posición.")
    if np.allclose(out, conv(image[:1], weight[:, :1], bias), atol=1e-4):
        raise Wrong("Solo cuenta el primer canal: cada filtro recorre todos los canales de la "
                    "ventana.")
    raise Wrong("La forma es la buena pero los valores no: en cada posición, multiplica la "
                "ventana (todos sus canales) por el filtro elemento a elemento, suma y añade "
                "el sesgo.")


@exercise("02.4", "la forma de ops.im2col(image, 3) para una imagen de Fashion-MNIST (1, 28, 28): "
          "un núcleo 3×3, sin relleno",
          "im2col pone cada ventana en una columna: ¿cuántos números tiene una ventana y cuántas "
          "ventanas caben?",
          "respuesta_02_4 = (1 * 3 * 3, 26 * 26)   # (9, 676)", probe=probe_shape)
def judge_02_4(evidence, seed) -> None:
    shape = shape_of(evidence)
    if shape == (9, 676):
        return
    if shape == (676, 9):
        raise Wrong("Filas y columnas cambiadas: im2col pone una ventana en cada columna.")
    if shape == (9, 784):
        raise Wrong("Sin relleno no caben 28 × 28 ventanas: en un lado de 28 caben 28 − 3 + 1.")
    if shape in ((9, 26, 26), (1, 9, 676)):
        raise Wrong("im2col de una imagen da una matriz: (números por ventana, ventanas).")
    if shape == (3, 676):
        raise Wrong("Una ventana 3×3 tiene 9 números, no 3: 1 canal × 3 × 3.")
    raise Wrong(f"{shape} no es la forma: (números por ventana, número de ventanas).")
