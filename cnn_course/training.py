"""The training engine: the exercise's recipe, ``fit`` -> history, evaluation, step-by-step
records, ``predict``, batch-norm calibration, accuracy against the number of labels, checkpoints.

Multi-class models (logits + ``CrossEntropyLoss``) and binary ones (sigmoid (N, 1) + ``BCELoss``)
both work; losses must average over the batch, and every figure is weighted by batch size, so it
equals one pass over the whole set. On a CPU the model runs in the faster ``channels_last``
layout while it trains or is evaluated and is put back in NCHW after (same numbers up to float
rounding; ``channels_last=False`` gives the plain path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import config
from .datasets import EVAL_BATCH_SIZE, FashionData, TensorBatches, fashion_batches, per_class_subset
from .downloads import atomic_write

__all__ = [
    "EXERCISE", "HISTORY_KEYS", "History", "Recipe", "accuracy_vs_labels", "calibrate_batchnorm",
    "evaluate", "fit", "load_checkpoint", "memory_format", "predict", "progress_bar",
    "peak_extra_bytes", "save_checkpoint", "save_history", "train_one_epoch", "train_steps",
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

    def record(self, model: nn.Module, data: FashionData, device: torch.device | str) -> dict:
        """The recipe as saved beside a trained model, with the model, data and device."""
        return {"model": type(model).__name__, "loss": "CrossEntropyLoss",
                "optimizer": "Adagrad", **asdict(self), "epochs": self.epochs_to_run(),
                "device": str(device), "data_source": data.source,
                "train_size": len(data.train), "test_size": len(data.test),
                "quick": config.quick_mode()}


EXERCISE = Recipe()


def train_with_recipe(model: nn.Module, data: FashionData, recipe: Recipe = EXERCISE,
                      device: Device = None, callback: Callable[[History], None] | None = None,
                      progress: bool = True) -> tuple[History, torch.optim.Optimizer]:
    """``fit`` ``model`` with ``recipe`` (seed, then build the model, for repeatable weights);
    returns (history, the Adagrad optimizer, for checkpoints and for looking at its state)."""
    train_batches, test_batches = fashion_batches(data, recipe.batch_size, recipe.seed)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=recipe.lr)
    history = fit(model, train_batches, test_batches, nn.CrossEntropyLoss(), optimizer,
                  recipe.epochs_to_run(), device=device, callback=callback, progress=progress)
    return history, optimizer


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> int:
    """Number of right predictions: argmax for logits, threshold 0.5 for one sigmoid output."""
    if outputs.dim() == 1 or outputs.shape[-1] == 1:
        predictions = (outputs.reshape(-1) > 0.5).to(targets.dtype)
        return int((predictions == targets.reshape(-1)).sum())
    return int((outputs.argmax(dim=1) == targets).sum())


def _to(batch: Iterable[torch.Tensor], device: Device):
    return [t.to(device, non_blocking=True) if device is not None else t for t in batch]


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


@contextmanager
def _inference(model: nn.Module, channels_last: bool) -> Iterator[None]:
    """Evaluation mode, ``memory_format`` and inference mode; the model's mode restored after.
    The layout changes outside inference mode, so the weights stay usable for training."""
    was_training = model.training
    model.eval()
    with memory_format(model, channels_last), torch.inference_mode():
        yield
    model.train(was_training)


def train_one_epoch(model: nn.Module, loader: Iterable, loss_fn: nn.Module,
                    optimizer: torch.optim.Optimizer, device: Device = None,
                    progress: bool = False, channels_last: bool = True) -> tuple[float, float]:
    """One pass over ``loader``, the slides' loop. Returns the running (mean loss, accuracy),
    weighted by batch size, while the weights change (not a clean evaluation)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    with memory_format(model, channels_last):
        batches = progress_bar(loader, desc="entrenamiento", leave=False, disable=not progress)
        for images, targets in batches:
            images, targets = _to((images, targets), device)
            outputs = model(images)             # 1. forward pass
            loss = loss_fn(outputs, targets)    # 2. loss
            optimizer.zero_grad()               # 3. zero the gradients
            loss.backward()                     # 4. backward pass
            optimizer.step()                    # 5. update the weights
            total_loss += loss.item() * len(targets)
            correct += _correct(outputs.detach(), targets)
            seen += len(targets)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def evaluate(model: nn.Module, loader: Iterable, loss_fn: nn.Module, device: Device = None,
             channels_last: bool = True) -> tuple[float, float]:
    """(Mean loss, accuracy) of ``model`` over ``loader``, in batches, under inference mode; the
    loss is sample-weighted, so it equals one pass over the whole set. Batches of a few hundred
    images are fastest on a CPU; one batch of the whole set is slower and needs gigabytes."""
    total_loss, correct, seen = 0.0, 0, 0
    with _inference(model, channels_last):
        for images, targets in loader:
            images, targets = _to((images, targets), device)
            outputs = model(images)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += _correct(outputs, targets)
            seen += len(targets)
    if seen == 0:
        raise ValueError("evaluate: el loader no dio ninguna muestra (¿un dataset vacío?).")
    return total_loss / seen, correct / seen


