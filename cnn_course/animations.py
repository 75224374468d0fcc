"""Animations for class (notebooks 02-04): the kernel sliding over an image, padding and stride,
max and average pooling, and the receptive field growing through ``FashionCNN``.

Each animation is a list of ``Frame`` (where the window is, which output cell it fills and the
value ``ops`` computed there: the same list draws the frames and is checked by the tests),
drawn by matplotlib and stored as an animated PNG (APNG, written by Pillow). An APNG is an
``image/png`` output: Jupyter, nbconvert, the course site and GitHub show it as any figure;
browsers play it with no script, and a viewer that cannot animate shows the first frame. Figure
text is Spanish.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib as mpl
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from torch import nn

from . import ops
from .config import format_number
from .plots import (
    MIN_FONT_PT,
    SMALLEST_TEXT_KEY,
    draw_box,
    draw_matrix,
    missed_pixels,
    smallest_text_points,
    text_scale,
)

__all__ = ["Frame", "Animation", "conv_frames", "pool_frames", "receptive_field",
           "receptive_field_frames", "animate_convolution", "animate_pooling",
           "animate_receptive_field", "FASHION_CNN_STAGES"]

# Frames are drawn at DPI and shown at 100 dpi's size: sharp on a high-density screen.
DPI = 150
SHOWN_DPI = 100
STEP_MS = 900          # each step on screen
LAST_MS = 2500         # the last frame stays a little longer before the loop starts again
# FashionCNN's feature-map stages, in forward order (``models.FashionCNN.stages``)
FASHION_CNN_STAGES = ("conv1", "conv2", "pool1", "conv3", "conv4", "pool2")


@dataclass(frozen=True)
class Frame:
    """One step of an animation: the ``window`` (top, left, height, width) on the padded image
    (for the receptive field: on the input image), the output ``cell`` (row, column) it fills
    and the ``value`` computed there; ``stage`` and ``channel`` name a network's feature map."""

    window: tuple[int, int, int, int]
    cell: tuple[int, int]
    value: float
    stage: str = ""
    channel: int = 0


@dataclass
class Animation:
    """Rendered frames (PIL images) and their ``frames`` data. In a notebook it shows itself as
    an animated PNG; ``data`` is that file's bytes, ``save(path)`` writes it, ``frame(k)`` is
    frame ``k`` alone as a PNG (to look at one step). Notebooks 02, 03 and 04."""

    frames: list[Frame]
    images: list[Image.Image]
    durations: list[int] = field(default_factory=list)

    @property
    def data(self) -> bytes:
        """The animated PNG (loops forever); every frame shares one palette of 128 colours."""
        if not hasattr(self, "_data"):
            self._data = _encode_apng(self.images, self.durations)
        return self._data

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.write_bytes(self.data)
        return path

    def frame(self, k: int) -> bytes:
        """Frame ``k`` as a still PNG."""
        buffer = io.BytesIO()
        self.images[k].save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        width = round(self.images[0].width * SHOWN_DPI / DPI)
        text = (f"<animación: {len(self.images)} fotogramas, "
                f"{format_number(len(self.data) / 1024, 0)} KB>")
        return ({"image/png": base64.b64encode(self.data).decode("ascii"), "text/plain": text},
                {"image/png": {"width": width}})


