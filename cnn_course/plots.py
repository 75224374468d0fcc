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

    The figure text is in Spanish, as the course's students read it.

    Returns:
        The matplotlib figure.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    else:
        fig = axes[0].figure
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for ax, metric, name in ((axes[0], "loss", "Pérdida"), (axes[1], "acc", "Tasa de aciertos")):
        ax.clear()
        ax.plot(epochs, history[f"train_{metric}"], "o-", label="entrenamiento")
        ax.plot(epochs, history[f"test_{metric}"], "s-", label="test")
        ax.set_xlabel("época")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name.lower())
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
    """Heat map of a confusion matrix (rows: true class, columns: predicted), every cell
    written in it; axis labels in Spanish.

    Returns:
        The matplotlib figure.
    """
    m = matrix.double()
    if normalize:
        m = m / m.sum(dim=1, keepdim=True).clamp(min=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 7.5))
    im = ax.imshow(m.numpy(), cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=40, ha="right", fontsize=10)
    ax.set_yticks(range(len(classes)), classes, fontsize=10)
    ax.set_xlabel("clase predicha", fontsize=11)
    ax.set_ylabel("clase verdadera", fontsize=11)
    for i in range(len(classes)):
        for j in range(len(classes)):
            value = m[i, j].item()
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if value > m.max().item() / 2 else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.figure.tight_layout()
    return ax.figure


def plot_kernels(weight: torch.Tensor, ncols: int = 8, size: float = 1.0, title: str = ""):
    """The 2D kernels of a convolution weight (out, in, k, k): one image per kernel of the first
    input channel, with a diverging colour map centred on zero (red positive, blue negative).

    Each kernel has its own colour scale, from minus to plus its largest absolute value (written
    above it), so that a kernel with small weights is as visible as one with large weights.

    Returns:
        The matplotlib figure.
    """
    kernels = weight.detach().cpu()[:, 0]
    n = len(kernels)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.4 + 0.4),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            limit = kernels[i].abs().max().item() or 1.0
            ax.imshow(kernels[i].numpy(), cmap="bwr", vmin=-limit, vmax=limit)
            ax.set_title(f"±{limit:.2f}", fontsize=7)
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
        fig.suptitle(f"{title} {tuple(maps.shape[1:])}", y=1.0, va="bottom")
    return fig


# ------------------------------------------------------- small matrices and sliding windows


