"""Exercises of notebooks 00-02: images as numbers, colour and tensors, convolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import Wrong, as_shape, exercise, expect_number, own_code

__all__ = ["check_00_1", "check_00_2", "check_00_3", "check_01_1", "check_01_2", "check_02_1",
           "check_02_2", "check_02_3", "check_02_4"]


def _fresh(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@exercise("00.1", "el número de bytes de una bandeja de 32 imágenes en color de 224×224 en float32",
          "Cuenta los números de la bandeja (bandeja × canales × alto × ancho) y multiplica por "
          "lo que ocupa cada uno en float32.",
          "respuesta_00_1 = 32 * 3 * 224 * 224 * 4   # 19.267.584 bytes, unos 19,3 MB")
def check_00_1(answer) -> None:
    right = 32 * 3 * 224 * 224 * 4
    expect_number(answer, right, [
        (right / 4, "Eso es lo que ocupa en uint8 (1 byte por número); un float32 ocupa 4 bytes."),
        (right / 3, "Te faltan los canales: una imagen en color tiene 3 números por píxel."),
        (right / 32, "Eso es una sola imagen; la bandeja tiene 32."),
        (right / 1e6, "Escribe el número de bytes, no de megabytes."),
        (right / 2**20, "Escribe el número de bytes, no de MiB.")],
        "Multiplica bandeja × canales × alto × ancho × bytes por número.")


@exercise("00.2", "la posición (desde 0) del píxel de la fila 5, columna 7 en la imagen de 28×28 "
          "aplanada",
          "Al aplanar, las filas se ponen una tras otra: ¿cuántos píxeles hay delante de la "
          "fila 5?",
          "respuesta_00_2 = 5 * 28 + 7   # 147: 5 filas completas delante, y 7 píxeles más")
def check_00_2(answer) -> None:
    expect_number(answer, 5 * 28 + 7, [
        (7 * 28 + 5, "Has cambiado filas por columnas: al aplanar se recorre fila tras fila."),
        (4 * 28 + 6, "Los índices empiezan en 0: la fila 5 tiene delante las filas 0 a 4."),
        (6 * 28 + 8, "Los índices empiezan en 0: la fila 5 tiene delante las filas 0 a 4."),
        (5 * 7, "No es el producto de fila y columna: cuenta las filas completas que hay "
                "delante.")],
        "Cuenta los píxeles de las filas completas que hay delante y suma la columna.")


@exercise("00.3", "una función que reciba una bandeja uint8 de forma (N, 28, 28) y devuelva un "
          "tensor float32 (N, 784) con valores entre 0 y 1",
          "Dos pasos: cambiar la forma sin perder la bandeja (una fila por imagen) y pasar de "
          "0..255 a 0..1 en float32.",
          """
def prepara(images):
    return images.reshape(len(images), -1).float() / 255

respuesta_00_3 = prepara""", code=True)
def check_00_3(answer) -> None:
    own_code(answer, "función")
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8, generator=_fresh(3))
    out = answer(images.clone())
    if not isinstance(out, torch.Tensor):
        raise Wrong(f"La función devuelve {type(out).__name__}; debe devolver un tensor.")
    if out.shape == (5 * 784,) or out.ndim == 1:
        raise Wrong("Has aplanado toda la bandeja en un solo vector: cada imagen debe quedar en "
                    "su propia fila, (N, 784).")
    if tuple(out.shape) != (5, 784):
        raise Wrong(f"Con una bandeja de forma (5, 28, 28) devuelve {tuple(out.shape)}; se "
                    "esperaba (5, 784).")
    if out.dtype != torch.float32:
        raise Wrong(f"El resultado es {out.dtype}; la red trabaja en float32.")
    if out.max() > 1.5:
        raise Wrong("Los valores llegan hasta 255: falta llevarlos al intervalo de 0 a 1.")
    if not torch.allclose(out, images.reshape(5, 784).float() / 255, atol=1e-6):
        raise Wrong("La forma y el tipo están bien, pero los píxeles no están en su sitio o en "
                    "su escala: cada fila debe ser la imagen recorrida fila tras fila, entre 0 "
                    "y 1.")


@exercise("01.1", "una función que pase una bandeja de Keras (N, alto, ancho, canales) al formato "
          "de PyTorch (N, canales, alto, ancho)",
          "No basta con cambiar la forma: hay que mover el eje de los canales a su sitio.",
          """
