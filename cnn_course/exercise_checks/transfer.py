"""Exercises of notebooks 07-08: transfer learning (a head, freezing) and ResNet."""

from __future__ import annotations

import torch
from torch import nn

from .common import Wrong, exercise, expect_number, own_code, spanish

__all__ = ["check_07_1", "check_07_2", "check_07_3", "check_07_4", "check_08_1", "check_08_2",
           "check_08_3"]


@exercise("07.1", "cuántos pesos se entrenan si la cabeza de la VGG16 es 512-256-1 (con la red "
          "base congelada)",
          "Solo cuenta la cabeza: dos capas lineales, cada una con pesos y sesgos.",
          "respuesta_07_1 = 512 * 256 + 256 + 256 * 1 + 1   # 131.585")
def check_07_1(answer) -> None:
    expect_number(answer, 131_585, [
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
          "respuesta_07_2 = 512 * 7 * 7   # 25.088: 224 / 2⁵ = 7")
def check_07_2(answer) -> None:
    expect_number(answer, 25_088, [
        (512, "Eso es con AdaptiveAvgPool2d((1, 1)); sin él, cada canal es un mapa entero."),
        (512 * 14 * 14, "La VGG16 tiene 5 poolings, no 4: 224 / 2⁵."),
        (512 * 3 * 3, "La VGG16 tiene 5 poolings, no 6: 224 / 2⁵."),
        (7 * 7, "Faltan los 512 canales."),
        (3 * 224 * 224, "Eso es la imagen de entrada; la capa lineal va tras los bloques "
                        "convolutivos.")],
        "Sigue el tamaño de 224 tras cada pooling y multiplica por los canales.")


@exercise("07.3", "una cabeza (un nn.Module) para las características en caché: 512 entradas, "
          "128 ocultas con ReLU y 1 salida, la probabilidad de la segunda clase (perro; sin "
          "red, camisa)",
          "BCELoss compara probabilidades entre 0 y 1: la última capa necesita una sigmoide.",
          """
respuesta_07_3 = nn.Sequential(nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 1),
                               nn.Sigmoid())""", code=True)
def check_07_3(answer) -> None:
    if not isinstance(answer, nn.Module):
        raise Wrong("Se espera un nn.Module (un objeto, por ejemplo nn.Sequential(...)).")
    if type(answer).__module__.startswith("cnn_course") or \
            getattr(answer, "_is_library_head", False):
        own_code(answer, "cabeza")
    features = torch.randn(6, 512, generator=torch.Generator().manual_seed(73)) * 20
    out = answer(features)
    if tuple(out.shape) == (6, 2):
        raise Wrong("La cabeza da 2 salidas; con BCELoss es una: la probabilidad de «perro».")
    if tuple(out.shape) != (6, 1):
        raise Wrong(f"Con 6 vectores de 512 la cabeza da {tuple(out.shape)}; se esperaba "
                    "(6, 1).")
    if out.min() < 0 or out.max() > 1:
        raise Wrong("La salida no está entre 0 y 1: BCELoss necesita probabilidades; falta la "
                    "sigmoide al final.")
    trainable = sum(p.numel() for p in answer.parameters() if p.requires_grad)
    if trainable != 512 * 128 + 128 + 128 + 1:
        raise Wrong(f"La cabeza tiene {spanish(trainable)} pesos entrenables; una 512-128-1 "
                    f"tiene {spanish(512 * 128 + 128 + 128 + 1)}.")
    small = torch.randn(3, 512, generator=torch.Generator().manual_seed(74))
    with torch.no_grad():
        p = answer(torch.cat([small, small[:1] + small[1:2], torch.zeros(1, 512)]))
        z = torch.logit(p.double().clamp(1e-12, 1 - 1e-12)).flatten()
    if abs(z[0] + z[1] - z[3] - z[4]) < 1e-6 * (1 + z.abs().max()):
        raise Wrong("La cabeza es lineal de punta a punta: sin una activación entre las dos "
                    "capas lineales, equivalen a una sola. Falta la ReLU.")
    out.sum().backward()
    if any(p.grad is None for p in answer.parameters()):
        raise Wrong("Algún parámetro de la cabeza no recibe gradiente.")
    answer.zero_grad()


class _Transfer(nn.Module):
    """A small stand-in for a transfer model: ``backbone`` and ``head``, all trainable."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.head = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())

    def forward(self, x):
        return self.head(self.backbone(x))


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

respuesta_07_4 = congela""", code=True)
def check_07_4(answer) -> None:
    own_code(answer, "función")
    model = _Transfer()
    for p in model.head.parameters():
        p.requires_grad = False     # a head left frozen by an earlier cell must come back
    result = answer(model)
    model = result if isinstance(result, _Transfer) else model
    base = [p.requires_grad for p in model.backbone.parameters()]
    head = [p.requires_grad for p in model.head.parameters()]
    if all(base) and not any(head):
        raise Wrong("Lo has congelado al revés: la red base sigue entrenable y la cabeza no.")
    if any(base):
        raise Wrong("La red base sigue entrenable: el optimizador cambiaría los pesos "
                    "preentrenados.")
    if not all(head):
        raise Wrong("La cabeza quedó congelada: la red base se congela, la cabeza es lo que se "
                    "entrena (y puede venir congelada de antes).")