def _in_order(loader: Iterable) -> Iterable:
    """A training loader's samples in order, in batches of ``EVAL_BATCH_SIZE``: no shuffle is
    drawn, so the next epochs see the batches they would anyway."""
    if isinstance(loader, TensorBatches):
        return TensorBatches(loader.images, loader.labels, EVAL_BATCH_SIZE)
    if isinstance(loader, DataLoader):
        return DataLoader(loader.dataset, batch_size=EVAL_BATCH_SIZE)
    return loader


def fit(model: nn.Module, train_loader: Iterable, test_loader: Iterable, loss_fn: nn.Module,
        optimizer: torch.optim.Optimizer, epochs: int, device: Device = None,
        eval_train: bool = True, callback: Callable[[History], None] | None = None,
        progress: bool = True, channels_last: bool = True) -> History:
    """Train for ``epochs``; returns per epoch the ``HISTORY_KEYS`` (``lr`` at the epoch's start,
    times in seconds).

    ``eval_train`` evaluates the whole training set after each epoch (in order), as the slides
    do: clean figures with the epoch's final weights; ``False`` keeps ``train_one_epoch``'s
    cheaper running ones. ``callback(history)`` runs after every epoch (e.g. ``plots.LivePlot()``).
    """
    if device is not None:
        model.to(device)
    history: History = {key: [] for key in HISTORY_KEYS}
    train_eval = _in_order(train_loader)
    bar = progress_bar(range(epochs), desc="épocas", disable=not progress)
    for _ in bar:
        history["lr"].append(optimizer.param_groups[0]["lr"])
        start = time.perf_counter()
        train_figures = train_one_epoch(model, train_loader, loss_fn, optimizer, device,
                                        channels_last=channels_last)
        middle = time.perf_counter()
        if eval_train:
            train_figures = evaluate(model, train_eval, loss_fn, device, channels_last)
        test_figures = evaluate(model, test_loader, loss_fn, device, channels_last)
        figures = (*train_figures, *test_figures, middle - start, time.perf_counter() - middle)
        for key, value in zip(HISTORY_KEYS[:4] + HISTORY_KEYS[5:], figures, strict=True):
            history[key].append(value)
        bar.set_postfix({"pérdida": config.format_number(history["train_loss"][-1], 4),
                         "aciertos en test": config.format_number(history["test_acc"][-1], 4)})
        if callback is not None:
            callback(history)
    return history