def a_pytorch(batch):
    return batch.permute(0, 3, 1, 2)

respuesta_01_1 = a_pytorch""", code=True)
def check_01_1(answer) -> None:
    own_code(answer, "función")
    batch = torch.rand(2, 5, 7, 3, generator=_fresh(11))
    out = answer(batch.clone())
    if not isinstance(out, torch.Tensor):
        raise Wrong(f"La función devuelve {type(out).__name__}; debe devolver un tensor.")
    shape = tuple(out.shape)
    if shape == (2, 5, 7, 3):
        raise Wrong("Los canales siguen al final: PyTorch los quiere justo después de la "
                    "bandeja.")
    if shape == (2, 3, 7, 5):
        raise Wrong("Los canales están en su sitio, pero el alto y el ancho quedaron "
                    "intercambiados.")
    if shape != (2, 3, 5, 7):
        raise Wrong(f"Con una bandeja (2, 5, 7, 3) devuelve {shape}; se esperaba (2, 3, 5, 7).")
    if not torch.equal(out, batch.permute(0, 3, 1, 2)):
        raise Wrong("La forma es la buena, pero los números están revueltos: reshape y view "
                    "reinterpretan los datos en su orden, no mueven el eje de los canales.")


@exercise("01.2", "cuántos números tiene un vídeo de 2 muestras, 30 fotogramas, 3 canales y "
          "112×112 píxeles",
          "Un vídeo es un tensor de 5 dimensiones; cuenta sus elementos.",
          "respuesta_01_2 = 2 * 30 * 3 * 112 * 112   # 2.257.920")
def check_01_2(answer) -> None:
    right = 2 * 30 * 3 * 112 * 112
    expect_number(answer, right, [
        (right / 30, "Te faltan los 30 fotogramas."),
        (right / 2, "Eso es una sola muestra; hay 2."),
        (right / 3, "Te faltan los 3 canales de color."),
        (2 * 30 * 3 * 112, "Cada fotograma tiene 112 × 112 píxeles, no 112.")],
        "Multiplica las cinco dimensiones del tensor del vídeo.")


@exercise("02.1", "un núcleo 3×3 (lista, array o tensor) que detecte los bordes horizontales",
          "Un borde horizontal es un cambio de arriba abajo; en una zona lisa el núcleo debe dar "
          "0. Mira el núcleo de bordes verticales del cuaderno.",
          """
respuesta_02_1 = [[-1, -1, -1],
                  [0, 0, 0],
                  [1, 1, 1]]   # o el de bordes verticales traspuesto""", code=True)
def check_02_1(answer) -> None:
    kernel = torch.as_tensor(answer.tolist() if hasattr(answer, "tolist") else answer,
                             dtype=torch.float64)
    if kernel.numel() != 9:
        raise Wrong(f"El núcleo tiene forma {tuple(kernel.shape)}; se esperaba 3×3.")
    kernel = kernel.reshape(1, 1, 3, 3)
    low, high = torch.rand(2, generator=_fresh(21), dtype=torch.float64).sort().values
    flat = torch.full((1, 1, 8, 9), float(low), dtype=torch.float64)
    rows = flat.clone()
    rows[..., 4:, :] = high          # dark above, bright below: a horizontal edge
    cols = flat.clone()
    cols[..., :, 5:] = high          # a vertical edge
    scale = float(high - low)
    if F.conv2d(flat, kernel).abs().max() > 1e-6 * (1 + float(low)):
        raise Wrong("En una zona lisa tu núcleo no da 0: sus pesos deben sumar 0 para que solo "
                    "respondan los cambios.")
    if F.conv2d(cols, kernel).abs().max() > 1e-6 * (1 + scale):
        raise Wrong("Tu núcleo responde a los bordes verticales (cambios de izquierda a "
                    "derecha); buscamos los cambios de arriba abajo.")
    if F.conv2d(rows, kernel).abs().max() < 0.1 * scale:
        raise Wrong("Tu núcleo apenas responde a un borde horizontal.")


@exercise("02.2", "cuántas multiplicaciones hace la convolución de la foto (3×600×512) con 2 "
          "filtros 3×3 y padding=1",
          "Cuenta las multiplicaciones de una posición de la ventana (en todos los canales), "
          "las posiciones de la salida y los filtros.",
          "respuesta_02_2 = 3 * 3 * 3 * 600 * 512 * 2   # 16.588.800")
