"""The course website, built once into a temporary folder and opened in headless Chromium.

The site is served from 127.0.0.1 as any static host would serve it. Every page is visited once
(the ``crawl`` fixture) and the tests check what a reader would notice: a title, images that
load, no script errors, nothing fetched from another host, links that lead somewhere, math
rendered, and a search that finds "convolución"; then, at a phone's 390x844, that the course menu
opens and closes and no page scrolls sideways; the Spanish interface; and that the course's
download installs into a fresh virtual environment and runs notebook 00. The site is built with
``--repo-url`` (so its Colab links are checked too) in the students' version. Needs the site
extra, Playwright's Python package and a Chromium (Debian's ``chromium``; Playwright's own
browser download is not used).
"""

import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from cnn_course.tools import bundle, course_map
from cnn_course.tools import handouts as handout_tools
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


REPO = "https://github.com/ejemplo/cnn_course"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The site's folder and Sphinx's warnings."""
    warnings = io.StringIO()
    index = site_tools.build_site(tmp_path_factory.mktemp("site") / "site", repo_url=REPO,
                                  warnings=warnings)
    return index.parent, warnings.getvalue()


@pytest.fixture(scope="module")
def site(built) -> Path:
    return built[0]


@pytest.fixture(scope="module")
def published(site) -> list[course_map.NotebookInfo]:
    """The notebooks the site publishes (its descargas/ folder), in the course's order."""
    return course_map.course_map(site / "descargas")


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
    page: object                                   # a Playwright page at 1440x900
    phone: object                                  # one at 390x844
    foreign: list = field(default_factory=list)    # requests to any other host (aborted)


