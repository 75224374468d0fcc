"""Exercises 05-08 and the assignment (06a) tried as students would answer them (issue 25): for
each, at least four right answers written differently (module or functional style, another
registration order, nn.Sequential, float64, other names, other history keys) that must pass, and
at least four wrong ones (typical mistakes, the library's version where the statement forbids
it), each with a distinctive part of the message it must get. The probe/judge split is tried
too: evidence survives its JSON, tampered evidence is "incorrecto" without a crash, and the judge
draws the unseen inputs from the seed."""

import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from cnn_course import datasets, models, plots, training
from cnn_course.exercise_checks import assignment, networks, transfer
from cnn_course.exercises import (
    EXERCISES,
    check,
    evidence_from_json,
    evidence_to_json,
    judge,
    probe,
)
from tests.test_exercise_corpus_00_04 import ENGLISH, _tampered
from tests.test_exercises import (  # noqa: F401 (trained: the fixture, a model trained here)
    _Dataset3d,
    _DatasetWrongLength,
    _epoch_no_step,
    _epoch_no_train_mode,
    _epoch_no_zero_grad,
    _mean_of_means,
    _NoProjection,
    _SlidesPadding,
    _sum_of_means,
    trained,
)

IDS = [id for id in EXERCISES if EXERCISES[id].notebook in ("05", "06", "06a", "07", "08")]
NEEDS_TRAINING = ("06a.4", "06a.5")          # answers built from the fixture `trained`


def _numbers(value):
    """A right number in the forms students write it."""
    return [value, float(value), np.int64(value) if value == int(value) else np.float64(value),
            torch.tensor(value), np.array([value])]


# --- 05.1: DatasetAplanado(images, labels) -------------------------------------------------------

class _DuckDataset:                    # no Dataset base class: a DataLoader only needs len and []
    def __init__(self, images, labels):
        self.x, self.y = images.flatten(1), labels

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class _ListDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels.tolist()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return [self.images[index].view(784), int(self.labels[index])]


class _NumpyDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images = images.numpy().astype(np.float64).reshape(len(images), -1)
        self.labels = labels.numpy()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class _FirstLabel(_Dataset3d):
    def __getitem__(self, i):
        return self.images[i].reshape(-1), self.labels[0]


class _Transposed(_Dataset3d):
    def __getitem__(self, i):
        return self.images[i].transpose(1, 2).reshape(-1), self.labels[i]


class _LibraryDataset(datasets.FlattenDataset):
    pass


# --- 05.2: evalua(model, loader, loss_fn) --------------------------------------------------------

def _evalua_tensor(model, loader, loss_fn):
    total, n = torch.zeros((), dtype=torch.float64), 0
    for x, y in loader:
        total = total + loss_fn(model(x), y).double() * x.shape[0]
        n += x.shape[0]
    return total / n


def _evalua_weights(model, loader, loss_fn):
    with torch.no_grad():
        pairs = [(loss_fn(model(x), y).item(), len(y)) for x, y in loader]
    return np.average([p[0] for p in pairs], weights=[p[1] for p in pairs])


def _evalua_dataset_length(model, loader, loss_fn):
    model.eval()
    with torch.inference_mode():
        total = sum(loss_fn(model(x), y).item() * len(x) for x, y in loader)
    return total / len(loader.dataset)


def _evalua_sum_reduction(model, loader, loss_fn):
    total = 0.0
    for x, y in loader:
        total += F.cross_entropy(model(x), y, reduction="sum").item()
    return total / sum(len(y) for _, y in loader)


def _gathered(model, loader, loss_fn):          # the RAM lesson ignored: one forward pass
    x = torch.cat([x for x, _ in loader])
    y = torch.cat([y for _, y in loader])
    return loss_fn(model(x), y).item()


def _whole_dataset(model, loader, loss_fn):
    x, y = loader.dataset.tensors
    return loss_fn(model(x), y).item()


def _first_batch_only(model, loader, loss_fn):
    x, y = next(iter(loader))
    return loss_fn(model(x), y).item()


# --- 06.3: entrena_una_epoca(model, loader, loss_fn, optimizer) ---------------------------------