def check_02_2(answer) -> None:
    window, cells, filters = 27, 600 * 512, 2
    expect_number(answer, window * cells * filters, [
        (9 * cells * filters, "Cada ventana recorre los 3 canales: 3×3 en cada uno."),
        (window * cells, "Hay 2 filtros, y cada uno recorre la imagen entera."),
        (9 * cells, "Faltan los 3 canales de cada ventana y los 2 filtros."),
        (window * 598 * 510 * filters, "Con padding=1 la salida conserva el tamaño: 600×512.")],
        "Multiplica: multiplicaciones por ventana × posiciones de la salida × filtros.")


@exercise("02.3", "una función conv_rgb(image, weight, bias) que, con bucles, aplique los filtros "
          "weight (F, C, kh, kw) y sus sesgos bias (F,) a una imagen (C, alto, ancho), sin relleno "
          "y con avance 1, y devuelva (F, alto', ancho')",
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

respuesta_02_3 = conv_rgb""", code=True)
def check_02_3(answer) -> None:
    own_code(answer, "función")
    generator = _fresh(23)
    image = torch.randn(3, 7, 9, generator=generator)
    weight = torch.randn(2, 3, 2, 3, generator=generator)
    bias = torch.randn(2, generator=generator) + 2
    out = answer(image.clone(), weight.clone(), bias.clone())
    out = torch.as_tensor(out, dtype=torch.float32)
    right = F.conv2d(image[None], weight, bias)[0]
    shape = tuple(out.shape)
    if shape in ((2, 3, 6, 7), (2, 3, 5, 7)) or (out.ndim == 4 and shape[1] == 3):
        raise Wrong(f"La salida es {shape}: cada filtro da un solo mapa, la suma de lo que "
                    "saca en todos los canales de entrada.")
    if shape in ((2, 5, 6), (2, 6, 6), (2, 5, 7)):
        raise Wrong(f"La salida es {shape}, con una fila o columna de menos: en un lado de n "
                    "píxeles caben n - k + 1 posiciones del núcleo.")
    if shape != tuple(right.shape):
        raise Wrong(f"Con una imagen (3, 7, 9) y filtros (2, 3, 2, 3) devuelve {shape}; sin "
                    f"relleno y con avance 1 salen {tuple(right.shape)}.")
    if torch.allclose(out, F.conv2d(image[None], weight.flip(2, 3), bias)[0], atol=1e-4):
        raise Wrong("Has volteado el núcleo (la convolución de los libros de señales): las "
                    "redes convolutivas lo aplican tal cual.")
    if torch.allclose(out, F.conv2d(image[None], weight)[0], atol=1e-4):
        raise Wrong("Falta el sesgo: cada filtro suma su bias[f] en cada posición.")
    if torch.allclose(out, F.conv2d(image[None, :1], weight[:, :1], bias)[0], atol=1e-4):
        raise Wrong("Solo cuenta el primer canal: cada filtro recorre todos los canales de la "
                    "ventana.")
    if not torch.allclose(out, right, atol=1e-4):
        raise Wrong("La forma es la buena pero los valores no: en cada posición, multiplica la "
                    "ventana (todos sus canales) por el filtro elemento a elemento, suma y añade "
                    "el sesgo.")


@exercise("02.4", "la forma de ops.im2col(image, 3) para una imagen de Fashion-MNIST (1, 28, 28): "
          "un núcleo 3×3, sin relleno",
          "im2col pone cada ventana en una columna: ¿cuántos números tiene una ventana y cuántas "
          "ventanas caben?",
          "respuesta_02_4 = (1 * 3 * 3, 26 * 26)   # (9, 676)")
def check_02_4(answer) -> None:
    shape = as_shape(answer)
    if shape == (9, 676):
        return
    if shape == (676, 9):
        raise Wrong("Filas y columnas cambiadas: im2col pone una ventana en cada columna.")
    if shape == (9, 784):
        raise Wrong("Sin relleno no caben 28 × 28 ventanas: en un lado de 28 caben 28 − 3 + 1.")
    if shape in ((9, 26, 26), (1, 9, 676)):
        raise Wrong("im2col de una imagen da una matriz: (números por ventana, ventanas).")
    raise Wrong(f"{shape} no es la forma: (números por ventana, número de ventanas).")