@pytest.fixture(scope="module")
def browser(base_url) -> Browser:
    """Chromium pages that may fetch from the local server only; others are recorded."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        result = Browser(chromium.new_page(viewport={"width": 1440, "height": 900}),
                         chromium.new_page(viewport=PHONE))

        def only_local(route):
            url = route.request.url
            if url.startswith(base_url) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                result.foreign.append(url)
                route.abort()

        result.page.route("**/*", only_local)
        result.phone.route("**/*", only_local)
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
        height = page.evaluate("document.documentElement.scrollHeight")
        for y in range(0, height + 900, 800):   # figures after the first load when scrolled to
            page.evaluate(f"window.scrollTo(0, {y})")
            page.wait_for_timeout(20)
        page.wait_for_load_state("networkidle")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)",
                               timeout=20_000)
        visit.images = page.evaluate(
            "Array.from(document.images).map(i => [i.currentSrc || i.src, i.naturalWidth])")
        visit.links = page.evaluate("Array.from(document.querySelectorAll('a[href]'), a => a.href)")
        visit.math = page.locator(".math").count()
        visit.rendered_math = page.locator("mjx-container").count()
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
    return visits


def test_every_notebook_and_the_landing_page_are_pages(site, published):
    assert len(published) >= 10
    assert _pages(site) == sorted(["404.html", "index.html", "search.html"] + [
        f"notebooks/{info.path.stem}.html" for info in published])   # and no other page


def test_pages_hide_the_test_markers(site, published):
    # nbval reads cell tags (nbval-check-output, ...): metadata, never text a reader sees
    marked = [i for i in published if '"nbval-' in i.path.read_text("utf-8")]
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


def test_notebook_figures_are_on_their_pages(crawl, published):
    for info in published:
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


def test_math_is_rendered_by_the_local_mathjax(crawl):
    with_math = {n: v for n, v in crawl.items() if v.math}
    assert with_math, "no page has math: the check below would prove nothing"
    assert all(v.rendered_math >= 1 for v in with_math.values())


def test_search_finds_convolucion_with_snippets_of_the_pages_text(browser, base_url):
    """The search page lists the notebooks about convolution, each snippet taken from the
    page's own text (not from the theme's buttons: "Sistema Claro Oscuro")."""
    browser.page.goto(base_url + "search.html?q=" + urllib.parse.quote("convolución"))
    results = browser.page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=15_000)
    browser.page.wait_for_load_state("networkidle")
    browser.page.wait_for_timeout(500)
    found = [(results.nth(i).locator("a").first.get_attribute("href"),
              results.nth(i).inner_text()) for i in range(results.count())]
    assert any(href.startswith("notebooks/") and "convolución" in text.lower()
               for href, text in found), found
    checked = 0
    for i in range(results.count()):
        snippet = results.nth(i).locator("p.context")
        if not snippet.count():
            continue
        href = results.nth(i).locator("a").first.get_attribute("href").split("#")[0]
        article = browser.page.evaluate("""async (href) => {
            const html = await (await fetch(href)).text();
            const doc = new DOMParser().parseFromString(html, "text/html");
            doc.querySelectorAll(".headerlink").forEach((e) => e.remove());
            return doc.querySelector("article.bd-article").textContent; }""", href)
        start = " ".join(snippet.inner_text().strip(". \n").split()[:6])
        assert start in " ".join(article.split()), (href, start)
        checked += 1
    assert checked >= 3, found


def _search(page, base_url, query: str) -> list[str]:
    page.goto(base_url + "search.html?q=" + urllib.parse.quote(query))
    page.wait_for_function("document.querySelector('#search-results p')", timeout=15_000)
    page.wait_for_load_state("networkidle")
    return [a.get_attribute("href") for a in page.locator("#search-results li a").all()]


def test_english_terms_of_the_glossary_find_their_spanish_pages(browser, base_url, published):
    found = _search(browser.page, base_url, "transfer learning")
    assert any("07_transfer_learning" in h for h in found), found
    found = _search(browser.page, base_url, "batch")
    assert any(h.startswith("notebooks/") for h in found), found


def test_a_search_result_opens_at_the_words_searched_for(browser, base_url):
    """A result opens at its section (an anchor) or at the first word found, not at the top."""
    page = browser.phone
    assert _search(page, base_url, "sobreajuste")
    page.locator("#search-results li a").first.click()
    page.wait_for_load_state("load")
    page.wait_for_function("window.scrollY > 0", timeout=10_000)
    seen = page.evaluate("""() => Array.from(document.querySelectorAll('article .highlighted'))
        .some(e => { const r = e.getBoundingClientRect();
                     return r.top >= 0 && r.bottom <= innerHeight; })""")
    assert page.evaluate("window.scrollY") > 0 and (seen or page.url.count("#")), page.url


# --- the whole course as one download ---------------------------------------------------------


def test_landing_page_offers_the_course_notebooks_and_colab(crawl, base_url, published):
    links = crawl["index.html"].links
    assert f"{base_url}descargas/{bundle.BUNDLE_NAME}" in links
    assert REPO in links
    for info in published:
        assert f"{base_url}notebooks/{info.path.stem}.html" in links
        assert f"{base_url}descargas/{info.path.name}" in links
        assert ("https://colab.research.google.com/github/ejemplo/cnn_course/blob/gh-pages/"
                f"descargas/{info.path.name}") in links


def test_notebook_pages_offer_their_notebook_and_colab(crawl, base_url, published):
    for info in published:
        links = crawl[f"notebooks/{info.path.stem}.html"].links
        assert f"{base_url}descargas/{info.path.name}" in links, info.path.name
        assert any(h.startswith("https://colab.research.google.com/") and
                   h.endswith(info.path.name) for h in links), info.path.name


def test_each_notebook_is_stored_once(site, published):
    assert not (site / "_downloads").exists() and not (site / "_sources").exists()
    for info in published:
        assert [p.relative_to(site).as_posix() for p in site.rglob(info.path.name)] == \
            [f"descargas/{info.path.name}"]


def test_the_site_is_the_students_version(site, published):
    """No solution cell in what the site publishes; the solutions' text is on no page."""
    originals = {p.name: nbformat.read(p, as_version=4)
                 for p in course_map.default_notebooks_dir().glob("*.ipynb")}
    solutions = [(name, c.source) for name, nb in originals.items() for c in nb.cells
                 if handout_tools.SOLUTION_TAG in c.get("metadata", {}).get("tags", [])
                 and len(c.source) > 40]
    assert solutions, "no notebook has a solution cell: this test would prove nothing"
    for info in published:
        cells = nbformat.read(info.path, as_version=4).cells
        assert not any(handout_tools.SOLUTION_TAG in c.get("metadata", {}).get("tags", [])
                       for c in cells), info.path.name
    for name, source in solutions:
        page = site / "notebooks" / name.replace(".ipynb", ".html")
        if page.is_file():
            line = max(source.strip().splitlines(), key=len)
            if len(line) >= 50:
                assert html_escape(line) not in page.read_text("utf-8"), (name, line)


