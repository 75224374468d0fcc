"""The slides' loop (train one epoch, evaluate), ``fit`` -> history (resumable from a file), the
exercise's recipe, step-by-step records, ``predict``, batch-norm calibration, accuracy against the
number of labels, checkpoints. Every figure is weighted by batch size (one pass over the whole
set), for multi-class (logits + ``CrossEntropyLoss``) and binary (sigmoid + ``BCELoss``) models;
``fit`` runs in the ``channels_last`` layout, faster on a CPU (``channels_last=False``: NCHW).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import config
from .datasets import EVAL_BATCH_SIZE, FashionData, TensorBatches, fashion_batches, per_class_subset
from .downloads import atomic_write
from .models import FashionCNN

__all__ = [
    "EXERCISE", "HISTORY_KEYS", "History", "Recipe", "accuracy_vs_labels", "calibrate_batchnorm",
    "evaluate", "fashion_cnn_from", "fit", "load_checkpoint", "memory_format", "predict",
    "progress_bar", "save_checkpoint", "save_history", "train_one_epoch", "train_steps",
    "train_with_recipe"]

Device = torch.device | str | None


def progress_bar(iterable, *, disable: bool = False, **kwargs) -> tqdm:
    """tqdm's bar (a widget in Jupyter), off when ``TQDM_DISABLE=1``: ``cnn-course execute`` sets
    it, because a bar stored in a notebook reads 0 % without a live kernel."""
    return tqdm(iterable, disable=disable or os.environ.get("TQDM_DISABLE") == "1", **kwargs)


History = dict[str, list[float]]
HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr",
                "train_time", "eval_time")


@dataclass(frozen=True)
class Recipe:
    """How the slides' exercise trains on Fashion-MNIST: cross-entropy and Adagrad, plus these
    numbers. ``dataclasses.replace(EXERCISE, epochs=5)`` gives a variant."""

    batch_size: int = 32    # images per training batch (the slides' "bandeja")
    lr: float = 0.01        # Adagrad's learning rate
    epochs: int = 20        # passes over the training set
    quick_epochs: int = 2   # epochs in quick mode (CNN_COURSE_QUICK=1: CI, live demos)
    seed: int = 0           # seeds the initial weights (call seed_everything) and the shuffles

    def epochs_to_run(self) -> int:
        """``epochs``, or ``quick_epochs`` in quick mode."""
        return self.quick_epochs if config.quick_mode() else self.epochs

    def loss_fn(self) -> nn.Module:
        """The exercise's loss: cross-entropy on the logits."""
        return nn.CrossEntropyLoss()

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """The exercise's optimizer for ``model``'s weights: Adagrad with rate ``lr``."""
        return torch.optim.Adagrad(model.parameters(), lr=self.lr)

    def record(self, model: nn.Module, data: FashionData, device: torch.device | str) -> dict:
        """The recipe as saved beside a trained model, with the model, data and device; the loss
        and optimizer named after the objects the recipe builds."""
        return {"model": type(model).__name__, "loss": type(self.loss_fn()).__name__,
                "optimizer": type(self.optimizer(model)).__name__, **asdict(self),
                "epochs": self.epochs_to_run(), "device": str(device), "data_source": data.source,
                "train_size": len(data.train), "test_size": len(data.test),
                "quick": config.quick_mode()}


EXERCISE = Recipe()


def train_with_recipe(model: nn.Module, data: FashionData, recipe: Recipe = EXERCISE,
                      device: Device = None, callback: Callable[[History], None] | None = None,
                      checkpoint: str | Path | None = None
                      ) -> tuple[History, torch.optim.Optimizer]:
    """``fit`` ``model`` on ``device`` with ``recipe``'s loaders, loss and optimizer (seed, then
    build the model, for repeatable weights); returns (history, the optimizer, for checkpoints
    and for looking at its state). Notebooks 00, 06b, 08."""
    if device is not None:
        model.to(device)
    optimizer = recipe.optimizer(model)
    history = fit(model, fashion_batches(data, recipe.batch_size, recipe.seed), recipe.loss_fn(),
                  optimizer, recipe.epochs_to_run(), callback, checkpoint=checkpoint)
    return history, optimizer


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> int:
    """Number of right predictions: argmax for logits, threshold 0.5 for one sigmoid output."""
    if outputs.dim() == 1 or outputs.shape[-1] == 1:
        predictions = (outputs.reshape(-1) > 0.5).to(targets.dtype)
        return int((predictions == targets.reshape(-1)).sum())
    return int((outputs.argmax(dim=1) == targets).sum())


