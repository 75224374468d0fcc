"""The assignment (notebook 06a; its solution 06b), checked part by part: the network, the
recipe, the training result (the student's own model, evaluated here) and the learning curves."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import config, datasets
from .common import Wrong, as_number, exercise, own_code, spanish
from .networks import FLATTEN_MISTAKES, check_06_1

__all__ = ["FULL_ACCURACY", "PARAMETERS", "QUICK_ACCURACY", "check_06a_1", "check_06a_2",
           "check_06a_3", "check_06a_4", "check_06a_5", "measured_accuracy"]

PARAMETERS = 360_714
FULL_ACCURACY = 0.90
# Quick mode (the first 3.000 training / 1.000 test images, the same online and offline; 2
# epochs): the reference solution reached 0.729-0.767 over seeds 0-9 (mean 0.745, worst seed 4;
# benchmarks/quick_threshold.py, 1 thread); the threshold is the worst less a margin of 0.05.
QUICK_ACCURACY = 0.67
CURVES = {"train_loss": "la pérdida de entrenamiento", "test_loss": "la pérdida de test",
          "train_acc": "la tasa de aciertos de entrenamiento",
          "test_acc": "la tasa de aciertos de test"}


@exercise("06a.1", "tu clase Network (la clase, no un objeto): CNN(1,16) + CNN(16,32) + "
          "MaxPool(2) + CNN(32,64) + CNN(64,128) + MaxPool(2) + MLP(¿?, 128, 10)",
          "Convoluciones 3×3 sin relleno, max pooling 2×2 y LeakyReLU; la salida son las 10 "
          "puntuaciones, sin softmax (la entropía cruzada ya la aplica). El cuaderno 06 escribe "
          "esta red.",
          """
