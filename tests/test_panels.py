"""The instructor's panel, driven as in class by setting its widgets' values, and the still
picture it leaves in a notebook executed without a front end (no widget stored)."""

import io
import os
import sys
from pathlib import Path

import matplotlib as mpl
import nbformat
import pytest
import torch
from PIL import Image

from cnn_course import ops, panels

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def photo_panel() -> panels.ConvPanel:
    return panels.ConvPanel(panels.grace_hopper_gray())


def _image_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_first_state_shows_shapes_formula_and_picture(photo_panel):
    assert panels.grace_hopper_gray().shape == (150, 128)
    assert "entrada 150×128 → con relleno 152×130 → convolución 150×128" in photo_panel.shapes.value
    assert "⌊(150 + 2·1 − 3) / 1⌋ + 1 = 150" in photo_panel.formula.value
    assert "⌊(128 + 2·1 − 3) / 1⌋ + 1 = 128" in photo_panel.formula.value
    assert photo_panel.error.value == ""
    assert _image_size(photo_panel.picture.value)[0] > 300


def test_moving_the_controls_updates_everything_together(photo_panel):
    first_picture = photo_panel.picture.value
    photo_panel.controls["size"].value = 7
    photo_panel.controls["stride"].value = 2
    assert "convolución 73×62" in photo_panel.shapes.value
    assert "⌊(150 + 2·1 − 7) / 2⌋ + 1 = 73" in photo_panel.formula.value
    assert photo_panel.picture.value != first_picture
    photo_panel.controls["pooling"].value = "máximo"
    assert photo_panel.shapes.value.endswith("pooling 36×31")
    assert "⌊(73 + 2·0 − 2) / 2⌋ + 1 = 36" in photo_panel.formula.value
    photo_panel.controls["padding"].value = 0
    assert "con relleno" not in photo_panel.shapes.value
    assert "convolución 72×61" in photo_panel.shapes.value


@pytest.mark.parametrize("kernel", ["bordes", "desenfoque", "enfoque"])
@pytest.mark.parametrize("mode", list(panels.PADDING_MODES))
def test_output_is_ops_with_the_chosen_padding(kernel, mode):
    image = torch.rand(12, 10)
    settings = panels.PanelSettings(kernel=kernel, size=5, padding=2, padding_mode=mode,
                                    stride=2)
    result = panels.compute(image, settings)
    weight = panels.make_kernel(kernel, 5)
    padded = torch.nn.functional.pad(image[None, None], (2, 2, 2, 2),
                                     mode=panels.PADDING_MODES[mode])
    expected = torch.nn.functional.conv2d(padded, weight[None, None], stride=2)[0, 0]
    torch.testing.assert_close(result.output, expected)
    assert result.output.shape == (ops.output_size(12, 5, 2, 2), ops.output_size(10, 5, 2, 2))


def test_kernels_by_name():
    assert torch.equal(panels.make_kernel("bordes", 3),
                       torch.tensor([[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]]))
    assert panels.make_kernel("desenfoque", 5).sum().item() == pytest.approx(1.0)
    assert panels.make_kernel("enfoque", 3).sum().item() == pytest.approx(1.0)
    assert torch.equal(panels.parse_kernel("0 -1 0\n-1, 5, -1\n0 -1 0"),
                       torch.tensor([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]))


def test_an_invalid_combination_shows_the_library_message_in_the_panel():
    garment = torch.rand(28, 28)
    panel = panels.ConvPanel(garment, panels.PanelSettings(size=9, padding=0, stride=8))
    assert "convolución 3×3" in panel.shapes.value and panel.error.value == ""
    panel.controls["pooling"].value = "media"
    panel.controls["pool_size"].value = 4            # a 4x4 window on a 3x3 map
    with pytest.raises(ValueError) as library:
        ops.pool2d(torch.zeros(3, 3), 4)
    assert "Combinación no válida" in panel.error.value
    assert str(library.value) in panel.error.value
    assert "no cabe" in panel.formula.value and panel.shapes.value.endswith("—")
    assert _image_size(panel.picture.value)[0] > 300     # still a picture, no traceback
    panel.controls["pool_size"].value = 2
    assert panel.error.value == "" and panel.shapes.value.endswith("pooling 1×1")


