"""Every PNG the course draws records its smallest text (plots.SMALLEST_TEXT_KEY, in the PNG's
own pixels), which the site build reads to check that figures stay readable where shown."""

import base64
import io

import matplotlib.pyplot as plt
import pytest
import torch
from PIL import Image

from cnn_course import animations, panels, plots


def _record(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return float(image.info[plots.SMALLEST_TEXT_KEY])


def test_smallest_text_points_is_the_smallest_visible_text():
    fig, ax = plt.subplots()
    ax.set_title("grande", fontsize=20)
    ax.text(0, 0, "pequeño", fontsize=7)
    ax.text(0, 1, "oculto", fontsize=3).set_visible(False)
    ax.set_xticks([])
    ax.set_yticks([])
    assert plots.smallest_text_points(fig) == 7
    plt.close(fig)


def test_notebook_figures_record_their_smallest_text():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"      # nothing written to ~/.ipython
    shell = InteractiveShell.instance(config=config)  # cleared below: no shell leaks into others
    try:
        plots._sharp_inline()
        fig = plots.plot_history({"train_loss": [1.0, 0.5], "test_loss": [1.0, 0.6],
                                  "train_acc": [0.5, 0.6], "test_acc": [0.5, 0.7]})
        data, metadata = shell.display_formatter.format(fig)
    finally:
        InteractiveShell.clear_instance()
    png = base64.b64decode(data["image/png"])
    points = plots.smallest_text_points(fig)
    plt.close(fig)
    assert _record(png) == pytest.approx(points * 2 * plots.FIGURE_DPI / 72, abs=0.01)
    shown = _record(png) * metadata["image/png"]["width"] / Image.open(io.BytesIO(png)).width
    assert shown >= 10   # the course's floor, in CSS px at the width the figure is shown


def test_animations_and_the_panel_record_their_smallest_text():
    animation = animations.animate_convolution(torch.rand(5, 5), torch.ones(3, 3))
    assert _record(animation.data) >= plots.MIN_FONT_PT * animations.DPI / 72 - 0.01
    settings = panels.PanelSettings()
    picture = panels.draw(panels.compute(torch.rand(12, 12), settings), settings, dpi=100)
    assert _record(picture) >= 10