def _forever(batches: Iterable) -> Iterator:
    """The batches of ``batches``, pass after pass, without end."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("train_steps: no hay lotes (¿un dataset vacío?).")


def train_steps(model: nn.Module, batches: Iterable, loss_fn: nn.Module,
                optimizer: torch.optim.Optimizer, steps: int, watch: Iterable[nn.Module] = (),
                device: Device = None) -> dict[str, list]:
    """Train for ``steps`` optimizer steps (``batches`` again when they run out), recording per
    step ``loss`` (the batch's, before the step) and ``grad_norm`` (the weight gradient norm of
    each layer in ``watch``): for looking inside the first steps of training."""
    if device is not None:
        model.to(device)
    watch = list(watch)
    record: dict[str, list] = {"loss": [], "grad_norm": []}
    for _, batch in zip(range(steps), _forever(batches), strict=False):
        loss, _ = train_one_epoch(model, [batch], loss_fn, optimizer, device, channels_last=False)
        record["loss"].append(loss)
        record["grad_norm"].append([layer.weight.grad.norm().item() for layer in watch])
    return record


def predict(model: nn.Module, loader: Iterable, device: Device = None, progress: bool = False,
            channels_last: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(outputs, targets) of ``model`` over a whole loader, on the CPU, as ordinary tensors: a
    classifier's predictions, or a frozen backbone's features, computed once so that a head can
    train on them (``TensorBatches(features, targets)`` and ``fit``)."""
    outputs, targets = [], []
    with _inference(model, channels_last):
        for images, target in progress_bar(loader, desc="predicción", disable=not progress):
            outputs.append(model(_to((images,), device)[0]).cpu())
            targets.append(target)
    # torch.cat outside inference mode gives ordinary tensors, which autograd accepts
    return torch.cat(outputs), torch.cat(targets)


def calibrate_batchnorm(model: nn.Module, loader: Iterable, device: Device = None) -> nn.Module:
    """Set every ``BatchNorm2d``'s running statistics to the plain average over ``loader``'s
    batches, leaving the rest of the model and its modes as they were.

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
            model(_to((images,), device)[0])
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
    examples per class.

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
                    history: History | None = None, recipe: dict | None = None) -> Path:
    """Save model and optimizer state, history and recipe, through a temporary file and a move."""
    path = Path(path)
    state = {"model": model.state_dict(), "model_class": type(model).__name__,
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "history": history or {}, "recipe": recipe or {}}
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a ``save_checkpoint`` file into ``model`` (and ``optimizer``); returns its dict.
    A missing file or another model class raises an error that says so."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No hay ningún checkpoint en {path}. Entrena uno antes: ejecuta el cuaderno 06b o "
            "`cnn-course train`.")
    state = torch.load(path, map_location=map_location, weights_only=False)
    if state.get("model_class") not in (None, type(model).__name__):
        raise ValueError(f"{path} guarda un {state['model_class']}, no un {type(model).__name__}.")
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer"):
        optimizer.load_state_dict(state["optimizer"])
    return state


def save_history(history: History, path: str | Path) -> Path:
    """Write a history dict as JSON (atomically: a crash never leaves half a file)."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(history, indent=2))
    return path


# What peak_extra_bytes runs in a fresh Python: evaluate n random images with FashionCNN and print
# how much that raised the process's peak resident memory (Linux's VmHWM, in KiB).
_PEAK_CHILD = """
import sys, torch
from pathlib import Path
from cnn_course import models, training
def peak():
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmHWM"].split()[0]) * 1024
n, size = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
images, labels = torch.rand(n, 1, 28, 28), torch.randint(0, 10, (n,))
model, loss_fn = models.FashionCNN(), torch.nn.CrossEntropyLoss()
training.evaluate(model, [(images[:8], labels[:8])], loss_fn)      # warm-up: allocator, kernels
before = peak()
training.evaluate(model, [(images[i:i + size], labels[i:i + size]) for i in range(0, n, size)],
                  loss_fn)
print(peak() - before)
"""


def peak_extra_bytes(n: int, batch_size: int) -> int | None:
    """Bytes that evaluating ``n`` random 28x28 images with ``FashionCNN`` in batches of
    ``batch_size`` adds to the peak memory of a fresh Python process (a fresh one, so the memory
    the caller already holds does not hide the peak). Reads Linux's ``/proc/self/status``; None
    where there is none (Windows, macOS). Notebook 05."""
    if not Path("/proc/self/status").exists():
        return None
    result = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(n), str(batch_size)],
                            capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])
