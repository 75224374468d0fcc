"""The course website: a static, searchable site of the notebooks' stored outputs
(``build_site``: Sphinx, MyST-NB and the Sphinx Book Theme, from the optional ``site`` extra)
whose pages load nothing from another host, with the whole course as one download (bundle.py)
and a landing page (landing.py).

The site's own files (Sphinx's ``conf.py``, the templates that fix and translate the theme, the
Spanish catalogue of Sphinx's missing strings, the CSS, the JavaScript and the icon) live in
``site_files/`` beside this module, as what they are; a build copies that folder and adds the
pages and the downloads."""

from __future__ import annotations

import copy
import io
import re
import shutil
import tempfile
from pathlib import Path
from typing import TextIO

import nbformat

from .. import config
from ..downloads import atomic_write
from .bundle import BUNDLE_NAME, build_bundle, build_wheel, with_colab_install
from .course_map import NotebookInfo, course_map, default_notebooks_dir
from .handouts import make_handouts
from .landing import DOWNLOADS, colab_url, landing_page

__all__ = ["INSTRUCTOR_GUIDE", "SITE_EXTRA_INSTALL", "SITE_FILES", "SITE_TITLE",
           "SiteBuildError", "SiteToolsMissingError", "build_site"]

SITE_EXTRA_INSTALL = 'pip install "cnn_course[site]"'   # in a clone: pip install -e ".[site]"
SITE_TITLE = "Redes neuronales convolutivas con PyTorch"
SITE_FILES = Path(__file__).with_name("site_files")   # conf.py, _templates/, _static/, locale/
INSTRUCTOR_GUIDE = Path("docs", "guia_profesor.md")   # in the course's folder; its own page
_NBVAL_MARKER = re.compile(r"^[ \t]*# NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)


class SiteToolsMissingError(RuntimeError):
    """The site's tools (Sphinx, MyST-NB, the book theme, offline MathJax) are not installed."""


class SiteBuildError(RuntimeError):
    """Sphinx could not build the site; the message holds its error."""


def _require_site_tools() -> None:
    """Raise SiteToolsMissingError, naming the install line, when a site tool is missing."""
    import importlib.util
    missing = [m for m in ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline",
                           "sphinx_copybutton", "markdown_it")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise SiteToolsMissingError(
            f"construir el sitio necesita el extra «site» (falta {', '.join(missing)}): "
            f"instálalo con `{SITE_EXTRA_INSTALL}` (en una copia clonada del curso, "
            '`pip install -e ".[site]"`, o `.[dev]`, que lo incluye).')


def build_site(out: Path | str | None = None, notebooks_dir: Path | str | None = None, *,
               instructor: bool = False, repo_url: str | None = None,
               colab_branch: str = "gh-pages", warnings: TextIO | None = None) -> Path:
    """Build the course website into ``out`` (default ``<project>/_site``, where a previous site
    is replaced, never another non-empty folder) from the stored outputs of ``notebooks_dir``
    (default ``notebooks/``), with the whole course as one download (``descargas/curso-cnn.zip``).
    Pages and downloads are the students' version (the handouts) unless ``instructor`` (the
    notebooks with their solutions, and the instructor's guide as a page of its own);
    ``repo_url`` adds links to the repository and, for GitHub, "Abrir en Colab" links to the
    notebooks as published on its ``colab_branch``. Sphinx's warnings go to ``warnings``.
    Returns the site's ``index.html``."""
    _require_site_tools()
    out = Path(out) if out else config.project_root() / "_site"
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").is_file():
        raise ValueError(f"{out} no está vacía y no tiene un sitio construido por cnn-course; "
                         "elige una carpeta nueva o vacía con --out.")
    guide = config.project_root() / INSTRUCTOR_GUIDE
    if instructor and not guide.is_file():
        raise SiteBuildError(f"la versión del profesor publica su guía y no está en {guide}: "
                             "construye el sitio desde la carpeta del curso (con docs/).")
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    with tempfile.TemporaryDirectory(prefix="cnn-course-site-") as tmp:
        tmp = Path(tmp)
        published = tmp / "published"
        if instructor:
            published.mkdir()
            for info in course_map(folder):
                shutil.copyfile(info.path, published / info.path.name)
        else:
            make_handouts(published, folder)
        try:
            wheel = build_wheel(tmp / "wheel")
        except RuntimeError as err:
            raise SiteBuildError("la descarga del curso necesita el paquete (wheel) de la "
                                 f"biblioteca: {err}") from err
        source, built = tmp / "source", tmp / "html"
        _write_sources(source, course_map(published), wheel, repo_url=repo_url,
                       colab_branch=colab_branch, instructor=instructor)
        context = {"course_repo": repo_url,
                   "course_colab": colab_url(repo_url, colab_branch, "") if repo_url else None}
        _run_sphinx(source, built, tmp / "doctrees", context, warnings)
        _finish(built)
        with atomic_write(out) as staged:   # a previous site goes once the new one is there
            shutil.copytree(built, staged)
    return out / "index.html"


def _write_sources(source: Path, notebooks: list[NotebookInfo], wheel: Path, *,
                   repo_url: str | None, colab_branch: str, instructor: bool) -> None:
    """The Sphinx source folder: a copy of SITE_FILES, the landing page, the pages and, in
    ``_extra/descargas/``, each notebook once and the whole course's zip."""
    shutil.copytree(SITE_FILES, source, ignore=shutil.ignore_patterns("__pycache__"))
    downloads = source / "_extra" / DOWNLOADS
    (source / "notebooks").mkdir()
    downloads.mkdir(parents=True)
    for info in notebooks:
        nb = nbformat.read(info.path, as_version=4)
        offered = with_colab_install(copy.deepcopy(nb), repo_url) if repo_url else nb
        nbformat.write(offered, downloads / info.path.name)
        for cell in nb.cells:   # nbval's "# NBVAL_..." lines are not for readers
            if cell.cell_type == "code":
                cell.source = _NBVAL_MARKER.sub("", cell.source)
        nbformat.write(nb, source / "notebooks" / info.path.name)
    build_bundle(downloads / BUNDLE_NAME, [downloads / i.path.name for i in notebooks], wheel)
    if instructor:
        shutil.copyfile(config.project_root() / INSTRUCTOR_GUIDE, source / INSTRUCTOR_GUIDE.name)
    (source / "index.md").write_text(
        landing_page(notebooks, SITE_TITLE, wheel=wheel.name, repo_url=repo_url,
                     colab_branch=colab_branch, instructor=instructor), encoding="utf-8")


def _finish(built: Path) -> None:
    """Drop the empty ``_sources`` folder (the notebooks are offered once, in ``descargas/``)."""
    sources = built / "_sources"
    if sources.is_dir() and not any(sources.rglob("*")):
        sources.rmdir()


def _run_sphinx(source: Path, built: Path, doctrees: Path, context: dict,
                warnings: TextIO | None) -> None:
    """Build HTML with Sphinx, quietly, adding ``context`` to conf.py's ``html_context``;
    raise SiteBuildError with its message on failure."""
    from sphinx.application import Sphinx
    from sphinx.errors import SphinxError
    from sphinx.util.docutils import docutils_namespace

    try:   # docutils_namespace: a second build in the same process registers nothing twice
        with docutils_namespace():
            app = Sphinx(str(source), str(source), str(built), str(doctrees), "html",
                         status=None, warning=warnings or io.StringIO(), freshenv=True,
                         confoverrides={f"html_context.{k}": v for k, v in context.items()})
            app.build()
    except SphinxError as err:
        raise SiteBuildError(f"Sphinx no pudo construir el sitio: {err}") from err
    if app.statuscode:
        raise SiteBuildError(f"Sphinx terminó con el estado {app.statuscode}; mira sus avisos.")
