"""Picture helpers of the convolution notebooks: small annotated matrices and sliding windows."""

import base64

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pytest
import torch

from cnn_course import plots
from tests.test_ops import SLIDES_IMAGE as IMAGE
from tests.test_ops import SLIDES_KERNEL as KERNEL


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_plot_matrices_writes_every_number():
    fig = plots.plot_matrices([np.array(IMAGE), torch.tensor(KERNEL)], ["image", "kernel"])
    image_ax, kernel_ax = fig.axes
    assert _texts(image_ax)[:5] == ["60", "113", "56", "139", "85"]
    assert _texts(kernel_ax) == ["0", "-1", "0", "-1", "5", "-1", "0", "-1", "0"]
    assert kernel_ax.get_title() == "kernel"
    plt.close(fig)


def test_plot_matrices_formats_fractions():
    fig = plots.plot_matrices([np.array([[0.25, 1 / 3]])])
    assert _texts(fig.axes[0]) == ["0,25", "0,333"]
    plt.close(fig)


def test_plot_conv_steps_shows_the_slides_114_and_the_window():
    fig = plots.plot_conv_steps(IMAGE, kernel=KERNEL, padding=1, steps=[0, 6])
    assert len(fig.axes) == 4
    top_first, top_second, bottom_first, bottom_second = fig.axes
    assert _texts(bottom_first) == ["114"]                    # only the first cell is done
    assert len(_texts(bottom_second)) == 7 and _texts(bottom_second)[0] == "114"
    window = top_second.patches[-1]
    assert (window.get_x(), window.get_y()) == (0.5, 0.5)     # step 7: row 1, column 1
    assert (window.get_width(), window.get_height()) == (3, 3)
    assert "fila 1, columna 1" in top_second.get_title()    # figure text is Spanish
    assert bottom_first.get_title() == "salida 5×5: celda (0, 0)"
    plt.close(fig)


def test_plot_conv_steps_checks_its_pairs_as_ops_does():
    with pytest.raises(ValueError, match="stride tiene que ser un entero o un par"):
        plots.plot_conv_steps(IMAGE, kernel_size=3, stride=(1, 2, 3))


def test_plot_conv_steps_stride_moves_the_window():
    fig = plots.plot_conv_steps(np.zeros((13, 13)), 5, stride=4, steps=4)
    tops = fig.axes[:4]
    assert [p.patches[-1].get_x() + 0.5 for p in tops] == [0, 4, 8, 0]
    assert [p.patches[-1].get_y() + 0.5 for p in tops] == [0, 0, 0, 4]
    assert "3×3" in fig.axes[4].get_title()
    plt.close(fig)


def test_plot_conv_steps_rejects_a_colour_image():
    with pytest.raises(ValueError, match="una imagen 2D"):
        plots.plot_conv_steps(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="mayor que la entrada con relleno"):
        plots.plot_conv_steps(np.zeros((3, 3)), 5)


def test_plot_matrices_symmetric_centres_colours_on_zero():
    fig = plots.plot_matrices([np.array([[0.0, 1.0], [-4.0, 2.0]])], cmap="bwr", symmetric=True)
    assert fig.axes[0].images[0].get_clim() == (-4.0, 4.0)
    plt.close(fig)


def _hatched(ax) -> list:
    return [p for p in ax.patches if p.get_hatch()]


