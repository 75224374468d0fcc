"""The assignment (notebook 06a; its solution 06b), checked part by part: the network (judged by
what its forward pass computes), the recipe, the training result (the student's own model's
predictions on the test set, scored here) and the learning curves."""

from __future__ import annotations

import itertools
import re
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import config, datasets, models
from .behaviour import Forbidden, ForbiddenCall, given, given_array, run, seeded, to_array
from .common import Wrong, as_number, exercise, probe_number, spanish
from .networks import FLATTEN_MISTAKES, check_06_1
from .trace import ACTIVATIONS, describe, fill_by_shape, layers, parameter_count, record

__all__ = ["FORBID_06A_1", "FULL_ACCURACY", "PARAMETERS", "QUICK_ACCURACY", "check_06a_1",
           "check_06a_2", "check_06a_3", "check_06a_4", "check_06a_5", "find_curve", "judge_06a_1",
           "judge_06a_3", "judge_06a_4", "judge_06a_5", "measured_accuracy", "probe_06a_1",
           "probe_06a_3", "probe_06a_4", "probe_06a_5"]

PARAMETERS = 360_714
FULL_ACCURACY = 0.90
# Quick mode (the first 3.000 training / 1.000 test images, the same online and offline; 2
# epochs): the reference solution reached 0.729-0.767 over seeds 0-9 (mean 0.745, worst seed 4;
# benchmarks/quick_threshold.py, 1 thread); the threshold is the worst less a margin of 0.05.
QUICK_ACCURACY = 0.67
CURVES = {("train", "loss"): "la pérdida de entrenamiento", ("test", "loss"): "la pérdida de test",
          ("train", "acc"): "la tasa de aciertos de entrenamiento",
          ("test", "acc"): "la tasa de aciertos de test"}
KEYS = "'train_loss', 'train_acc', 'test_loss' y 'test_acc'"


FORBID_06A_1 = (Forbidden("models.FashionCNN", modules=(models.FashionCNN,)),)


def _generator(seed: int) -> torch.Generator:
    return seeded(seed, 61)


# ----------------------------------------------------------------------------- 06a.1

def _images_06a_1(seed: int) -> torch.Tensor:
    return torch.randn(8, 1, 28, 28, generator=_generator(seed))


def probe_06a_1(answer: Any, seed: int = 0) -> dict:
    """Build the student's Network, give each parameter values that depend only on its shape, and
    record its forward pass on 8 images of our own: the operations, in call order, and the
    output; with its parameter count. A forward pass that fails leaves its operations so far
    and the explanation of the error."""
    if isinstance(answer, nn.Module):
        answer = type(answer)
    if not isinstance(answer, type) or not issubclass(answer, nn.Module):
        raise Wrong("Se espera tu clase Network, una subclase de nn.Module.")
    network = run(answer, inputs="Network(), sin argumentos", forbid=FORBID_06A_1)
    evidence: dict = {"parameters": parameter_count(network)}
    fill_by_shape(network, seed).eval()
    dtype = next((p.dtype for p in network.parameters()), torch.float32)
    images = _images_06a_1(seed).to(dtype)
    with torch.no_grad(), record() as ops:
        try:
            out = run(network, images, forbid=FORBID_06A_1,
                      inputs=f"una bandeja de forma (8, 1, 28, 28) {str(dtype)[6:]}")
        except ForbiddenCall:
            raise
        except Wrong as wrong:
            return {**evidence, "ops": ops, "failed": str(wrong)}
    return {**evidence, "ops": ops, "output": to_array(out, "Tu red devuelve").astype(np.float64)}


def _reference_06a_1(seed: int, slope: float) -> np.ndarray:
    """The statement's network under the same rule for its weights, on the probe's images."""
    network = fill_by_shape(models.FashionCNN(), seed).double().eval()
    network.relu.negative_slope = slope
    with torch.no_grad():
        return network(_images_06a_1(seed).double()).numpy()


