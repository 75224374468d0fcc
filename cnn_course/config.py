"""Where data lives, quick mode, device choice and seeding.

Environment variables:
    CNN_COURSE_DATA   data root (default: see ``data_dir``; never the current folder).
    CNN_COURSE_QUICK  ``1`` for quick mode: small subsets and 1-2 epochs (CI and live demos).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import platformdirs
import torch

__all__ = ["checkpoints_dir", "data_dir", "data_dir_origin", "format_number",
           "get_device", "project_root", "quick_mode", "run_info", "runs_dir", "seed_everything",
           "source_checkout"]

_APP_NAME = "cnn_course"   # the per-user data folder's name

_TRUE = {"1", "true", "yes", "on"}


def project_root() -> Path:
    """The course's folder (holding ``pyproject.toml`` and ``cnn_course/``): the package's own
    parent (a source checkout), else the current directory or one above it, else the cwd."""
    package_parent = Path(__file__).resolve().parent.parent
    candidates = [package_parent, *Path.cwd().resolve().parents]
    candidates.insert(1, Path.cwd().resolve())
    for folder in candidates:
        if (folder / "pyproject.toml").is_file() and (folder / "cnn_course").is_dir():
            return folder
    return Path.cwd().resolve()


def source_checkout() -> Path | None:
    """The source checkout (a clone of the course) this package is imported from, found by its
    markers (``pyproject.toml`` and ``data/`` beside the package), or None for an installed
    package. It depends on where the package is, never on the current folder."""
    folder = Path(__file__).resolve().parent.parent
    if (folder / "pyproject.toml").is_file() and (folder / "data").is_dir():
        return folder
    return None


def _data_dir_and_origin() -> tuple[Path, str]:
    env = os.environ.get("CNN_COURSE_DATA", "").strip()
    if env:
        return Path(env).expanduser(), "la fija la variable CNN_COURSE_DATA"
    checkout = source_checkout()
    if checkout is not None:
        return checkout / "data", ("la carpeta data/ del proyecto clonado que contiene cnn_course; "
                                 "CNN_COURSE_DATA la cambia")
    return (Path(platformdirs.user_data_dir(_APP_NAME, appauthor=False)),
            "la carpeta de datos de este usuario, la misma desde cualquier carpeta; "
            "CNN_COURSE_DATA la cambia")


def data_dir() -> Path:
    """The data root, where data, checkpoints and runs go, created on demand; the same from any
    working folder (Jupyter runs a notebook from its own). In order: ``$CNN_COURSE_DATA``; else
    the ``data/`` of the source checkout that holds the package (``source_checkout``: a clone
    keeps using its own data); else one folder per user, ``platformdirs.user_data_dir`` (Linux
    ``~/.local/share/cnn_course``, macOS ``~/Library/Application Support/cnn_course``, Windows
    ``%LOCALAPPDATA%\\cnn_course``). Notebook 07."""
    path, _ = _data_dir_and_origin()
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir_origin() -> str:
    """Why ``data_dir`` is where it is, in Spanish (what ``cnn-course info`` says)."""
    return _data_dir_and_origin()[1]


def runs_dir() -> Path:
    """Where ``cnn-course train`` writes its runs: ``<data_dir>/runs``; created on demand."""
    path = data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path:
    """Where notebooks save trained models: ``<data_dir>/checkpoints``, created on demand; in
    quick mode ``checkpoints/quick``, so tests never overwrite a model trained in full.
    Notebooks 00, 04, 06a, 06b."""
    path = data_dir() / "checkpoints"
    if quick_mode():
        path = path / "quick"
    path.mkdir(parents=True, exist_ok=True)
    return path


def quick_mode() -> bool:
    """True when ``CNN_COURSE_QUICK=1``: small subsets and few epochs everywhere.
    Notebooks 06b, 07, 08."""
    return os.environ.get("CNN_COURSE_QUICK", "").strip().lower() in _TRUE


def get_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given (``"cpu"``, ``"cuda"``, ``"mps"``; ValueError
    if this machine lacks it), else the best available one (cuda, then mps, then cpu).
    Notebooks 00, 06b, 08."""
    if prefer not in (None, "", "auto"):
        available = {"cpu": True, "cuda": torch.cuda.is_available(),
                     "mps": torch.backends.mps.is_available()}
        kind = str(prefer).split(":")[0]
        if kind not in available:
            raise ValueError(f"Dispositivo desconocido {prefer!r}: usa 'auto', 'cpu', 'cuda' o "
                             "'mps'.")
        if not available[kind]:
            raise ValueError(
                f"El dispositivo {prefer!r} no está disponible en esta máquina: usa 'auto' o "
                "'cpu'.")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so that CPU runs repeat exactly.
    Notebooks 00, 04, 05, 06, 06b, 07, 08."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def run_info() -> str:
    """One line, in Spanish, saying how this run is set up: mode, device, threads, versions,
    date (every notebook's first cell prints it). Notebooks 00, 01, 02, 03, 04, 05, 06, 06a,
    06b, 07, 08."""
    import platform
    import time

    from . import __version__

    mode = "rápido (CNN_COURSE_QUICK=1)" if quick_mode() else "completo"
    threads = torch.get_num_threads()
    return (f"cnn_course {__version__} | modo: {mode} | dispositivo: {get_device()} "
            f"({threads} {'hilo' if threads == 1 else 'hilos'}) | torch {torch.__version__} | "
            f"Python {platform.python_version()} | {time.strftime('%Y-%m-%d %H:%M')}")


def format_number(value, decimals: int | str | None = None) -> str:
    """A number as the course's prose writes it: ``60000`` -> ``"60.000"``, ``0.92184`` with
    ``decimals=4`` -> ``"0,9218"`` (a point between thousands, a comma before decimals).
    Integers (and integral tensors) keep no decimals unless ``decimals`` is given; other floats
    without ``decimals`` print at most 4 significant digits; ``decimals`` may also be a format
    spec (``".3g"``). Every printed line and figure number of the library uses it.
    Notebooks 00, 01, 02, 03, 04, 05, 06, 06b, 07, 08."""
    if hasattr(value, "item"):
        value = value.item()
    if decimals is None and isinstance(value, int | bool):
        decimals = 0
    if isinstance(decimals, str):
        text = f"{value:,{decimals}}"
    else:
        text = f"{value:,.{decimals}f}" if decimals is not None else f"{value:,.4g}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