def test_plot_conv_steps_marks_the_pixels_no_window_visits():
    # 8x8, kernel 3, stride 2: windows start at 0, 2, 4, so the last row and column are missed
    fig = plots.plot_conv_steps(np.zeros((8, 8)), 3, stride=2, steps=[0, 8])
    top = fig.axes[0]
    missed = {(round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in _hatched(top)}
    assert missed == {(7, c) for c in range(8)} | {(r, 7) for r in range(8)}
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "píxeles que ninguna ventana visita" in labels
    plt.close(fig)
    # a padding of 1 fits the stride: every image pixel is visited (only padding is left over)
    fig = plots.plot_conv_steps(np.zeros((8, 8)), 3, stride=2, padding=1, steps=1)
    assert _hatched(fig.axes[0]) == []
    assert "relleno" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def _smallest_number_points(fig) -> float:
    return min(t.get_fontsize() for ax in fig.axes for t in ax.texts)


def test_numbers_stay_legible_in_wide_matrices():
    # the im2col matrix of notebook 02 (9 x 16) at the notebook's size; 16 columns used to get 5 pt
    columns = np.zeros((9, 16))
    fig = plots.plot_matrices([columns], size=6.5)
    assert _smallest_number_points(fig) >= 9
    plt.close(fig)
    # the slides' 114 example with the conv steps: three-digit numbers in 7x7 cells
    fig = plots.plot_conv_steps(IMAGE, kernel=KERNEL, padding=1, steps=4)
    assert _smallest_number_points(fig) >= 8
    assert fig.get_size_inches()[0] <= plots.MAX_WIDTH
    plt.close(fig)


def test_figures_fit_the_notebook_width():
    fig = plots.show_images([np.zeros((4, 4))] * 16, ncols=16)
    assert fig.get_size_inches()[0] <= plots.MAX_WIDTH
    plt.close(fig)
    fig = plots.plot_matrices([np.zeros((3, 3))] * 8, size=3)
    assert fig.get_size_inches()[0] <= plots.MAX_WIDTH
    plt.close(fig)


def test_feature_map_title_sits_above_the_map_titles():
    fig = plots.plot_feature_maps(torch.rand(1, 8, 6, 6), max_maps=8, ncols=8, title="conv1")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title_bottom = fig._suptitle.get_window_extent(renderer).y0
    map_titles_top = max(ax.title.get_window_extent(renderer).y1 for ax in fig.axes)
    assert fig._suptitle.get_text() == "conv1 (6, 6): cada mapa con su propia escala de color"
    assert [ax.get_title() for ax in fig.axes][:2] == ["canal 0", "canal 1"]
    assert title_bottom >= map_titles_top
    plt.close(fig)


def test_accuracy_vs_labels_draws_the_mean_and_a_band_per_method():
    curves = {"a": {5: [0.7, 0.8], 50: [0.9, 0.9]}, "b": {5: [0.5, 0.6], 50: [0.6, 0.8]}}
    fig = plots.plot_accuracy_vs_labels(curves, "título")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert np.allclose(ax.get_lines()[1].get_ydata(), [0.55, 0.7])
    assert len(ax.collections) == 2 and ax.get_xscale() == "log"
    assert "por clase" in ax.get_xlabel() and ax.get_title() == "título"
    plt.close(fig)


def test_plot_history_draws_both_curves_in_spanish():
    history = {"train_loss": [1.0, 0.5, 0.4], "test_loss": [1.1, 0.7, 0.6],
               "train_acc": [0.6, 0.8, 0.9], "test_acc": [0.55, 0.75, 0.8]}
    fig = plots.plot_history(history, "- MLP")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "Pérdida - MLP" and acc_ax.get_title() == "Tasa de aciertos - MLP"
    assert loss_ax.get_xlabel() == "época"
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["entrenamiento", "test"]
    assert list(acc_ax.lines[1].get_ydata()) == history["test_acc"]
    plt.close(fig)


def test_live_plot_outside_a_notebook_draws_nothing(monkeypatch):
    import IPython
    # outside IPython (a test earlier in the session may have started a global shell)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    live = plots.LivePlot("x")
    live({"train_loss": [1.0], "test_loss": [1.0], "train_acc": [0.5], "test_acc": [0.5]})
    assert live.fig is None
    live.close()


def test_plot_confusion_matrix_writes_every_cell_with_spanish_axes():
    matrix = plots.confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    fig = plots.plot_confusion_matrix(matrix, ["a", "b", "c"])
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("clase predicha", "clase verdadera")
    assert _texts(ax) == ["1,00", "0,00", "0,00", "0,00", "1,00", "0,00", "0,00", "0,50", "0,50"]
    plt.close(fig)


def test_plot_kernels_scales_each_kernel_on_its_own():
    weight = torch.zeros(2, 1, 3, 3)
    weight[0, 0, 1, 1] = 4.0       # a large kernel
    weight[1, 0, 0, 0] = -0.01     # a small one: still drawn with the full colour range
    fig = plots.plot_kernels(weight, title="conv1")
    large, small = fig.axes
    assert large.images[0].get_clim() == (-4.0, 4.0)
    assert small.images[0].get_clim() == pytest.approx((-0.01, 0.01))
    assert (large.get_title(), small.get_title()) == ("±4,00", "±0,01")
    plt.close(fig)


# ---------------------------------------------------------------- sharp, legible figures
def _figures():
    """One figure of each plotting function, with the arguments the notebooks use."""
    image = np.arange(100.0).reshape(10, 10)
    history = {"train_loss": [1.0, 0.5], "test_loss": [1.1, 0.7],
               "train_acc": [0.6, 0.8], "test_acc": [0.55, 0.75]}
    classes = ["camiseta", "pantalón", "jersey", "vestido", "abrigo", "sandalia", "camisa",
               "zapatilla", "bolso", "botín"]
    matrix = plots.confusion_matrix(torch.randint(0, 10, (500,)), torch.randint(0, 10, (500,)), 10)
    yield "show_images", plots.show_images(torch.rand(16, 1, 28, 28), torch.arange(16) % 10,
                                           classes)
    yield "show_images(size=3)", plots.show_images([image] * 3, ncols=3, size=3.0,
                                                   titles=["a", "b", "c"])
    yield "plot_history", plots.plot_history(history, "- MLP 784-512-128-64-10")
    yield "plot_confusion_matrix", plots.plot_confusion_matrix(matrix, classes)
    yield "plot_kernels", plots.plot_kernels(torch.randn(16, 1, 3, 3), title="Núcleos de conv1")
    yield "plot_feature_maps", plots.plot_feature_maps(torch.rand(1, 16, 26, 26), title="conv1")
    yield "plot_matrices", plots.plot_matrices([image], ["los números de ese trozo"], size=5.5)
    yield "plot_matrices(im2col)", plots.plot_matrices([np.zeros((9, 16))], size=6.5)
    yield "plot_matrices(4 kernels)", plots.plot_matrices([np.ones((3, 3))] * 4, list("abcd"),
                                                          cmap="bwr", symmetric=True)
    yield "plot_conv_steps", plots.plot_conv_steps(torch.rand(5, 5), kernel=torch.ones(3, 3),
                                                   steps=5)
    yield "plot_conv_steps(13, s4)", plots.plot_conv_steps(np.zeros((13, 13)), 5, stride=4,
                                                           steps=4, annotate=False)
    yield "plot_accuracy_vs_labels", plots.plot_accuracy_vs_labels(
        {"VGG16 congelada": {5: [0.6, 0.7], 1000: [0.9, 0.95]},
         "desde cero": {5: [0.5, 0.6], 1000: [0.8, 0.85]}}, "gatos y perros")


def _css_px_per_point(fig) -> float:
    """CSS pixels per point of ``fig`` as a page shows it: FIGURE_DPI pixels per inch of its
    tight bounding box (what the inline backend sends), shrunk to fit SITE_WIDTH."""
    fig.canvas.draw()
    width_px = fig.get_tightbbox(fig.canvas.get_renderer()).width * fig.dpi
    return fig.dpi / 72 * min(1.0, plots.SITE_WIDTH / width_px)


def test_every_text_of_every_figure_is_at_least_10_css_px():
    for name, fig in _figures():
        assert fig.dpi == pytest.approx(plots.FIGURE_DPI), name
        scale = _css_px_per_point(fig)
        texts = [t for t in fig.findobj(matplotlib.text.Text)
                 if t.get_visible() and t.get_text().strip()]
        assert texts, name
        smallest = min(texts, key=lambda t: t.get_fontsize())
        assert smallest.get_fontsize() * scale >= 10, (
            f"{name}: {smallest.get_text()!r} is {smallest.get_fontsize() * scale:.1f} px")
        plt.close(fig)


def test_files_are_saved_at_twice_the_shown_size_or_more(tmp_path):
    fig = plots.plot_history({"train_loss": [1.0], "test_loss": [1.0], "train_acc": [0.5],
                              "test_acc": [0.5]})
    fig.savefig(tmp_path / "h.png")
    plt.close(fig)
    width = int.from_bytes((tmp_path / "h.png").read_bytes()[16:20], "big")  # the PNG header
    assert width >= 2 * plots.MAX_WIDTH * plots.FIGURE_DPI


def test_notebooks_get_retina_pngs_that_show_at_their_size():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"      # nothing written to ~/.ipython
    shell = InteractiveShell.instance(config=config)
    try:
        plots._sharp_inline()
        fig = plots.plot_history({"train_loss": [1.0], "test_loss": [1.0], "train_acc": [0.5],
                                  "test_acc": [0.5]})
        data, metadata = shell.display_formatter.format(fig)
        png = data["image/png"]
        png = base64.b64decode(png) if isinstance(png, str) else png
        pixels = int.from_bytes(png[16:20], "big")
        assert metadata["image/png"]["width"] == pixels // 2      # shown at half its pixels
        assert pixels / 2 <= plots.SITE_WIDTH + 2
        plt.close(fig)
    finally:
        InteractiveShell.clear_instance()


def test_plot_history_of_one_epoch_ticks_whole_epochs_in_the_prose_format():
    history = {"train_loss": [0.8031], "test_loss": [0.859], "train_acc": [0.6833],
               "test_acc": [0.663]}
    fig = plots.plot_history(history)
    fig.canvas.draw()
    for ax in fig.axes:
        low, high = ax.get_xlim()
        shown = [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
        assert shown == ["1"], shown
        assert all("." not in t.get_text() for t in ax.get_yticklabels())   # 0,86 not 0.86
    plt.close(fig)