def _epoch_zero_first(model, loader, loss_fn, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        out = model(x)
        loss_fn(out, y).backward()
        optimizer.step()


def _epoch_model_zero_grad(model, loader, loss_fn, optimizer):
    model.train(True)
    for batch in loader:
        model.zero_grad()
        loss = loss_fn(model(batch[0]), batch[1])
        loss.backward()
        optimizer.step()
    return loss.item()


def _epoch_enumerate(model, loader, loss_fn, optimizer):
    model.train()
    running = 0.0
    for _i, (x, y) in enumerate(loader):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        running += loss.item() * len(y)
    return running


def _epoch_one_batch(model, loader, loss_fn, optimizer):
    model.train()
    x, y = next(iter(loader))
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()


def _epoch_library(model, loader, loss_fn, optimizer):
    return training.train_one_epoch(model, loader, loss_fn, optimizer)


# --- 06a.1: the assignment's Network ------------------------------------------------------------

def _blocks(act=nn.LeakyReLU, pool=nn.MaxPool2d, padding=0, norm=False):
    layers = []
    for i, (a, b) in enumerate([(1, 16), (16, 32), (32, 64), (64, 128)]):
        layers += [nn.Conv2d(a, b, 3, padding=padding)]
        layers += [nn.BatchNorm2d(b)] if norm and i == 0 else []
        layers += [act()] if act else []
        layers += [pool(2)] if i in (1, 3) else []
    return layers


def _sequential_network(act=nn.LeakyReLU, pool=nn.MaxPool2d, padding=0, norm=False, flat=2048,
                        last=()):
    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(*_blocks(act, pool, padding, norm), nn.Flatten(),
                                     nn.Linear(flat, 128), *([act()] if act else []),
                                     nn.Linear(128, 10), *[m() for m in last])

        def forward(self, x):
            return self.net(x)
    return Network


class _Reordered(nn.Module):             # registered backwards, fc2 before fc1, functional calls
    def __init__(self):
        super().__init__()
        self.fc2 = nn.Linear(128, 10)
        self.fc1 = nn.Linear(4 * 4 * 128, 128)
        self.c4 = nn.Conv2d(64, 128, 3)
        self.c3 = nn.Conv2d(32, 64, 3)
        self.c2 = nn.Conv2d(16, 32, 3)
        self.c1 = nn.Conv2d(1, 16, 3)

    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.c2(F.leaky_relu(self.c1(x)))), 2)
        x = F.max_pool2d(F.leaky_relu(self.c4(F.leaky_relu(self.c3(x)))), 2)
        return self.fc2(F.leaky_relu(self.fc1(x.view(x.size(0), -1))))


class _PoolFirst(nn.Module):             # activation after the pooling, float64 weights
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3) for a, b in
                                   [(1, 16), (16, 32), (32, 64), (64, 128)])
        self.mlp = nn.ModuleDict({"hidden": nn.Linear(2048, 128), "out": nn.Linear(128, 10)})
        self.double()

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = conv(x)
            x = F.leaky_relu(F.max_pool2d(x, 2, 2)) if i % 2 else F.leaky_relu(x)
        return self.mlp["out"](F.leaky_relu(self.mlp["hidden"](torch.flatten(x, 1))))


class _TorchActivation(nn.Module):
    def __init__(self, activation):
        super().__init__()
        self.activation = activation
        self.c1, self.c2 = nn.Conv2d(1, 16, 3), nn.Conv2d(16, 32, 3)
        self.c3, self.c4 = nn.Conv2d(32, 64, 3), nn.Conv2d(64, 128, 3)
        self.fc1, self.fc2 = nn.Linear(2048, 128), nn.Linear(128, 10)

    def forward(self, x):
        a = self.activation
        x = F.max_pool2d(a(self.c2(a(self.c1(x)))), 2)
        x = F.max_pool2d(a(self.c4(a(self.c3(x)))), 2)
        return self.fc2(a(self.fc1(x.flatten(1))))


def _with(activation):
    return type("Network", (_TorchActivation,),
                {"__init__": lambda self: _TorchActivation.__init__(self, activation)})


class _MissingLastActivation(_TorchActivation):
    def __init__(self):
        super().__init__(F.leaky_relu)

    def forward(self, x):
        a = self.activation
        x = F.max_pool2d(a(self.c2(a(self.c1(x)))), 2)
        x = F.max_pool2d(a(self.c4(a(self.c3(x)))), 2)
        return self.fc2(self.fc1(x.flatten(1)))


