"""Exercises of notebooks 05-06: a Dataset, evaluating in batches, the network's shapes and
parameters, the slides' epoch loop. Each check is a probe (runs the answer, records what it does
as plain data) and a judge (compares that record with the reference, runs no student code)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .. import datasets, training
from .behaviour import Forbidden, run, seeded, to_array
from .common import Wrong, exercise, expect_number, number_of, probe_number, spanish
from .trace import fill_by_shape

__all__ = ["FLATTEN_MISTAKES", "FORBID_05_1", "FORBID_05_2", "FORBID_06_3", "check_05_1",
           "check_05_2", "check_05_3", "check_06_1", "check_06_2", "check_06_3", "judge_05_1",
           "judge_05_2", "judge_06_3", "probe_05_1", "probe_05_2", "probe_06_3"]


FORBID_05_1 = (Forbidden("datasets.FlattenDataset", functions=(
    datasets.FlattenDataset.__init__, datasets.FlattenDataset.__getitem__)),)
FORBID_05_2 = (Forbidden("training.evaluate", functions=(training.evaluate,)),)
FORBID_06_3 = (Forbidden("training.train_one_epoch", functions=(training.train_one_epoch,)),)


def _array(value: Any, what: str) -> np.ndarray:
    """What the answer gave (tensor, array, list of numbers) as float64 (``Wrong`` otherwise)."""
    return to_array(value, what).astype(np.float64)


# ------------------------------------------------------------------------------ 05.1

def _images_05_1(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = seeded(seed, 51)
    return (torch.rand(13, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (13,), generator=generator))


def probe_05_1(answer: Any, seed: int = 0) -> dict:
    """Build the student's Dataset on 13 images of our own; record len, items 0, 4, 12 and the
    first batch of a DataLoader of 5."""
    if not isinstance(answer, type):
        raise Wrong("Se espera la clase (DatasetAplanado), no un objeto creado con ella.")
    images, labels = _images_05_1(seed)
    given = "13 imágenes (13, 1, 28, 28) y 13 etiquetas"
    dataset = run(answer, images.clone(), labels.clone(), forbid=FORBID_05_1,
                  inputs=f"DatasetAplanado(images, labels) con {given}")
    length = run(len, dataset, inputs=f"len() de tu Dataset con {given}", forbid=FORBID_05_1)
    items = []
    for i in (0, 4, 12):
        item = run(dataset.__getitem__, i, inputs=f"dataset[{i}] con {given}",
                   forbid=FORBID_05_1)
        pair = isinstance(item, tuple | list) and len(item) == 2
        items.append({"pair": pair,
                      "image": _array(item[0], "La imagen del elemento i es") if pair else None,
                      "label": _array(item[1], "La etiqueta del elemento i es") if pair else None})
    batch = run(lambda: next(iter(DataLoader(dataset, batch_size=5))), forbid=FORBID_05_1,
                inputs=f"DataLoader(tu Dataset, batch_size=5) con {given}")
    shapes = [list(getattr(b, "shape", [])) for b in batch] \
        if isinstance(batch, list | tuple) else []
    return {"length": length if isinstance(length, int) else -1, "items": items,
            "batch": shapes}


def judge_05_1(evidence: dict, seed: int = 0) -> None:
    images, labels = _images_05_1(seed)
    if evidence["length"] != 13:
        raise Wrong(f"Con 13 imágenes, len() da {evidence['length']}: debe contar muestras.")
    for i, item in zip((0, 4, 12), evidence["items"], strict=True):
        if not item["pair"]:
            raise Wrong("El elemento i debe ser una pareja (imagen, etiqueta).")
        image, label = item["image"], item["label"]
        if image is None or image.shape != (784,):
            shape = None if image is None else tuple(image.shape)
            raise Wrong(f"La imagen sale con forma {shape}; aplanada debe ser un vector de 784 "
                        "números.")
        if not np.allclose(image, images[i].reshape(-1).double().numpy(), atol=1e-6):
            raise Wrong("La imagen aplanada no es la imagen i: ¿el índice, o el orden de los "
                        "píxeles?")
        if label is None or label.size != 1 or float(label.reshape(-1)[0]) != int(labels[i]):
            raise Wrong("La etiqueta no es la de la muestra i.")
    if evidence.get("batch") != [[5, 784], [5]]:
        raise Wrong(f"Un DataLoader de bandeja 5 da {evidence.get('batch')}; se esperaba "
                    "[5, 784] y [5].")


# ------------------------------------------------------------------------------ 05.2

_BATCHINGS_05_2 = ((70, 32), (45, 20))    # samples, batch size: the last batch is smaller


class _Watched(nn.Module):
    """A linear model that remembers the size of every batch it sees."""

    def __init__(self, seed: int):
        super().__init__()
        self.layer = fill_by_shape(nn.Linear(4, 3), seed)
        with torch.no_grad():
            self.layer.weight.mul_(6)
        self.sizes: list[int] = []

    def forward(self, x):
        self.sizes.append(len(x))
        return self.layer(x)


def _data_05_2(seed: int, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = seeded(seed, 52 + samples)
    return (torch.randn(samples, 4, generator=generator),
            torch.randint(0, 3, (samples,), generator=generator))


def probe_05_2(answer: Any, seed: int = 0) -> dict:
    """Call ``evalua`` on two loaders whose last batch is smaller; record what it returns and the
    size of each batch the model saw."""
    runs = []
    for samples, batch in _BATCHINGS_05_2:
        model = _Watched(seed)
        x, y = _data_05_2(seed, samples)
        loader = DataLoader(TensorDataset(x, y), batch_size=batch)
        got = run(answer, model, loader, nn.CrossEntropyLoss(), forbid=FORBID_05_2,
                  inputs=f"una red lineal 4 → 3, un cargador de {samples} muestras en "
                         f"bandejas de {batch} y nn.CrossEntropyLoss()")
        value = _array(got, "La función devuelve")
        if value.size != 1:
            raise Wrong(f"La función devuelve {value.size} números; se esperaba uno, la "
                        "pérdida media.")
        runs.append({"value": float(value.reshape(-1)[0]), "seen": model.sizes})
    return {"runs": runs}


def judge_05_2(evidence: dict, seed: int = 0) -> None:
    for (samples, batch), used in zip(_BATCHINGS_05_2, evidence["runs"], strict=True):
        seen = [int(n) for n in used["seen"]]
        if not seen:
            raise Wrong("La red no ha visto ninguna bandeja: recorre el cargador.")
        if any(n > batch for n in seen):
            raise Wrong(f"La red recibió una bandeja de {max(seen)} muestras con un cargador de "
                        f"bandejas de {batch}: has juntado el conjunto y lo evalúas de una vez, "
                        "justo lo que la evaluación por bandejas evita (con 10.000 imágenes no "
                        "cabe en la RAM). Pasa cada bandeja por la red y acumula.")
        got = float(used["value"])
        model, (x, y) = _Watched(seed), _data_05_2(seed, samples)
        with torch.no_grad():
            right = nn.functional.cross_entropy(model(x), y).item()
            means = [nn.functional.cross_entropy(model(x[i:i + batch]), y[i:i + batch]).item()
                     for i in range(0, samples, batch)]
        if abs(got - right) < 1e-4 * (1 + right):
            continue
        if abs(got - sum(means)) < 1e-4 * (1 + got):
            raise Wrong("Has sumado las medias de las bandejas: crece con el número de bandejas "
                        "y no es una pérdida media.")
        if abs(got - sum(means) / len(means)) < 1e-4 * (1 + got):
            raise Wrong("Es la media de las medias: la última bandeja, más pequeña, pesa igual "
                        "que las demás. Pondera cada bandeja por su tamaño.")
        if sum(seen) < samples:
            raise Wrong(f"La red vio {sum(seen)} de las {samples} muestras del cargador: "
                        "recorre todas las bandejas.")
        raise Wrong(f"Con {samples} muestras en bandejas de {batch} da {spanish(got)}, y la "
                    f"pérdida media del conjunto es {spanish(round(right, 4))}.")


@exercise("05.1", "una clase Dataset DatasetAplanado(images, labels) cuyo elemento i sea la "
          "pareja (imagen aplanada en un vector de 784, etiqueta), sin "
          "`datasets.FlattenDataset`",
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

respuesta_05_1 = DatasetAplanado""", code=True,
          note="Como el `Flatten_Dataset` de las transparencias, pero recibiendo tensores: "
               "`images` de forma (N, 1, 28, 28) y `labels` de forma (N,).")
