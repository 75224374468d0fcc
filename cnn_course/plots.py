"""Pictures: image grids, learning curves (also live while training), confusion matrix, kernels
and feature maps, small annotated matrices and the sliding window; and the one painter of value
matrices (``draw_matrix``) that the animations and the class panels use too. Figure text is
Spanish."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.figure
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import torch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .config import format_number
from .training import History

__all__ = ["show_images", "plot_history", "LivePlot", "confusion_matrix", "plot_confusion_matrix",
           "plot_kernels", "plot_feature_maps", "plot_matrices", "plot_conv_steps",
           "plot_accuracy_vs_labels", "draw_matrix", "cell_numbers", "draw_box",
           "missed_pixels", "matrix_axes", "text_scale", "smallest_text_points",
           "SMALLEST_TEXT_KEY", "PADDING_TINT", "MISSED_STYLE"]

# Sharp figures, text readable where they are shown, decided once for every notebook and file:
# a figure is shown FIGURE_DPI CSS pixels per inch, so the widest one (MAX_WIDTH inches) fills
# the site's SITE_WIDTH-pixel column exactly and is never shrunk; each point of text is then
# 79 / 72 = 1.1 px, and no text is smaller than MIN_FONT_PT (10 px). In IPython the inline
# backend sends PNGs at twice that size ('retina', with the width to show them at); files are
# saved at SAVE_DPI (2.5 times).
MAX_WIDTH = 10.0
SITE_WIDTH = 790
FIGURE_DPI = SITE_WIDTH / MAX_WIDTH
SAVE_DPI = 200
MIN_FONT_PT = 9.2   # 10 CSS px at FIGURE_DPI: 10 * 72 / 79 = 9.1
BASE_FONT_PT = 10.5  # matplotlib's font size here; projector mode scales it (text_scale)
plt.rcParams.update({"figure.dpi": FIGURE_DPI, "savefig.dpi": SAVE_DPI, "font.size": BASE_FONT_PT,
                     "legend.fontsize": 10, "legend.title_fontsize": 10})


# Each PNG the course draws records its smallest text, in the PNG's own pixels, in this text
# chunk: the site reads it to check that every figure stays readable where it is shown.
SMALLEST_TEXT_KEY = "cnn-course smallest text px"


def smallest_text_points(fig) -> float | None:
    """The font size, in points, of the smallest visible text of ``fig`` (None: no text)."""
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else None


def _retina_png(fig):
    """The inline backend's 'retina' PNG of ``fig`` (twice the pixels, the width to show it at),
    with its smallest text recorded (SMALLEST_TEXT_KEY)."""
    from IPython.core.pylabtools import retina_figure
    points = smallest_text_points(fig)
    record = {} if points is None else {SMALLEST_TEXT_KEY: f"{points * 2 * fig.dpi / 72:.2f}"}
    return retina_figure(fig, base64=True, metadata=record)


def _sharp_inline() -> None:
    """In IPython (a notebook), show figures as 'retina' PNGs: twice the pixels, same size."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        set_matplotlib_formats("retina")
        shell.display_formatter.formatters["image/png"].for_type(matplotlib.figure.Figure,
                                                                 _retina_png)


_sharp_inline()