@exercise("08.1", "cuántos parámetros tiene models.ResLayer(64, 128, 3, stride=2)",
          "Con 64 ≠ 128 canales el atajo no puede ser la identidad: también tiene parámetros.",
          "respuesta_08_1 = (128 * 64 * 3 * 3 + 128) + (128 * 64 + 128)   # 82.176")
def check_08_1(answer) -> None:
    expect_number(answer, 82_176, [
        (73_856, "¿Y el atajo? Con 64 → 128 canales es una convolución 1×1, con sus pesos y "
                 "sesgos."),
        (8_320, "Eso es solo el atajo; falta la convolución 3×3."),
        (73_728 + 8_192, "¿Y los sesgos? Cada convolución tiene uno por canal de salida.")],
        "Cuenta la convolución 3×3 y la del atajo, con sus sesgos.")


@exercise("08.2", "tu clase ResLayer(ni, no, kernel_size, stride=1) que funcione también con "
          "ni != no y avance 2: relu(conv(x)) + atajo(x)",
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

respuesta_08_2 = ResLayer""", code=True)
def check_08_2(answer) -> None:
    own_code(answer, "clase ResLayer")
    if not isinstance(answer, type) or not issubclass(answer, nn.Module):
        raise Wrong("Se espera tu clase ResLayer, una subclase de nn.Module.")
    generator = torch.Generator().manual_seed(82)
    cases = [(16, 32, 3, 1, "ni != no", "el atajo debe llevar x de ni a no canales "
              "(una convolución 1×1)"),
             (12, 12, 5, 1, "un núcleo 5×5", "con núcleo 5 el tamaño cambia; el relleno "
              "k − 2 de las transparencias solo conserva el tamaño con 3×3"),
             (8, 12, 3, 2, "avance 2", "con avance 2 el atajo también debe saltar de 2 en 2")]
    for ni, no, k, stride, case, why in cases:
        layer = answer(ni, no, k, stride=stride)
        x = torch.randn(2, ni, 9, 9, generator=generator, requires_grad=True)
        try:
            y = layer(x)
        except RuntimeError as error:
            raise Wrong(f"Con {case} ({ni} → {no} canales, núcleo {k}, avance {stride}) la "
                        f"suma falla: {why}.") from error
        size = (9 - 1) // stride + 1
        if tuple(y.shape) != (2, no, size, size):
            raise Wrong(f"Con {case} la salida es {tuple(y.shape)}; se esperaba "
                        f"{(2, no, size, size)}: {why}.")
        y.sum().backward()
        if x.grad is None or x.grad.abs().sum() == 0:
            raise Wrong("El gradiente no llega a la entrada.")
    convs = [m for m in answer(16, 32, 3).modules() if isinstance(m, nn.Conv2d)]
    if len(convs) < 2:
        raise Wrong("Con ni != no falta la convolución del atajo.")


@exercise("08.3", "por cuánto se multiplica el gradiente tras 5 capas si cada una lo multiplica "
          "por 0,41",
          "Cada capa multiplica el gradiente que le llega: se encadenan 5 multiplicaciones.",
          "respuesta_08_3 = 0.41 ** 5   # ≈ 0,0116: unas 86 veces menos")
def check_08_3(answer) -> None:
    expect_number(answer, 0.41 ** 5, [
        (0.41 * 5, "Las capas multiplican el gradiente, no lo suman: 0,41 por 0,41 por..."),
        (0.41 ** 20, "Eso son 20 capas; aquí son 5."),
        (0.41 ** 4, "Son 5 capas: 5 factores de 0,41.")],
        "Encadena la multiplicación por 0,41 de cada capa.", rel=0.03)