class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.conv3 = nn.Conv2d(32, 64, 3)
        self.conv4 = nn.Conv2d(64, 128, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(4 * 4 * 128, 128)
        self.fc2 = nn.Linear(128, 10)
        self.act = nn.LeakyReLU()

    def forward(self, x):
        x = self.pool(self.act(self.conv2(self.act(self.conv1(x)))))
        x = self.pool(self.act(self.conv4(self.act(self.conv3(x)))))
        x = self.act(self.fc1(x.flatten(1)))
        return self.fc2(x)

respuesta_06a_1 = Network""", code=True, points=2)
def check_06a_1(answer) -> None:
    if isinstance(answer, nn.Module):
        answer = type(answer)
    own_code(answer, "clase Network")
    if not isinstance(answer, type) or not issubclass(answer, nn.Module):
        raise Wrong("Se espera tu clase Network, una subclase de nn.Module.")
    network = answer()
    convs = [m for m in network.modules() if isinstance(m, nn.Conv2d)]
    channels = [c.in_channels for c in convs[:1]] + [c.out_channels for c in convs]
    if channels != [1, 16, 32, 64, 128]:
        raise Wrong(f"Los canales de las convoluciones van {channels}; el enunciado pide "
                    "1 → 16 → 32 → 64 → 128.")
    if any(c.kernel_size != (3, 3) for c in convs):
        raise Wrong("Las convoluciones son 3×3.")
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise Wrong("Falta el MLP del final (capas nn.Linear).")
    inputs = linears[0].in_features
    for wrong, message in FLATTEN_MISTAKES:
        if inputs == wrong:
            raise Wrong(f"La primera capa lineal recibe {spanish(inputs)} valores. {message}")
    if any(c.padding not in ((0, 0), "valid") for c in convs):
        raise Wrong("Las convoluciones del enunciado no llevan relleno.")
    kinds = {type(m) for m in network.modules()}
    if nn.ReLU in kinds and nn.LeakyReLU not in kinds:
        raise Wrong("La red usa ReLU; el enunciado pide LeakyReLU.")
    pools = [m for m in network.modules() if isinstance(m, nn.MaxPool2d)]
    features = []
    if pools:
        pools[-1].register_forward_hook(lambda module, args, out: features.append(out.shape))
    images = torch.randn(32, 1, 28, 28, generator=torch.Generator().manual_seed(61))
    with torch.no_grad():
        out = network.eval()(images)
    if features and tuple(features[-1]) != (32, 128, 4, 4):
        raise Wrong(f"A la salida de los bloques convolutivos una bandeja de 32 tiene forma "
                    f"{tuple(features[-1])}; debe ser (32, 128, 4, 4).")
    if tuple(out.shape) != (32, 10):
        raise Wrong(f"Con una bandeja (32, 1, 28, 28) la red devuelve {tuple(out.shape)}; se "
                    "esperaba (32, 10): una puntuación por clase.")
    if torch.allclose(out.sum(dim=1), torch.ones(32), atol=1e-4) and (out >= 0).all():
        raise Wrong("La red devuelve probabilidades (softmax): CrossEntropyLoss ya la aplica; "
                    "devuelve las puntuaciones sin normalizar.")
    total = sum(p.numel() for p in network.parameters())
    if total != PARAMETERS:
        raise Wrong(f"La red tiene {spanish(total)} parámetros y la del enunciado "
                    f"{spanish(PARAMETERS)}: revisa MLP(¿?, 128, 10) y los sesgos.")


@exercise("06a.2", "el «¿?»: cuántos valores recibe la primera capa lineal",
          "La forma de una bandeja a la salida de los bloques convolutivos: canales × alto × "
          "ancho.",
          "respuesta_06a_2 = 128 * 4 * 4   # 2.048")
def check_06a_2(answer) -> None:
    check_06_1(answer)   # the same «¿?» as notebook 06's exercise, with the same messages


@exercise("06a.3", "la receta como tupla (train_loader, loss_fn, optimizer, EPOCHS)",
          "Bandeja 32 (barajada), entropía cruzada, Adagrad con tasa 0,01 y 20 épocas (en modo "
          "rápido puedes entrenar menos).",
          """
from torch.utils.data import DataLoader
train_loader = DataLoader(data.train, batch_size=32, shuffle=True)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
EPOCHS = 20 if not config.quick_mode() else 2
respuesta_06a_3 = (train_loader, loss_fn, optimizer, EPOCHS)""")
def check_06a_3(answer) -> None:
    if not isinstance(answer, tuple | list) or len(answer) != 4:
        raise Wrong("Se espera la tupla (train_loader, loss_fn, optimizer, EPOCHS).")
    loader, loss_fn, optimizer, epochs = answer
    batch = getattr(loader, "batch_size", None)
    if batch != 32:
        raise Wrong(f"El cargador de entrenamiento tiene bandeja {batch}; el enunciado pide 32.")
    sampler = getattr(loader, "sampler", None)
    if getattr(loader, "shuffle", None) is False or (
            sampler is not None and isinstance(sampler, torch.utils.data.SequentialSampler)):
        raise Wrong("El cargador de entrenamiento no baraja: cada época debe ver las bandejas "
                    "en otro orden.")
    if not isinstance(loss_fn, nn.CrossEntropyLoss):
        raise Wrong(f"La pérdida es {type(loss_fn).__name__}; el enunciado pide la entropía "
                    "cruzada para clasificar 10 clases.")
    if not isinstance(optimizer, torch.optim.Adagrad):
        raise Wrong(f"El optimizador es {type(optimizer).__name__}; el enunciado pide Adagrad.")
    lr = optimizer.param_groups[0]["lr"]
    if not np.isclose(lr, 0.01):
        raise Wrong(f"La tasa de aprendizaje es {spanish(lr)}; el enunciado pide 0,01.")
    epochs = as_number(epochs)
    if config.quick_mode() and 1 <= epochs <= 20 and epochs == int(epochs):
        return
    if epochs != 20:
        raise Wrong(f"EPOCHS es {spanish(epochs)}; el enunciado pide 20 épocas.")


def measured_accuracy(model: nn.Module, batch_size: int = 500) -> float:
    """Accuracy of ``model`` on the Fashion-MNIST test set (quick mode: its first 1.000),
    computed here, in batches, without gradients. Notebook 06a (the check of part 4)."""
    images, labels = datasets.to_tensors(datasets.load_fashion_mnist().test)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            out = model(images[start:start + batch_size].to(device))
            correct += (out.argmax(dim=1).cpu() == labels[start:start + batch_size]).sum().item()
    model.train(was_training)
    return correct / len(labels)


def _history(history) -> dict:
    if not isinstance(history, dict):
        raise Wrong("La historia debe ser un diccionario con listas por época: 'train_loss', "
                    "'train_acc', 'test_loss', 'test_acc'.")
    missing = [k for k in CURVES if k not in history]
    if missing:
        raise Wrong(f"A tu historia le faltan las claves {', '.join(missing)}.")
    lengths = {len(history[k]) for k in CURVES}
    if len(lengths) != 1 or 0 in lengths:
        raise Wrong("Las cuatro listas de la historia deben tener una entrada por época, todas "
                    "igual de largas.")
    if max(float(a) for a in history["test_acc"]) > 1:
        raise Wrong("La tasa de aciertos va de 0 a 1, no en porcentaje.")
    return history


@exercise("06a.4", "la tupla (model, history): tu red entrenada en este cuaderno y su historia "
          "(un diccionario con las listas 'train_loss', 'train_acc', 'test_loss', 'test_acc')",
          "El comprobador mide aquí la tasa de aciertos de tu red en el test: debe llegar a 0,90 "
          "tras las 20 épocas y coincidir con la última de tu historia.",
          """
respuesta_06a_4 = (model, history)""", points=2)
def check_06a_4(answer) -> None:
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise Wrong("Se espera la tupla (model, history).")
    model, history = answer
    if not isinstance(model, nn.Module):
        raise Wrong("El primer elemento debe ser tu red entrenada (un nn.Module).")
    history = _history(history)
    total = sum(p.numel() for p in model.parameters())
    if total != PARAMETERS:
        raise Wrong(f"La red tiene {spanish(total)} parámetros; la del enunciado, "
                    f"{spanish(PARAMETERS)}.")
    epochs = len(history["test_acc"])
    if not config.quick_mode() and epochs != 20:
        raise Wrong(f"Tu historia tiene {epochs} épocas; el enunciado pide 20.")
    accuracy = measured_accuracy(model)
    last = float(history["test_acc"][-1])
    if abs(accuracy - last) > 0.01:
        raise Wrong(f"Tu red acierta {spanish(round(accuracy, 4))} en el test, pero la última "
                    f"época de tu historia dice {spanish(round(last, 4))}: ¿la historia es de "
                    "otra red u otra ejecución?")
    needed = QUICK_ACCURACY if config.quick_mode() else FULL_ACCURACY
    if accuracy < needed:
        raise Wrong(f"Tu red acierta {spanish(round(accuracy, 4))} en el test; se espera al "
                    f"menos {spanish(needed)}. Revisa la receta y que la red entrene.")


@exercise("06a.5", "la tupla (fig, history): la figura de matplotlib con las curvas de pérdida y "
          "de tasa de aciertos (entrenamiento y test) y la historia de la que salen",
          "Dos gráficas: la pérdida (entrenamiento y test) en una y la tasa de aciertos en la "
          "otra, por época (plt.subplots(1, 2) o plots.plot_history).",
          """
fig = plots.plot_history(history)
respuesta_06a_5 = (fig, history)""")
def check_06a_5(answer) -> None:
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise Wrong("Se espera la tupla (fig, history).")
    fig, history = answer
    history = _history(history)
    axes = getattr(fig, "axes", None)
    if not isinstance(axes, list):
        raise Wrong("El primer elemento debe ser una figura de matplotlib (fig, de plt.subplots "
                    "o plots.plot_history).")
    if len(axes) < 2:
        raise Wrong("La figura tiene una sola gráfica: la pérdida y la tasa de aciertos van en "
                    "gráficas distintas (sus escalas no se parecen).")
    where = {}
    for key, name in CURVES.items():
        values = np.asarray(history[key], dtype=float)
        found = [i for i, ax in enumerate(axes) for line in ax.get_lines()
                 if len(line.get_ydata()) == len(values)
                 and np.allclose(np.asarray(line.get_ydata(), dtype=float), values)]
        if not found:
            raise Wrong(f"No encuentro en la figura la curva de {name} de tu historia.")
        where[key] = found[0]
    if where["train_loss"] != where["test_loss"] or where["train_acc"] != where["test_acc"]:
        raise Wrong("Entrenamiento y test de cada medida van en la misma gráfica, para "
                    "compararlos.")
    if where["train_loss"] == where["train_acc"]:
        raise Wrong("La pérdida y la tasa de aciertos van en gráficas distintas.")