def _as_image(img) -> np.ndarray:
    """A (H, W) or (H, W, C) numpy array from a tensor (C, H, W) / (H, W) or an array."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu()
        img = (img.permute(1, 2, 0) if img.dim() == 3 else img).numpy()
    img = np.asarray(img)
    return img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img


# tick labels as the prose writes numbers (0,85, not 0.85)
_PROSE_TICKS = FuncFormatter(lambda value, _: format_number(value))


def _grid(n: int, ncols: int, size: float, aspect: float, extra: float = 0.0):
    """A figure of ``n`` axes (off) in rows of ``ncols``, each ``size`` wide and
    ``size * aspect`` high (plus ``extra`` inches); returns it and the ``n`` axes."""
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * aspect + extra),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes.flat[:n]


def show_images(images: Sequence, labels: Sequence | None = None,
                classes: Sequence[str] | None = None, ncols: int = 8,
                size: float = 1.4, cmap: str = "gray", titles: Sequence[str] | None = None):
    """A grid of images titled by ``titles``, else by their labels (class names with
    ``classes``); each image has its own colour scale. ``size`` shrinks to keep the grid within
    ``MAX_WIDTH``. Returns the figure. Notebooks 00, 01, 02, 03, 04, 05, 06b, 07."""
    size = min(size, MAX_WIDTH / min(ncols, len(images)))
    fig, axes = _grid(len(images), ncols, size, 1.15)
    for i, ax in enumerate(axes):
        ax.imshow(_as_image(images[i]), cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=MIN_FONT_PT)
        elif labels is not None:
            label = int(labels[i])
            ax.set_title(classes[label] if classes else str(label), fontsize=MIN_FONT_PT)
    fig.tight_layout()
    return fig


def plot_history(history: History, title: str = "", axes=None):
    """Loss and accuracy per epoch, train vs test, side by side (the slides' result plots).
    Returns the figure. Notebooks 00, 07."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.8))
    else:
        fig = axes[0].figure
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for ax, metric, name in ((axes[0], "loss", "Pérdida"), (axes[1], "acc", "Tasa de aciertos")):
        ax.clear()
        ax.plot(epochs, history[f"train_{metric}"], "o-", label="entrenamiento")
        ax.plot(epochs, history[f"test_{metric}"], "s-", label="test")
        ax.set_xlabel("época")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs
        ax.yaxis.set_major_formatter(_PROSE_TICKS)
        ax.set_ylabel(name.lower())
        ax.set_title(f"{name} {title}".strip())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


class LivePlot:
    """A ``fit`` callback that redraws the learning curves after every epoch in a notebook;
    outside one (a script, CI) it draws nothing. Notebook 06b."""

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
            self.fig = plt.figure(figsize=(MAX_WIDTH, 3.8))
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
    """Counts [true class, predicted class] as an int64 tensor. Notebook 06b."""
    index = targets.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def plot_confusion_matrix(matrix: torch.Tensor, classes: Sequence[str], normalize: bool = True,
                          ax=None):
    """Heat map of a confusion matrix (rows: true class, columns: predicted), every cell
    written in it (row fractions with ``normalize``). Returns the figure. Notebook 06b."""
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
    for (i, j), value in np.ndenumerate(m.numpy()):
        ax.text(j, i, format_number(value, 2 if normalize else 0), ha="center", va="center",
                fontsize=MIN_FONT_PT, color="white" if value > m.max().item() / 2 else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, format=_PROSE_TICKS)
    ax.figure.tight_layout()
    return ax.figure


def plot_kernels(weight: torch.Tensor, ncols: int = 8, size: float = 1.0, title: str = ""):
    """The kernels of a convolution weight (out, in, k, k) for its first input channel, in a
    diverging map centred on zero (red positive, blue negative). Each kernel has its own scale,
    up to its largest absolute value (written above it), so small kernels stay visible.
    Returns the figure. Notebook 06b."""
    kernels = weight.detach().cpu()[:, 0]
    fig, axes = _grid(len(kernels), ncols, size, 1.4, 0.4)
    for ax, kernel in zip(axes, kernels, strict=True):
        limit = kernel.abs().max().item() or 1.0
        ax.imshow(kernel.numpy(), cmap="bwr", vmin=-limit, vmax=limit)
        ax.set_title(f"±{format_number(limit, 2)}", fontsize=MIN_FONT_PT)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_feature_maps(maps: torch.Tensor, max_maps: int = 16, ncols: int = 8, size: float = 1.1,
                      title: str = ""):
    """The first ``max_maps`` channels of one image's feature maps (C, H, W) or (1, C, H, W),
    each with its own colour scale (the title says so). Returns the figure. Notebook 04."""
    maps = maps.detach().cpu()
    maps = (maps[0] if maps.dim() == 4 else maps)[:max_maps]
    fig = show_images(list(maps), ncols=ncols, size=size, cmap="viridis",
                      titles=[f"canal {i}" for i in range(len(maps))])
    heading = f"{title} {tuple(maps.shape[1:])}".strip()
    fig.suptitle(f"{heading}: cada mapa con su propia escala de color", y=1.0, va="bottom",
                 fontsize=11)
    return fig


# ---------------------------------- the painter: every value matrix (figures, animations, panels)

PADDING_TINT = (0.55, 0.75, 1.0, 0.55)   # padding cells: light blue over their values
MISSED_STYLE = {"facecolor": (1.0, 0.0, 0.0, 0.2), "hatch": "xx", "edgecolor": "tab:red",
                "linewidth": 0}          # image pixels that no window visits: hatched red
LARGEST_NUMBER_PT = 11.0   # a cell's number: as large as the cell allows, up to this
_BORDER_MIN_PT = 4.0       # cells smaller than this (a photo) get no borders


def text_scale() -> float:
    """1 normally, larger in projector mode (``panels.projector_mode`` scales the font size):
    the factor for text and line sizes written as numbers."""
    return plt.rcParams["font.size"] / BASE_FONT_PT


def draw_box(ax, top: int, left: int, height: int = 1, width: int = 1, colour: str = "red",
             linewidth: float = 2.5) -> None:
    """A rectangle around cells (a window, the cell being computed), in data cells."""
    ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                               edgecolor=colour, linewidth=linewidth * text_scale()))


