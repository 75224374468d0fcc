"""Exercises of notebooks 05-06: a Dataset, evaluating in batches, the network's shapes and
parameters, the slides' epoch loop."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .common import Wrong, as_number, exercise, expect_number, own_code, spanish

__all__ = ["FLATTEN_MISTAKES", "check_05_1", "check_05_2", "check_05_3", "check_06_1",
           "check_06_2", "check_06_3"]


@exercise("05.1", "una clase Dataset DatasetAplanado(images, labels) cuyo elemento i sea la "
          "pareja (imagen aplanada en un vector de 784, etiqueta)",
          "Un Dataset necesita __len__ (cuántas muestras) y __getitem__ (la pareja de la "
          "muestra i). Aplana cada imagen, no la bandeja entera.",
          """
from torch.utils.data import Dataset

class DatasetAplanado(Dataset):
    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i].reshape(-1), self.labels[i]

respuesta_05_1 = DatasetAplanado""", code=True)
def check_05_1(answer) -> None:
    own_code(answer, "clase Dataset")
    if not isinstance(answer, type):
        raise Wrong("Se espera la clase (DatasetAplanado), no un objeto creado con ella.")
    generator = torch.Generator().manual_seed(51)
    images = torch.rand(13, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (13,), generator=generator)
    dataset = answer(images.clone(), labels.clone())
    if len(dataset) != 13:
        raise Wrong(f"Con 13 imágenes, len() da {len(dataset)}: debe contar muestras.")
    item = dataset[4]
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise Wrong("El elemento i debe ser una pareja (imagen, etiqueta).")
    image, label = item
    if tuple(torch.as_tensor(image).shape) != (784,):
        raise Wrong(f"La imagen sale con forma {tuple(torch.as_tensor(image).shape)}; aplanada "
                    "debe ser un vector de 784 números.")
    if not torch.equal(torch.as_tensor(image), images[4].reshape(-1)):
        raise Wrong("La imagen aplanada no es la imagen i: ¿el índice, o el orden de los "
                    "píxeles?")
    if int(label) != int(labels[4]):
        raise Wrong("La etiqueta no es la de la muestra i.")
    batch_x, batch_y = next(iter(DataLoader(dataset, batch_size=5)))
    if tuple(batch_x.shape) != (5, 784) or tuple(batch_y.shape) != (5,):
        raise Wrong(f"Un DataLoader de bandeja 5 da {tuple(batch_x.shape)} y "
                    f"{tuple(batch_y.shape)}; se esperaba (5, 784) y (5,).")


@exercise("05.2", "una función evalua(model, loader, loss_fn) que devuelva la pérdida media de "
          "todo el conjunto, evaluado por bandejas",
          "loss_fn da la media de cada bandeja; las bandejas no tienen todas el mismo tamaño "
          "(la última suele ser menor).",
          """
def evalua(model, loader, loss_fn):
    total, seen = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            total += loss_fn(model(x), y).item() * len(y)
            seen += len(y)
    return total / seen