def html_escape(text: str) -> str:
    import html
    return html.escape(text, quote=False)


def test_published_notebooks_install_the_library_only_in_colab(published):
    for info in published:
        nb = nbformat.read(info.path, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.source == bundle.colab_install_cell(REPO).source, info.path.name
        assert 'if "google.colab" in sys.modules:' in first_code.source


@pytest.fixture(scope="module")
def unpacked(site, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    with zipfile.ZipFile(site / "descargas" / bundle.BUNDLE_NAME) as course:
        course.extractall(folder)
    return folder / bundle.BUNDLE_FOLDER


def test_bundle_holds_the_notebooks_the_wheel_and_how_to_start(unpacked, published):
    notebooks = sorted(p.name for p in (unpacked / bundle.NOTEBOOKS_FOLDER).glob("*.ipynb"))
    assert notebooks == [i.path.name for i in published]
    wheels = list(unpacked.glob("cnn_course-*-py3-none-any.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
    assert "cnn_course/ops.py" in names and "cnn_course/tools/cli.py" in names
    start = (unpacked / bundle.GETTING_STARTED_NAME).read_text(encoding="utf-8")
    for needed in (wheels[0].name, "Windows", "macOS", "conda", "set CNN_COURSE_QUICK=1",
                   "$env:CNN_COURSE_QUICK=1", "--index-url https://download.pytorch.org/whl/cpu"):
        assert needed in start, needed


RUN_IN_VENV = """\
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import cnn_course; print('AT', cnn_course.__file__)"))
NotebookClient(nb, timeout=900, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
print(nb.cells[-1].outputs[0].text)
"""


def test_bundle_installs_in_a_fresh_venv_and_runs_notebook_00(unpacked, tmp_path):
    """The student's two commands, offline: a new virtual environment, the wheel installed
    from the bundle (its dependencies are visible from this environment's site-packages
    through a .pth instead of downloaded), and notebook 00 executed in quick mode."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (site_packages / "shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(unpacked.glob("cnn_course-*.whl"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    str(wheel)], check=True, env=env, cwd=unpacked)
    notebooks = unpacked / bundle.NOTEBOOKS_FOLDER
    env |= {"CNN_COURSE_QUICK": "1", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
            "CNN_COURSE_DATA": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([python, "-c", RUN_IN_VENV, str(next(notebooks.glob("00_*.ipynb"))),
                           str(notebooks)], capture_output=True, text=True, env=env,
                          cwd=notebooks, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"AT {site_packages}" in done.stdout, done.stdout   # the installed wheel, not ours


# --- the interface: Spanish, one of each, copy buttons ---------------------------------------

THEME_ENGLISH = ["Link to this heading", "Toggle primary sidebar", "Toggle secondary sidebar",
                 "Search...", "Search the docs", "Skip to main content", "Back to top",
                 "Download", "Print to PDF", "light/dark", "Contents", "Site navigation",
                 "On this page", "Copy to clipboard", "Copied!", "Source repository",
                 "Fullscreen", "Light", "Dark", "System", "Edit this page", "Section Navigation",
                 '"Main"', '"Page"', "Previous", "Next", "previous page", "next page"]


def _interface_text(page) -> str:
    """What a reader sees or hears of a page besides its article: text and the titles, labels
    and placeholders of every element."""
    return page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll("body *")) {
        if (el.closest("article.bd-article")) continue;
        for (const a of ["title", "aria-label", "placeholder", "data-bs-title"])
          if (el.getAttribute(a)) out.push('"' + el.getAttribute(a) + '"');
        for (const node of el.childNodes)
          if (node.nodeType === 3 && node.textContent.trim()) out.push(node.textContent.trim());
      }
      for (const el of document.querySelectorAll("article.bd-article [title], .headerlink"))
        out.push('"' + (el.getAttribute("title") || "") + '"');
      return out.join("\\n");
    }""")


def test_interface_is_in_spanish(browser, base_url, site):
    assert browser.page.goto(base_url + "index.html")
    assert browser.page.get_attribute("html", "lang") == "es"
    english = {}
    for name in _pages(site):
        for page in (browser.page, browser.phone):
            page.goto(base_url + name)
            page.wait_for_load_state("networkidle")
            text = _interface_text(page)
            left = [e for e in THEME_ENGLISH if e in text]
            if left:
                english[name] = left
    assert not english


def test_no_index_page_and_no_empty_page(site, crawl, browser, base_url):
    assert not (site / "genindex.html").exists()
    for name in crawl:
        if name in ("search.html", "404.html"):
            continue
        browser.page.goto(base_url + name)
        text = browser.page.locator("article.bd-article").inner_text()
        assert len(text.split()) >= 30, name


def test_copy_buttons_on_code_not_on_outputs(browser, base_url, published):
    browser.page.goto(base_url + f"notebooks/{published[2].path.stem}.html")
    browser.page.wait_for_load_state("networkidle")
    inputs = browser.page.locator(".cell_input button.copybtn").count()
    code_cells = browser.page.locator(".cell_input").count()
    assert code_cells and inputs == code_cells
    assert browser.page.locator(".cell_output button.copybtn").count() == 0
    assert browser.page.locator(".cell_input button.copybtn").first.get_attribute(
        "data-tooltip") == "Copiar"


def _visible(page, selector: str) -> int:
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel)).filter(
        e => e.offsetParent !== null && e.getBoundingClientRect().width > 0).length""", selector)


SEARCH_BOXES = ".search-button-field, .search-button, form.bd-search input:not(dialog *)"


def test_one_search_box_and_one_menu_button(browser, base_url, published):
    name = f"notebooks/{published[3].path.stem}.html"
    for page in (browser.page, browser.phone):
        page.goto(base_url + name)
        page.wait_for_load_state("networkidle")
        assert _visible(page, SEARCH_BOXES) == 1, page.viewport_size
        assert _visible(page, ".primary-toggle") == 1, page.viewport_size


# --- on a phone ---------------------------------------------------------------------------------


def test_phone_menu_opens_and_closes(browser, base_url, published):
    page = browser.phone
    page.goto(base_url + f"notebooks/{published[4].path.stem}.html")
    page.wait_for_load_state("networkidle")
    menu_link = page.locator(f".bd-docs-nav a[href$='{published[0].path.stem}.html']")
    assert not menu_link.is_visible()
    page.locator(".primary-toggle").filter(visible=True).click()
    menu_link.wait_for(state="visible", timeout=5_000)
    assert page.locator("#pst-primary-sidebar-modal[open]").count() == 1
    page.keyboard.press("Escape")
    menu_link.wait_for(state="hidden", timeout=5_000)
    assert page.locator("#pst-primary-sidebar-modal[open]").count() == 0


def test_desktop_menu_button_hides_and_shows_the_menu(browser, base_url, published):
    page = browser.page
    page.goto(base_url + f"notebooks/{published[4].path.stem}.html")
    page.wait_for_load_state("networkidle")
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator(".primary-toggle").filter(visible=True).click()
    sidebar.wait_for(state="hidden", timeout=5_000)
    page.locator(".primary-toggle").filter(visible=True).click()
    sidebar.wait_for(state="visible", timeout=5_000)


def test_no_page_scrolls_sideways_on_a_phone(browser, base_url, site):
    wide = {}
    for name in _pages(site):
        browser.phone.goto(base_url + name)
        browser.phone.wait_for_load_state("networkidle")
        width = browser.phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[name] = width
    assert not wide


def test_course_map_is_one_card_per_notebook_with_minutes_and_long_runs(browser, base_url,
                                                                        published):
    page = browser.phone
    page.goto(base_url + "index.html")
    cards = page.locator("li.course-card")
    assert cards.count() == len(published)
    long_runs = 0
    for i, info in enumerate(published):
        card = cards.nth(i)
        assert card.locator(".course-card__title").inner_text().startswith(info.number + " · ")
        assert re.fullmatch(r"\d+ min", card.locator(".course-card__time").inner_text().strip())
        flag = card.locator(".course-card__long")
        assert flag.count() == (1 if info.long_run else 0), info.number
        long_runs += flag.count()
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert long_runs >= 2


def test_no_raw_markdown_on_the_landing_page_and_menu(browser, base_url):
    page = browser.page
    page.goto(base_url + "index.html")
    text = page.locator("body").inner_text()
    raw = r"\*\w[^*\n]*\*|\$[A-Za-z]_|\{doc\}|\{download\}"
    assert not re.search(raw, text), re.findall(f".{{20}}(?:{raw}).{{20}}", text)
    assert page.locator("li.course-card em").count() >= 2   # "*padding*", "*Pooling*" rendered


# --- figures ------------------------------------------------------------------------------------


def test_figures_keep_their_drawn_width_and_open_full_screen(browser, base_url, published):
    """A figure is shown at the width it was drawn for (its width attribute, a 2x PNG 'retina'
    figure; else its pixel width), at 1440 px and on a phone, inside a box that scrolls
    sideways when the screen is narrower; its button opens it full screen in a dialog that
    closes back to the same place."""
    for page in (browser.page, browser.phone):
        page.goto(base_url + f"notebooks/{published[2].path.stem}.html")
        page.wait_for_load_state("networkidle")
        figures = page.evaluate("""() => Array.from(document.querySelectorAll('.cell_output img'),
            i => [i.getAttribute('width'), i.naturalWidth, i.getBoundingClientRect().width,
                  i.parentElement.className, i.parentElement.clientWidth])""")
        assert figures
        for width, natural, shown, box, room in figures:
            intended = int(width) if width else natural
            assert box == "course-figure" and abs(shown - intended) <= 1, (width, natural, shown)
            assert room <= page.viewport_size["width"]
    page = browser.phone
    button = page.locator(".course-figure__open").nth(1)
    button.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    button.click()
    dialog = page.locator("dialog.course-lightbox[open]")
    dialog.wait_for(timeout=5_000)
    assert dialog.locator("img").evaluate("i => i.getBoundingClientRect().width") > 390
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=5_000)
    assert abs(page.evaluate("window.scrollY") - before) < 100   # the same place (give or
    assert 0 <= button.bounding_box()["y"] < PHONE["height"]    # take a late image above)
    assert page.evaluate("document.activeElement.className") == "course-figure__open"


def test_printed_sentences_wrap_and_tables_keep_their_columns(browser, base_url, site):
    """On a phone, a printed output scrolls sideways only when it is laid out in columns."""
    page, checked = browser.phone, 0
    for name in _pages(site):
        if not name.startswith("notebooks/"):
            continue
        page.goto(base_url + name)
        wide = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.output.stream pre, .output.stderr pre, .output.traceback pre'),
            p => [p.scrollWidth > p.clientWidth + 1,
                  !!p.closest('.course-columns'), p.textContent.slice(0, 60)])""")
        checked += len(wide)
        assert not [w for w in wide if w[0] and not w[1]], (name, wide)
    assert checked >= 50