def _encode_apng(images: list[Image.Image], durations: list[int], colors: int = 256) -> bytes:
    """An animated PNG of ``images`` (milliseconds per frame in ``durations``), quantised to
    one shared palette; Pillow stores each frame as the rectangle that changed. The smallest
    text of all frames is recorded as the course's figures record it (SMALLEST_TEXT_KEY)."""
    sample = images[:: max(1, len(images) // 8)]
    montage = Image.fromarray(np.concatenate([np.asarray(im) for im in sample], axis=0))
    palette = montage.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    buffer = io.BytesIO()
    record = PngInfo()
    sizes = [im.info[SMALLEST_TEXT_KEY] for im in images if SMALLEST_TEXT_KEY in im.info]
    if sizes:
        record.add_text(SMALLEST_TEXT_KEY, f"{min(sizes):.2f}")
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0, optimize=True, pnginfo=record)
    return buffer.getvalue()


# ----------------------------------------------------------------------- the frames' data


def conv_frames(image, kernel, stride=1, padding=0) -> list[Frame]:
    """The steps of ``ops.conv2d_naive(image, kernel, stride, padding)`` on a 2D image, left to
    right then top to bottom: each window on the padded image and the output value there."""
    kernel = torch.as_tensor(kernel)
    output = ops.conv2d_naive(image, kernel, stride=stride, padding=padding)
    (sv, sh), (kh, kw) = ops.as_pair(stride, "stride"), tuple(kernel.shape)
    return [Frame((i * sv, j * sh, kh, kw), (i, j), output[i, j].item())
            for i in range(output.shape[0]) for j in range(output.shape[1])]


def pool_frames(x, kernel_size=2, stride=None, mode: str = "max") -> list[Frame]:
    """The steps of ``ops.pool2d(x, kernel_size, stride, mode=mode)`` on a 2D image."""
    output = ops.pool2d(x, kernel_size, stride, mode=mode)
    kh, kw = ops.as_pair(kernel_size, "kernel_size")
    sv, sh = ops.as_pair(stride if stride is not None else kernel_size, "stride")
    return [Frame((i * sv, j * sh, kh, kw), (i, j), output[i, j].item())
            for i in range(output.shape[0]) for j in range(output.shape[1])]


def _stage_layer(model: nn.Module, stage: str) -> nn.Module:
    """The layer behind a stage name: ``conv2`` is ``model.conv2``, ``pool1`` is ``model.pool``."""
    return getattr(model, stage if hasattr(model, stage) else stage.rstrip("0123456789"))


def receptive_field(model: nn.Module, stage: str, cell: tuple[int, int],
                    size: tuple[int, int] = (28, 28)) -> tuple[int, int, int, int]:
    """The input pixels that output ``cell`` of ``stage`` depends on, as (top, left, height,
    width): the pixels with a non-zero gradient through the model's own layer geometry
    (kernel, stride, padding), each convolution with a kernel of ones and each pooling as a
    mean, so that no weight or ReLU hides a pixel (what notebook 04's receptive-field animation
    draws)."""
    x = torch.zeros(1, 1, *size, requires_grad=True)
    y = x
    for name in FASHION_CNN_STAGES:
        layer = _stage_layer(model, name)
        if isinstance(layer, nn.Conv2d):
            y = F.conv2d(y, torch.ones(1, 1, *layer.kernel_size), stride=layer.stride,
                         padding=layer.padding)
        else:
            y = F.avg_pool2d(y, layer.kernel_size, layer.stride, layer.padding)
        if name == stage:
            break
    y[0, 0, cell[0], cell[1]].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    top, left = rows.min().item(), cols.min().item()
    return top, left, rows.max().item() - top + 1, cols.max().item() - left + 1


def _relative(fmap: torch.Tensor, cell: tuple[int, int]) -> torch.Tensor:
    """Each channel's value at ``cell`` on its own map's scale (0: its lowest, 1: its highest)."""
    low, high = fmap.amin(dim=(1, 2)), fmap.amax(dim=(1, 2))
    return (fmap[:, cell[0], cell[1]] - low) / (high - low).clamp(min=1e-12)


def receptive_field_frames(model: nn.Module, image: torch.Tensor) -> list[Frame]:
    """One frame per stage of ``FashionCNN``: the middle cell of its feature map for ``image``
    (1, 28, 28), the channel whose map is brightest there (relative to that map's own range,
    as the picture shows it), its value (``model.stages``) and the
    cell's receptive field on the image."""
    with torch.no_grad():
        maps = model.stages(image[None])
    frames = []
    for stage in FASHION_CNN_STAGES:
        fmap = maps[stage][0]
        cell = ((fmap.shape[1] - 1) // 2, (fmap.shape[2] - 1) // 2)
        channel = int(_relative(fmap, cell).argmax())
        frames.append(Frame(receptive_field(model, stage, cell, tuple(image.shape[-2:])), cell,
                            fmap[channel, cell[0], cell[1]].item(), stage, channel))
    return frames


# ------------------------------------------------------------------------------- drawing


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _render(fig: Figure) -> Image.Image:
    """The frame's pixels, with its smallest text in pixels in ``info`` (SMALLEST_TEXT_KEY)."""
    fig.canvas.draw()
    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    points = smallest_text_points(fig)
    if points is not None:
        image.info[SMALLEST_TEXT_KEY] = points * DPI / 72
    return image


def _text(value: float) -> str:
    """A value in a title as the prose writes it: whole numbers plain, others with 2 decimals."""
    return format_number(int(value)) if float(value).is_integer() else format_number(value, 2)


def _grey_range(values) -> tuple[float, float]:
    """A colour range wider than ``values``: filled output cells stay off white, the colour
    of the cells not computed yet."""
    low, high = float(min(values)), float(max(values))
    margin = 0.2 * (high - low) or 1.0
    return low - margin, high + margin


def _durations(n: int) -> list[int]:
    return [STEP_MS] * (n - 1) + [LAST_MS]


def _suptitle(fig: Figure, text: str) -> None:
    fig.suptitle(text, fontsize=11 * text_scale())


def animate_convolution(image, kernel, stride=1, padding=0) -> Animation:
    """The kernel sliding over a small 2D image: the padded input with the window (padding
    shaded blue, pixels no window visits hatched red), the kernel, and the output filling cell
    by cell with the values of ``ops.conv2d_naive``. Notebooks 02, 03."""
    image = torch.as_tensor(image)
    kernel = torch.as_tensor(kernel)
    frames = conv_frames(image, kernel, stride, padding)
    ph, pw = ops.as_pair(padding, "padding")
    padded = ops.pad2d(image, (ph, pw)).double().numpy()
    out_h, out_w = frames[-1].cell[0] + 1, frames[-1].cell[1] + 1
    output = np.full((out_h, out_w), np.nan)
    missed = missed_pixels(padded.shape, [f.window for f in frames], (ph, pw))
    kh, kw = kernel.shape
    widths = [padded.shape[1], kw, out_w]
    scale = min(0.42, 7.2 / sum(widths))          # inches per cell
    title, foot = 0.75 * text_scale(), (0.35 * text_scale() if missed.any() else 0.1)
    height = scale * max(padded.shape[0], kh, out_h) + title + foot
    vmin, vmax = float(padded.min()), float(padded.max())
    values = [f.value for f in frames]
    images = []
    for k, frame in enumerate(frames):
        fig = _figure(scale * sum(widths) + 2.4, height)
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": widths, "wspace": 0.35})
        top, left = frame.window[:2]
        fig.subplots_adjust(left=0.03, right=0.97, top=1 - title / height, bottom=foot / height)
        name = "entrada rellenada" if ph or pw else "entrada"
        axes[0].set_title(f"{name} {padded.shape[0]}×{padded.shape[1]}", fontsize=10 * text_scale())
        axes[1].set_title(f"núcleo {kh}×{kw}", fontsize=10 * text_scale())
        axes[2].set_title(f"salida {out_h}×{out_w}", fontsize=10 * text_scale())
        draw_matrix(axes[0], padded, vmin=vmin, vmax=vmax, padding=(ph, pw), missed=missed,
                    boxes=[frame.window])
        limit = 2 * float(kernel.abs().max()) or 1.0      # light colours: numbers stay legible
        draw_matrix(axes[1], kernel.double().numpy(), cmap="bwr", vmin=-limit, vmax=limit)
        output[frame.cell] = frame.value
        low, high = _grey_range(values)
        draw_matrix(axes[2], output, vmin=low, vmax=high, boxes=[(*frame.cell, 1, 1)])
        _suptitle(fig, f"paso {k + 1} de {len(frames)}: ventana en fila {top}, columna {left}"
                       f"  →  celda {frame.cell}: suma de ventana × núcleo = {_text(frame.value)}")
        if missed.any():
            fig.text(0.03, 0.1 / height, "rojo tachado: píxeles que ninguna ventana visita",
                     fontsize=MIN_FONT_PT * text_scale(), color="tab:red")
        images.append(_render(fig))
    return Animation(frames, images, _durations(len(frames)))


def animate_pooling(x, kernel_size=2, stride=None) -> Animation:
    """Max and average pooling side by side over a small 2D image: the window, its largest
    pixel circled, and both outputs filling with the values of ``ops.pool2d``; its ``frames``
    are the max pooling's steps, then the average's. Notebook 04."""
    x = torch.as_tensor(x)
    max_frames = pool_frames(x, kernel_size, stride, "max")
    avg_frames = pool_frames(x, kernel_size, stride, "avg")
    values = x.double().numpy()
    out_h, out_w = max_frames[-1].cell[0] + 1, max_frames[-1].cell[1] + 1
    outputs = {"max": np.full((out_h, out_w), np.nan), "avg": np.full((out_h, out_w), np.nan)}
    widths = [values.shape[1], out_w, out_w]
    scale = min(0.6, 6.0 / sum(widths))
    vmin, vmax = float(values.min()), float(values.max())
    images = []
    for k, (fmax, favg) in enumerate(zip(max_frames, avg_frames, strict=True)):
        height = scale * values.shape[0] + 0.8 * text_scale()
        fig = _figure(scale * sum(widths) + 2.4, height)
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": widths, "wspace": 0.35})
        fig.subplots_adjust(left=0.03, right=0.97, top=1 - 0.7 * text_scale() / height,
                            bottom=0.1 / height)
        top, left, h, w = fmax.window
        window = values[top:top + h, left:left + w]
        draw_matrix(axes[0], values, vmin=vmin, vmax=vmax, boxes=[fmax.window])
        i, j = np.unravel_index(window.argmax(), window.shape)
        axes[0].add_patch(mpl.patches.Circle((left + j, top + i), 0.42, fill=False,
                                             edgecolor="orange", linewidth=2 * text_scale()))
        outputs["max"][fmax.cell] = fmax.value
        outputs["avg"][favg.cell] = favg.value
        for ax, mode, title in ((axes[1], "max", "máximo"), (axes[2], "avg", "media")):
            low, high = _grey_range([vmin, vmax])
            draw_matrix(ax, outputs[mode], vmin=low, vmax=high, boxes=[(*fmax.cell, 1, 1)])
            ax.set_title(f"{title} {out_h}×{out_w}", fontsize=10 * text_scale())
        axes[0].set_title(f"entrada {values.shape[0]}×{values.shape[1]}",
                          fontsize=10 * text_scale())
        _suptitle(fig, f"paso {k + 1} de {len(max_frames)}: celda {fmax.cell}: máximo "
                       f"{_text(fmax.value)} (en naranja), media {_text(favg.value)}")
        images.append(_render(fig))
    return Animation(max_frames + avg_frames, images, _durations(len(max_frames)))


def animate_receptive_field(model: nn.Module, image: torch.Tensor) -> Animation:
    """The receptive field of one cell of each ``FashionCNN`` stage, layer by layer: on the
    left the image with the field growing (earlier layers' fields thinner), on the right the
    stage's real feature map for ``image`` (1, 28, 28) with the cell. Notebook 04."""
    frames = receptive_field_frames(model, image)
    with torch.no_grad():
        maps = model.stages(image[None])
    colours = mpl.colormaps["autumn"](np.linspace(0, 0.9, len(frames)))
    pixels = image[0].numpy()
    images = []
    for k, frame in enumerate(frames):
        height = 3.6 + 0.9 * text_scale()
        fig = _figure(7.6, height)
        axes = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.85 * text_scale() / height,
                            bottom=0.1 / height, wspace=0.15)
        axes[0].imshow(pixels, cmap="gray")
        for earlier, colour in zip(frames[:k + 1], colours, strict=False):
            thick = earlier is frame
            draw_box(axes[0], *earlier.window, colour="red" if thick else colour,
                     linewidth=2.5 if thick else 1.2)
        axes[0].set_title(f"imagen 28×28: la celda ve {frame.window[2]}×{frame.window[3]} "
                          "píxeles", fontsize=10 * text_scale())
        fmap = maps[frame.stage][0, frame.channel].numpy()
        axes[1].imshow(fmap, cmap="viridis")
        draw_box(axes[1], *frame.cell)
        axes[1].set_title(f"mapa de {frame.stage} ({fmap.shape[0]}×{fmap.shape[1]}), "
                          f"canal {frame.channel}", fontsize=10 * text_scale())
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        _suptitle(fig, f"capa {k + 1} de {len(frames)}, {frame.stage}: la celda {frame.cell} "
                       f"vale {format_number(frame.value, 3)}\ny depende de {frame.window[2]}×"
                       f"{frame.window[3]} píxeles de la entrada (su campo receptivo)")
        images.append(_render(fig))
    return Animation(frames, images, [1600] * (len(frames) - 1) + [LAST_MS])
