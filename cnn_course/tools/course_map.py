"""The course map: each notebook's number, title, objectives, time and slide section, read from
its first markdown cell. The site's landing page and the handouts list the course from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .. import config

__all__ = ["LONG_RUN_MINUTES", "SLIDE_SECTIONS", "NotebookInfo", "course_map",
           "default_notebooks_dir", "notebook_info"]

# The slide sections each notebook follows, by the number in its title ("06b") or its first two
# digits.
SLIDE_SECTIONS = {
    "00": "Tratamiento numérico de imágenes; MNIST; Fashion MNIST: MLP 512-128-64-10",
    "01": "Imágenes a color; tensores 2D a 5D",
    "02": "Convolución 2D; Convolución 2D (RGB); Tratamiento matricial de la convolución",
    "03": "Avance o «stride»; Relleno o «padding»",
    "04": "Pooling (max y average)",
    "05": "Datasets y Dataloaders en PyTorch; Falta de RAM",
    "06": "CNN - VGG; Creación de la red neuronal",
    "06a": "Ejercicio (entrega)",
    "06b": "Aprendizaje por épocas; Resultados práctica: Fashion-MNIST",
    "07": "VGG pre-entrenado; Conjunto de imágenes en ficheros; Manejo de las partes VGG16",
    "08": "Motivación de la red ResNet; Conexión residual; Arquitectura ResNet; Simulación",
}

_TITLE = re.compile(r"^#\s+(?P<number>[0-9]+[a-z]?)\s*·\s*(?P<title>.+?)\s*$", re.MULTILINE)
_OBJECTIVES = re.compile(r"\*\*Objetivos?\*\*:?[ \t]*\n?(?P<text>.*?)(?:\n[ \t]*\n|\Z)", re.DOTALL)
_TIME = re.compile(r"\*\*Tiempo\*\*:?\s*(?P<text>.*?)(?:\n[ \t]*\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class NotebookInfo:
    """What the landing page says about one notebook, read from its first markdown cell."""

    path: Path          # the notebook file
    number: str         # "06b", from its title "# 06b · ..."
    title: str          # the title after the number
    objectives: str     # the "**Objetivos**" block, as Markdown (often a bullet list)
    time: str           # the "**Tiempo**" block's first clause ("unos 20 minutos")
    slides: str         # the slide section(s) it follows (SLIDE_SECTIONS)
    minutes: int | None = None   # that time in minutes (2 horas -> 120), None if it names none
    long_run: str = ""  # a full run the block says takes "entre 8 y 15 minutos": "8–15 min"


def default_notebooks_dir() -> Path:
    """The course's ``notebooks/`` folder."""
    return config.project_root() / "notebooks"


def notebook_info(path: Path | str) -> NotebookInfo:
    """Read a notebook's number, title, objectives and time from its first markdown cell."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    title = _TITLE.search(first)
    if title is None:
        raise ValueError(f"{path}: su primera celda de texto tiene que empezar con un título como "
                         "'# 03 · Relleno y avance' (número, punto medio, título); añádelo.")
    number = title["number"]
    objectives = _OBJECTIVES.search(first)
    time = _TIME.search(first)
    clause = _first_clause(time["text"]) if time else ""
    return NotebookInfo(
        path=path, number=number, title=title["title"],
        objectives=objectives["text"].strip() if objectives else "",
        time=clause,
        slides=SLIDE_SECTIONS.get(number) or SLIDE_SECTIONS.get(number[:2], ""),
        minutes=_minutes(clause), long_run=_long_run(time["text"] if time else ""))


_AMOUNT = re.compile(r"(?P<n>\d+)\s*(?P<unit>minutos?|horas?)")
_RANGE = re.compile(r"entre\s+(?P<low>\d+)\s+y\s+(?P<high>\d+)\s+minutos")
LONG_RUN_MINUTES = 5   # a full run at least this long is flagged on the course map


def _minutes(clause: str) -> int | None:
    """``"unos 20 minutos"`` -> 20, ``"unas 2 horas de trabajo"`` -> 120, else None."""
    found = _AMOUNT.search(clause)
    if found is None:
        return None
    return int(found["n"]) * (60 if found["unit"].startswith("hora") else 1)


def _long_run(text: str) -> str:
    """``"... tarda entre 8 y 15 minutos ..."`` -> ``"8–15 min"`` when the upper end is at
    least LONG_RUN_MINUTES; else ""."""
    found = _RANGE.search(" ".join(text.split()))
    if found is None or int(found["high"]) < LONG_RUN_MINUTES:
        return ""
    return f"{found['low']}–{found['high']} min"


def _first_clause(text: str) -> str:
    """``"unos 20 minutos; la ejecución..."`` -> ``"unos 20 minutos"``."""
    return re.split(r";|\.(?:\s|$)", " ".join(text.split()), maxsplit=1)[0].strip()


def course_map(notebooks_dir: Path | str | None = None) -> list[NotebookInfo]:
    """One ``NotebookInfo`` per ``*.ipynb`` in ``notebooks_dir``, in file-name order."""
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no hay ningún cuaderno (*.ipynb) en {folder}; indica la carpeta "
                                "notebooks/ del curso (o una de cuadernos de estudiante).")
    return [notebook_info(p) for p in paths]
