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
import html
import io
import re
import shutil
import tempfile
from pathlib import Path
from typing import TextIO

import nbformat
from PIL import Image

from .. import config, panels
from ..animations import DPI as ANIMATION_DPI
from ..downloads import atomic_write
from ..plots import MIN_FONT_PT, SMALLEST_TEXT_KEY
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
        _finish(built, repo_url)
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
    glossary = _glossary(config.project_root() / "README.md")
    for info in notebooks:
        nb = nbformat.read(info.path, as_version=4)
        offered = with_colab_install(copy.deepcopy(nb), repo_url) if repo_url else nb
        nbformat.write(offered, downloads / info.path.name)
        for cell in nb.cells:   # nbval's "# NBVAL_..." lines are not for readers
            if cell.cell_type == "code":
                cell.source = _NBVAL_MARKER.sub("", cell.source)
                cell.outputs.sort(key=_note_first)
        colab = colab_url(repo_url, colab_branch, info.path.name) if repo_url else None
        nb.cells = _with_check_notes(nb.cells, info.path.name, colab)
        words = _english_keywords(nb, info.path.stem, glossary)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            "```{eval-rst}\n.. meta::\n   :keywords: " + ", ".join(words) + "\n```"))
        nbformat.write(nb, source / "notebooks" / info.path.name)
    build_bundle(downloads / BUNDLE_NAME, [downloads / i.path.name for i in notebooks], wheel)
    if instructor:
        shutil.copyfile(config.project_root() / INSTRUCTOR_GUIDE, source / INSTRUCTOR_GUIDE.name)
    (source / "index.md").write_text(
        landing_page(notebooks, SITE_TITLE, wheel=wheel.name, repo_url=repo_url,
                     colab_branch=colab_branch, instructor=instructor), encoding="utf-8")


def _glossary(readme: Path) -> list[tuple[list[str], list[str]]]:
    """The README's glossary (its table "| en el curso | en inglés ... |") as pairs of the
    course's Spanish terms and the English words for them; empty without a README."""
    if not readme.is_file():
        return []
    text = readme.read_text(encoding="utf-8")
    start = text.find("| en el curso | en inglés")
    pairs = []
    for line in text[start:].splitlines()[2:] if start >= 0 else []:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2:
            break
        spanish = re.sub(r"\([^)]*\)|«[^»]*»|:.*", "", cells[0].lower())
        terms = [t.strip() for t in spanish.split(",") if t.strip()]
        pairs.append((terms, re.findall(r"[a-z]{3,}", cells[1].lower())))
    return pairs


def _english_keywords(nb, stem: str, glossary: list) -> list[str]:
    """Hidden search keywords of a notebook's page, so that English terms find it: the words
    of its file name ("transfer", "learning") and the English words the glossary gives for the
    course's terms its text uses ("relleno": "padding")."""
    text = " ".join(c.source.lower() for c in nb.cells if c.cell_type == "markdown")
    words = re.findall(r"[a-z]{3,}", stem.lower())
    for spanish, english in glossary:
        if any(re.search(rf"\b{re.escape(term)}\b", text) for term in spanish):
            words += english
    return list(dict.fromkeys(words))


def _note_first(output) -> int:
    """Sort key: the panel's still-picture note (panels.STILL_NOTE) before the picture it
    explains (outputs stored before conv_panel printed it first); other outputs keep order."""
    return 0 if panels.STILL_NOTE[:40] in output.get("text", "") else 1


CHECK_NOTE = ('<p class="course-check-note">✔ El veredicto de esta celda aparece al ejecutar '
              'el cuaderno{where}: <a href="../{downloads}/{name}" download>descárgalo</a>{colab}.'
              '</p>')


def _with_check_notes(cells: list, name: str, colab: str | None) -> list:
    """``cells`` with, after each exercise check (a ``comprueba(`` cell with no stored output),
    one line saying that its verdict appears when the notebook runs, with the download link."""
    where = " en Jupyter o en Colab" if colab else " en Jupyter"
    link = f' o <a href="{colab}">ábrelo en Colab</a>' if colab else ""
    note = CHECK_NOTE.format(where=where, downloads=DOWNLOADS, name=name, colab=link)
    out = []
    for cell in cells:
        out.append(cell)
        if cell.cell_type == "code" and "comprueba(" in cell.source and not cell.outputs:
            out.append(nbformat.v4.new_markdown_cell(note))
    return out


