"""The training engine: the exercise's recipe, one epoch, evaluation in batches, ``fit`` ->
history, step-by-step records (``train_steps``), ``predict`` (outputs or features of a whole
loader), checkpoints.

Works for multi-class models (logits + ``CrossEntropyLoss``) and binary ones (a sigmoid output
of shape (N, 1) + ``BCELoss``). Loss functions are expected to average over the batch (the
default ``reduction="mean"``); every figure here is weighted by batch size, so it equals the
figure of one pass over the whole set.

Speed on a CPU: by default the model runs in the ``channels_last`` memory format while it trains
or is evaluated (oneDNN's convolutions and max-pooling are much faster in that layout than in
the default NCHW one) and is put back in the default layout afterwards, so state dicts, weight
pictures and ``.view`` calls see ordinary tensors. The numbers are the same up to float
rounding; ``channels_last=False`` gives the plain path.
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
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import config
from .datasets import EVAL_BATCH_SIZE, FashionData, TensorBatches, fashion_batches
from .downloads import atomic_write

__all__ = [
    "EXERCISE", "HISTORY_KEYS", "History", "Recipe", "evaluate", "fit", "load_checkpoint",
    "memory_format", "predict", "progress_bar", "save_checkpoint", "save_history",
    "train_one_epoch", "train_steps", "train_with_recipe",
]



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
        """The recipe as saved beside a trained model: these numbers, the loss and optimizer,
        the model, the data and the device."""
        return {"model": type(model).__name__, "loss": "CrossEntropyLoss",
                "optimizer": "Adagrad", **asdict(self), "epochs": self.epochs_to_run(),
                "device": str(device), "data_source": data.source,
                "train_size": len(data.train), "test_size": len(data.test),
                "quick": config.quick_mode()}


EXERCISE = Recipe()


def train_with_recipe(model: nn.Module, data: FashionData, recipe: Recipe = EXERCISE,
                      device: torch.device | str | None = None,
                      callback: Callable[[History], None] | None = None,
                      progress: bool = True) -> tuple[History, torch.optim.Optimizer]:
    """Train ``model`` on ``data`` with ``recipe`` (seed first, then build the model, so that
    the initial weights repeat): batches of ``batch_size`` shuffled with ``seed``, cross-entropy,
    Adagrad, ``epochs_to_run()`` epochs of ``fit``.

    Returns:
        (history, optimizer), the optimizer for checkpoints and for looking at Adagrad's state.
    """
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


def _to(batch: Iterable[torch.Tensor], device: torch.device | str | None):
    return [t.to(device, non_blocking=True) if device is not None else t for t in batch]


@contextmanager
def memory_format(model: nn.Module, channels_last: bool = True) -> Iterator[nn.Module]:
    """Run ``model`` in the ``channels_last`` layout inside the block, then back to NCHW.

    Only 4-D parameters and buffers (convolution kernels) change layout; their values and the
    parameter objects (those the optimizer holds) stay the same. ``channels_last=False`` or a
    model without 4-D weights leaves everything as it is.
    """
    if not channels_last:
        yield model
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield model
    finally:
        model.to(memory_format=torch.contiguous_format)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str | None = None,
    progress: bool = False,
    channels_last: bool = True,
) -> tuple[float, float]:
    """One pass over ``loader``, the slides' loop; batches are moved to ``device`` here.

    ``channels_last`` runs the convolutions in the faster layout (see ``memory_format``).

    Returns:
        (mean loss, accuracy) over the epoch's batches, weighted by batch size (the running
        figures while the weights change, not a clean evaluation).
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    with memory_format(model, channels_last):
        batches = progress_bar(loader, desc="train", leave=False, disable=not progress)
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


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: nn.Module,
    device: torch.device | str | None = None,
    channels_last: bool = True,
) -> tuple[float, float]:
    """Loss and accuracy of ``model`` over ``loader``, in batches, under inference mode.

    The loss is the sample-weighted mean (each batch mean times its size, over the number of
    samples), so it equals one pass over the whole set in one batch, whatever the batch sizes.
    Batches of a few hundred images are fastest on a CPU (they stay in the cache); one batch of
    the whole set is slower and needs gigabytes. ``channels_last``: see ``memory_format``.

    Returns:
        (mean loss, accuracy).
    """
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    # the layout changes outside inference mode, so the weights stay usable for training
    with memory_format(model, channels_last), torch.inference_mode():
        for images, targets in loader:
            images, targets = _to((images, targets), device)
            outputs = model(images)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += _correct(outputs, targets)
            seen += len(targets)
    model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader gave no samples (an empty dataset?).")
    return total_loss / seen, correct / seen


