"""The animations of notebooks 02-04: every frame's window and value are those of ``ops`` and
``torch.nn.functional``, the receptive fields are those of the real ``FashionCNN``, the stored
file is a small animated PNG, and on the course site the animation plays in Chromium."""

import base64
import functools
import io
import os
import shutil

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cnn_course import animations, models, ops

SMALL = torch.tensor([[0, 0, 0, 0, 0, 0],
                      [0, 0, 9, 9, 9, 0],
                      [0, 0, 9, 9, 9, 0],
                      [0, 0, 9, 9, 9, 0],
                      [0, 0, 0, 0, 0, 0],
                      [0, 0, 0, 0, 0, 0]])
VERTICAL_EDGES = torch.tensor([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
SLIDES_IMAGE = torch.tensor([[60, 113, 56, 139, 85], [73, 121, 54, 84, 128],
                             [131, 99, 70, 129, 127], [80, 57, 115, 69, 134],
                             [104, 126, 123, 95, 130]])
SHARPEN = torch.tensor([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


@pytest.mark.parametrize("image, kernel, stride, padding", [
    (SMALL, VERTICAL_EDGES, 1, 0),                         # notebook 02
    (SLIDES_IMAGE, SHARPEN, 1, 1),                          # notebook 03: the 114
    (torch.arange(64).reshape(8, 8), torch.ones(3, 3, dtype=torch.int64), 2, 0),  # skips
    (torch.rand(9, 11, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64), (2, 3),
     (1, 2)),
])
def test_conv_frames_are_ops_and_f_conv2d(image, kernel, stride, padding):
    frames = animations.conv_frames(image, kernel, stride, padding)
    expected = F.conv2d(image[None, None].double(), kernel[None, None].double(),
                        stride=stride, padding=padding)[0, 0]
    assert len(frames) == expected.numel()
    assert [f.cell for f in frames] == [(i, j) for i in range(expected.shape[0])
                                        for j in range(expected.shape[1])]
    padded = ops.pad2d(image, padding if isinstance(padding, tuple) else (padding, padding))
    for frame in frames:
        top, left, h, w = frame.window
        assert (h, w) == tuple(kernel.shape)
        window = padded[top:top + h, left:left + w].double()
        torch.testing.assert_close(torch.tensor(frame.value, dtype=torch.float64),
                                   expected[frame.cell])
        torch.testing.assert_close(torch.tensor(frame.value, dtype=torch.float64),
                                   (window * kernel.double()).sum())


def test_the_slides_114_is_the_first_frame():
    assert animations.conv_frames(SLIDES_IMAGE, SHARPEN, padding=1)[0].value == 114


def test_a_stride_that_does_not_fit_leaves_the_last_row_and_column_unvisited():
    frames = animations.conv_frames(torch.arange(64).reshape(8, 8), torch.ones(3, 3), 2)
    visited = np.zeros((8, 8), dtype=bool)
    for top, left, h, w in (f.window for f in frames):
        visited[top:top + h, left:left + w] = True
    assert not visited[7].any() and not visited[:, 7].any() and visited[:7, :7].all()


@pytest.mark.parametrize("mode, reference", [("max", F.max_pool2d), ("avg", F.avg_pool2d)])
@pytest.mark.parametrize("kernel_size, stride", [(2, None), (3, 2), (2, 1)])
def test_pool_frames_are_ops_and_f_pool(mode, reference, kernel_size, stride):
    x = torch.tensor([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    frames = animations.pool_frames(x, kernel_size, stride, mode)
    expected = reference(x[None, None].float(), kernel_size, stride)[0, 0]
    assert len(frames) == expected.numel()
    for frame in frames:
        top, left, h, w = frame.window
        window = x[top:top + h, left:left + w].float()
        assert frame.value == pytest.approx(expected[frame.cell].item())
        summary = window.max() if mode == "max" else window.mean()
        assert frame.value == pytest.approx(summary.item())


def test_receptive_fields_of_fashion_cnn_follow_the_formula():
    """Notebook 04's table: 3, 5, 6, 10, 14, 16 pixels a side."""
    model = models.FashionCNN()
    sizes = [animations.receptive_field(model, stage, (1, 1))[2:]
             for stage in animations.FASHION_CNN_STAGES]
    assert sizes == [(3, 3), (5, 5), (6, 6), (10, 10), (14, 14), (16, 16)]
    assert animations.receptive_field(model, "pool2", (1, 2)) == (4, 8, 16, 16)   # jump 4


def test_receptive_field_frames_are_the_real_network():
    """Each frame's value is the real feature map's, and the real network's gradient for that
    cell is zero outside the frame's field (and not zero inside)."""
    torch.manual_seed(0)
    model = models.FashionCNN().eval()
    image = torch.rand(1, 28, 28)
    frames = animations.receptive_field_frames(model, image)
    assert [f.stage for f in frames] == list(animations.FASHION_CNN_STAGES)
    for frame in frames:
        x = image[None].clone().requires_grad_(True)
        fmap = model.stages(x)[frame.stage]
        cell = fmap[0, frame.channel, frame.cell[0], frame.cell[1]]
        assert cell.item() == pytest.approx(frame.value)
        maps = fmap[0].detach()
        low, high = maps.amin(dim=(1, 2)), maps.amax(dim=(1, 2))
        relative = (maps[:, frame.cell[0], frame.cell[1]] - low) / (high - low)
        assert relative[frame.channel] == relative.max()
        cell.backward()
        top, left, h, w = frame.window
        inside = torch.zeros(28, 28, dtype=torch.bool)
        inside[top:top + h, left:left + w] = True
        grad = x.grad[0, 0].abs()
        assert grad[~inside].max() == 0 and grad[inside].max() > 0


@pytest.fixture(scope="module")
def convolution() -> animations.Animation:
    return animations.animate_convolution(SMALL, VERTICAL_EDGES)


def test_animation_is_a_small_looping_apng_with_one_image_per_frame(convolution):
    data = convolution.data
    assert len(data) < 1_000_000
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.is_animated
    assert image.n_frames == len(convolution.frames) == 16
    assert image.info["loop"] == 0
    bundle, metadata = convolution._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == data
    assert "16 fotogramas" in bundle["text/plain"]
    assert metadata["image/png"]["width"] < image.width        # drawn sharper than shown


def test_frames_differ_and_a_still_is_a_png(convolution):
    first, last = (np.asarray(convolution.images[k]) for k in (0, -1))
    assert first.shape == last.shape and (first != last).any()
    assert Image.open(io.BytesIO(convolution.frame(3))).size == convolution.images[3].size


def test_pooling_and_receptive_field_animations_stay_small():
    pooled = animations.animate_pooling(torch.tensor([[1, 1, 2, 4], [5, 6, 7, 8],
                                                      [3, 2, 1, 0], [1, 2, 3, 4]]))
    assert len(pooled.images) == 4 and len(pooled.data) < 1_000_000
    torch.manual_seed(0)
    field = animations.animate_receptive_field(models.FashionCNN().eval(), torch.rand(1, 28, 28))
    assert len(field.images) == 6 and len(field.data) < 1_000_000


# --------------------------------------------------------------- the animation on the site


def _site_notebook(folder, animation) -> None:
    """A one-page course whose stored output is ``animation``, as `cnn-course execute` stores
    a displayed object."""
    bundle, metadata = animation._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 02 · Animación\n\n**Objetivos**\n- Verla moverse.\n"),
        nbformat.v4.new_code_cell("animations.animate_convolution(small, kernel)",
                                  execution_count=1, outputs=[nbformat.v4.new_output(
                                      "execute_result", data=bundle, metadata=metadata,
                                      execution_count=1)]),
    ]
    nbformat.write(nb, folder / "02_animacion.ipynb")


def test_the_animation_plays_on_the_site(tmp_path, convolution):
    """Built by ``build_site``, served over HTTP and opened in Chromium: two screenshots of
    the image a second apart differ."""
    pytest.importorskip("sphinx", reason="the site tools are missing: pip install -e '.[site]'")
    pytest.importorskip("myst_nb", reason="the site tools are missing: pip install -e '.[site]'")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is missing: pip install -e '.[dev]'")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if not chromium:
        pytest.skip("no Chromium: apt-get install chromium (or set CHROMIUM)")
    import http.server
    import threading

    from cnn_course.tools.site import build_site

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _site_notebook(notebooks, convolution)
    site = build_site(tmp_path / "site", notebooks).parent
    page_file = site / "notebooks" / "02_animacion.html"
    assert "/_images/" in page_file.read_text(encoding="utf-8")

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/notebooks/02_animacion.html")
            image = page.locator("img[src*='_images/']").first
            image.wait_for()
            assert page.evaluate("(img) => img.complete && img.naturalWidth > 0",
                                 image.element_handle())
            image.scroll_into_view_if_needed()
            before = image.screenshot()
            page.wait_for_timeout(1000)
            after = image.screenshot()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert before != after


def test_projector_mode_draws_larger_frames():
    from cnn_course import panels

    x = torch.tensor([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    normal = animations.animate_pooling(x).images[0]
    panels.projector_mode(True)
    try:
        projected = animations.animate_pooling(x).images[0]
    finally:
        panels.projector_mode(False)
    assert projected.height > normal.height        # room for the larger titles
