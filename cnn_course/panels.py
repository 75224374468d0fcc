"""Class panels (notebooks 02-04): sliders over a real image for the instructor, and a switch
to projector-sized figures.

``conv_panel()`` opens a small ipywidgets panel: kernel (bordes, desenfoque, enfoque or typed
by hand), its size, padding and its kind, stride and pooling. The output image, its shape and
the output-size formula with the current numbers change together; a combination that does not
fit shows the library's message in the panel. Where no live Jupyter front end runs (``cnn-course
execute``, nbval, a script) it shows a still image of its first state instead and creates no
widget, so a stored notebook holds no widget state (its JavaScript would come from another
host). Panel text is Spanish.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, replace
from functools import lru_cache

import matplotlib as mpl
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import ops
from .config import format_number
from .plots import SMALLEST_TEXT_KEY, draw_box, draw_matrix, smallest_text_points, text_scale

__all__ = ["ConvPanel", "PanelSettings", "PanelResult", "conv_panel", "compute", "draw",
           "live_frontend", "projector_mode", "make_kernel", "parse_kernel", "grace_hopper_gray",
           "KERNELS", "PADDING_MODES", "POOLINGS", "STILL_NOTE"]

KERNELS = ("bordes", "desenfoque", "enfoque", "a mano")
# the padding kinds of notebook 03: Spanish name -> F.pad's mode
PADDING_MODES = {"ceros": "constant", "reflejo": "reflect", "repetición": "replicate",
                 "circular": "circular"}
POOLINGS = ("ninguno", "máximo", "media")
STILL_NOTE = ("Panel interactivo: en Jupyter (JupyterLab o Notebook) muestra controles y vuelve "
              "a calcular y dibujar la salida cada vez que cambias uno. Aquí no hay controles: "
              "una imagen fija de su estado inicial.")
_TRUE = {"1", "true", "yes", "on", "si", "sí"}
_FALSE = {"0", "false", "no", "off"}


# ------------------------------------------------------------------ kernels and the image


def make_kernel(name: str, size: int = 3) -> torch.Tensor:
    """A ``size`` x ``size`` kernel: ``bordes`` (vertical edges: -1 left, +1 right),
    ``desenfoque`` (the mean of the window), ``enfoque`` (2·identity - desenfoque: the centre
    minus its neighbours' mean, added back). Notebooks 02, 03 and 04 (the panel)."""
    if name == "bordes":
        kernel = torch.zeros(size, size)
        kernel[:, : size // 2], kernel[:, size - size // 2:] = -1.0, 1.0
        return kernel
    box = torch.full((size, size), 1.0 / size**2)
    if name == "desenfoque":
        return box
    if name == "enfoque":
        identity = torch.zeros(size, size)
        identity[size // 2, size // 2] = 1.0
        return 2 * identity - box
    raise ValueError(f"núcleo desconocido {name!r}: usa uno de {', '.join(KERNELS[:3])}.")


def parse_kernel(text: str) -> torch.Tensor:
    """A kernel typed by hand, one row per line, numbers separated by spaces or commas
    (``"0 -1 0\\n-1 5 -1\\n0 -1 0"``); a ValueError in Spanish when it is not a rectangle."""
    rows = [line.replace(",", " ").replace(";", " ").split() for line in text.strip().splitlines()
            if line.strip()]
    if not rows:
        raise ValueError("el núcleo escrito a mano está vacío: escribe una fila por línea, "
                         "por ejemplo «0 -1 0».")
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"el núcleo escrito a mano no es rectangular (filas de "
                         f"{', '.join(str(len(r)) for r in rows)} números): escribe el mismo "
                         "número de valores en cada fila.")
    try:
        return torch.tensor([[float(v) for v in r] for r in rows])
    except ValueError:
        raise ValueError("el núcleo escrito a mano tiene algo que no es un número: usa solo "
                         "números separados por espacios, como «-1 0 1».") from None


@lru_cache(maxsize=1)
def grace_hopper_gray(reduce: int = 4) -> torch.Tensor:
    """Matplotlib's sample photo ``grace_hopper.jpg`` in grey, values 0-1, averaged over
    ``reduce`` x ``reduce`` blocks (600x512 -> 150x128), small enough to move in class."""
    import matplotlib.pyplot as plt
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        photo = torch.from_numpy(np.array(plt.imread(file))).float().mean(dim=-1) / 255
    return F.avg_pool2d(photo[None, None], reduce)[0, 0]


# --------------------------------------------------------------------- what the panel shows


@dataclass(frozen=True)
class PanelSettings:
    """One state of the panel: what its controls say."""

    kernel: str = "bordes"
    size: int = 3
    hand: str = "0 -1 0\n-1 5 -1\n0 -1 0"
    padding: int = 1
    padding_mode: str = "ceros"
    stride: int = 1
    pooling: str = "ninguno"
    pool_size: int = 2


@dataclass
class PanelResult:
    """What one state computes: the padded input, the output (None if the combination does not
    fit), and the texts the panel shows."""

    padded: torch.Tensor
    output: torch.Tensor | None
    shapes: str
    formula: str
    error: str = ""
    padding: int = 0          # pixels of padding around ``padded`` (0 if none was added)


def _n(value) -> str:
    return format_number(int(value))


def _formula(n: int, k: int, s: int, p: int) -> str:
    """The output-size formula with these numbers, and its value (``ops.output_size``) when the
    kernel fits."""
    text = f"⌊({_n(n)} + 2·{p} − {k}) / {s}⌋ + 1"
    try:
        return f"{text} = {_n(ops.output_size(n, k, s, p))}"
    except ValueError:
        return f"{text}: no cabe"


def compute(image: torch.Tensor, settings: PanelSettings) -> PanelResult:
    """Convolve (and pool) ``image`` (H, W) as ``settings`` say, with ``ops``; an invalid
    combination gives a result whose ``error`` holds the message instead of raising."""
    s = settings
    h, w = image.shape
    padded = image
    pieces, formula = [f"entrada {_n(h)}×{_n(w)}"], ""
    try:
        kernel = parse_kernel(s.hand) if s.kernel == "a mano" else make_kernel(s.kernel, s.size)
        kh, kw = kernel.shape
        formula = (f"convolución {kh}×{kw}, avance {s.stride}, relleno {s.padding}: alto "
                   f"{_formula(h, kh, s.stride, s.padding)}; ancho "
                   f"{_formula(w, kw, s.stride, s.padding)}")
        if s.padding:
            mode = PADDING_MODES[s.padding_mode]
            if mode != "constant" and s.padding >= min(h, w):
                raise ValueError(f"el relleno «{s.padding_mode}» copia píxeles de la imagen: "
                                 f"necesita menos de {min(h, w)} píxeles de relleno; usa uno "
                                 "menor o el relleno de ceros.")
            padded = F.pad(image[None, None], (s.padding,) * 4, mode=mode)[0, 0]
            pieces.append(f"con relleno {_n(padded.shape[0])}×{_n(padded.shape[1])}")
        # the library's own checks (and message) for a kernel larger than the padded image
        ops.output_size(h, kh, s.stride, s.padding)
        ops.output_size(w, kw, s.stride, s.padding)
        output = ops.conv2d_im2col(padded, kernel, stride=s.stride)
        pieces.append(f"convolución {_n(output.shape[0])}×{_n(output.shape[1])}")
        if s.pooling != "ninguno":
            q = s.pool_size
            formula += (f"<br>pooling {q}×{q}, avance {q}: alto "
                        f"{_formula(output.shape[0], q, q, 0)}; ancho "
                        f"{_formula(output.shape[1], q, q, 0)}")
            output = ops.pool2d(output, q, mode="max" if s.pooling == "máximo" else "avg")
            pieces.append(f"pooling {_n(output.shape[0])}×{_n(output.shape[1])}")
    except ValueError as err:
        return PanelResult(padded, None, " → ".join(pieces) + " → —", formula,
                           f"Combinación no válida: {err}", (padded.shape[0] - h) // 2)
    return PanelResult(padded, output, " → ".join(pieces), formula, "", s.padding)


def draw(result: PanelResult, settings: PanelSettings, dpi: int = 80) -> bytes:
    """The panel's picture as PNG bytes: the padded input (the image inside the yellow box)
    and the output, each with its shape."""
    scale = text_scale()
    fig = Figure(figsize=(8.0, 3.8 + 0.3 * scale), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    padded = result.padded.numpy()
    draw_matrix(axes[0], padded, numbers=False)
    p = result.padding
    if p:   # the image inside its padding
        draw_box(axes[0], p, p, padded.shape[0] - 2 * p, padded.shape[1] - 2 * p, "gold", 1.5)
    axes[0].set_title(f"entrada {padded.shape[0]}×{padded.shape[1]}"
                      + (f" (relleno: {settings.padding_mode})" if p else ""), fontsize=11 * scale)
    if result.output is not None:
        out = result.output.numpy()
        draw_matrix(axes[1], out, numbers=False)
        axes[1].set_title(f"salida {out.shape[0]}×{out.shape[1]}", fontsize=11 * scale)
    else:
        axes[1].text(0.5, 0.5, "sin salida:\nla combinación no cabe", ha="center", va="center",
                     fontsize=12 * scale, color="tab:red", transform=axes[1].transAxes)
        axes[1].set_xticks([])
        axes[1].set_yticks([])
    buffer = io.BytesIO()
    points = smallest_text_points(fig)
    saved = mpl.rcParams["savefig.dpi"]   # the PNG's resolution: savefig's, not the figure's
    saved = dpi if saved == "figure" else float(saved)
    fig.savefig(buffer, format="png", dpi=saved, metadata={} if points is None else
                {SMALLEST_TEXT_KEY: f"{points * saved / 72:.2f}"})
    return buffer.getvalue()


# --------------------------------------------------------------------------- the widgets


class ConvPanel:
    """The instructor's panel over ``image`` (H, W), built from ipywidgets: ``controls`` (name
    -> widget, the ``PanelSettings`` fields), ``picture`` (an Image widget), ``shapes``,
    ``formula`` and ``error`` (HTML widgets) and ``box`` (the whole panel, to display). Moving a
    control recomputes everything at once. Notebooks 02, 03 and 04."""

    def __init__(self, image: torch.Tensor, settings: PanelSettings = PanelSettings()):
        import ipywidgets as w

        self.image = image
        s = settings
        layout = {"style": {"description_width": "8.5em"}, "layout": w.Layout(width="25em")}
        self.controls = {
            "kernel": w.Dropdown(options=KERNELS, value=s.kernel, description="núcleo",
                                 **layout),
            "size": w.IntSlider(value=s.size, min=1, max=9, step=2, description="tamaño",
                                **layout),
            "hand": w.Textarea(value=s.hand, description="a mano (filas)", rows=3, **layout),
            "padding": w.IntSlider(value=s.padding, min=0, max=6, description="relleno",
                                   **layout),
            "padding_mode": w.Dropdown(options=list(PADDING_MODES), value=s.padding_mode,
                                       description="tipo de relleno", **layout),
            "stride": w.IntSlider(value=s.stride, min=1, max=8, description="avance",
                                  **layout),
            "pooling": w.Dropdown(options=POOLINGS, value=s.pooling, description="pooling",
                                  **layout),
            "pool_size": w.IntSlider(value=s.pool_size, min=2, max=4,
                                     description="tamaño pooling", **layout),
        }
        self.picture = w.Image(format="png")
        self.shapes, self.formula, self.error = w.HTML(), w.HTML(), w.HTML()
        self.box = w.HBox([w.VBox(list(self.controls.values()),
                                  layout=w.Layout(min_width="26em", flex="0 0 auto")),
                           w.VBox([self.picture, self.shapes, self.formula, self.error])])
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.update()

    @property
    def settings(self) -> PanelSettings:
        return replace(PanelSettings(), **{k: c.value for k, c in self.controls.items()})

    def update(self, change=None) -> PanelResult:
        """Recompute from the controls and show the picture, shapes, formula and message."""
        settings = self.settings
        self.controls["size"].disabled = settings.kernel == "a mano"
        self.controls["hand"].disabled = settings.kernel != "a mano"
        result = compute(self.image, settings)
        self.picture.value = draw(result, settings)
        self.shapes.value = f"<b>formas:</b> {result.shapes}"
        self.formula.value = f"<b>tamaño de salida:</b> {result.formula}"
        self.error.value = (f'<span style="color:#b00020">⚠ {result.error}</span>'
                            if result.error else "")
        return result


def live_frontend() -> bool:
    """True inside a Jupyter kernel with a front end that shows widgets (JupyterLab, Notebook,
    Colab); False under ``cnn-course execute``, nbval, a script or the terminal IPython.
    ``CNN_COURSE_PANELS=1`` (VS Code and other front ends) or ``0`` decides instead."""
    setting = os.environ.get("CNN_COURSE_PANELS", "").strip().lower()
    if setting in _FALSE:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    return (setting in _TRUE or bool(os.environ.get("JPY_SESSION_NAME"))
            or "google.colab" in sys.modules)


def _settings(given: dict) -> PanelSettings:
    """``PanelSettings`` from keyword arguments, or a ValueError in Spanish naming the choices."""
    known = PanelSettings.__dataclass_fields__
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"conv_panel no tiene el ajuste {', '.join(unknown)}: usa "
                         f"{', '.join(known)}.")
    settings = PanelSettings(**given)
    for name, choices in (("kernel", KERNELS), ("padding_mode", tuple(PADDING_MODES)),
                          ("pooling", POOLINGS)):
        if getattr(settings, name) not in choices:
            raise ValueError(f"{name}={getattr(settings, name)!r} no es una opción del panel: "
                             f"usa {', '.join(repr(c) for c in choices)}.")
    return settings


def conv_panel(image: torch.Tensor | None = None, **settings) -> None:
    """Show the panel over ``image`` (H, W) or (1, H, W), by default Grace Hopper's photo in
    grey (150x128); ``settings`` are ``PanelSettings`` fields (its first state). In a live
    Jupyter front end it shows the widgets; elsewhere a still picture of the first state, and
    says so in Spanish. Returns nothing, so that a cell ending with it prints no repr
    (``ConvPanel(image)`` gives the object). Notebooks 02, 03, 04."""
    from IPython.display import Image, display

    image = grace_hopper_gray() if image is None else torch.as_tensor(image).float()
    image = image[0] if image.dim() == 3 else image
    first = _settings(settings)
    if live_frontend():
        display(ConvPanel(image, first).box)
        return None
    result = compute(image, first)
    print(STILL_NOTE)   # first: the note says what the picture is
    display(Image(draw(result, first, dpi=100), width=640))
    print(f"formas: {result.shapes}")
    print(f"tamaño de salida: {result.formula.replace('<br>', '; ')}")
    return None


# ------------------------------------------------------------------------ projector mode

_PROJECTOR_KEYS = ("font.size", "lines.linewidth", "lines.markersize", "axes.linewidth",
                   "grid.linewidth", "patch.linewidth", "xtick.major.width", "ytick.major.width",
                   "xtick.major.size", "ytick.major.size")
_saved: dict[str, float] = {}


def projector_mode(on: bool = True, scale: float = 1.6) -> None:
    """Figures for a projector: text, lines and markers ``scale`` times larger (matplotlib's
    defaults; the animations and panels follow), until ``projector_mode(False)`` puts the
    previous values back. Notebooks 02, 03 and 04."""
    if on:
        if not _saved:
            _saved.update({key: mpl.rcParams[key] for key in _PROJECTOR_KEYS})
        for key, value in _saved.items():
            mpl.rcParams[key] = value * scale
    elif _saved:
        mpl.rcParams.update(_saved)
        _saved.clear()