def test_panel_note_comes_before_its_picture(site):
    from cnn_course import panels
    pages = [p for p in (site / "notebooks").glob("*.html")
             if panels.STILL_NOTE[:40] in p.read_text("utf-8")]
    assert pages, "no page shows the panel's note: this test would prove nothing"
    for page in pages:
        text = page.read_text("utf-8")
        note = text.index(panels.STILL_NOTE[:40])
        cell = text.rfind('<div class="cell_output', 0, note)
        assert "<img" not in text[cell:note], page.name


def test_each_exercise_check_says_how_it_answers(site, published):
    checks = 0
    for info in published:
        nb = nbformat.read(info.path, as_version=4)
        expected = sum(c.cell_type == "code" and "comprueba(" in c.source and not c.outputs
                       for c in nb.cells)
        page = (site / "notebooks" / f"{info.path.stem}.html").read_text("utf-8")
        assert page.count('class="course-check-note"') == expected, info.path.name
        if expected:
            assert f'href="../descargas/{info.path.name}"' in page
            assert "colab.research.google.com" in page.split('course-check-note')[1][:600]
        checks += expected
    assert checks >= 20


# --- the finish ---------------------------------------------------------------------------------


def test_menu_button_says_whether_the_menu_is_open_and_buttons_fit_a_finger(browser, base_url,
                                                                            published):
    page = browser.phone
    page.goto(base_url + f"notebooks/{published[1].path.stem}.html")
    page.wait_for_load_state("networkidle")
    menu = page.locator(".primary-toggle").filter(visible=True)
    assert menu.get_attribute("aria-expanded") == "false"
    menu.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    outline = menu.evaluate("b => getComputedStyle(b).outlineStyle + "
                            "getComputedStyle(b).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith("0px"), outline
    menu.click()
    page.wait_for_function("document.querySelector('.primary-toggle')"
                           ".getAttribute('aria-expanded') === 'true'", timeout=5_000)
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelector('.primary-toggle')"
                           ".getAttribute('aria-expanded') === 'false'", timeout=5_000)
    small = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.bd-header-article button, .bd-header-article a.btn'))
        .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect())
        .filter(r => r.width < 44 || r.height < 44).map(r => [r.width, r.height])""")
    assert not small


def test_landing_page_on_a_phone_starts_early_and_has_no_dead_button(browser, base_url):
    page = browser.phone
    page.goto(base_url + "index.html")
    page.wait_for_load_state("networkidle")
    assert page.locator(".secondary-toggle").filter(visible=True).count() == 0
    top = page.locator("#empezar, #como-empezar").first.evaluate(
        "e => e.getBoundingClientRect().top + window.scrollY")
    assert top < 2 * PHONE["height"], top


def test_spanish_404_page_and_search_messages(site, browser, base_url):
    text = (site / "404.html").read_text("utf-8")
    assert 'lang="es"' in text and "Página no encontrada" in text
    assert "github.io/cnn_course/" in text   # the repository's GitHub Pages site
    translations = (site / "_static" / "translations.js").read_text("utf-8")
    assert "ning\\u00fan documentos" not in translations and "usted all" not in translations
    browser.page.goto(base_url + "search.html?q=zzzqqq")
    browser.page.wait_for_function("document.querySelector('#search-results p')", timeout=15_000)
    said = browser.page.locator("#search-results").inner_text()
    assert "Ninguna página" in said, said
    assert not list((site / "_static").glob("*.html"))   # no theme template published


def test_print_keeps_the_title_and_wraps_code(browser, base_url, published):
    page = browser.page
    page.goto(base_url + f"notebooks/{published[7].path.stem}.html")
    page.emulate_media(media="print")
    try:
        assert page.locator("article h1").first.is_visible()
        wrap = page.evaluate("getComputedStyle(document.querySelector('.cell_input pre'))"
                             ".whiteSpace")
        assert wrap == "pre-wrap", wrap
    finally:
        page.emulate_media(media="screen")


# --- the instructor's version and animated outputs, on a one-notebook course ------------------

GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def _one_notebook_course(folder: Path) -> Path:
    header = "# 00 · Prueba\n\n**Objetivos**\n- Uno.\n\n**Tiempo**: unos 10 minutos."
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(header),
        nbformat.v4.new_code_cell("respuesta_secreta = 6 * 7", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("animacion()", outputs=[
            nbformat.v4.new_output("display_data", data={
                "text/html": f'<img class="anim" src="data:image/gif;base64,{GIF}">',
                "text/plain": "<HTML>"})]),
    ])
    folder.mkdir()
    nbformat.write(nb, folder / "00_prueba.ipynb")
    return folder


@pytest.mark.parametrize("instructor", [False, True])
def test_one_notebook_site_students_or_instructor_and_animations(tmp_path, instructor):
    folder = _one_notebook_course(tmp_path / "nb")
    index = site_tools.build_site(tmp_path / "site", folder, instructor=instructor)
    site = index.parent
    offered = nbformat.read(site / "descargas" / "00_prueba.ipynb", as_version=4)
    page = (site / "notebooks" / "00_prueba.html").read_text(encoding="utf-8")
    solution_kept = any("respuesta_secreta" in c.source for c in offered.cells)
    assert solution_kept == instructor and ("respuesta_secreta" in page) == instructor
    with zipfile.ZipFile(site / "descargas" / bundle.BUNDLE_NAME) as course:
        bundled = course.read(f"{bundle.BUNDLE_FOLDER}/{bundle.NOTEBOOKS_FOLDER}/00_prueba.ipynb")
    assert (b"respuesta_secreta" in bundled) == instructor
    assert "colab.research.google.com" not in index.read_text(encoding="utf-8")  # no --repo-url
    # the instructor's guide is a page of the instructor's version only
    assert _pages(site) == sorted(["404.html", "index.html", "search.html",
                                   "notebooks/00_prueba.html"] + ["guia_profesor.html"] * instructor)
    if instructor:
        guide = (site / "guia_profesor.html").read_text(encoding="utf-8")
        assert "Guía del profesor" in guide and 'href="guia_profesor.html"' in index.read_text(
            encoding="utf-8")
    # HTML holding a data-URI <img> is shown as is (the course's animations are animated PNGs,
    # image/png outputs shown like any figure)
    assert '<img class="anim" src="data:image/gif;base64,' in page