class check_05_1:
    probe = staticmethod(probe_05_1)
    judge = staticmethod(judge_05_1)

@exercise("05.2", "una función evalua(model, loader, loss_fn) que devuelva la pérdida media de "
          "todo el conjunto, evaluado por bandejas, sin `training.evaluate`",
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

respuesta_05_2 = evalua""", code=True,
          note="La cifra debe ser la misma que con todo el conjunto en una sola bandeja, sea "
               "cual sea el tamaño de bandeja.")
class check_05_2:
    probe = staticmethod(probe_05_2)
    judge = staticmethod(judge_05_2)


@exercise("05.3", "cuántas bandejas da DataLoader(train_set, batch_size=128) con las 60.000 "
          "imágenes de entrenamiento",
          "60.000 no es múltiplo de 128: ¿qué pasa con las que sobran?",
          "respuesta_05_3 = -(-60_000 // 128)   # 469: 468 llenas y una última de 96",
          probe=probe_number)
def check_05_3(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 469, [
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
          "respuesta_06_1 = 4 * 4 * 128   # 28 → 26 → 24 → 12 → 10 → 8 → 4; 2.048",
          probe=probe_number)
def check_06_1(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 2048, FLATTEN_MISTAKES,
                  "Sigue la forma capa a capa: 28 → conv → conv → pool → conv → conv → pool; "
                  "y multiplica canales × alto × ancho.")


@exercise("06.2", "cuántos parámetros tiene conv2 (16 canales de entrada, 32 de salida, núcleo "
          "3×3)",
          "Pesos: filtros × canales de entrada × alto × ancho del núcleo; y un sesgo por filtro.",
          "respuesta_06_2 = 32 * 16 * 3 * 3 + 32   # 4.640", probe=probe_number)
def check_06_2(evidence: dict, seed: int = 0) -> None:
    expect_number(number_of(evidence), 4640, [
        (4608, "¿Y los sesgos? Cada filtro de salida tiene uno."),
        (32 * 9 + 32, "Cada filtro recorre los 16 canales de entrada."),
        (32 * 9, "Cada filtro recorre los 16 canales de entrada, y tiene un sesgo."),
        (4608 + 16, "Hay un sesgo por filtro de salida (32), no por canal de entrada.")],
        "Cuenta filtros × canales de entrada × 3 × 3, más los sesgos.")


# ------------------------------------------------------------------------------ 06.3

class _Modes(nn.Module):
    """A tiny network that remembers whether it ran in training mode."""

    def __init__(self, seed: int):
        super().__init__()
        self.layer = fill_by_shape(nn.Linear(6, 3), seed)
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.layer(x)


def _batches_06_3(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = seeded(seed, 63)
    x, y = torch.randn(20, 6, generator=generator), torch.randint(0, 3, (20,), generator=generator)
    return [(x[i:i + 5], y[i:i + 5]) for i in range(0, 20, 5)]


def _epoch(seed: int, zero_grad: bool = True) -> list[np.ndarray]:
    """The slides' epoch on the probe's network: its parameters afterwards."""
    model = _Modes(seed)
    loss_fn, optimizer = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5)
    for x, y in _batches_06_3(seed):
        loss = loss_fn(model(x), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [_array(p, "") for p in model.parameters()]


def probe_06_3(answer: Any, seed: int = 0) -> dict:
    """Run the student's epoch on a small network left in evaluation mode, with 4 batches of 5;
    record the modes it ran in and its parameters afterwards."""
    model = _Modes(seed).eval()
    run(answer, model, _batches_06_3(seed), nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.5), forbid=FORBID_06_3,
        inputs="una red lineal 6 → 3, 4 bandejas de 5, nn.CrossEntropyLoss() y SGD con tasa "
               "0,5")
    return {"modes": list(model.modes),
            "parameters": [_array(p, "") for p in model.parameters()]}


def judge_06_3(evidence: dict, seed: int = 0) -> None:
    modes, batches = evidence["modes"], 4

    def same(parameters: list[np.ndarray]) -> bool:
        got = evidence["parameters"]
        return len(got) == len(parameters) and all(
            np.shape(a) == b.shape and np.allclose(a, b, atol=1e-6)
            for a, b in zip(got, parameters, strict=True))

    if not modes:
        raise Wrong("La red no ha visto ninguna bandeja: recorre el cargador.")
    if not all(modes):
        raise Wrong("La red estaba en modo evaluación: ponla en modo entrenamiento antes de "
                    "entrenar (importa con Dropout o BatchNorm).")
    if same([_array(p, "") for p in _Modes(seed).parameters()]):
        raise Wrong("Los pesos no han cambiado: ¿das el paso del optimizador (y después de "
                    "calcular los gradientes)?")
    if same(_epoch(seed)):
        return
    if same(_epoch(seed, zero_grad=False)):
        raise Wrong("Los gradientes se acumulan de una bandeja a otra: ¿los pones a cero en "
                    "cada paso?")
    if len(modes) != batches:
        times = "1 vez" if len(modes) == 1 else f"{len(modes)} veces"
        raise Wrong(f"Con {batches} bandejas la red se ejecutó {times}: una pasada por "
                    "bandeja.")
    raise Wrong("Los pesos no acaban como tras una época del bucle de las transparencias: "
                "repasa el orden de los pasos.")


@exercise("06.3", "una función entrena_una_epoca(model, loader, loss_fn, optimizer) que entrene "
          "una época, como el bucle «Aprendizaje por épocas», sin "
          "`training.train_one_epoch`",
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

respuesta_06_3 = entrena_una_epoca""", code=True,
          note="Sin evaluar: solo el entrenamiento de una época. El comprobador la ejecuta con "
               "una red y unas bandejas que no ves y compara los pesos finales.")
class check_06_3:
    probe = staticmethod(probe_06_3)
    judge = staticmethod(judge_06_3)
