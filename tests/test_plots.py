import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from cnn_course.plots import plot_feature_maps  # noqa: E402


def test_feature_map_title_sits_above_the_map_titles():
    fig = plot_feature_maps(torch.rand(1, 8, 6, 6), max_maps=8, ncols=8, title="conv1")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title_bottom = fig._suptitle.get_window_extent(renderer).y0
    map_titles_top = max(ax.title.get_window_extent(renderer).y1 for ax in fig.axes)
    assert fig._suptitle.get_text() == "conv1 (6, 6)"
    assert title_bottom >= map_titles_top
    plt.close(fig)