def _diagnose_06a_1(all_ops: list[dict], otherwise: str) -> None:
    """Raise the message of the first difference between the recorded layers and the
    statement's (the output already differs)."""
    ops = layers(all_ops)
    convs = [op for op in ops if op["op"] == "conv2d"]
    channels = [w[1] for w in [convs[0]["weight"]]] + [op["weight"][0] for op in convs] \
        if convs else []
    if channels != [1, 16, 32, 64, 128]:
        raise Wrong(f"Los canales de las convoluciones, en el orden en que se ejecutan, van "
                    f"{channels}; el enunciado pide 1 → 16 → 32 → 64 → 128.")
    if any(op["weight"][2:] != [3, 3] for op in convs):
        raise Wrong("Las convoluciones son 3×3.")
    if any(op.get("padding") not in ([0, 0], ["valid"]) for op in convs):
        raise Wrong("Las convoluciones del enunciado no llevan relleno.")
    if any(op["op"] == "batch_norm" for op in ops):
        raise Wrong("Tu red usa BatchNorm, que el enunciado no pide (y añade parámetros): "
                    "quítala.")
    kinds = [op["op"] for op in ops]
    if "avg_pool2d" in kinds or "adaptive_avg_pool2d" in kinds:
        raise Wrong("Tu red promedia (pooling de media); el enunciado pide max pooling, que se "
                    "queda con el máximo de cada ventana 2×2.")
    pools = [op for op in ops if op["op"] == "max_pool2d"]
    if len(pools) != 2 or any(op.get("kernel") != [2, 2] or op.get("stride") != [2, 2]
                              for op in pools):
        raise Wrong(f"Tu red hace {len(pools)} max pooling; el enunciado pide 2, de 2×2 con "
                    "avance 2, uno tras cada pareja de convoluciones.")
    linears = [op for op in ops if op["op"] == "linear"]
    if not linears:
        raise Wrong("Falta el MLP del final (capas nn.Linear).")
    inputs = linears[0]["weight"][1]
    for wrong, message in FLATTEN_MISTAKES:
        if inputs == wrong:
            raise Wrong(f"La primera capa lineal recibe {spanish(inputs)} valores. {message}")
    if [op["weight"] for op in linears] != [[128, 2048], [10, 128]]:
        sizes = " → ".join(spanish(n) for n in [inputs] + [op["weight"][0] for op in linears])
        raise Wrong(f"El MLP de tu red va {sizes}; el enunciado pide MLP(2.048, 128, 10).")
    if kinds and kinds[-1] in ("softmax", "log_softmax", "sigmoid"):
        raise Wrong("La red devuelve probabilidades (softmax): CrossEntropyLoss ya la aplica; "
                    "devuelve las puntuaciones sin normalizar.")
    activations = [op["op"] for op in ops if op["op"] in ACTIVATIONS]
    if not activations:
        raise Wrong("Tu red no tiene ninguna activación: sin ellas, las convoluciones y las "
                    "capas lineales se reducen a una sola función lineal. Pon una LeakyReLU "
                    "tras cada convolución y tras la primera capa lineal.")
    other = next((a for a in activations if a != "leaky_relu"), None)
    if other is not None:
        name = describe([{"op": other}])
        raise Wrong(f"Tu red usa {name} como activación; el enunciado pide LeakyReLU (que deja "
                    "pasar una fracción de los negativos).")
    _missing_activation(ops)
    if any(op["op"] == "dropout" and op.get("training") for op in all_ops):
        raise Wrong("Tu red aplica Dropout también en modo evaluación: con F.dropout pasa "
                    "training=self.training (o usa nn.Dropout), y la red evaluada no apaga "
                    "neuronas al azar.")
    raise Wrong(otherwise)


def _missing_activation(ops: list[dict]) -> None:
    """Raise if a convolution or the first linear layer is not followed by its LeakyReLU, or the
    last linear layer is."""
    weighted = [i for i, op in enumerate(ops) if op["op"] in ("conv2d", "linear")]
    names = ["la primera convolución", "la segunda convolución", "la tercera convolución",
             "la cuarta convolución", "la primera capa lineal"]
    for n, (i, end) in enumerate(zip(weighted, weighted[1:] + [len(ops)], strict=True)):
        has = any(op["op"] == "leaky_relu" for op in ops[i + 1:end])
        if n < len(names) and not has:
            raise Wrong(f"Falta la LeakyReLU tras {names[n]}.")
        if n == len(names) and has:
            raise Wrong("La última capa lineal da las puntuaciones de las 10 clases: sin "
                        "activación detrás.")


