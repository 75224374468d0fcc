"""The course website, built once into a temporary folder and opened in headless Chromium.

The site is served from 127.0.0.1 as any static host would serve it. Every page is visited once
(the ``crawl`` fixture) and the tests check what a reader would notice: a title, images that
load, no script errors, nothing fetched from another host, links that lead somewhere, math
rendered, and a search that finds "convolución". Needs the site extra, Playwright's Python
package and a Chromium (Debian's ``chromium``; Playwright's own browser download is not used).
"""

import http.server
import io
import os
import shutil
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from cnn_course.tools import course_map
from cnn_course.tools import site as site_tools

pytest.importorskip("sphinx", reason="the site tools are missing: pip install -e '.[site]'")
pytest.importorskip("myst_nb", reason="the site tools are missing: pip install -e '.[site]'")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright's Python package is missing: pip install -e '.[dev]'")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
if not CHROMIUM:
    pytest.skip("no Chromium to open the site with: apt-get install chromium (or set CHROMIUM)",
                allow_module_level=True)


@dataclass
class Visit:
    """What one page showed the browser."""

    title: str = ""
    images: list = field(default_factory=list)     # [src, naturalWidth]
    errors: list = field(default_factory=list)     # console errors and uncaught exceptions
    links: list = field(default_factory=list)      # absolute hrefs of <a>
    math: int = 0                                  # elements Sphinx marked as math
    rendered_math: int = 0                         # MathJax's rendered formulas


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The site's folder and Sphinx's warnings."""
    warnings = io.StringIO()
    index = site_tools.build_site(tmp_path_factory.mktemp("site") / "site", warnings=warnings)
    return index.parent, warnings.getvalue()


@pytest.fixture(scope="module")
def site(built) -> Path:
    return built[0]


def test_site_builds_without_warnings(built):
    assert built[1] == ""


@pytest.fixture(scope="module")
def base_url(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    page: object                                   # a Playwright page
    foreign: list = field(default_factory=list)    # requests to any other host (aborted)


@pytest.fixture(scope="module")
def browser(base_url) -> Browser:
    """A Chromium page that may fetch from the local server only; others are recorded."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        result = Browser(chromium.new_page(viewport={"width": 1440, "height": 900}))

        def only_local(route):
            url = route.request.url
            if url.startswith(base_url) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                result.foreign.append(url)
                route.abort()

        result.page.route("**/*", only_local)
        yield result
        chromium.close()


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith("_"))


@pytest.fixture(scope="module")
def crawl(site, base_url, browser) -> dict[str, Visit]:
    page, visits = browser.page, {}
    for name in _pages(site):
        visit = visits[name] = Visit()

        def on_console(message, visit=visit):
            if message.type == "error":
                visit.errors.append(message.text)

        def on_error(exception, visit=visit):
            visit.errors.append(str(exception))

        page.on("console", on_console)
        page.on("pageerror", on_error)
        page.goto(base_url + name, wait_until="load")
        page.wait_for_load_state("networkidle")
        if page.locator(".math").count():
            try:    # MathJax typesets after load; test_math_is_rendered... reports a failure
                page.wait_for_function("document.querySelector('mjx-container')",
                                       timeout=10_000)
            except sync_api.TimeoutError:
                pass
        visit.title = page.title()
        visit.images = page.evaluate(
            "Array.from(document.images).map(i => [i.currentSrc || i.src, i.naturalWidth])")
        visit.links = page.evaluate("Array.from(document.querySelectorAll('a[href]'), a => a.href)")
        visit.math = page.locator(".math").count()
        visit.rendered_math = page.locator("mjx-container").count()
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
    return visits


def test_every_notebook_and_the_landing_page_are_pages(site):
    pages = _pages(site)
    notebooks = course_map.course_map()
    assert "index.html" in pages and "search.html" in pages
    for info in notebooks:
        assert f"notebooks/{info.path.stem}.html" in pages


def test_pages_hide_the_test_markers(site):
    # nbval reads cell tags (nbval-check-output, ...): metadata, never text a reader sees
    marked = [i for i in course_map.course_map() if '"nbval-' in i.path.read_text("utf-8")]
    assert marked, "no notebook has an nbval tag: this test would prove nothing"
    for info in marked:
        assert "# NBVAL_" not in info.path.read_text("utf-8"), info.path.name
        page = (site / "notebooks" / f"{info.path.stem}.html").read_text(encoding="utf-8")
        assert "NBVAL_" not in page and "highlight-ipython3" in page, info.path.name


def test_every_page_has_a_title(crawl):
    assert all(v.title.strip() for v in crawl.values()), {n: v.title for n, v in crawl.items()}
    assert crawl["index.html"].title.startswith(site_tools.SITE_TITLE)


def test_every_image_loads(crawl):
    broken = {n: [src for src, width in v.images if not width] for n, v in crawl.items()}
    assert not any(broken.values()), broken


def test_notebook_figures_are_on_their_pages(site, crawl):
    for info in course_map.course_map():
        stored = sum("image/png" in output.get("data", {})
                     for cell in nbformat.read(info.path, as_version=4).cells
                     for output in cell.get("outputs", []))
        shown = [src for src, _ in crawl[f"notebooks/{info.path.stem}.html"].images
                 if "/_images/" in src]
        assert len(shown) >= stored, info.path.name


def test_no_console_errors(crawl):
    errors = {n: v.errors for n, v in crawl.items() if v.errors}
    assert not errors


def test_nothing_is_requested_from_another_host(crawl, browser):
    assert browser.foreign == []


def test_every_internal_link_resolves(site, base_url, crawl):
    bad = set()
    for name, visit in crawl.items():
        for href in visit.links:
            if not href.startswith(base_url):
                continue
            parts = urllib.parse.urlsplit(href)
            path = urllib.parse.unquote(parts.path)
            target = site / path.lstrip("/")
            if path.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                bad.add((name, href))
            elif parts.fragment and target.suffix == ".html":
                anchor = urllib.parse.unquote(parts.fragment)
                if f'id="{anchor}"' not in target.read_text(encoding="utf-8"):
                    bad.add((name, href))
    assert not bad


def test_landing_page_links_every_notebook_and_its_download(crawl, base_url):
    links = crawl["index.html"].links
    for info in course_map.course_map():
        assert f"{base_url}notebooks/{info.path.stem}.html" in links
        assert any(h.startswith(f"{base_url}_downloads/") and h.endswith(info.path.name)
                   for h in links), info.path.name


def test_math_is_rendered_by_the_local_mathjax(crawl):
    with_math = {n: v for n, v in crawl.items() if v.math}
    assert with_math, "no page has math: the check below would prove nothing"
    assert all(v.rendered_math >= 1 for v in with_math.values())


def test_interface_is_in_spanish(browser, base_url):
    browser.page.goto(base_url + "index.html")
    assert browser.page.get_attribute("html", "lang") == "es"
    assert "Búsqueda" in browser.page.content()


def test_search_finds_convolucion(browser, base_url):
    """The search page lists the notebooks about convolution, with a snippet of each."""
    browser.page.goto(base_url + "search.html?q=" + urllib.parse.quote("convolución"))
    results = browser.page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=15_000)
    browser.page.wait_for_load_state("networkidle")
    found = [(results.nth(i).locator("a").first.get_attribute("href"),
              results.nth(i).inner_text()) for i in range(results.count())]
    assert any(href.startswith("notebooks/") and "convolución" in text.lower()
               for href, text in found), found