class _ActivationOnScores(_MissingLastActivation):
    def forward(self, x):
        a = self.activation
        x = F.max_pool2d(a(self.c2(a(self.c1(x)))), 2)
        x = F.max_pool2d(a(self.c4(a(self.c3(x)))), 2)
        return a(self.fc2(a(self.fc1(x.flatten(1)))))


class _MiRed(models.FashionCNN):
    pass


class _WithDropout(_TorchActivation):    # nn.Dropout: off when the network is evaluated
    def __init__(self, functional=False):
        super().__init__(F.leaky_relu)
        self.functional = functional
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        a = self.activation
        x = F.max_pool2d(a(self.c2(a(self.c1(x)))), 2)
        x = F.max_pool2d(a(self.c4(a(self.c3(x)))), 2)
        x = a(self.fc1(x.flatten(1)))
        return self.fc2(F.dropout(x, 0.3) if self.functional else self.drop(x))


class _DropoutAlwaysOn(_WithDropout):
    def __init__(self):
        super().__init__(functional=True)


# --- 06a.3: the recipe ----------------------------------------------------------------------------

_SET = TensorDataset(torch.randn(100, 1, 28, 28), torch.randint(0, 10, (100,)))
_PARAMS = list(nn.Linear(3, 2).parameters())


def _recipe(loader=None, loss=None, optimizer=None, epochs=20):
    return (loader if loader is not None else DataLoader(_SET, batch_size=32, shuffle=True),
            loss if loss is not None else nn.CrossEntropyLoss(),
            optimizer if optimizer is not None else torch.optim.Adagrad(_PARAMS, lr=0.01),
            epochs)


# --- 06a.4 and 06a.5: built on the trained fixture (a function of it) ---------------------------

def _renamed(history, **names):
    return {names.get(k, k): v for k, v in history.items()}


def _percent(history):
    return {k: [100 * a for a in v] if "acc" in k else v for k, v in history.items()}


def _two_axes(history, scale=1.0, keys=("train_loss", "test_loss", "train_acc", "test_acc"),
              where=(0, 0, 1, 1), vertical=False):
    fig, axes = plt.subplots(2, 1) if vertical else plt.subplots(1, 2)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for key, index in zip(keys, where, strict=True):
        values = np.asarray(history[key], dtype=float) * (scale if "acc" in key else 1)
        axes[index].plot(epochs, values, "o-", label=key)
    return fig


def _three_axes(history):
    fig = _two_axes(history)
    fig.add_subplot(3, 1, 3).plot(history.get("lr", [0.01] * len(history["train_loss"])))
    return fig