def judge_06a_1(evidence: dict, seed: int = 0) -> None:
    all_ops = given(evidence, "ops", list)
    ops = layers(all_ops)
    if "failed" in evidence:
        _diagnose_06a_1(all_ops, given(evidence, "failed", str))
    out = given_array(evidence, "output")
    if out.shape != (8, 10):
        raise Wrong(f"Con una bandeja (8, 1, 28, 28) la red devuelve {tuple(out.shape)}; se "
                    "esperaba (8, 10): una puntuación por clase.")
    slopes = {op.get("slope") for op in ops if op["op"] == "leaky_relu"}
    slope = float(slopes.pop()) if len(slopes) == 1 else 0.01
    right = _reference_06a_1(seed, slope)
    if np.abs(out - right).max() > 1e-4 * (1 + np.abs(right).max()):
        _diagnose_06a_1(all_ops, "Con los mismos pesos, tu red no calcula lo mismo que la del "
                             f"enunciado. Tu red hace: {describe(ops)}.")
    total = int(evidence["parameters"])
    if total != PARAMETERS:
        raise Wrong(f"La red calcula lo que pide el enunciado, pero tiene {spanish(total)} "
                    f"parámetros y la del enunciado {spanish(PARAMETERS)}: ¿capas que forward "
                    "no usa?")