def _draw_matrix(ax, values: np.ndarray, annotate: bool, cmap: str = "gray",
                 vmin: float | None = None, vmax: float | None = None,
                 fmt: str | None = None, symmetric: bool = False) -> None:
    """Draw a 2D array cell by cell on ``ax``, with cell borders and (optionally) its numbers.

    NaN cells stay white; ``fmt`` defaults to whole numbers when every value is one, else
    three significant digits; ``symmetric`` centres the colours on zero (for kernels).
    """
    values = np.asarray(values, dtype=float)
    colours = plt.get_cmap(cmap).with_extremes(bad="white")
    finite = values[np.isfinite(values)]
    if symmetric:
        limit = float(np.abs(finite).max()) if finite.size and finite.any() else 1.0
        vmin, vmax = -limit, limit
    vmin = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
    vmax = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
    ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=vmin, vmax=vmax)
    h, w = values.shape
    ax.hlines(np.arange(-0.5, h, 1), -0.5, w - 0.5, color="0.6", linewidth=0.5)
    ax.vlines(np.arange(-0.5, w, 1), -0.5, h - 0.5, color="0.6", linewidth=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if not annotate:
        return
    if fmt is None:
        fmt = ".0f" if np.all(finite == np.round(finite)) else ".3g"
    middle = (vmin + vmax) / 2
    light_is_high = cmap in ("gray", "Greys_r", "viridis")
    fontsize = 9 if max(h, w) <= 7 else 7 if max(h, w) <= 10 else 5
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            if symmetric:
                dark = abs(value) > 0.6 * vmax
            else:
                dark = value < middle if light_is_high else value > middle
            ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")


def plot_matrices(matrices: Sequence, titles: Sequence[str] | None = None,
                  annotate: bool = True, cmap: str = "gray", size: float = 2.4,
                  fmt: str | None = None, symmetric: bool = False):
    """Small 2D arrays side by side, each cell with its number (images, kernels, results).

    ``symmetric=True`` centres the colour map on zero, for kernels with a diverging map
    (``cmap="bwr"``: red positive, blue negative, white zero).

    Returns:
        The matplotlib figure.
    """
    fig, axes = plt.subplots(1, len(matrices), figsize=(size * len(matrices), size * 1.1),
                             squeeze=False)
    for k, (ax, matrix) in enumerate(zip(axes[0], matrices, strict=True)):
        if isinstance(matrix, torch.Tensor):
            matrix = matrix.detach().cpu().numpy()
        _draw_matrix(ax, matrix, annotate, cmap, fmt=fmt, symmetric=symmetric)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return fig


def plot_conv_steps(image, kernel_size: int | tuple[int, int] = 3,
                    stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                    steps: int | Sequence[int] = 4, kernel=None, annotate: bool | None = None,
                    size: float = 2.4):
    """The kernel sliding over an image, one column per step: the padded input with the window
    (top) and the output with the cell being computed (bottom).

    Windows go left to right, then top to bottom (the slides' order); step ``k`` is the
    ``k``-th window in that order. With a ``kernel`` the output cells show their values
    (computed by ``ops.conv2d_naive``); without one they only show which cells are done.

    Args:
        image: a 2D array (H, W).
        kernel_size, stride, padding: one int or (vertical, horizontal); the kernel's own
            shape wins when ``kernel`` is given.
        steps: how many first steps to draw, or the list of step numbers (0-based).
        kernel: a 2D kernel (kh, kw), or None.
        annotate: write the numbers in the cells (default: when the padded image is small).

    Returns:
        The matplotlib figure.
    """
    from . import ops

    image = image.detach().cpu() if isinstance(image, torch.Tensor) else torch.as_tensor(image)
    if image.dim() != 2:
        raise ValueError(f"plot_conv_steps draws one 2D image (H, W); got shape "
                         f"{tuple(image.shape)}. Pick one channel, e.g. image[0].")
    if kernel is not None:
        kernel = torch.as_tensor(kernel)
        kernel_size = tuple(kernel.shape)
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sv, sh = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    out_h = ops.output_size(image.shape[0], kh, sv, ph)
    out_w = ops.output_size(image.shape[1], kw, sh, pw)
    padded = ops.pad2d(image, (ph, pw)).double().numpy()
    if kernel is not None:
        output = ops.conv2d_naive(image, kernel, stride=(sv, sh), padding=(ph, pw))
        output = output.double().numpy()
    else:
        output = np.ones((out_h, out_w))
    steps = list(range(min(steps, out_h * out_w))) if isinstance(steps, int) else list(steps)
    if annotate is None:
        annotate = max(padded.shape) <= 12
    border = np.zeros((*padded.shape, 4))
    border[..., :] = (0.55, 0.75, 1.0, 0.0)
    border[:ph, :, 3] = border[padded.shape[0] - ph:, :, 3] = 0.55
    border[:, :pw, 3] = border[:, padded.shape[1] - pw:, 3] = 0.55
    fig, axes = plt.subplots(2, len(steps), figsize=(size * len(steps), size * 2.1),
                             squeeze=False)
    for col, step in enumerate(steps):
        i, j = divmod(step, out_w)
        top, bottom = axes[0, col], axes[1, col]
        _draw_matrix(top, padded, annotate)
        top.imshow(border)
        top.add_patch(plt.Rectangle((j * sh - 0.5, i * sv - 0.5), kw, kh, fill=False,
                                    edgecolor="red", linewidth=2.5))
        top.set_title(f"step {step + 1}: window at row {i * sv}, col {j * sh}", fontsize=8)
        shown = np.full((out_h, out_w), np.nan)
        shown.flat[:step + 1] = output.flat[:step + 1]
        if kernel is None:
            _draw_matrix(bottom, shown, False, cmap="Greys", vmin=0, vmax=3)
        else:
            _draw_matrix(bottom, shown, annotate, vmin=output.min(), vmax=output.max())
        bottom.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red",
                                       linewidth=2.5))
        # the output at the input's cell size, centred, so that the shrinking is visible
        extra_h, extra_w = (padded.shape[0] - out_h) / 2, (padded.shape[1] - out_w) / 2
        bottom.set_xlim(-0.5 - extra_w, out_w - 0.5 + extra_w)
        bottom.set_ylim(out_h - 0.5 + extra_h, -0.5 - extra_h)
        bottom.axis("off")
        bottom.set_title(f"output {out_h}x{out_w}: cell ({i}, {j})", fontsize=8)
    fig.tight_layout()
    return fig