RIGHT = {
    "05.1": [EXERCISES["05.1"].solution, _DuckDataset, _ListDataset, _NumpyDataset],
    "05.2": [EXERCISES["05.2"].solution, _evalua_tensor, _evalua_weights, _evalua_dataset_length,
             _evalua_sum_reduction],
    "05.3": _numbers(469) + [math.ceil(60_000 / 128)],
    "06.1": _numbers(2048) + [(2048, 2048)],
    "06.2": _numbers(4640),
    "06.3": [EXERCISES["06.3"].solution, _epoch_zero_first, _epoch_model_zero_grad,
             _epoch_enumerate],
    "06a.1": [EXERCISES["06a.1"].solution, _sequential_network(), _Reordered, _PoolFirst,
              _with(F.leaky_relu), _sequential_network()(), _WithDropout],
    "06a.2": _numbers(2048),
    "06a.3": [_recipe(), list(_recipe(loss=F.cross_entropy)),
              _recipe(loss=lambda out, y: F.nll_loss(F.log_softmax(out, 1), y), epochs=20.0),
              _recipe(loader=DataLoader(_SET, batch_size=32, sampler=RandomSampler(_SET)),
                      optimizer=torch.optim.Adagrad(_PARAMS, lr=1e-2)),
              _recipe(epochs=2),            # quick mode (the tests' mode) may train less
              _recipe(loader=datasets.TensorBatches(*_SET.tensors, 32, shuffle=True))],
    "06a.4": [lambda t: (t["model"], t["history"]),
              lambda t: [t["model"], _renamed(t["history"], train_acc="train_accuracy",
                                              test_acc="test_accuracy")],
              lambda t: (t["model"], _percent(t["history"])),
              lambda t: (t["model"], {**{k: np.asarray(v) for k, v in t["history"].items()},
                                      "lr": [0.01] * len(t["history"]["test_acc"])}),
              lambda t: (t["model"], _renamed(t["history"], test_loss="val_loss",
                                              test_acc="val_acc"))],
    "06a.5": [lambda t: (plots.plot_history(t["history"]), t["history"]),
              lambda t: (_two_axes(t["history"]), t["history"]),
              lambda t: (_two_axes(_percent(t["history"]), scale=1.0), _percent(t["history"])),
              lambda t: (_two_axes(t["history"], scale=100.0, vertical=True), t["history"]),
              lambda t: (_three_axes(t["history"]), t["history"])],
    "07.1": _numbers(131_585),
    "07.2": _numbers(25_088),
    "07.3": [EXERCISES["07.3"].solution,
             nn.Sequential(nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid()),
             "HEAD_FUNCTIONAL",
             nn.Sequential(nn.Linear(1280, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 1),
                           nn.Sigmoid()),
             models.slides_head(1280),
             nn.Sequential(nn.Linear(1280, 128), nn.ReLU(), nn.Linear(128, 1),
                           nn.Sigmoid()).double()],
    "07.4": [EXERCISES["07.4"].solution, "FREEZE_REQUIRES_GRAD_", "FREEZE_BY_NAME",
             "FREEZE_COPY"],
    "08.1": _numbers(82_176),
    "08.2": [EXERCISES["08.2"].solution, "RES_ALWAYS_PROJECT", "RES_ZERO_PAD", "RES_FUNCTIONAL",
             "RES_BATCHNORM"],
    "08.3": [0.41 ** 5, 0.0116, np.float32(0.41) ** 5, torch.tensor(0.41) ** 5],
}

# Answers written as code, as a student types them in a cell (07.3, 07.4, 08.2).
SOURCES = {
    "HEAD_FUNCTIONAL": """
class Cabeza(nn.Module):                 # the output layer registered first, functional calls
    def __init__(self):
        super().__init__()
        self.salida = nn.Linear(128, 1)
        self.oculta = nn.Linear(1280, 128)

    def forward(self, x):
        return torch.sigmoid(self.salida(F.relu(self.oculta(x))))

respuesta = Cabeza()""",
    "FREEZE_REQUIRES_GRAD_": """
def congela(model):
    model.backbone.requires_grad_(False)
    model.head.requires_grad_(True)

respuesta = congela""",
    "FREEZE_BY_NAME": """
def congela(model):
    for name, p in model.named_parameters():
        p.requires_grad = not name.startswith("backbone")
    return model

respuesta = congela""",
    "FREEZE_COPY": """
import copy

def congela(model):
    model = copy.deepcopy(model)
    for module in model.backbone.modules():
        for p in module.parameters(recurse=False):
            p.requires_grad_(False)
    for p in model.head.parameters():
        p.requires_grad_(True)
    return model

respuesta = congela""",
    "RES_ALWAYS_PROJECT": """
class ResLayer(nn.Module):               # a 1x1 projection even when ni == no
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(ni, no, kernel_size, stride, (kernel_size - 1) // 2),
                                  nn.ReLU())
        self.proj = nn.Conv2d(ni, no, 1, stride)

    def forward(self, x):
        return self.conv(x) + self.proj(x)

respuesta = ResLayer""",
    "RES_ZERO_PAD": """
class ResLayer(nn.Module):               # He et al.'s option A: subsample, zero-pad the channels
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, kernel_size // 2)
        self.stride, self.extra = stride, no - ni

    def forward(self, x):
        shortcut = x[:, :, ::self.stride, ::self.stride]
        shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.extra))
        return F.relu(self.conv(x)) + shortcut

respuesta = ResLayer""",
    "RES_FUNCTIONAL": """
class ResLayer(nn.Module):               # shortcut registered first, no bias, float64
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.short = nn.Conv2d(ni, no, 1, stride, bias=False) if ni != no or stride > 1 else None
        self.main = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2)
        self.double()

    def forward(self, x):
        x = x.double()
        identity = x if self.short is None else self.short(x)
        return torch.relu(self.main(x)).add(identity)

respuesta = ResLayer""",
    "RES_BATCHNORM": """
class ResLayer(nn.Module):               # torchvision's downsample: 1x1 conv + BatchNorm
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2)
        self.down = nn.Sequential(nn.Conv2d(ni, no, 1, stride, bias=False), nn.BatchNorm2d(no))

    def forward(self, x):
        out = nn.functional.relu(self.conv(x))
        out += self.down(x)
        return out

respuesta = ResLayer""",
    "RES_NEVER_ADDED": """
class ResLayer(nn.Module):               # the shortcut is built and never added
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2)
        self.shortcut = nn.Conv2d(ni, no, 1, stride)

    def forward(self, x):
        return torch.relu(self.conv(x))

respuesta = ResLayer""",
    "RES_RELU_AFTER_ADD": """
class ResLayer(nn.Module):
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2)
        self.shortcut = nn.Conv2d(ni, no, 1, stride)

    def forward(self, x):
        return torch.relu(self.conv(x) + self.shortcut(x))

respuesta = ResLayer""",
    "RES_SHORTCUT_NO_STRIDE": """
class ResLayer(nn.Module):
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2)
        self.shortcut = nn.Conv2d(ni, no, 1)

    def forward(self, x):
        return torch.relu(self.conv(x)) + self.shortcut(x)

respuesta = ResLayer""",
    "RES_LIBRARY_SUBCLASS": """
class ResLayer(models.ResLayer):
    pass

respuesta = ResLayer""",
    "FREEZE_REVERSED": """
def congela(model):
    for p in model.head.parameters():
        p.requires_grad = False
    for p in model.backbone.parameters():
        p.requires_grad = True

respuesta = congela""",
    "FREEZE_BACKBONE_ONLY": """
def congela(model):
    for p in model.backbone.parameters():
        p.requires_grad = False

respuesta = congela""",
    "FREEZE_FIRST_LAYER": """
def congela(model):
    next(model.backbone.parameters()).requires_grad = False
    for p in model.head.parameters():
        p.requires_grad = True

respuesta = congela""",
}

