"""Publishing the course: stored outputs (``execute_notebook``), the students' handouts with the
solutions removed (``make_handouts``), and a static, searchable website of the notebooks'
stored outputs (``build_site``: Sphinx, MyST-NB and the Sphinx Book Theme, from the optional
``site`` extra) whose pages load nothing from another host.
"""

from __future__ import annotations

import copy
import html
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import nbformat
from nbconvert.preprocessors import Preprocessor

from . import config
from .downloads import atomic_write

__all__ = ["SITE_EXTRA_INSTALL", "SITE_TITLE", "SLIDE_SECTIONS", "SOLUTION_TAG",
           "STUDENT_PLACEHOLDER", "NotebookInfo", "RemoveSolutions", "SiteBuildError",
           "SiteToolsMissingError", "build_site", "course_map", "default_notebooks_dir",
           "execute_notebook", "landing_page", "make_handout", "make_handouts", "notebook_info",
           "static_widgets", "student_cell"]

SOLUTION_TAG = "solution"
STUDENT_PLACEHOLDER = "# tu código aquí\n"
SITE_EXTRA_INSTALL = 'pip install -e ".[site]"'
SITE_TITLE = "Redes neuronales convolutivas con PyTorch"

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
_SOLUTION_DETAILS = re.compile(
    r"<details[^>]*>\s*<summary[^>]*>\s*Soluci(?:ón|ones|on)\b.*?</details>[ \t]*\n?",
    re.DOTALL | re.IGNORECASE)