def _in_order(loader: Iterable) -> Iterable:
    """The samples of a training loader in order, in batches of ``EVAL_BATCH_SIZE``, for
    evaluation: no shuffle is drawn, so the next epochs see the batches they would anyway."""
    if isinstance(loader, TensorBatches):
        return TensorBatches(loader.images, loader.labels, EVAL_BATCH_SIZE)
    if isinstance(loader, DataLoader):
        return DataLoader(loader.dataset, batch_size=EVAL_BATCH_SIZE)
    return loader


def fit(
    model: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: torch.device | str | None = None,
    eval_train: bool = True,
    callback: Callable[[History], None] | None = None,
    progress: bool = True,
    channels_last: bool = True,
) -> History:
    """Train for ``epochs`` and record, per epoch, what the slides track.

    Args:
        eval_train: after each epoch evaluate the whole training set too (in order, in batches
            of ``EVAL_BATCH_SIZE``), as the slides do: clean figures with the epoch's final
            weights. ``False`` keeps the cheaper running figures of ``train_one_epoch``.
        callback: called with the history after every epoch (e.g. ``plots.LivePlot()``).
        progress: a progress bar over the epochs.
        channels_last: train and evaluate in the faster ``channels_last`` layout (the model is
            back in the default layout when ``fit`` returns); ``False`` for the plain path.

    Returns:
        A dict of lists, one value per epoch: ``train_loss``, ``train_acc``, ``test_loss``,
        ``test_acc``, ``lr`` (at the start of the epoch), ``train_time`` and ``eval_time``
        (seconds).
    """
    if device is not None:
        model.to(device)
    history: History = {key: [] for key in HISTORY_KEYS}
    train_eval = _in_order(train_loader)
    bar = progress_bar(range(epochs), desc="epochs", disable=not progress)
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
        bar.set_postfix(train_loss=f"{history['train_loss'][-1]:.4f}",
                        test_acc=f"{history['test_acc'][-1]:.4f}")
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
            raise ValueError("train_steps: the batches are empty (an empty dataset?).")


def train_steps(
    model: nn.Module,
    batches: Iterable,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    steps: int,
    watch: Iterable[nn.Module] = (),
    device: torch.device | str | None = None,
) -> dict[str, list]:
    """Train for ``steps`` optimizer steps (going over ``batches`` again when they run out) and
    record every step: for looking inside the first steps of training, not for whole epochs.

    Args:
        watch: layers (with a ``weight``) whose gradient norm is recorded at every step.

    Returns:
        ``loss``: the loss of each step's batch (before the step); ``grad_norm``: per step, the
        norm of the gradient of each watched layer's weight, in the order of ``watch``.
    """
    if device is not None:
        model.to(device)
    watch = list(watch)
    record: dict[str, list] = {"loss": [], "grad_norm": []}
    for _, batch in zip(range(steps), _forever(batches), strict=False):
        loss, _ = train_one_epoch(model, [batch], loss_fn, optimizer, device, channels_last=False)
        record["loss"].append(loss)
        record["grad_norm"].append([layer.weight.grad.norm().item() for layer in watch])
    return record


def predict(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` over a whole loader once, in batches and inference mode: its outputs (the
    predictions of a classifier, the features of a backbone) and the targets.

    For a frozen backbone (transfer learning) the outputs never change, so they can be computed
    once and the head trained on them (``TensorBatches(features, targets)`` and ``fit``), which
    skips the expensive part of every epoch.

    Returns:
        (outputs, targets) concatenated on the CPU, as ordinary tensors (usable for training).
    """
    was_training = model.training
    model.eval()
    outputs, targets = [], []
    with torch.inference_mode():
        for images, target in progress_bar(loader, desc="predict", disable=not progress):
            outputs.append(model(_to((images,), device)[0]).cpu())
            targets.append(target)
    model.train(was_training)
    # torch.cat outside inference mode gives ordinary tensors, which autograd accepts
    return torch.cat(outputs), torch.cat(targets)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | Path, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    history: History | None = None, recipe: dict | None = None) -> Path:
    """Save model and optimizer state, history and recipe, through a temporary file and a move."""
    path = Path(path)
    state = {
        "model": model.state_dict(),
        "model_class": type(model).__name__,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "history": history or {},
        "recipe": recipe or {},
    }
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by ``save_checkpoint`` into ``model`` (and ``optimizer``).

    Returns:
        The checkpoint dict (``history``, ``recipe``, ...).

    Raises:
        FileNotFoundError: no file at ``path`` (the message says how to make one).
        ValueError: the checkpoint is for another model class.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}. Train one first: run notebook 06b or `cnn-course train`.")
    state = torch.load(path, map_location=map_location, weights_only=False)
    if state.get("model_class") not in (None, type(model).__name__):
        raise ValueError(f"{path} holds a {state['model_class']}, not a {type(model).__name__}.")
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer"):
        optimizer.load_state_dict(state["optimizer"])
    return state


def save_history(history: History, path: str | Path) -> Path:
    """Write a history dict as JSON."""
    path = Path(path)
    path.write_text(json.dumps(history, indent=2))
    return path