@exercise("06a.1", "tu clase Network (la clase, no un objeto): CNN(1,16) + CNN(16,32) + "
          "MaxPool(2) + CNN(32,64) + CNN(64,128) + MaxPool(2) + MLP(¿?, 128, 10), sin "
          "`models.FashionCNN`",
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
class check_06a_1:
    probe = staticmethod(probe_06a_1)
    judge = staticmethod(judge_06a_1)


@exercise("06a.2", "el «¿?»: cuántos valores recibe la primera capa lineal",
          "La forma de una bandeja a la salida de los bloques convolutivos: canales × alto × "
          "ancho.",
          "respuesta_06a_2 = 128 * 4 * 4   # 2.048", probe=probe_number)
def check_06a_2(evidence: dict, seed: int = 0) -> None:
    check_06_1(evidence, seed)   # the same «¿?» as notebook 06's exercise, with the same messages


# ----------------------------------------------------------------------------- 06a.3

def _scores(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = _generator(seed + 30)
    return (torch.randn(8, 10, generator=generator) * 3,
            torch.randint(0, 10, (8,), generator=generator))


def _first_orders(loader: Any) -> list | None:
    """What the loader gives first, twice (the sampler's first 64 indices, or the labels of the
    first batch), and the first batch's size: equal twice means it does not shuffle. The random
    states it draws from are restored, so the student's training repeats as it would have."""
    sampler = getattr(loader, "sampler", None)
    generators = [g for g in (getattr(loader, "generator", None),
                              getattr(sampler, "generator", None))
                  if isinstance(g, torch.Generator)]
    states = [g.get_state() for g in generators]
    try:
        with torch.random.fork_rng(devices=[]):
            if sampler is not None:
                orders = [[int(i) for i in itertools.islice(iter(sampler), 64)]
                          for _ in range(2)]
                return [*orders, None]
            batches = [next(iter(loader)) for _ in range(2)]
            labels = [[int(v) for v in torch.as_tensor(b[1]).reshape(-1)] for b in batches]
            return [*labels, len(labels[0])]
    except Exception:   # not a loader: the judge says what the first element must be
        return None
    finally:
        for generator, state in zip(generators, states, strict=True):
            generator.set_state(state)


def probe_06a_3(answer: Any, seed: int = 0) -> dict:
    """Record the recipe's behaviour: the loader's batch and first indices (twice: does it
    shuffle?), the loss on scores and labels of our own, the optimizer's kind and rate, EPOCHS."""
    if not isinstance(answer, tuple | list) or len(answer) != 4:
        return {"shape": False}
    loader, loss_fn, optimizer, epochs = answer
    evidence: dict = {"shape": True, "batch": getattr(loader, "batch_size", None)}
    if not isinstance(evidence["batch"], int):
        evidence["batch"] = None
    evidence["orders"] = _first_orders(loader)
    if evidence["batch"] is None and evidence["orders"] and evidence["orders"][2]:
        evidence["batch"] = int(evidence["orders"][2])
    scores, labels = _scores(seed)
    try:
        with warnings.catch_warnings():     # MSELoss warns about the shapes: the judge says it
            warnings.simplefilter("ignore")
            loss = run(loss_fn, scores.clone(), labels.clone(), inputs="")
        evidence["loss"] = float(to_array(loss).reshape(-1)[0]) if to_array(loss).size == 1 \
            else None
    except Wrong:
        evidence["loss"] = None     # the judge names the loss the statement asks for
    evidence["loss_given"] = type(loss_fn).__name__
    evidence["optimizer"] = [c.__name__ for c in type(optimizer).__mro__]
    groups = getattr(optimizer, "param_groups", None)
    evidence["lr"] = None
    if isinstance(groups, list) and groups and isinstance(groups[0], dict):
        lr = groups[0].get("lr")
        evidence["lr"] = float(lr) if isinstance(lr, int | float) else None
    try:
        evidence["epochs"] = as_number(epochs)
    except Wrong as wrong:
        evidence["epochs"] = str(wrong)
    return evidence


def judge_06a_3(evidence: dict, seed: int = 0) -> None:
    if not evidence["shape"]:
        raise Wrong("Se espera la tupla (train_loader, loss_fn, optimizer, EPOCHS).")
    batch = evidence["batch"]
    if batch != 32:
        raise Wrong(f"El cargador de entrenamiento tiene bandeja {batch}; el enunciado pide 32.")
    orders = evidence["orders"]
    if not orders or not orders[0]:
        raise Wrong("El primer elemento debe ser el cargador de entrenamiento (un DataLoader).")
    if orders[0] == orders[1]:
        raise Wrong("El cargador de entrenamiento no baraja: cada época debe ver las bandejas "
                    "en otro orden (shuffle=True).")
    scores, labels = _scores(seed)
    right = nn.functional.cross_entropy(scores, labels).item()
    loss = evidence["loss"]
    if loss is None or not np.isclose(float(loss), right, rtol=1e-4):
        raise Wrong(f"La pérdida ({evidence['loss_given']}) no da la entropía cruzada con "
                    "puntuaciones (8, 10) y etiquetas (8,): el enunciado pide la entropía "
                    "cruzada para clasificar 10 clases (nn.CrossEntropyLoss() o "
                    "F.cross_entropy).")
    if "Adagrad" not in evidence["optimizer"]:
        raise Wrong(f"El optimizador es {evidence['optimizer'][0]}; el enunciado pide Adagrad.")
    lr = evidence["lr"]
    if lr is None or not np.isclose(lr, 0.01):
        raise Wrong(f"La tasa de aprendizaje es {spanish(lr) if lr is not None else lr}; el "
                    "enunciado pide 0,01.")
    epochs = evidence["epochs"]
    if isinstance(epochs, str):
        raise Wrong(f"EPOCHS: {epochs}")
    if config.quick_mode() and 1 <= epochs <= 20 and epochs == int(epochs):
        return
    if epochs != 20:
        raise Wrong(f"EPOCHS es {spanish(epochs)}; el enunciado pide 20 épocas.")


# ---------------------------------------------------------------- 06a.4 and 06a.5: the history

_SPLITS = {"train": ("train", "training", "entrenamiento", "entreno"),
           "test": ("test", "val", "valid", "validation", "validacion", "validación", "prueba")}
_MEASURES = {"loss": ("loss", "losses", "perdida", "pérdida", "perdidas", "pérdidas"),
             "acc": ("acc", "accs", "accuracy", "accuracies", "aciertos", "exactitud")}


def find_curve(history: dict, split: str, measure: str) -> str | None:
    """The key of ``history`` that holds ``split``'s ("train", "test") ``measure`` ("loss",
    "acc") under any usual spelling: train_acc, train_accuracy, test_acc, val_accuracy, ..."""
    for key in history:
        words = re.split(r"[_\s.\-]+", str(key).lower())
        if any(w in _SPLITS[split] for w in words) and any(w in _MEASURES[measure]
                                                            for w in words):
            return key
    return None


def _history(history: Any) -> dict:
    """The numeric lists of a history, as float64 arrays (plain data)."""
    if not isinstance(history, dict):
        return {"given": type(history).__name__}
    curves = {}
    for key, values in history.items():
        try:
            array = to_array(values if not isinstance(values, list | tuple) else
                             [float(v) for v in values])
        except (Wrong, TypeError, ValueError):
            continue
        if array.ndim == 1:
            curves[str(key)] = array.astype(np.float64)
    return {"curves": curves}


def _curves(history: dict) -> dict[tuple[str, str], np.ndarray]:
    """The four curves of a recorded history (accuracy in 0..1, also when given in %), or the
    message that says which is missing."""
    if "curves" not in history:
        raise Wrong(f"La historia debe ser un diccionario con una lista por época: {KEYS}; "
                    f"es {history.get('given')}.")
    curves = history["curves"]
    found = {}
    for (split, measure), name in CURVES.items():
        key = find_curve(curves, split, measure)
        if key is None:
            raise Wrong(f"No encuentro en tu historia {name}: sus claves son "
                        f"{', '.join(map(repr, curves)) or 'ninguna'}; el enunciado pide "
                        f"{KEYS}.")
        found[split, measure] = np.asarray(curves[key], dtype=np.float64)
    lengths = {len(v) for v in found.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise Wrong("Las cuatro listas de la historia deben tener una entrada por época, todas "
                    "igual de largas.")
    return found


def _percent(values: np.ndarray) -> bool:
    return bool(np.nanmax(values) > 1.0 + 1e-9)


# ----------------------------------------------------------------------------- 06a.4

def _test_set() -> tuple[torch.Tensor, torch.Tensor]:
    return datasets.to_tensors(datasets.load_fashion_mnist().test)


def _predictions(model: nn.Module, batch_size: int = 500) -> np.ndarray:
    """The class ``model`` predicts for each test image (quick mode: the first 1.000), in
    batches, without gradients, in evaluation mode (restored afterwards)."""
    images, _ = _test_set()
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    predicted = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                out = model(images[start:start + batch_size].to(device, dtype))
                predicted.append(out.argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(predicted).numpy().astype(np.int64)


def measured_accuracy(model: nn.Module, batch_size: int = 500) -> float:
    """Accuracy of ``model`` on the Fashion-MNIST test set (quick mode: its first 1.000),
    computed here, in batches, without gradients. Notebook 06a (the check of part 4)."""
    return float(np.mean(_predictions(model, batch_size) == _test_set()[1].numpy()))


def probe_06a_4(answer: Any, seed: int = 0) -> dict:
    """The trained model's parameter count and predictions on the test set, and the history's
    numeric lists."""
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        return {"shape": False}
    model, history = answer
    evidence: dict = {"shape": True, "history": _history(history),
                      "module": isinstance(model, nn.Module)}
    if not evidence["module"]:
        return evidence
    evidence["parameters"] = parameter_count(model)
    if evidence["parameters"] != PARAMETERS:       # not the statement's network: said by judge
        return evidence
    evidence["predictions"] = run(_predictions, model,
                                  inputs="las imágenes de test en bandejas (500, 1, 28, 28)")
    return evidence


def judge_06a_4(evidence: dict, seed: int = 0) -> None:
    if not evidence["shape"]:
        raise Wrong("Se espera la tupla (model, history).")
    if not evidence["module"]:
        raise Wrong("El primer elemento debe ser tu red entrenada (un nn.Module).")
    curves = _curves(evidence["history"])
    total = int(evidence["parameters"])
    if total != PARAMETERS:
        raise Wrong(f"La red tiene {spanish(total)} parámetros; la del enunciado, "
                    f"{spanish(PARAMETERS)}.")
    labels = _test_set()[1].numpy()
    predictions = np.asarray(evidence["predictions"])
    if predictions.shape != labels.shape:
        raise Wrong("No se pudo leer lo que comprobó el núcleo.")
    test = curves["test", "acc"]
    epochs = len(test)
    if not config.quick_mode() and epochs != 20:
        raise Wrong(f"Tu historia tiene {epochs} épocas; el enunciado pide 20.")
    accuracy = float(np.mean(predictions == labels))
    last = float(test[-1]) / (100 if _percent(test) else 1)
    if abs(accuracy - last) > 0.01:
        raise Wrong(f"Tu red acierta {spanish(round(accuracy, 4))} en el test, pero la última "
                    f"época de tu historia dice {spanish(round(last, 4))}: ¿la historia es de "
                    "otra red u otra ejecución?")
    needed = QUICK_ACCURACY if config.quick_mode() else FULL_ACCURACY
    if accuracy < needed:
        raise Wrong(f"Tu red acierta {spanish(round(accuracy, 4))} en el test; se espera al "
                    f"menos {spanish(needed)}. Revisa la receta y que la red entrene.")


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
class check_06a_3:
    probe = staticmethod(probe_06a_3)
    judge = staticmethod(judge_06a_3)


@exercise("06a.4", "la tupla (model, history): tu red entrenada en este cuaderno y su historia, "
          "un diccionario con una lista por época de 'train_loss', 'train_acc', 'test_loss' y "
          "'test_acc' (valen también 'train_accuracy' y 'test_accuracy', los nombres del "
          "cuaderno 06, y la tasa de aciertos en %)",
          "El comprobador mide aquí la tasa de aciertos de tu red en el test: debe llegar a 0,90 "
          "tras las 20 épocas y coincidir con la última de tu historia.",
          """
respuesta_06a_4 = (model, history)""", points=2)
class check_06a_4:
    probe = staticmethod(probe_06a_4)
    judge = staticmethod(judge_06a_4)


# ----------------------------------------------------------------------------- 06a.5

def probe_06a_5(answer: Any, seed: int = 0) -> dict:
    """Each axes' lines' y data, and the history's numeric lists."""
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        return {"shape": False}
    fig, history = answer
    evidence: dict = {"shape": True, "history": _history(history)}
    axes = getattr(fig, "axes", None)
    if not isinstance(axes, list):
        return {**evidence, "axes": None}
    lines = []
    for ax in axes:
        found = []
        for line in getattr(ax, "get_lines", list)():
            y = np.asarray(line.get_ydata())
            if y.dtype.kind in "biuf" and y.ndim == 1:
                found.append(y.astype(np.float64))
        lines.append(found)
    return {**evidence, "axes": lines}


def judge_06a_5(evidence: dict, seed: int = 0) -> None:
    if not evidence["shape"]:
        raise Wrong("Se espera la tupla (fig, history).")
    curves = _curves(evidence["history"])
    axes = evidence["axes"]
    if axes is None:
        raise Wrong("El primer elemento debe ser una figura de matplotlib (fig, de plt.subplots "
                    "o plots.plot_history).")
    if len(axes) < 2:
        raise Wrong("La figura tiene una sola gráfica: la pérdida y la tasa de aciertos van en "
                    "gráficas distintas (sus escalas no se parecen).")
    where = {}
    for key, name in CURVES.items():
        values = curves[key]
        scales = (1.0, 100.0, 0.01) if key[1] == "acc" else (1.0,)
        found = [i for i, lines in enumerate(axes) for y in lines for scale in scales
                 if np.shape(y) == values.shape and np.allclose(y, values * scale)]
        if not found:
            raise Wrong(f"No encuentro en la figura la curva de {name} de tu historia (una "
                        "línea con sus valores por época, en tanto por uno o en %).")
        where[key] = found[0]
    if where["train", "loss"] != where["test", "loss"] or \
            where["train", "acc"] != where["test", "acc"]:
        raise Wrong("Entrenamiento y test de cada medida van en la misma gráfica, para "
                    "compararlos.")
    if where["train", "loss"] == where["train", "acc"]:
        raise Wrong("La pérdida y la tasa de aciertos van en gráficas distintas.")


@exercise("06a.5", "la tupla (fig, history): la figura de matplotlib con las curvas de pérdida y "
          "de tasa de aciertos (entrenamiento y test) y la historia de la que salen",
          "Dos gráficas: la pérdida (entrenamiento y test) en una y la tasa de aciertos en la "
          "otra, por época (plt.subplots(1, 2) o plots.plot_history).",
          """
fig = plots.plot_history(history)
respuesta_06a_5 = (fig, history)""")
class check_06a_5:
    probe = staticmethod(probe_06a_5)
    judge = staticmethod(judge_06a_5)