_NBVAL_MARKER = re.compile(r"^[ \t]*# NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class SiteToolsMissingError(RuntimeError):
    """The site's tools (Sphinx, MyST-NB, the book theme, offline MathJax) are not installed."""


class SiteBuildError(RuntimeError):
    """Sphinx could not build the site; the message holds its error."""


def _write_notebook(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Write ``nb`` to ``path`` atomically (a failure leaves no half-written file)."""
    with atomic_write(path) as tmp:
        nbformat.write(nb, tmp)
    return path


# --- the course map ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NotebookInfo:
    """What the landing page says about one notebook, read from its first markdown cell."""

    path: Path          # the notebook file
    number: str         # "06b", from its title "# 06b · ..."
    title: str          # the title after the number
    objectives: str     # the "**Objetivos**" block, as Markdown (often a bullet list)
    time: str           # the "**Tiempo**" block's first clause ("unos 20 minutos")
    slides: str         # the slide section(s) it follows (SLIDE_SECTIONS)


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
        raise ValueError(f"{path}: its first markdown cell must start with a title such as "
                         "'# 03 · Relleno y avance' (number, middle dot, title); add one.")
    number = title["number"]
    objectives = _OBJECTIVES.search(first)
    time = _TIME.search(first)
    return NotebookInfo(
        path=path, number=number, title=title["title"],
        objectives=objectives["text"].strip() if objectives else "",
        time=_first_clause(time["text"]) if time else "",
        slides=SLIDE_SECTIONS.get(number) or SLIDE_SECTIONS.get(number[:2], ""))


def _first_clause(text: str) -> str:
    """``"unos 20 minutos; la ejecución..."`` -> ``"unos 20 minutos"``."""
    return re.split(r";|\.(?:\s|$)", " ".join(text.split()), maxsplit=1)[0].strip()


def course_map(notebooks_dir: Path | str | None = None) -> list[NotebookInfo]:
    """One ``NotebookInfo`` per ``*.ipynb`` in ``notebooks_dir``, in file-name order."""
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebook (*.ipynb) in {folder}; pass the course's "
                                "notebooks/ folder (or a folder of handouts).")
    return [notebook_info(p) for p in paths]


# --- handouts ---------------------------------------------------------------------------------


class RemoveSolutions(Preprocessor):
    """The students' version of a notebook: code cells tagged ``solution`` become an empty
    ``# tu código aquí`` cell, markdown cells tagged ``solution`` go, and ``<details>`` blocks
    whose summary says Solución/Soluciones are cut out of markdown cells."""

    def preprocess(self, nb, resources):
        nb.cells = [kept for cell in nb.cells if (kept := student_cell(cell)) is not None]
        return nb, resources


def student_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """One cell as students get it (see RemoveSolutions), or None when nothing of it is left."""
    solution = SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
    if solution and cell.cell_type == "code":
        blank = nbformat.v4.new_code_cell(STUDENT_PLACEHOLDER)
        if "id" in cell:
            blank.id = cell.id
        return blank
    if solution:
        return None
    if cell.cell_type == "markdown":
        source, found = _SOLUTION_DETAILS.subn("", cell.source)
        if found:
            cell.source = re.sub(r"\n{3,}", "\n\n", source).strip()
            return cell if cell.source else None
    return cell


def make_handout(source: Path | str, target: Path | str) -> Path:
    """Write the students' version of notebook ``source`` to ``target`` (see RemoveSolutions)."""
    nb = nbformat.read(source, as_version=4)
    nb, _ = RemoveSolutions().preprocess(nb, {})
    nbformat.validate(nb)
    return _write_notebook(nb, Path(target))


def make_handouts(out: Path | str | None = None,
                  notebooks_dir: Path | str | None = None) -> list[Path]:
    """Write the students' version of every notebook in ``notebooks_dir`` into ``out`` (default
    ``<project>/handouts``, replacing handouts of the same name); returns their paths."""
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    out = Path(out) if out else config.project_root() / "handouts"
    if out.resolve() == folder.resolve():
        raise ValueError(f"the handouts would overwrite the notebooks in {folder}; "
                         "choose another --out folder.")
    return [make_handout(p, out / p.name) for p in (i.path for i in course_map(folder))]


# --- stored outputs ---------------------------------------------------------------------------

# What a stored run must not inherit (quick mode, a non-interactive matplotlib that keeps the
# figures out of the notebook) and what it must set (no progress bars: a stored bar reads 0 %).
_STORED_RUN_UNSET = ("CNN_COURSE_QUICK", "MPLBACKEND")
_STORED_RUN_SET = {"TQDM_DISABLE": "1"}


def execute_notebook(path: Path | str, timeout: int | None = None) -> Path:
    """Run notebook ``path`` top to bottom and store its outputs in place, the file replaced
    only once the whole run succeeded (else nbclient's CellExecutionError). The kernel starts in
    the notebook's folder with quick mode and ``MPLBACKEND`` unset and progress bars off."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k not in _STORED_RUN_UNSET} | _STORED_RUN_SET
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    return _write_notebook(nb, path)


# --- the website ------------------------------------------------------------------------------


def static_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose widget outputs (tqdm bars) are plain HTML drawn from their saved
    state, so the page needs no widget JavaScript from another host."""
    nb = copy.deepcopy(nb)
    states = nb.metadata.pop("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(_WIDGET_VIEW)
            if view is None:
                continue
            drawn = _widget_html(states, view.get("model_id", ""))
            if drawn is not None:
                output.data = {"text/html": f'<div class="course-widget">{drawn}</div>'}
            else:
                del output.data[_WIDGET_VIEW]
    return nb


def _widget_html(states: dict, model_id: str) -> str | None:
    """HTML for one saved ipywidgets model (box, HTML, label, progress bar), else None."""
    model = states.get(model_id)
    if model is None:
        return None
    name, state = model.get("model_name", ""), model.get("state", {})
    if name in ("HBoxModel", "VBoxModel"):
        children = [_widget_html(states, c.removeprefix("IPY_MODEL_"))
                    for c in state.get("children", [])]
        return "".join(c for c in children if c)
    if name == "HTMLModel":
        return f"<span>{state.get('value', '')}</span>"
    if name == "LabelModel":
        return f"<span>{html.escape(str(state.get('value', '')))}</span>"
    if name.endswith("ProgressModel"):
        value, top = state.get("value", 0), state.get("max", 100)
        return f'<progress value="{value}" max="{top}"></progress>'
    return None


def _require_site_tools() -> None:
    """Raise SiteToolsMissingError, naming the install line, when a site tool is missing."""
    import importlib.util
    missing = [m for m in ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise SiteToolsMissingError(
            f"building the site needs {', '.join(missing)}: install the site tools with "
            f"`{SITE_EXTRA_INSTALL}` (from the course's folder; `.[dev]` includes them).")


CONF_PY = '''\
# Generated by cnn_course.publish.build_site: the Sphinx configuration of the course site.
project = {title!r}
language = "es"
extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
exclude_patterns = ["descargas/**", "_build", "**.ipynb_checkpoints"]
master_doc = "index"
nb_execution_mode = "off"              # render the stored outputs, never execute
nb_ipywidgets_js = {{}}                  # widgets are drawn as plain HTML (static_widgets)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
mathjax_path = "mathjax/tex-chtml.js"  # served from _static/, copied by sphinx-mathjax-offline
html_theme = "sphinx_book_theme"
html_title = {title!r}
html_copy_source = True
html_show_sourcelink = False
html_last_updated_fmt = None
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_favicon = "favicon.svg"
html_context = {{"default_mode": "light"}}  # the figures are drawn on white
html_theme_options = {{
    "secondary_sidebar_items": {{"**": ["page-toc"], "index": []}},
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "footer_content_items": ["extra-footer.html"],
    "extra_footer": "<p>Generado con <code>cnn-course site</code> a partir de las salidas "
                    "guardadas de los cuadernos.</p>",
}}
'''

COURSE_CSS = """\
table.course-map { table-layout: fixed; width: 100%; }
table.course-map td, table.course-map th { overflow-wrap: break-word; }
div.highlight pre, div.cell_output pre { font-size: 13px; }  /* 100-column code fits at 1440 px */
.course-widget { display: flex; flex-wrap: wrap; gap: .5em; align-items: center;
                 font-family: var(--pst-font-family-monospace); font-size: 13px; }
.course-widget progress { flex: 0 0 12em; }
"""

# A 3x3 kernel, the course's emblem, so browsers find an icon without asking for /favicon.ico.
FAVICON_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 3 3">
<rect width="3" height="3" fill="#1f4e79"/>
<rect x="1" y="1" width="1" height="1" fill="#f2b134"/>
<path d="M1 0V3M2 0V3M0 1H3M0 2H3" stroke="#fff" stroke-width=".08"/>
</svg>
"""


def build_site(out: Path | str | None = None, notebooks_dir: Path | str | None = None, *,
               warnings: TextIO | None = None) -> Path:
    """Build the course website into ``out`` (default ``<project>/_site``, where a previous site
    is replaced, never another non-empty folder) from the stored outputs of ``notebooks_dir``
    (a folder of handouts gives the students' version); Sphinx's warnings go to ``warnings``.
    Returns the site's ``index.html``."""
    _require_site_tools()
    out = Path(out) if out else config.project_root() / "_site"
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").is_file():
        raise ValueError(f"{out} is not empty and holds no site built by cnn-course; "
                         "choose a new or empty folder with --out.")
    notebooks = course_map(notebooks_dir)
    with tempfile.TemporaryDirectory(prefix="cnn-course-site-") as tmp:
        source, built = Path(tmp) / "source", Path(tmp) / "html"
        _write_sources(source, notebooks)
        _run_sphinx(source, built, Path(tmp) / "doctrees", warnings)
        with atomic_write(out) as staged:   # a previous site goes once the new one is there
            shutil.copytree(built, staged)
    return out / "index.html"


def _write_sources(source: Path, notebooks: list[NotebookInfo]) -> None:
    """The Sphinx source folder: conf.py, the landing page, the pages and the downloads."""
    for folder in ("notebooks", "descargas", "_static"):
        (source / folder).mkdir(parents=True)
    (source / "conf.py").write_text(CONF_PY.format(title=SITE_TITLE), encoding="utf-8")
    (source / "_static" / "course.css").write_text(COURSE_CSS, encoding="utf-8")
    (source / "favicon.svg").write_text(FAVICON_SVG, encoding="utf-8")
    for info in notebooks:
        shutil.copyfile(info.path, source / "descargas" / info.path.name)
        page = static_widgets(nbformat.read(info.path, as_version=4))
        for cell in page.cells:   # nbval's "# NBVAL_..." lines are not for readers
            if cell.cell_type == "code":
                cell.source = _NBVAL_MARKER.sub("", cell.source)
        nbformat.write(page, source / "notebooks" / info.path.name)
    (source / "index.md").write_text(landing_page(notebooks), encoding="utf-8")


def _run_sphinx(source: Path, built: Path, doctrees: Path,
                warnings: TextIO | None) -> None:
    """Build HTML with Sphinx, quietly; raise SiteBuildError with its message on failure."""
    from sphinx.application import Sphinx
    from sphinx.errors import SphinxError

    try:
        app = Sphinx(str(source), str(source), str(built), str(doctrees), "html",
                     status=None, warning=warnings or io.StringIO(), freshenv=True)
        app.build()
    except SphinxError as err:
        raise SiteBuildError(f"Sphinx could not build the site: {err}") from err
    if app.statuscode:
        raise SiteBuildError(f"Sphinx ended with status {app.statuscode}; see its warnings.")


# --- the landing page -------------------------------------------------------------------------


def landing_page(notebooks: list[NotebookInfo]) -> str:
    """The site's index.md (Spanish): what the course is, its map, and how to run it."""
    rows = "\n".join(_map_row(info) for info in notebooks)
    pages = "\n".join(f"notebooks/{info.path.stem}" for info in notebooks)
    return LANDING_PAGE.format(title=SITE_TITLE, rows=rows, pages=pages)


def _map_row(info: NotebookInfo) -> str:
    """One row of the course map, as a MyST list-table row."""
    objectives = info.objectives or "—"
    teaches = "\n".join(("  - " if i == 0 else "    ") + line if line.strip() else ""
                        for i, line in enumerate(objectives.splitlines()))
    return (f"* - {{doc}}`{info.number} · {info.title} <notebooks/{info.path.stem}>`\n"
            f"\n"
            f"    {{download}}`descargar <descargas/{info.path.name}>`\n"
            f"  - {info.slides or '—'}\n"
            f"{teaches}\n"
            f"  - {info.time or '—'}")


LANDING_PAGE = """\
# {title}

Curso práctico de redes neuronales convolutivas (CNN) con PyTorch, de la asignatura Minería de
Datos. Cada cuaderno de Jupyter sigue una sección de las transparencias: explica, ejecuta código
que usa la pequeña biblioteca del curso (`cnn_course`) y termina con una figura o un número que
puedes comprobar; casi todos terminan con unas «Ideas clave» y ejercicios.

Estas páginas muestran los cuadernos con las salidas guardadas de su última ejecución. Para
ejecutarlos tú, descarga cada cuaderno (enlace bajo su título en el mapa, o el botón de
descarga de cada página) o el proyecto entero, y sigue los pasos de
[Cómo instalarlo y ejecutarlo](#instalar).

## Mapa del curso

:::{{list-table}}
:header-rows: 1
:widths: 24 22 42 12
:class: course-map

* - Cuaderno
  - Transparencias
  - Qué aprenderás
  - Tiempo
{rows}
:::

(instalar)=
## Cómo instalarlo y ejecutarlo

Desde la carpeta del proyecto (Python 3.10 o posterior), la primera vez tarda unos minutos:

```bash
python3 -m venv .venv
.venv/bin/pip install -e .
.venv/bin/cnn-course info                     # qué hay instalado y qué datos faltan
.venv/bin/cnn-course download fashion-mnist   # los datos, antes de clase
.venv/bin/jupyter lab notebooks/
```

En Windows usa `.venv\\Scripts\\pip`, `.venv\\Scripts\\cnn-course` y `.venv\\Scripts\\jupyter`.
Ejecuta los cuadernos en orden, celda a celda. Sin red, el curso usa una pequeña muestra real de
Fashion-MNIST incluida en el paquete. En un portátil lento, el modo rápido (subconjuntos pequeños
y pocas épocas) se activa con la variable de entorno `CNN_COURSE_QUICK=1`:

```bash
CNN_COURSE_QUICK=1 .venv/bin/jupyter lab notebooks/
```

El ejercicio de entrega también se entrena desde la terminal con `.venv/bin/cnn-course train`.

```{{toctree}}
:hidden:
:maxdepth: 1

{pages}
```
"""