@contextmanager
def memory_format(model: nn.Module, channels_last: bool = True) -> Iterator[nn.Module]:
    """Run ``model`` in the ``channels_last`` layout inside the block, then back to NCHW. Only
    4-D weights change layout; values and parameter objects (the optimizer's) stay the same."""
    if not channels_last:
        yield model
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield model
    finally:
        model.to(memory_format=torch.contiguous_format)


def train_one_epoch(model: nn.Module, loader: Iterable, loss_fn: nn.Module,
                    optimizer: torch.optim.Optimizer, device: Device = None) -> tuple[float, float]:
    """One pass over ``loader``, the slides' loop. Returns the running (mean loss, accuracy),
    weighted by batch size, while the weights change (not a clean evaluation). Notebook 05."""
    model.train()                                   # 1. training mode (Dropout, BatchNorm learn)
    total_loss, correct, seen = 0.0, 0, 0
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)  # 2. the batch to the device
        outputs = model(images)                     # 3. forward pass
        loss = loss_fn(outputs, targets)            # 4. loss
        optimizer.zero_grad()                       # 5. zero the gradients
        loss.backward()                             # 6. backward pass
        optimizer.step()                            # 7. update the weights
        total_loss += loss.item() * len(targets)    # 8. running figures, weighted by batch size
        correct += _correct(outputs.detach(), targets)
        seen += len(targets)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def evaluate(model: nn.Module, loader: Iterable, loss_fn: nn.Module,
             device: Device = None) -> tuple[float, float]:
    """(Mean loss, accuracy) of ``model`` over ``loader``, in batches; the loss is sample-weighted,
    so it equals one pass over the whole set. Batches of a few hundred images are fastest on a
    CPU; one batch of the whole set is slower and needs gigabytes. Notebook 05."""
    model.eval()                                    # 1. evaluation mode (Dropout off)
    total_loss, correct, seen = 0.0, 0, 0
    with torch.inference_mode():                    # 2. no gradients: less memory, faster
        for images, targets in loader:
            images, targets = images.to(device), targets.to(device)  # 3. the batch to the device
            outputs = model(images)                 # 4. forward pass
            total_loss += loss_fn(outputs, targets).item() * len(targets)  # 5. weighted loss
            correct += _correct(outputs, targets)
            seen += len(targets)
    if seen == 0:
        raise ValueError("evaluate: el cargador no dio ninguna muestra (¿un conjunto vacío?). "
                         "Comprueba el dataset y su tamaño de bandeja.")
    return total_loss / seen, correct / seen


def fit(model: nn.Module, loaders: tuple[Iterable, Iterable, Iterable], loss_fn: nn.Module,
        optimizer: torch.optim.Optimizer, epochs: int,
        callback: Callable[[History], None] | None = None, channels_last: bool = True,
        checkpoint: str | Path | None = None) -> History:
    """Train for ``epochs`` on the model's device; returns per epoch the ``HISTORY_KEYS``
    (``lr`` at the epoch's start, times in seconds). Notebooks 06, 06b, 07.

    ``loaders``: the slides' three, ``(train_loader, train_accuracy_loader, test_loader)``
    (``datasets.fashion_batches``): each epoch trains on the first, then evaluates the other two
    with the epoch's final weights. ``callback(history)`` runs after every epoch (e.g.
    ``plots.LivePlot()``). ``checkpoint``: a file saved after every epoch (weights, optimizer,
    history, random states); when it exists, the run resumes from it and ends as an
    uninterrupted one would (to the last digit on a CPU).
    """
    train_loader, train_accuracy_loader, test_loader = loaders
    device = next(model.parameters()).device
    history: History = {key: [] for key in HISTORY_KEYS}
    if checkpoint is not None and Path(checkpoint).is_file():
        history = _resume(checkpoint, model, optimizer, train_loader, epochs)
    done = len(history["lr"])
    bar = progress_bar(range(done, epochs), desc="épocas", initial=done, total=epochs)
    with memory_format(model, channels_last):
        for _ in bar:
            history["lr"].append(optimizer.param_groups[0]["lr"])
            start = time.perf_counter()
            train_one_epoch(model, train_loader, loss_fn, optimizer, device)
            middle = time.perf_counter()
            figures = (*evaluate(model, train_accuracy_loader, loss_fn, device),
                       *evaluate(model, test_loader, loss_fn, device),
                       middle - start, time.perf_counter() - middle)
            for key, value in zip(HISTORY_KEYS[:4] + HISTORY_KEYS[5:], figures, strict=True):
                history[key].append(value)
            bar.set_postfix_str(f"pérdida {config.format_number(figures[0], 4)}, aciertos "
                                f"test {config.format_number(figures[3], 4)}")
            if checkpoint is not None:
                save_checkpoint(checkpoint, model, optimizer, history, rng=_rng(train_loader))
            if callback is not None:
                callback(history)
    return history