def _finish(built: Path, repo_url: str | None = None) -> None:
    """Make the built pages light and readable on a phone: the theme's icon script gives way
    to the few icons as inline SVG, the search scripts stay on the search page, figures become
    WebP (photos lossy), MathJax keeps what it loads, each figure records its smallest text
    and gets its alt text, lazy loading and its zoom box; Sphinx's Spanish search messages are
    corrected; the theme's templates copied as static files, the empty ``_sources`` folder and
    the icon script go; a Spanish 404 page is added."""
    sources = built / "_sources"
    if sources.is_dir() and not any(sources.rglob("*")):
        sources.rmdir()
    static = built / "_static"
    icons = _icons(static / "scripts" / "fontawesome.js")
    converted: set[Path] = set()
    for page in built.rglob("*.html"):
        if page.relative_to(built).parts[0] == "_static":
            continue
        text = _FONTAWESOME_TAG.sub("", page.read_text(encoding="utf-8"))
        if page.name != "search.html":
            text = _SEARCH_TOOLS.sub("", text)
        text = _inline_icons(text, icons)
        page.write_text(_figures(_mark_columns(text), page, converted), encoding="utf-8")
    for png in converted:
        png.unlink()
    for leftover in ("webpack-macros.html", "sbt-webpack-macros.html", "scripts/fontawesome.js",
                     "scripts/fontawesome.js.map"):
        (static / leftover).unlink(missing_ok=True)
    _drop_icon_rules(static / "styles" / "pydata-sphinx-theme.css")
    _prune_mathjax(static / "mathjax")
    _correct_search_messages(built / "_static" / "translations.js")
    (built / "404.html").write_text(_not_found_page(repo_url), encoding="utf-8")


# --- icons: the few the site draws, as inline SVG instead of Font Awesome's 1,5 MB script ----

_FONTAWESOME_TAG = re.compile(
    r'[ \t]*<(?:script|link)\b[^>]*fontawesome\.js[^>]*>(?:</script>)?\n?')
# pydata-sphinx-theme loads the search index (and Sphinx's search code) on every page for a
# search-as-you-type box this site does not use: its search box opens search.html.
_SEARCH_TOOLS = re.compile(
    r'[ \t]*<script src="[^"]*(?:searchtools|language_data|searchindex)\.js[^"]*"></script>\n?')
_ICON = re.compile(r'<(span|i) class="fa-(?:solid|regular|brands) fa-([a-z0-9-]+)'
                   r'(?: fa-lg)?"(?: aria-hidden="true")?></\1>')


def _icons(script: Path) -> dict[str, list]:
    """Font Awesome's icons as ``{name: (width, height, path)}`` read from the theme's own
    ``fontawesome.js``, which defines the brands, the regular and the solid style in that
    order: a regular icon is a name's first entry, a solid one its last."""
    if not script.is_file():
        return {}
    found = {}
    for m in re.finditer(r'[{,]"?([a-z0-9-]+)"?:\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","(M[^"]+)"\]',
                         script.read_text(encoding="utf-8")):
        found.setdefault(m[1], []).append((m[2], m[3], m[4]))
    return found


def _inline_icons(text: str, icons: dict) -> str:
    def svg(m: re.Match) -> str:
        variants = icons.get(m[2])
        if not variants:
            raise SiteBuildError(f"el icono {m[2]!r} no está en el fontawesome.js del tema")
        width, height, path = variants[0] if "fa-regular" in m[0] else variants[-1]
        return (f'<svg class="course-icon" viewBox="0 0 {width} {height}" aria-hidden="true" '
                f'focusable="false"><path fill="currentColor" d="{path}"/></svg>')
    return _ICON.sub(svg, text)


def _drop_icon_rules(css: Path) -> None:
    """The theme's CSS names every Font Awesome icon (about 2.000 rules, 66 KB): the site's
    few icons are inline SVG, so those rules go."""
    if css.is_file():
        text = css.read_text(encoding="utf-8")
        css.write_text(re.sub(r'(?:\.fa-[a-z0-9-]+,?)+\{--fa:"[^"]*"\}', "", text),
                       encoding="utf-8")


MATHJAX_KEPT = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y",
                "ui")


def _prune_mathjax(folder: Path) -> None:
    """Keep of the offline MathJax (24 MB) what conf.py's ``mathjax_path`` (tex-chtml.js) loads:
    its fonts, the TeX extensions it may load on demand, its menu and accessibility parts."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), reverse=True):
        name = path.relative_to(folder).as_posix()
        needed = any(name == k or name.startswith(k + "/") or k.startswith(name + "/")
                     for k in MATHJAX_KEPT)
        if needed:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


# --- figures -------------------------------------------------------------------------------

_IMG = re.compile(r'<img alt="[^"]*"([^>]*?) src="([^"]*_images/[^"]+\.png)"([^>]*?)\s*/?>')
PHOTO_COLOURS = 20_000   # a PNG with more distinct colours than this is a photo (grid)


def smallest_text_px(image: Image.Image) -> float:
    """The smallest text of a figure, in the PNG's own pixels: what the course's code recorded
    when it drew it (plots.SMALLEST_TEXT_KEY) or, for outputs stored before it did, the course's
    floor (plots.MIN_FONT_PT) at the PNG's resolution (an animation's: animations.DPI)."""
    if SMALLEST_TEXT_KEY in image.info:
        return float(image.info[SMALLEST_TEXT_KEY])
    dpi = image.info.get("dpi", (ANIMATION_DPI,))[0]
    return MIN_FONT_PT * dpi / 72


def _as_webp(image: Image.Image, file: Path) -> Path:
    """A figure as WebP beside ``file`` (what Chromium, Firefox and Safari show): lossy at
    quality 85 for a photo (a still, opaque picture of many colours: a photo grid), else
    lossless, the same pixels in a third of the PNG's bytes (an animation: a fifth)."""
    webp = file.with_suffix(".webp")
    if webp.exists():
        return webp
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        still, durations = [], []
        for k in range(frames):
            image.seek(k)
            still.append(image.convert("RGB"))
            durations.append(image.info.get("duration", 1000))
        still[0].save(webp, "WEBP", save_all=True, append_images=still[1:], duration=durations,
                      loop=0, lossless=True, method=4)
        return webp
    opaque = image.mode != "RGBA" or image.getchannel("A").getextrema()[0] == 255
    if opaque and image.mode != "P" and image.getcolors(PHOTO_COLOURS) is None:
        image.convert("RGB").save(webp, "WEBP", quality=85, method=4)
    else:
        image.save(webp, "WEBP", lossless=True, method=4)
    return webp


