"""The training engine: one epoch, evaluation in batches, ``fit`` -> history, step-by-step
records (``train_steps``), feature extraction for frozen backbones, checkpoints.

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
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

History = dict[str, list[float]]
HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr",
                "train_time", "eval_time")


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
    """Train ``model`` for one pass over ``loader``; batches are moved to ``device`` here.

    ``channels_last`` runs the convolutions in the faster layout (see ``memory_format``).

    Returns:
        (mean loss, accuracy) over the epoch's batches, weighted by batch size (the running
        figures while the weights change, not a clean evaluation).
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    with memory_format(model, channels_last):
        for images, targets in tqdm(loader, desc="train", leave=False, disable=not progress):
            images, targets = _to((images, targets), device)
            outputs = model(images)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n = len(targets)
            total_loss += loss.item() * n
            correct += _correct(outputs.detach(), targets)
            seen += n
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
            n = len(targets)
            total_loss += loss_fn(outputs, targets).item() * n
            correct += _correct(outputs, targets)
            seen += n
    model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader gave no samples (an empty dataset?).")
    return total_loss / seen, correct / seen


def fit(
    model: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: torch.device | str | None = None,
    scheduler=None,
    train_eval_loader: Iterable | None = None,
    callback: Callable[[History], None] | None = None,
    progress: bool = True,
    batch_progress: bool = False,
    channels_last: bool = True,
) -> History:
    """Train for ``epochs`` and record, per epoch, what the slides track.

    After each epoch the model is evaluated on the training set (``train_eval_loader``, default
    ``train_loader``) and on ``test_loader``, as the slides do: clean figures with the epoch's
    final weights. ``train_eval_loader=False`` keeps the cheaper running figures instead.

    Args:
        callback: called with the history after every epoch (e.g. ``plots.LivePlot()``).
        progress, batch_progress: a progress bar over epochs, and one over each epoch's batches.
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
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for _ in bar:
        history["lr"].append(optimizer.param_groups[0]["lr"])
        start = time.perf_counter()
        running = train_one_epoch(model, train_loader, loss_fn, optimizer, device,
                                  batch_progress, channels_last)
        middle = time.perf_counter()
        if train_eval_loader is False:
            train_loss, train_acc = running
        else:
            train_loss, train_acc = evaluate(model, train_eval_loader or train_loader, loss_fn,
                                             device, channels_last)
        test_loss, test_acc = evaluate(model, test_loader, loss_fn, device, channels_last)
        if scheduler is not None:
            scheduler.step()
        for key, value in zip(HISTORY_KEYS[:4], (train_loss, train_acc, test_loss, test_acc),
                              strict=False):
            history[key].append(value)
        history["train_time"].append(middle - start)
        history["eval_time"].append(time.perf_counter() - middle)
        bar.set_postfix(train_loss=f"{train_loss:.4f}", test_acc=f"{test_acc:.4f}")
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


def extract_features(
    backbone: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``backbone`` over a whole loader once, in batches and inference mode.

    For a frozen backbone (transfer learning) its outputs never change, so they can be
    computed once and the head trained on them (``TensorBatches(features, targets)`` and
    ``fit``), which skips the expensive part of every epoch.

    Returns:
        (outputs, targets) concatenated on the CPU, as ordinary tensors (usable for training).
    """
    was_training = backbone.training
    backbone.eval()
    outputs, targets = [], []
    with torch.inference_mode():
        for images, target in tqdm(loader, desc="features", disable=not progress):
            outputs.append(backbone(_to((images,), device)[0]).cpu())
            targets.append(target)
    backbone.train(was_training)
    # torch.cat outside inference mode gives ordinary tensors, which autograd accepts
    return torch.cat(outputs), torch.cat(targets)


def predict(model: nn.Module, loader: Iterable, device: torch.device | str | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Model outputs and targets for a whole loader, concatenated (under inference mode)."""
    return extract_features(model, loader, device, progress=False)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | Path, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    history: History | None = None, recipe: dict | None = None) -> Path:
    """Save model and optimizer state, history and recipe, through a temporary file and a move."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "model_class": type(model).__name__,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "history": history or {},
        "recipe": recipe or {},
    }
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
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
            f"No checkpoint at {path}. Train one first: run notebook 06 or `cnn-course train`.")
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
