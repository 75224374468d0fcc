"""The course site's landing page (Spanish MyST): what the course is, the download of the whole
course and how to start from it, and the course map as cards, one notebook each."""

from __future__ import annotations

import html
import re
from functools import cache

from .bundle import BUNDLE_NAME, getting_started
from .course_map import NotebookInfo

__all__ = ["DOWNLOADS", "colab_url", "course_card", "landing_page", "markdown_inline"]

DOWNLOADS = "descargas"   # the site's folder with the notebooks and the bundle


@cache
def _markdown():
    """CommonMark's renderer, imported on first use: ``markdown_it`` comes with the ``site``
    extra, and the command line imports this module without it (to say which extra to install)."""
    from markdown_it import MarkdownIt
    return MarkdownIt("commonmark")


_MATH = re.compile(r"\$([^$\n]+)\$")


def _with_math(render, text: str) -> str:
    """``render(text)`` with each ``$...$`` kept out of Markdown and drawn as HTML (the landing
    page loads no MathJax): ``$I_R$`` -> *I*<sub>R</sub>; any other formula as its text."""
    formulas = _MATH.findall(text)
    marked = _MATH.sub(lambda m: f"@@MATH{formulas.index(m[1])}@@", text)
    drawn = render(marked)
    for i, formula in enumerate(formulas):
        simple = re.fullmatch(r"([A-Za-z])_\{?([A-Za-z0-9]+)\}?", formula.strip())
        shown = (f"<i>{simple[1]}</i><sub>{simple[2]}</sub>" if simple
                 else f"<code>{html.escape(formula)}</code>")
        drawn = drawn.replace(f"@@MATH{i}@@", shown)
    return drawn


def markdown_inline(text: str) -> str:
    """One line of Markdown as HTML: ``"Relleno (*padding*)"`` -> ``Relleno (<em>padding</em>)``."""
    return _with_math(_markdown().renderInline, text)


def _markdown_list(text: str) -> str:
    """A header's bullet list as HTML, each wrapped line joined to its item first (so a line
    that starts with "+ 0,114 B" stays text, not a nested bullet)."""
    items: list[str] = []
    for line in text.splitlines():
        if re.match(r"[-*] ", line) or not items:
            items.append(line.strip())
        elif line.strip():
            items[-1] += " " + line.strip()
    return _with_math(_markdown().render, "\n".join(items)).strip()


def colab_url(repo_url: str, branch: str, name: str) -> str | None:
    """The "Abrir en Colab" link for notebook ``name`` published with the site on ``branch`` of
    the GitHub repository ``repo_url`` (its ``descargas/`` folder); None off GitHub."""
    found = re.match(r"https://github\.com/([^/]+)/([^/#?]+?)(?:\.git)?/?$", repo_url)
    if found is None:
        return None
    owner, repo = found.groups()
    return (f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/"
            f"{DOWNLOADS}/{name}")


def course_card(info: NotebookInfo, colab: str | None = None) -> str:
    """One notebook on the course map, as an HTML list item (title, slides, time, what it
    teaches, download and Colab links)."""
    page = f"notebooks/{info.path.stem}.html"
    time = f"{info.minutes} min" if info.minutes else html.escape(info.time or "—")
    flag = ('<span class="course-card__long"><span class="fa-solid fa-triangle-exclamation">'
            f'</span> entrenamiento largo: {info.long_run}</span>' if info.long_run else "")
    links = [f'<a href="{DOWNLOADS}/{info.path.name}" download>Descargar el cuaderno</a>']
    if colab:
        links.append(f'<a href="{html.escape(colab)}">Abrir en Colab</a>')
    return (
        '<li class="course-card">'
        f'<p class="course-card__title"><a href="{page}">{html.escape(info.number)} · '
        f'{markdown_inline(info.title)}</a></p>'
        f'<p class="course-card__meta"><span class="course-card__time">'
        f'<span class="fa-regular fa-clock"></span> {time}</span>'
        f'{flag}</p>'
        f'<p class="course-card__slides">Transparencias: {html.escape(info.slides or "—")}</p>'
        f'<div class="course-card__teaches">{_markdown_list(info.objectives or "—")}</div>'
        f'<p class="course-card__links">{" · ".join(links)}</p>'
        '</li>')


def landing_page(notebooks: list[NotebookInfo], title: str, *, wheel: str,
                 repo_url: str | None = None, colab_branch: str = "gh-pages",
                 instructor: bool = False) -> str:
    """The site's index.md (Spanish MyST): what the course is, its download and how to start,
    and the map; ``repo_url`` adds the repository and the Colab links, ``instructor`` the
    instructor's guide (a page ``guia_profesor`` beside it)."""
    cards = "".join(course_card(info, colab_url(repo_url, colab_branch, info.path.name)
                                if repo_url else None) for info in notebooks)
    pages = "\n".join(f"notebooks/{info.path.stem}" for info in notebooks)
    version = ("del profesor, con las soluciones" if instructor else
               "de los estudiantes, con los ejercicios sin resolver")
    guide = ("La [guía del profesor](guia_profesor.md) explica cómo preparar las hojas, las "
             "demostraciones en clase, la calificación y la publicación de esta web.\n"
             if instructor else "")
    if instructor:   # tools.site copies docs/guia_profesor.md beside this page
        pages += "\nguia_profesor"
    repo = (f"El código del curso está en el repositorio <{repo_url}>; cada cuaderno se puede "
            "abrir también en Google Colab (enlace «Abrir en Colab»), donde su primera celda "
            "instala la biblioteca.\n" if repo_url else "")
    return LANDING_PAGE.format(
        title=title, cards=cards, pages=pages, bundle=f"{DOWNLOADS}/{BUNDLE_NAME}",
        version=version, guide=guide, repo=repo,
        start=getting_started(wheel, level=2).split("\n", 2)[2])


LANDING_PAGE = """\
# {title}

Curso práctico de redes neuronales convolutivas (CNN) con PyTorch, de la asignatura Minería de
Datos. Cada cuaderno de Jupyter sigue una sección de las transparencias: explica, ejecuta código
que usa la pequeña biblioteca del curso (`cnn_course`) y termina con una figura o un número que
puedes comprobar; casi todos terminan con unas «Ideas clave» y ejercicios.

Estas páginas muestran los cuadernos con las salidas guardadas de su última ejecución, en la
versión {version}.
{guide}
<p class="course-download"><a href="{bundle}" download>Descargar el curso entero (.zip)</a></p>

El .zip trae los cuadernos, la biblioteca del curso y un `LEEME.md` con estos mismos pasos
([Cómo empezar](#empezar)). Cada cuaderno se descarga también solo, desde el mapa o desde el
botón de descarga de su página.
{repo}
(empezar)=
## Cómo empezar

Descarga <a href="{bundle}" download>el curso entero</a> y descomprímelo: crea la carpeta
`curso-cnn`.
{start}
## Mapa del curso

Cada tarjeta dice el tiempo de lectura y trabajo del cuaderno, las transparencias que sigue y qué
aprenderás; «entrenamiento largo» marca los cuadernos cuyo entrenamiento completo (sin el modo
rápido) tarda varios minutos.

```{{raw}} html
<ul class="course-map">{cards}</ul>
```

```{{toctree}}
:hidden:
:maxdepth: 1

{pages}
```
"""