def _alt(before: str) -> str:
    """A figure's alt text: the last sentence of the paragraph before it (that introduces it)."""
    start = before.rfind("<p>")
    end = before.find("</p>", start)
    if start < 0 or end < 0:
        return "Figura"
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", before[start + 3:end])).split())
    sentences = re.split(r"(?<=[.:;])\s+(?=[A-ZÁÉÍÓÚÑ¿¡«(])", text)
    return html.escape(sentences[-1][:300].rstrip(" :"), quote=True)


def _figures(text: str, page: Path, converted: set[Path]) -> str:
    """Each figure of a page: its alt text, its smallest text (``data-smallest-text``, in its
    own pixels), lazy loading after the first, WebP (its PNG added to ``converted``), inside
    a box that scrolls
    (it is shown at the size it was drawn for) with a button that opens it full screen."""
    out, last, count = [], 0, 0
    for m in _IMG.finditer(text):
        src = m[2]
        file = page.parent / src
        with Image.open(file) as image:
            smallest = smallest_text_px(image)
            _as_webp(image, file)
        converted.add(file)
        src = src[:-4] + ".webp"
        lazy = ' loading="lazy"' if count else ""
        count += 1
        out.append(text[last:m.start()])
        out.append(f'<div class="course-figure"><img alt="{_alt(text[:m.start()])}"{m[1]} '
                   f'src="{src}"{m[3]}{lazy} decoding="async" '
                   f'data-smallest-text="{smallest:.2f}" />'
                   '<button type="button" class="course-figure__open" '
                   'aria-label="Ver la figura a pantalla completa">'
                   '<span aria-hidden="true">⤢</span></button></div>')
        last = m.end()
    out.append(text[last:])
    return "".join(out)


# --- printed text: sentences wrap, tables keep their columns --------------------------------

_STREAM = re.compile(
    r'(<div class="output stream[^"]*)(">\s*<div class="highlight"><pre>)(.*?)</pre>', re.DOTALL)
_ALIGNED = re.compile(r"\S {3,}\S|[-=─━|+]{10,}")


def _mark_columns(text: str) -> str:
    """Printed outputs laid out in columns (two or more lines aligned with runs of spaces, or a
    rule line) get the class ``course-columns``: course.css wraps every other printed output."""
    def mark(m: re.Match) -> str:
        lines = sum(bool(_ALIGNED.search(line)) for line in m[3].splitlines())
        return (m[1] + (" course-columns" if lines >= 2 else "") + m[2] + m[3] + "</pre>")
    return _STREAM.sub(mark, text)


# --- Sphinx's messages and the 404 page -------------------------------------------------------

SEARCH_NOTHING = ("Ninguna página contiene todas esas palabras. Comprueba que estén bien "
                  "escritas o prueba con menos palabras.")


def _correct_search_messages(translations: Path) -> None:
    """Sphinx's Spanish catalogue says "ningún documentos" and "usted allá seleccionado"."""
    if not translations.is_file():
        return
    text = translations.read_text(encoding="utf-8")
    text = re.sub(r'("Your search did not match any documents[^"]*": )"[^"]*"',
                  lambda m: m[1] + '"' + SEARCH_NOTHING + '"', text)
    translations.write_text(text, encoding="utf-8")


def _not_found_page(repo_url: str | None) -> str:
    """A Spanish 404 page that needs nothing else from the site (any folder may serve it): a
    link to the course's start (on GitHub Pages, the repository's site)."""
    home = "/"
    found = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", repo_url or "")
    if found:
        home = f"https://{found[1].lower()}.github.io/{found[2]}/"
    return f"""<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Página no encontrada · {SITE_TITLE}</title>
<style>body{{font:1.1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;
color:#222}}a{{color:#1f4e79;font-weight:600}}</style></head>
<body><h1>Página no encontrada</h1>
<p>Esta dirección no es ninguna página del curso: quizá el enlace está mal escrito o la página
cambió de nombre.</p>
<p><a href="{home}">Ir al inicio del curso «{SITE_TITLE}»</a>, donde están todos los cuadernos
y el buscador.</p></body></html>
"""


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