def _rng(loader: Iterable) -> dict:
    """The random states the next epochs draw from: torch's and the loader's shuffle's."""
    generator = getattr(loader, "generator", None)
    return {"torch": torch.get_rng_state(),
            "loader": generator.get_state() if generator is not None else None}


def _resume(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
            train_loader: Iterable, epochs: int) -> History:
    """Load ``fit``'s file into the model, optimizer and random states; returns its history."""
    state = load_checkpoint(path, model, optimizer)
    rng, history = state.get("rng") or {}, state["history"]
    if "torch" not in rng or set(history) != set(HISTORY_KEYS):
        raise ValueError(f"{path} no es un fichero de fit (le faltan la historia o los estados "
                         "aleatorios): no se puede reanudar. Pasa otro checkpoint= o bórralo.")
    torch.set_rng_state(rng["torch"])
    if rng["loader"] is not None:
        train_loader.generator.set_state(rng["loader"])
    print(f"fit: reanudo {Path(path).name} tras la época {len(history['lr'])} de {epochs}.")
    return history


def _forever(batches: Iterable) -> Iterator:
    """The batches of ``batches``, pass after pass, without end."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("train_steps: no hay bandejas (¿un dataset vacío?).")


def train_steps(model: nn.Module, batches: Iterable, loss_fn: nn.Module,
                optimizer: torch.optim.Optimizer, steps: int, watch: Iterable[nn.Module] = (),
                device: Device = None) -> dict[str, list]:
    """Train for ``steps`` optimizer steps (``batches`` again when they run out), recording per
    step ``loss`` (the batch's, before the step) and ``grad_norm`` (the weight gradient norm of
    each layer in ``watch``): for looking inside the first steps of training. Notebook 08."""
    if device is not None:
        model.to(device)
    watch = list(watch)
    record: dict[str, list] = {"loss": [], "grad_norm": []}
    for _, batch in zip(range(steps), _forever(batches), strict=False):
        loss, _ = train_one_epoch(model, [batch], loss_fn, optimizer, device)
        record["loss"].append(loss)
        record["grad_norm"].append([layer.weight.grad.norm().item() for layer in watch])
    return record


def predict(model: nn.Module, loader: Iterable, device: Device = None, progress: bool = False,
            channels_last: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(outputs, targets) of ``model`` over a whole loader, on the CPU, as ordinary tensors: a
    classifier's predictions, or a frozen backbone's features, computed once so that a head can
    train on them (``TensorBatches(features, targets)`` and ``fit``). Notebooks 06b, 07."""
    outputs, targets, was_training = [], [], model.training
    model.eval()  # the layout changes outside inference mode: the weights stay trainable
    with memory_format(model, channels_last), torch.inference_mode():
        for images, target in progress_bar(loader, desc="predicción", disable=not progress):
            outputs.append(model(images.to(device)).cpu())
            targets.append(target)
    model.train(was_training)
    # torch.cat outside inference mode gives ordinary tensors, which autograd accepts
    return torch.cat(outputs), torch.cat(targets)