_HEAD = 1280


def _head(*layers):
    return nn.Sequential(*layers)


def _frozen_head():
    head = _head(nn.Linear(_HEAD, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid())
    head[0].requires_grad_(False)
    return head


WRONG = {
    "05.1": [(_Dataset3d, "784"), (_DatasetWrongLength, "len()"), (_FirstLabel, "etiqueta"),
             (_Transposed, "orden de los píxeles"), (_LibraryDataset, "`datasets.FlattenDataset`"),
             (datasets.FlattenDataset, "`datasets.FlattenDataset`"),
             (_DuckDataset(torch.zeros(2, 1, 28, 28), torch.zeros(2)), "la clase")],
    "05.2": [(_sum_of_means, "sumado las medias"), (_mean_of_means, "media de las medias"),
             (_gathered, "has juntado el conjunto"), (_whole_dataset, "has juntado el conjunto"),
             (_first_batch_only, "vio 32 de las 70"),
             (lambda m, loader, f: training.evaluate(m, loader, f)[0], "`training.evaluate`"),
             (lambda m, loader, f: str(_evalua_weights(m, loader, f)), "debe ser un tensor")],
    "05.3": [(468, "96"), (60_000 / 128, "a medias"), (1875, "bandejas de 32"),
             (470, "piensa en las que sobran"), ("469", "número")],
    "06.1": [(128, "alto y el ancho"), (7 * 7 * 128, "relleno"), (12 * 12 * 128, "dos poolings"),
             (8 * 8 * 128, "segundo pooling"), (5 * 5 * 128, "quita 2"), (1000, "capa a capa")],
    "06.2": [(4608, "sesgos"), (32 * 9 + 32, "16 canales"), (32 * 9, "y tiene un sesgo"),
             (4608 + 16, "por filtro de salida"), (1000, "Cuenta filtros")],
    "06.3": [(_epoch_no_zero_grad, "a cero"), (_epoch_no_train_mode, "modo entrenamiento"),
             (_epoch_no_step, "paso del optimizador"), (_epoch_one_batch, "se ejecutó 1 vez"),
             (training.train_one_epoch, "`training.train_one_epoch`"),
             (_epoch_library, "`training.train_one_epoch`")],
    "06a.1": [(_with(torch.relu), "usa ReLU como activación"),
              (_with(torch.tanh), "tanh"),
              (_sequential_network(act=None), "ninguna activación"),
              (_sequential_network(pool=nn.AvgPool2d), "pooling de media"),
              (_MiRed, "`models.FashionCNN`"), (models.FashionCNN, "`models.FashionCNN`"),
              (_sequential_network(padding=1, flat=7 * 7 * 128), "relleno"),
              (_sequential_network(last=(lambda: nn.Softmax(dim=1),)), "softmax"),
              (_sequential_network(norm=True), "BatchNorm"),
              (_MissingLastActivation, "tras la primera capa lineal"),
              (_ActivationOnScores, "sin activación detrás"),
              (_sequential_network(flat=128), "recibe 128 valores"),
              (_DropoutAlwaysOn, "training=self.training"),
              (lambda: None, "subclase de nn.Module")],
    "06a.2": [(8 * 8 * 128, "segundo pooling"), (128, "alto y el ancho"), (7 * 7 * 128, "relleno"),
              (12 * 12 * 128, "dos poolings")],
    "06a.3": [(_recipe(loader=DataLoader(_SET, batch_size=64, shuffle=True)), "bandeja 64"),
              (_recipe(loss=nn.MSELoss()), "entropía cruzada"),
              (_recipe(loss=nn.NLLLoss()), "entropía cruzada"),
              (_recipe(optimizer=torch.optim.SGD(_PARAMS, lr=0.01)), "Adagrad"),
              (_recipe(optimizer=torch.optim.Adagrad(_PARAMS, lr=0.1)), "0,1"),
              (_recipe(loader=DataLoader(_SET, batch_size=32)), "no baraja"),
              (_recipe(loader=datasets.TensorBatches(*_SET.tensors, 32)), "no baraja"),
              (_recipe()[:3], "tupla"), (_recipe(epochs="veinte"), "EPOCHS")],
    "06a.4": [(lambda t: (models.FashionCNN(), t["history"]), "otra red"),
              (lambda t: (t["model"], {"loss": t["history"]["train_loss"]}), "No encuentro"),
              (lambda t: (nn.Linear(784, 10), t["history"]), "parámetros"),
              (lambda t: ("model", t["history"]), "nn.Module"),
              (lambda t: (t["model"], [1, 2]), "diccionario"),
              (lambda t: (t["model"], dict(t["history"], test_acc=[0.1, 0.2])), "otra red"),
              (lambda t: (t["model"],), "tupla"),
              (lambda t: (t["model"], dict(t["history"], test_acc=[0.7])), "igual de largas"),
              ("UNTRAINED_HONEST", "se espera al menos")],
    "06a.5": [(lambda t: (_one_axes(t["history"]), t["history"]), "una sola gráfica"),
              (lambda t: (_two_axes(t["history"], keys=("train_loss", "train_acc", "test_acc"),
                                    where=(0, 1, 1)), t["history"]), "pérdida de test"),
              (lambda t: (_two_axes(t["history"], where=(0, 1, 1, 1)), t["history"]),
               "misma gráfica"),
              (lambda t: (_two_axes(t["history"], where=(0, 0, 0, 0)), t["history"]),
               "gráficas distintas"),
              (lambda t: ("figura", t["history"]), "figura de matplotlib"),
              (lambda t: (_two_axes(t["history"]), None), "diccionario")],
    "07.1": [(131_328, "sesgos"), (512 * 256, "Faltan los sesgos y la segunda"),
             (14_714_688 + 131_585, "congelada"), (1000, "Cuenta pesos")],
    "07.2": [(512, "AdaptiveAvgPool2d"), (512 * 14 * 14, "no 4"), (512 * 3 * 3, "no 6"),
             (49, "512 canales"), (3 * 224 * 224, "imagen de entrada")],
    "07.3": [(_head(nn.Linear(_HEAD, 128), nn.Dropout(0.5), nn.Linear(128, 1), nn.Sigmoid()),
              "Falta la ReLU entre las dos capas lineales"),
             (_head(nn.Linear(_HEAD, 128), nn.ReLU(), nn.Linear(128, 1), nn.ReLU(), nn.Sigmoid()),
              "nunca baja de 0,5"),
             (_head(nn.Linear(_HEAD, 128), nn.ReLU(), nn.Linear(128, 1), nn.Softmax(dim=0)),
              "softmax"),
             (_head(nn.Linear(_HEAD, 128), nn.Sigmoid(), nn.Linear(128, 1), nn.Sigmoid()),
              "La activación oculta es sigmoide"),
             (_head(nn.Linear(_HEAD, 128), nn.ReLU(), nn.Linear(128, 1)), "falta la sigmoide"),
             (_head(nn.Linear(_HEAD, 128), nn.ReLU(), nn.Linear(128, 2), nn.Softmax(1)),
              "2 salidas"),
             (_head(nn.Linear(_HEAD, 256), nn.ReLU(), nn.Linear(256, 1), nn.Sigmoid()),
              "1280 → 256 → 1"),
             (_head(nn.Linear(300, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid()),
              "1.280 características"),
             (_frozen_head(), "pesos entrenables"),
             (nn.Sequential, "nn.Module")],
    "07.4": [(lambda model: model.requires_grad_(False), "cabeza quedó congelada"),
             (lambda model: model, "No has congelado nada"),
             ("FREEZE_REVERSED", "al revés"), ("FREEZE_BACKBONE_ONLY", "puede venir congelada"),
             ("FREEZE_FIRST_LAYER", "al menos en parte"), (transfer._Transfer(), "función")],
    "08.1": [(73_856, "atajo"), (8_320, "solo el atajo"), (73_728 + 8_192, "sesgos"),
             (1, "Cuenta la convolución")],
    "08.2": [(_NoProjection, "1×1"), (_SlidesPadding, "k − 2"),
             ("RES_NEVER_ADDED", "el atajo no se suma"),
             ("RES_RELU_AFTER_ADD", "antes de sumar el atajo"),
             ("RES_SHORTCUT_NO_STRIDE", "saltar de 2 en 2"),
             (models.ResLayer, "`models.ResLayer`"),
             ("RES_LIBRARY_SUBCLASS", "`models.ResLayer`"), (nn.Conv2d(3, 3, 1), "clase")],
    "08.3": [(0.41 * 5, "no lo suman"), (0.41 ** 20, "20 capas"), (0.41 ** 4, "5 factores"),
             (0.5, "Encadena")],
}


def _one_axes(history):
    fig, ax = plt.subplots()
    ax.plot(history["train_loss"])
    ax.plot(history["test_loss"])
    return fig


def _untrained_honest(t):
    """An untrained network with a history that tells its true (low) accuracy."""
    model = models.FashionCNN()
    accuracy = assignment.measured_accuracy(model)
    history = {k: list(v) for k, v in t["history"].items()}
    history["test_acc"][-1] = accuracy
    return model, history


def _answer(id, answer, trained_state=None):
    """The answer a student's cell leaves in ``respuesta_...``: a solution or a source above is
    executed; an answer built on the trained model is built now."""
    if answer == "UNTRAINED_HONEST":
        return _untrained_honest(trained_state)
    if isinstance(answer, str) and (answer in SOURCES or "respuesta_" in answer):
        namespace = {"torch": torch, "nn": nn, "F": F, "np": np, "models": models}
        exec(SOURCES.get(answer, answer), namespace)
        return namespace["respuesta" if answer in SOURCES else EXERCISES[id].answer]
    if callable(answer) and getattr(answer, "__name__", "") == "<lambda>" and id in NEEDS_TRAINING:
        return answer(trained_state)
    return answer


@pytest.fixture
def state(request):
    """The trained model and its history, only for the answers that need it."""
    if request.node.callspec.params.get("id") in NEEDS_TRAINING:
        return request.getfixturevalue("trained")
    return None


def test_every_exercise_has_its_corpus():
    assert sorted(RIGHT) == sorted(WRONG) == sorted(IDS)
    for id in IDS:
        assert len(RIGHT[id]) >= 4 and len(WRONG[id]) >= 4, id


@pytest.mark.parametrize("id,answer", [(i, a) for i in IDS for a in RIGHT[i]])
def test_right_answer_passes(id, answer, state):
    for seed in (0, 7):
        result = check(id, _answer(id, answer, state), seed)
        assert result.passed, result.message
    plt.close("all")


@pytest.mark.parametrize("id,answer,words", [(i, a, w) for i in IDS for a, w in WRONG[i]])
def test_wrong_answer_gets_its_message(id, answer, words, state):
    answer = _answer(id, answer, state)
    result = check(id, answer)
    plt.close("all")
    assert result.status == "incorrecto", result
    assert words in result.message, result.message
    assert not ENGLISH.search(result.message), result.message
    if words.startswith("`"):           # a forbidden call is evidence too, by name
        assert probe(id, answer)["forbidden_called"] == [words.strip("`")]


def test_the_students_objects_are_left_as_they_were():
    """The head's weights and the training mode are the student's after a check; checking the
    recipe draws no random number the training would have drawn."""
    loader = datasets.TensorBatches(*_SET.tensors, 32, shuffle=True, seed=3)
    recipe = _recipe(loader=loader)
    global_state, loader_state = torch.get_rng_state(), loader.generator.get_state()
    assert check("06a.3", recipe).passed and check("06a.3", _recipe()).passed
    assert torch.equal(torch.get_rng_state(), global_state)
    assert torch.equal(loader.generator.get_state(), loader_state)
    head = nn.Sequential(nn.Linear(1280, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid())
    before = copy.deepcopy(head.state_dict())
    assert check("07.3", head).passed and head.training
    assert all(torch.equal(before[k], v) for k, v in head.state_dict().items())


CODE = [id for id in IDS if EXERCISES[id].code or id in ("06a.3",)]


@pytest.mark.parametrize("id,answer", [(i, a) for i in CODE
                                       for a in RIGHT[i][:2] + [w for w, _ in WRONG[i][:3]]])
def test_evidence_round_trips_through_json(id, answer, state):
    answer = _answer(id, answer, state)
    evidence = probe(id, answer, 3)
    again = evidence_from_json(evidence_to_json(evidence))
    assert evidence_to_json(again) == evidence_to_json(evidence)
    assert judge(id, again, 3) == check(id, answer, 3)
    plt.close("all")


@pytest.mark.parametrize("id", IDS)
def test_tampered_evidence_is_incorrect_without_a_crash(id, state):
    evidence = probe(id, _answer(id, RIGHT[id][0], state), 0)
    plt.close("all")
    assert judge(id, evidence, 0).passed
    for lie in _tampered(evidence):
        result = judge(id, lie, 0)
        assert result.status == "incorrecto", (lie, result)


@pytest.mark.parametrize("id", ["05.1", "05.2", "06.3", "06a.1", "06a.3", "07.3", "08.2"])
def test_the_judge_draws_the_inputs_from_the_seed(id):
    """Outputs recorded on seed 0's inputs do not pass as seed 5's."""
    evidence = probe(id, _answer(id, RIGHT[id][0]), 0)
    assert judge(id, evidence, 0).passed
    assert not judge(id, evidence, 5).passed


def test_a_network_is_judged_by_the_operations_it_runs():
    """The record of a forward pass names each layer by what it computes, in call order."""
    from cnn_course.exercise_checks import trace
    with trace.record() as ops:
        _Reordered()(torch.zeros(2, 1, 28, 28))
    assert trace.describe(ops).startswith("conv(1→16, 3×3) → LeakyReLU → conv(16→32, 3×3)")
    assert [op["op"] for op in trace.layers(ops)][-3:] == ["linear", "leaky_relu", "linear"]
    a = trace.fill_by_shape(_Reordered(), 0)
    b = trace.fill_by_shape(models.FashionCNN(), 0)
    x = torch.randn(3, 1, 28, 28)
    assert torch.allclose(a(x), b(x), atol=1e-6)
    assert trace.parameter_shapes(a) == trace.parameter_shapes(b)


def test_statements_name_what_they_forbid():
    for id, rules in (("05.1", networks.FORBID_05_1), ("05.2", networks.FORBID_05_2),
                      ("06.3", networks.FORBID_06_3), ("06a.1", assignment.FORBID_06A_1),
                      ("08.2", transfer.FORBID_08_2)):
        for rule in rules:
            assert f"`{rule.name}`" in EXERCISES[id].statement, (id, rule.name)