respuesta_05_2 = evalua""", code=True)
def check_05_2(answer) -> None:
    own_code(answer, "función")
    generator = torch.Generator().manual_seed(52)
    x, y = torch.randn(70, 4, generator=generator), torch.randint(0, 3, (70,), generator=generator)
    model = nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.copy_(torch.randn(3, 4, generator=generator) * 3)
        right = nn.functional.cross_entropy(model(x), y).item()
        means = [nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32]).item()
                 for i in range(0, 70, 32)]
    got = as_number(answer(model, DataLoader(TensorDataset(x, y), batch_size=32),
                           nn.CrossEntropyLoss()))
    if abs(got - right) < 1e-4 * (1 + right):
        return
    if abs(got - sum(means)) < 1e-4 * (1 + got):
        raise Wrong("Has sumado las medias de las bandejas: crece con el número de bandejas y "
                    "no es una pérdida media.")
    if abs(got - sum(means) / len(means)) < 1e-4 * (1 + got):
        raise Wrong("Es la media de las medias: la última bandeja, más pequeña, pesa igual que "
                    "las demás. Pondera cada bandeja por su tamaño.")
    raise Wrong(f"Con 70 muestras en bandejas de 32 da {spanish(got)}, y no es la pérdida media "
                "del conjunto.")


@exercise("05.3", "cuántas bandejas da DataLoader(train_set, batch_size=128) con las 60.000 "
          "imágenes de entrenamiento",
          "60.000 no es múltiplo de 128: ¿qué pasa con las que sobran?",
          "respuesta_05_3 = -(-60_000 // 128)   # 469: 468 llenas y una última de 96")
def check_05_3(answer) -> None:
    expect_number(answer, 469, [
        (468, "Las 96 imágenes que sobran también forman una bandeja (salvo con drop_last)."),
        (60_000 / 128, "No hay bandejas a medias: cuenta las llenas y la última, más pequeña."),
        (1875, "Esas son las bandejas de 32; aquí la bandeja es de 128.")],
        "Divide 60.000 entre 128 y piensa en las que sobran.")


FLATTEN_MISTAKES = [
    (128, "Faltan el alto y el ancho de los mapas: la capa lineal recibe canales × alto × "
          "ancho valores."),
    (7 * 7 * 128, "Eso sería con relleno: las convoluciones 3×3 de la red no tienen relleno y "
                  "cada una quita 2 píxeles."),
    (12 * 12 * 128, "Hay dos poolings, no uno."),
    (8 * 8 * 128, "Te falta el segundo pooling, que divide el lado entre 2."),
    (5 * 5 * 128, "Cada convolución 3×3 sin relleno quita 2 píxeles (1 por lado): revisa las "
                  "cuatro."),
    (3 * 3 * 128, "El pooling 2×2 divide el lado entre 2; revisa el orden de las capas."),
]


@exercise("06.1", "el «¿?» de la red: cuántos valores recibe la primera capa lineal",
          "Sigue la forma de una imagen 28×28 capa a capa: cada convolución 3×3 sin relleno y "
          "cada pooling 2×2; al final, canales × alto × ancho.",
          "respuesta_06_1 = 4 * 4 * 128   # 28 → 26 → 24 → 12 → 10 → 8 → 4; 2.048")
def check_06_1(answer) -> None:
    expect_number(answer, 2048, FLATTEN_MISTAKES,
                  "Sigue la forma capa a capa: 28 → conv → conv → pool → conv → conv → pool; "
                  "y multiplica canales × alto × ancho.")


@exercise("06.2", "cuántos parámetros tiene conv2 (16 canales de entrada, 32 de salida, núcleo "
          "3×3)",
          "Pesos: filtros × canales de entrada × alto × ancho del núcleo; y un sesgo por filtro.",
          "respuesta_06_2 = 32 * 16 * 3 * 3 + 32   # 4.640")
def check_06_2(answer) -> None:
    expect_number(answer, 4640, [
        (4608, "¿Y los sesgos? Cada filtro de salida tiene uno."),
        (32 * 9 + 32, "Cada filtro recorre los 16 canales de entrada."),
        (32 * 9, "Cada filtro recorre los 16 canales de entrada, y tiene un sesgo."),
        (4608 + 16, "Hay un sesgo por filtro de salida (32), no por canal de entrada.")],
        "Cuenta filtros × canales de entrada × 3 × 3, más los sesgos.")


class _Probe(nn.Module):
    """A tiny network that remembers whether it ran in training mode."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(6, 3)
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.layer(x)


def _reference_epoch(model, batches, loss_fn, optimizer, zero_grad: bool = True) -> None:
    model.train()
    for x, y in batches:
        loss = loss_fn(model(x), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@exercise("06.3", "una función entrena_una_epoca(model, loader, loss_fn, optimizer) que entrene "
          "una época, como el bucle «Aprendizaje por épocas»",
          "Para cada bandeja: salida de la red, pérdida, gradientes a cero, retropropagación y "
          "paso del optimizador; antes, la red en modo entrenamiento.",
          """
def entrena_una_epoca(model, loader, loss_fn, optimizer):
    model.train()
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

respuesta_06_3 = entrena_una_epoca""", code=True)
def check_06_3(answer) -> None:
    own_code(answer, "función")
    generator = torch.Generator().manual_seed(63)
    x, y = torch.randn(20, 6, generator=generator), torch.randint(0, 3, (20,), generator=generator)
    batches = [(x[i:i + 5], y[i:i + 5]) for i in range(0, 20, 5)]
    start = _Probe().eval()

    def run(epoch, **kwargs) -> _Probe:
        model = copy.deepcopy(start)
        epoch(model, list(batches), nn.CrossEntropyLoss(),
              torch.optim.SGD(model.parameters(), lr=0.5), **kwargs)
        return model

    def same(a: nn.Module, b: nn.Module) -> bool:
        return all(torch.allclose(p, q, atol=1e-6) for p, q in
                   zip(a.parameters(), b.parameters(), strict=True))

    student = run(answer)
    if not student.modes:
        raise Wrong("La red no ha visto ninguna bandeja: recorre el cargador.")
    if not all(student.modes):
        raise Wrong("La red estaba en modo evaluación: ponla en modo entrenamiento antes de "
                    "entrenar (importa con Dropout o BatchNorm).")
    if same(student, start):
        raise Wrong("Los pesos no han cambiado: ¿das el paso del optimizador (y después de "
                    "calcular los gradientes)?")
    if same(student, run(_reference_epoch)):
        return
    if same(student, run(_reference_epoch, zero_grad=False)):
        raise Wrong("Los gradientes se acumulan de una bandeja a otra: ¿los pones a cero en "
                    "cada paso?")
    if len(student.modes) != len(batches):
        raise Wrong(f"Con {len(batches)} bandejas la red se ejecutó {len(student.modes)} veces: "
                    "una pasada por bandeja.")
    raise Wrong("Los pesos no acaban como tras una época del bucle de las transparencias: "
                "repasa el orden de los pasos.")