def missed_pixels(shape: tuple[int, int], windows, padding: tuple[int, int] = (0, 0)
                  ) -> np.ndarray:
    """The pixels of an image, not of its ``padding`` (rows, columns per side), that none of
    ``windows`` (top, left, height, width on the padded image of ``shape``) covers: a boolean
    mask of ``shape``."""
    covered = np.zeros(shape, dtype=bool)
    for top, left, h, w in windows:
        covered[top:top + h, left:left + w] = True
    inside = np.zeros(shape, dtype=bool)
    inside[padding[0]:shape[0] - padding[0], padding[1]:shape[1] - padding[1]] = True
    return inside & ~covered


def matrix_axes(ax, shape: tuple[int, int]) -> None:
    """Make ``ax`` a frame for a matrix of ``shape`` (limits, square cells, no ticks), so that
    the figure can be laid out before ``draw_matrix`` sizes the numbers."""
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_matrix(ax, values, *, cmap: str = "gray", vmin: float | None = None,
                vmax: float | None = None, symmetric: bool = False, numbers: bool = True,
                fmt: str | None = None, padding: tuple[int, int] = (0, 0),
                missed: np.ndarray | None = None, boxes=()) -> None:
    """Draw a 2D array cell by cell on ``ax``: colours from ``vmin`` to ``vmax`` (default: the
    finite values' range; ``symmetric`` centres it on zero, for a diverging map such as
    ``"bwr"``), NaN cells white, thin borders where cells are large enough to see; the
    ``padding`` rows and columns tinted (``PADDING_TINT``), the ``missed`` pixels hatched
    (``MISSED_STYLE``), red ``boxes`` (top, left, height, width); with ``numbers``, each finite
    cell's number (``cell_numbers``), white on dark cells. Call it once the figure's layout is
    final: a cell's size decides its number's. The one painter of ``plot_matrices``,
    ``plot_conv_steps``, ``animations`` and ``panels``."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if symmetric:
        limit = float(np.abs(finite).max()) if finite.any() else 1.0
        vmin, vmax = -limit, limit
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    if vmax is None:
        vmax = float(finite.max()) if finite.size else 1.0
    colours = plt.get_cmap(cmap).with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    h, w = values.shape
    cell = _cell_points(ax)
    if cell >= _BORDER_MIN_PT:
        ax.hlines(np.arange(-0.5, h, 1), -0.5, w - 0.5, color="0.6", linewidth=0.5)
        ax.vlines(np.arange(-0.5, w, 1), -0.5, h - 0.5, color="0.6", linewidth=0.5)
    ph, pw = padding
    if ph or pw:
        tint = np.zeros((h, w, 4))
        tint[:ph, :] = tint[h - ph:, :] = PADDING_TINT
        tint[:, :pw] = tint[:, w - pw:] = PADDING_TINT
        ax.imshow(tint)
    for r, c in zip(*np.nonzero(missed if missed is not None else []), strict=True):
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, **MISSED_STYLE))
    for box in boxes:
        draw_box(ax, *box)
    if not numbers or not finite.size:
        return
    texts, fontsize = cell_numbers(values, cell, fmt)
    shade = colours(np.clip((values - vmin) / ((vmax - vmin) or 1.0), 0, 1))
    dark = shade[..., :3] @ np.array([0.299, 0.587, 0.114]) < 0.5   # the cell's brightness
    for (i, j), text in texts.items():
        ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                color="white" if dark[i, j] else "black")


def cell_numbers(values: np.ndarray, cell: float, fmt: str | None = None
                 ) -> tuple[dict[tuple[int, int], str], float]:
    """The one rule for numbers in cells ``cell`` points wide: each finite value written as the
    prose does (0,25), with ``fmt`` (a format spec) or else whole numbers if all are, else 3
    significant digits (fewer where they would not fit at ``MIN_FONT_PT``); and one font size
    for all, as large as the widest number and the cell allow, from ``MIN_FONT_PT`` to
    ``LARGEST_NUMBER_PT`` (both times ``text_scale()``). Returns ({(row, column): text}, size)."""
    finite = values[np.isfinite(values)]
    whole = np.all(finite == np.round(finite))
    smallest, largest = MIN_FONT_PT * text_scale(), LARGEST_NUMBER_PT * text_scale()
    for spec in [fmt] if fmt else [".0f"] if whole else [".3g", ".2g", ".1g"]:
        texts = {index: format_number(value, spec) for index, value in np.ndenumerate(values)
                 if np.isfinite(value)}
        widest = max(max(len(t) for t in texts.values()), 2)
        fontsize = min(largest, 0.55 * cell, 0.85 * cell / (0.6 * widest))
        if fontsize >= smallest:
            break
    return texts, max(fontsize, smallest)


def _cell_points(ax) -> float:
    """The side of one cell (one unit of data) drawn on ``ax``, in typographic points."""
    ax.apply_aspect()
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    columns = abs(np.diff(ax.get_xlim())[0])
    rows = abs(np.diff(ax.get_ylim())[0])
    return 72 * min(box.width * width_in / columns, box.height * height_in / rows)


def plot_matrices(matrices: Sequence, titles: Sequence[str] | None = None,
                  annotate: bool = True, cmap: str = "gray", size: float = 2.4,
                  fmt: str | None = None, symmetric: bool = False):
    """Small 2D arrays side by side, each cell with its number as large as the cell allows
    (a larger ``size``, inches per matrix, gives larger numbers; at most ``MAX_WIDTH`` in all).
    ``symmetric=True`` centres each matrix's own scale on zero, for a diverging map such as
    ``cmap="bwr"`` (red positive, blue negative, white zero). Returns the figure.
    Notebooks 00, 02, 03, 04."""
    arrays = [np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, dtype=float)
              for m in matrices]
    size = min(size, MAX_WIDTH / len(arrays))
    tallest = max(min(a.shape[0] / a.shape[1], 1.0) for a in arrays)   # height / width
    fig, axes = plt.subplots(1, len(arrays), figsize=(size * len(arrays), size * tallest + 0.45),
                             squeeze=False)
    for ax, values in zip(axes[0], arrays, strict=True):
        matrix_axes(ax, values.shape)
    for ax, title in zip(axes[0], titles or [], strict=False):
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    for ax, values in zip(axes[0], arrays, strict=True):
        draw_matrix(ax, values, cmap=cmap, symmetric=symmetric, numbers=annotate, fmt=fmt)
    return fig


def plot_conv_steps(image, kernel_size: int | tuple[int, int] = 3,
                    stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                    steps: int | Sequence[int] = 4, kernel=None, annotate: bool | None = None,
                    size: float = 2.4):
    """The kernel sliding over a 2D image (H, W), one column per step: the padded input with
    the window (top) and the output with the cell being computed (bottom). Notebooks 02, 03.

    Step ``k`` is the ``k``-th window, left to right then top to bottom (the slides' order);
    ``steps`` is a count of first steps or a list of 0-based steps. ``kernel_size``, ``stride``
    and ``padding`` are an int or (vertical, horizontal); a ``kernel`` (kh, kw) sets the size and
    fills the output cells with values (``ops.conv2d_naive``), without one they only show which
    cells are done. Padding is shaded blue; pixels no window covers (a stride that does not fit)
    are hatched red. ``annotate`` writes the numbers (default: when the padded image is at most
    12 cells); ``size`` is inches per step (at most ``MAX_WIDTH`` in all). Returns the figure.
    """
    from . import ops

    image = image.detach().cpu() if isinstance(image, torch.Tensor) else torch.as_tensor(image)
    if image.dim() != 2:
        raise ValueError(f"plot_conv_steps dibuja una imagen 2D (H, W), no de forma "
                         f"{tuple(image.shape)}. Elige un canal, p. ej. image[0].")
    if kernel is not None:
        kernel = torch.as_tensor(kernel)
        kernel_size = tuple(kernel.shape)
    (kh, kw), (sv, sh), (ph, pw) = (ops.as_pair(kernel_size, "kernel_size"),
                                    ops.as_pair(stride, "stride"), ops.as_pair(padding, "padding"))
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
    missed = missed_pixels(padded.shape, [(i * sv, j * sh, kh, kw) for i in range(out_h)
                                          for j in range(out_w)], (ph, pw))
    size = min(size, MAX_WIDTH / len(steps))
    fig, axes = plt.subplots(2, len(steps), figsize=(size * len(steps), size * 2.5),
                             squeeze=False)
    for col, step in enumerate(steps):   # the frames first: the numbers need the final layout
        i, j = divmod(step, out_w)
        top, bottom = axes[0, col], axes[1, col]
        matrix_axes(top, padded.shape)
        top.set_title(f"paso {step + 1}\nventana en fila {i * sv}, columna {j * sh}",
                      fontsize=MIN_FONT_PT)
        # the output at the input's cell size, centred, so that the shrinking is visible
        extra_h, extra_w = (padded.shape[0] - out_h) / 2, (padded.shape[1] - out_w) / 2
        matrix_axes(bottom, (out_h, out_w))
        bottom.set_xlim(-0.5 - extra_w, out_w - 0.5 + extra_w)
        bottom.set_ylim(out_h - 0.5 + extra_h, -0.5 - extra_h)
        bottom.axis("off")
        bottom.set_title(f"salida {out_h}×{out_w}: celda ({i}, {j})", fontsize=MIN_FONT_PT)
    legend = [plt.Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="red",
                            linewidth=2.5 * text_scale(), label="ventana del núcleo")]
    if ph or pw:   # the tint as it looks over a 0
        legend.append(plt.Rectangle((0, 0), 1, 1, label="relleno", facecolor=tuple(
            c * PADDING_TINT[3] for c in PADDING_TINT[:3])))
    if missed.any():
        legend.append(plt.Rectangle((0, 0), 1, 1, **MISSED_STYLE,
                                    label="píxeles que ninguna ventana visita"))
    if len(legend) > 1:
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        fig.legend(handles=legend, loc="lower center", ncols=len(legend), fontsize=MIN_FONT_PT,
                   frameon=False, handlelength=1.6, handleheight=1.6)
    else:
        fig.tight_layout()
    for col, step in enumerate(steps):
        i, j = divmod(step, out_w)
        draw_matrix(axes[0, col], padded, numbers=annotate, padding=(ph, pw), missed=missed,
                    boxes=[(i * sv, j * sh, kh, kw)])
        shown = np.full((out_h, out_w), np.nan)
        shown.flat[:step + 1] = output.flat[:step + 1]
        if kernel is None:
            draw_matrix(axes[1, col], shown, cmap="Greys", vmin=0, vmax=3, numbers=False,
                        boxes=[(i, j, 1, 1)])
        else:
            draw_matrix(axes[1, col], shown, vmin=output.min(), vmax=output.max(),
                        numbers=annotate, boxes=[(i, j, 1, 1)])
    return fig


def plot_accuracy_vs_labels(curves: dict[str, dict[int, list[float]]], title: str = "",
                            ax=None):
    """Test accuracy against labelled images per class (``training.accuracy_vs_labels``), one
    line per method: the mean over the seeds in a band from the worst to the best seed, on a
    logarithmic x axis. Returns the figure. Notebook 07."""
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.4))
    for (name, results), marker in zip(curves.items(), "osd^v", strict=False):
        sizes = sorted(results)
        accs = np.array([results[n] for n in sizes])
        line, = ax.plot(sizes, accs.mean(axis=1), marker=marker, label=name)
        ax.fill_between(sizes, accs.min(axis=1), accs.max(axis=1), color=line.get_color(),
                        alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [format_number(n) for n in sizes])
    ax.minorticks_off()
    ax.yaxis.set_major_formatter(_PROSE_TICKS)
    ax.set_xlabel("imágenes etiquetadas por clase (escala logarítmica)")
    ax.set_ylabel("tasa de aciertos en test")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=MIN_FONT_PT)
    ax.figure.tight_layout()
    return ax.figure