def calibrate_batchnorm(model: nn.Module, loader: Iterable, device: Device = None) -> nn.Module:
    """Set every ``BatchNorm2d``'s running statistics to the plain average over ``loader``'s
    batches, leaving the rest of the model and its modes as they were. Notebook 07.

    A random network frozen in evaluation mode keeps the initial statistics (mean 0, variance 1),
    so its features shrink to near zero layer after layer; measured ones give the random features
    their best chance (notebook 07's random backbone).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.training, m.momentum) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches seen
        m.train()
    with torch.no_grad():
        for images, _ in loader:
            model(images.to(device))
    for m, (training, momentum) in zip(norms, saved, strict=True):
        m.train(training)
        m.momentum = momentum
    return model


def accuracy_vs_labels(make_model: Callable[[], nn.Module],
                       train: tuple[torch.Tensor, torch.Tensor],
                       test: tuple[torch.Tensor, torch.Tensor], per_class: Iterable[int],
                       seeds: Iterable[int] = range(5), steps: int = 300, batch_size: int = 32,
                       lr: float = 1e-3, threads: int | None = 1,
                       progress: bool = True) -> dict[int, list[float]]:
    """{n: [test accuracy per seed]} of a binary model (sigmoid, ``BCELoss``) trained on ``n``
    examples per class. Notebook 07.

    Per ``n`` and seed: ``seed_everything(seed)``, a fresh ``make_model()``, ``n`` random examples
    per class of ``train`` (``per_class_subset``), ``steps`` Adam steps on batches of up to
    ``batch_size`` (the same number of updates whatever ``n``), accuracy on all of ``test``.
    ``train`` and ``test`` are (inputs, targets) in memory. ``threads``: torch's threads meanwhile
    (small models train fastest on one, more so on a busy machine).
    """
    saved_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    results: dict[int, list[float]] = {}
    runs = [(n, seed) for n in per_class for seed in seeds]
    try:
        for n, seed in progress_bar(runs, desc="ejecuciones", disable=not progress):
            config.seed_everything(seed)
            model = make_model()
            idx = per_class_subset(train[1], n, seed)
            batches = TensorBatches(train[0][idx], train[1][idx], batch_size, shuffle=True,
                                    seed=seed)
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            train_steps(model, batches, nn.BCELoss(), optimizer, steps)
            _, accuracy = evaluate(model, TensorBatches(*test, EVAL_BATCH_SIZE), nn.BCELoss())
            results.setdefault(n, []).append(accuracy)
    finally:
        torch.set_num_threads(saved_threads)
    return results

# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | Path, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    history: History | None = None, recipe: dict | None = None,
                    rng: dict | None = None) -> Path:
    """Save model and optimizer state, history, recipe and (``fit``'s, for resuming) random
    states, through a temporary file and a move. Notebooks 00, 06a, 06b."""
    path = Path(path)
    state = {"model": model.state_dict(), "model_class": type(model).__name__,
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "history": history or {}, "recipe": recipe or {}, "rng": rng}
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a ``save_checkpoint`` file into ``model`` (and ``optimizer``); returns its dict.
    A missing file or another model class raises an error that says so. Notebooks 04, 06b."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No hay ningún checkpoint en {path}. Entrena la red antes: el ejercicio 06a guarda "
            "la tuya en config.checkpoints_dir() / 'fashion_cnn.pt' cuando 06a.4 está bien.")
    state = torch.load(path, map_location=map_location, weights_only=False)
    if state.get("model_class") not in (None, type(model).__name__):
        raise ValueError(f"{path} guarda un {state['model_class']}, no un {type(model).__name__}.")
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer"):
        optimizer.load_state_dict(state["optimizer"])
    return state


def fashion_cnn_from(model: nn.Module) -> FashionCNN:
    """A ``FashionCNN`` holding ``model``'s weights: the assignment's network as a student wrote
    it, whatever its layers are called, so that notebook 04 can load it. Each weight goes to the
    one of the same shape (in ``model``'s order where shapes repeat); ValueError unless both
    networks then give the same outputs. Notebook 06a."""
    target = FashionCNN()
    theirs = [p.detach().cpu() for p in model.parameters()]
    state = {}
    for name, mine in target.named_parameters():
        match = next((i for i, p in enumerate(theirs) if p.shape == mine.shape), None)
        if match is None:
            break
        state[name] = theirs.pop(match)
    same = len(state) == len(target.state_dict()) and not theirs
    if same:
        target.load_state_dict(state)
        images = torch.rand(4, *FashionCNN.input_shape, generator=torch.Generator().manual_seed(0))
        device, was_training = next(model.parameters()).device, model.training
        with torch.no_grad():
            same = torch.allclose(model.eval()(images.to(device)).cpu(), target.eval()(images),
                                  atol=1e-5)
        model.train(was_training)
    if not same:
        raise ValueError(f"{type(model).__name__} no es la red del enunciado (FashionCNN): sus "
                         "pesos o sus salidas no coinciden, así que no se guarda para el "
                         "cuaderno 04.")
    return target


def save_history(history: History, path: str | Path) -> Path:
    """Write a history dict as JSON (atomically: a crash never leaves half a file)."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(history, indent=2))
    return path