def test_a_kernel_typed_by_hand_and_its_mistakes():
    panel = panels.ConvPanel(torch.rand(28, 28))
    panel.controls["kernel"].value = "a mano"
    assert panel.controls["size"].disabled and not panel.controls["hand"].disabled
    assert "convolución 28×28" in panel.shapes.value         # the 3×3 of the slides, relleno 1
    panel.controls["hand"].value = "1 2\n3"
    assert "no es rectangular" in panel.error.value
    panel.controls["hand"].value = "1 x"
    assert "no es un número" in panel.error.value
    panel.controls["hand"].value = "\n".join(["1 " * 31] * 31)   # 31x31 on 28 + 2
    assert "Combinación no válida" in panel.error.value


def test_reflect_padding_larger_than_the_image_is_a_spanish_message():
    result = panels.compute(torch.rand(4, 4), panels.PanelSettings(padding=4,
                                                                  padding_mode="reflejo"))
    assert result.output is None and "menos de 4 píxeles de relleno" in result.error


def test_projector_mode_scales_text_and_lines_and_switches_back():
    before = mpl.rcParams["font.size"], mpl.rcParams["lines.linewidth"]
    panels.projector_mode(True)
    try:
        assert mpl.rcParams["font.size"] == pytest.approx(before[0] * 1.6)
        assert mpl.rcParams["lines.linewidth"] == pytest.approx(before[1] * 1.6)
        panels.projector_mode(True)                       # twice is still 1.6x, not 2.56x
        assert mpl.rcParams["font.size"] == pytest.approx(before[0] * 1.6)
    finally:
        panels.projector_mode(False)
    assert (mpl.rcParams["font.size"], mpl.rcParams["lines.linewidth"]) == before


def test_no_live_frontend_outside_a_kernel(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "x.ipynb")
    assert not panels.live_frontend()                   # pytest is no Jupyter kernel
    monkeypatch.setenv("CNN_COURSE_PANELS", "1")
    assert not panels.live_frontend()


def _run(tmp_path: Path, env: dict) -> nbformat.NotebookNode:
    """A one-cell notebook calling ``conv_panel`` executed by nbclient, as `cnn-course execute`
    stores notebooks."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from cnn_course import panels\npanels.conv_panel()")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]), **env}
    for name in ("JPY_SESSION_NAME", "CNN_COURSE_PANELS"):
        if not env.get(name):
            env.pop(name, None)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    return nb


def test_an_executed_notebook_stores_a_still_and_no_widget(tmp_path):
    nb = _run(tmp_path, {"JPY_SESSION_NAME": "", "CNN_COURSE_PANELS": ""})
    outputs = nb.cells[0].outputs
    mimes = [m for o in outputs for m in o.get("data", {})]
    assert "image/png" in mimes
    assert "application/vnd.jupyter.widget-view+json" not in mimes
    assert "widgets" not in nb.metadata
    text = "".join(o.get("text", "") for o in outputs)
    assert panels.STILL_NOTE in text and "tamaño de salida" in text


def test_in_a_jupyter_server_kernel_the_panel_is_live(tmp_path):
    """The same cell in a kernel started by a Jupyter server (which names its session in
    JPY_SESSION_NAME) shows the widgets: the check above is not vacuous."""
    nb = _run(tmp_path, {"JPY_SESSION_NAME": str(tmp_path / "x.ipynb"), "CNN_COURSE_PANELS": ""})
    mimes = [m for o in nb.cells[0].outputs for m in o.get("data", {})]
    assert "application/vnd.jupyter.widget-view+json" in mimes


def test_conv_panel_names_the_choices_for_a_wrong_setting():
    with pytest.raises(ValueError, match="no tiene el ajuste stirde"):
        panels.conv_panel(torch.rand(8, 8), stirde=2)
    with pytest.raises(ValueError, match="'reflejo'"):
        panels.conv_panel(torch.rand(8, 8), padding_mode="reflect")
