"""Pictures: image grids, learning curves (also live while training), confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from .training import History


def _as_image(img) -> np.ndarray:
    """A (H, W) or (H, W, C) numpy array from a tensor (C, H, W) / (H, W) or an array."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu()
        if img.dim() == 3:
            img = img.permute(1, 2, 0)
        img = img.numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


def show_images(images: Sequence, labels: Sequence | None = None,
                classes: Sequence[str] | None = None, ncols: int = 8,
                size: float = 1.4, cmap: str = "gray", titles: Sequence[str] | None = None):
    """A grid of images with their labels (class names if ``classes`` is given).

    Returns:
        The matplotlib figure.
    """
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_as_image(images[i]), cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
        elif labels is not None:
            label = int(labels[i])
            ax.set_title(classes[label] if classes else str(label), fontsize=8)
    fig.tight_layout()
    return fig


def plot_history(history: History, title: str = "", axes=None):
    """Loss and accuracy per epoch, train vs test, side by side (the slides' result plots).

    Returns:
        The matplotlib figure.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    else:
        fig = axes[0].figure
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for ax, metric, name in ((axes[0], "loss", "Loss"), (axes[1], "acc", "Accuracy")):
        ax.clear()
        ax.plot(epochs, history[f"train_{metric}"], "o-", label="train")
        ax.plot(epochs, history[f"test_{metric}"], "s-", label="test")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.set_title(f"{name} {title}".strip())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


class LivePlot:
    """A ``fit`` callback that redraws the learning curves after every epoch in a notebook.

    Outside a notebook (a script, CI) it draws nothing until ``fit`` ends.
    """

    def __init__(self, title: str = ""):
        self.title = title
        self.fig = None

    def __call__(self, history: History) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import clear_output, display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self.fig is None:
            self.fig = plt.figure(figsize=(11, 3.8))
            self.fig.subplots(1, 2)
        plot_history(history, self.title, axes=self.fig.axes)
        clear_output(wait=True)
        display(self.fig)

    def close(self) -> None:
        """Close the figure so that the notebook does not show it a second time."""
        if self.fig is not None:
            plt.close(self.fig)


def confusion_matrix(predictions: torch.Tensor, targets: torch.Tensor,
                     num_classes: int) -> torch.Tensor:
    """Counts [true class, predicted class] as an int64 tensor."""
    index = targets.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def plot_confusion_matrix(matrix: torch.Tensor, classes: Sequence[str], normalize: bool = True,
                          ax=None):
    """Heat map of a confusion matrix (rows: true class, columns: predicted).

    Returns:
        The matplotlib figure.
    """
    m = matrix.double()
    if normalize:
        m = m / m.sum(dim=1, keepdim=True).clamp(min=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(m.numpy(), cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            value = m[i, j].item()
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if value > m.max().item() / 2 else "black")
    ax.figure.colorbar(im, ax=ax)
    ax.figure.tight_layout()
    return ax.figure


def plot_kernels(weight: torch.Tensor, ncols: int = 8, size: float = 1.0, title: str = ""):
    """The 2D kernels of a convolution weight (out, in, k, k): one image per kernel of the first
    input channel, with a diverging colour map centred on zero (red positive, blue negative).

    Returns:
        The matplotlib figure.
    """
    kernels = weight.detach().cpu()[:, 0]
    limit = kernels.abs().max().item() or 1.0
    n = len(kernels)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(kernels[i].numpy(), cmap="bwr", vmin=-limit, vmax=limit)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_feature_maps(maps: torch.Tensor, max_maps: int = 16, ncols: int = 8, size: float = 1.1,
                      title: str = ""):
    """The channels of one image's feature maps (C, H, W) or (1, C, H, W), each as an image.

    Returns:
        The matplotlib figure.
    """
    maps = maps.detach().cpu()
    if maps.dim() == 4:
        maps = maps[0]
    maps = maps[:max_maps]
    fig = show_images(list(maps), ncols=ncols, size=size, cmap="viridis",
                      titles=[f"{i}" for i in range(len(maps))])
    if title:
        # above the top row's titles: show_images' tight_layout has already filled the figure
        fig.suptitle(f"{title} {tuple(maps.shape[1:])}", y=1.0, va="bottom")
    return fig
