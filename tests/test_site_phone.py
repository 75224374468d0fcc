"""The course site read on a phone (390x844 at 3x density) and on a 1440x900 screen, in
headless Chromium, offline: figures whose text can be read, text that wraps, exercise checks
that say how they answer, light pages, and the finish (alt text, the menu button, the 404 page).

How readable a figure is: its smallest text as drawn, in the PNG's own pixels, times the ratio
of the width it is shown at to its width in pixels, in CSS px. The smallest text as drawn is
written by the site build on each figure (``data-smallest-text``, site.smallest_text_px): what
the course's code recorded in the PNG when it drew it (plots, animations and panels record the
font size of their smallest text), or, for outputs stored before they did, the course's floor
(plots.MIN_FONT_PT, which test_plots checks for every figure plots draws) at the PNG's own
resolution; a notebook's own matplotlib code may go below that floor (08's legends use 8 pt:
11 CSS px at its 100 dpi, where the floor says 12,8), which the content pass's re-execution
turns into recorded sizes. Bytes a page transfers: the size on disk of every file the browser
fetched for it (a static host's uncompressed size, an upper bound), with every figure scrolled
into view.

Set ``CNN_COURSE_TEST_SITE`` to a site already built with ``--repo-url`` (this module's REPO)
to check it instead of building one."""

import io
import os
import urllib.parse
from pathlib import Path

import pytest

from cnn_course.tools import site as site_tools
from tests.test_site import CHROMIUM, PHONE, REPO, _pages, base_url, site  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api")

PHONE_MIN_PX, DESKTOP_MIN_PX = 9, 10
PAGE_LIMIT, PAGE_BEFORE_FIGURES_LIMIT, SITE_LIMIT = 3_000_000, 800_000, 50_000_000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    given = os.environ.get("CNN_COURSE_TEST_SITE")
    if given:
        return Path(given), ""
    index = site_tools.build_site(tmp_path_factory.mktemp("site") / "site", repo_url=REPO,
                                  warnings=io.StringIO())
    return index.parent, ""


@pytest.fixture(scope="module")
def contexts(base_url):  # noqa: F811
    """A phone's and a desktop's Chromium that may fetch from the local server only."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        phone = chromium.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True,
                                     has_touch=True)
        desktop = chromium.new_context(viewport={"width": 1440, "height": 900})
        for context in (phone, desktop):
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith((base_url, "data:", "blob:"))
                          else route.abort())
        yield {"phone": phone, "desktop": desktop}
        chromium.close()


FIGURES = """() => Array.from(document.querySelectorAll('article img'), (img) => {
    const box = img.getBoundingClientRect();
    return {src: img.getAttribute('src'), shown: box.width, natural: img.naturalWidth,
            smallest: parseFloat(img.dataset.smallestText), alt: img.getAttribute('alt'),
            loading: img.getAttribute('loading')}; })"""


def _visit(context, url: str) -> dict:
    """Open ``url``, scroll every figure into view, and return what was fetched and shown."""
    page = context.new_page()
    fetched = []
    page.on("requestfinished", lambda request: fetched.append(request.url))
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    before = list(fetched)
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + 900, 700):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(30)
    page.wait_for_load_state("networkidle")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=20_000)
    result = {"before": before, "all": list(fetched), "figures": page.evaluate(FIGURES),
              "errors": errors, "wide": page.evaluate("document.documentElement.scrollWidth")}
    page.close()
    return result


@pytest.fixture(scope="module")
def visits(site, base_url, contexts):  # noqa: F811
    return {(kind, name): _visit(context, base_url + name)
            for kind, context in contexts.items() for name in _pages(site)}


def _bytes(site: Path, base: str, urls: list[str], skip=()) -> int:  # noqa: F811
    total = 0
    for url in set(urls):
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        if not url.startswith(base) or any(part in path for part in skip):
            continue
        file = site / path
        total += (file / "index.html" if file.is_dir() else file).stat().st_size
    return total


def test_every_figure_is_readable_on_a_phone_and_at_1440(visits):
    """Each figure's smallest text, as shown: >= 9 CSS px on a phone, >= 10 at 1440 px."""
    worst, small = {}, []
    for (kind, name), visit in visits.items():
        least = PHONE_MIN_PX if kind == "phone" else DESKTOP_MIN_PX
        for fig in visit["figures"]:
            if "/_images/" not in fig["src"]:
                continue
            assert fig["smallest"] > 0 and fig["natural"], (name, fig)
            px = fig["smallest"] * fig["shown"] / fig["natural"]
            worst[kind] = min(worst.get(kind, 99.0), px)
            if px < least:
                small.append((kind, name, fig["src"].split("/")[-1][:12], round(px, 1)))
    print("smallest text shown, CSS px:", {k: round(v, 1) for k, v in worst.items()})
    assert set(worst) == {"phone", "desktop"}, "no figure measured: this test would prove nothing"
    assert not small, small


def test_pages_are_light(site, base_url, visits):  # noqa: F811
    """With every figure loaded, no notebook page transfers over 3 MB; before its figures and
    MathJax, no page over 800 KB; the whole site under 50 MB."""
    heavy, report = [], {}
    for (kind, name), visit in visits.items():
        everything = _bytes(site, base_url, visit["all"])
        own = _bytes(site, base_url, visit["all"], skip=("_images/", "_static/mathjax/"))
        report[(kind, name)] = (everything, own)
        if name.startswith("notebooks/") and everything > PAGE_LIMIT:
            heavy.append((kind, name, "con figuras", everything))
        if own > PAGE_BEFORE_FIGURES_LIMIT:
            heavy.append((kind, name, "sin figuras", own))
        html = (site / name).read_text(encoding="utf-8")
        if 'class="math' not in html:   # MathJax only where there are formulas
            assert not any("/mathjax/" in u for u in visit["all"]), (kind, name)
        assert not any("fontawesome" in u for u in visit["all"]), (kind, name)   # no icon font
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print("heaviest page with figures:", max(report.items(), key=lambda kv: kv[1][0]))
    print("heaviest page without figures:", max(report.items(), key=lambda kv: kv[1][1]))
    print(f"site: {total} bytes; zip: {(site / 'descargas' / 'curso-cnn.zip').stat().st_size}")
    assert not heavy, heavy
    assert total < SITE_LIMIT, total


def test_no_console_error_no_sideways_scroll_alt_text_and_lazy_figures(visits):
    """Figures after a page's first are lazy-loaded; each has alt text that is not its path."""
    for (kind, name), visit in visits.items():
        assert not visit["errors"], (kind, name, visit["errors"])
        if kind == "phone":
            assert visit["wide"] <= PHONE["width"], (name, visit["wide"])
        for k, fig in enumerate(visit["figures"]):
            assert fig["loading"] == ("lazy" if k else None), (name, k, fig["loading"])
            alt = fig["alt"] or ""
            assert alt and "_images/" not in alt and not alt.endswith(".png"), (name, fig)
