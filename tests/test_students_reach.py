"""What a student has is enough (issue 27): the network trained in the assignment (06a) is
saved for notebook 04's trained feature maps, whatever its layers are called, and no student
notebook or library message sends a student to 06b (the solution, which only the instructor
has until it is handed out)."""

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from cnn_course import config, models, training

from .test_notebooks_stored import AWAITING_CONTENT_PASS

ROOT = Path(__file__).resolve().parents[1]


class SequentialNetwork(nn.Module):
    """The statement's network as another student writes it: Sequential blocks, other names."""

    def __init__(self):
        super().__init__()
        self.bloques = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.LeakyReLU(), nn.Conv2d(16, 32, 3), nn.LeakyReLU(),
            nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.LeakyReLU(), nn.Conv2d(64, 128, 3),
            nn.LeakyReLU(), nn.MaxPool2d(2))
        self.cabeza = nn.Sequential(nn.Flatten(), nn.Linear(2048, 128), nn.LeakyReLU(),
                                    nn.Linear(128, 10))

    def forward(self, x):
        return self.cabeza(self.bloques(x))


class PaddedNetwork(SequentialNetwork):
    """A wrong answer: padded convolutions (8x8x128 into the first linear layer)."""

    def __init__(self):
        super().__init__()
        for layer in self.bloques:
            if isinstance(layer, nn.Conv2d):
                layer.padding = (1, 1)
        self.cabeza[1] = nn.Linear(8 * 8 * 128, 128)


def _save_cell(notebook: str = "06a_ejercicio_enunciado.ipynb") -> str:
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    (cell,) = [c for c in nb.cells if "fashion_cnn_from" in c.source]
    return cell.source


def test_06a_saves_the_students_network_and_04_loads_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path))
    torch.manual_seed(1)
    student = SequentialNetwork()
    history = {"train_loss": [1.0], "train_acc": [0.5], "test_loss": [1.0], "test_acc": [0.5]}
    exec(_save_cell(), {"respuesta_06a_4": (student, history), "config": config})
    assert "el cuaderno 04 la usa" in capsys.readouterr().out
    checkpoint = config.checkpoints_dir() / "fashion_cnn.pt"   # where notebook 04 looks
    trained = models.FashionCNN()
    state = training.load_checkpoint(checkpoint, trained)
    assert state["history"] == history
    images = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(trained.eval()(images), student.eval()(images), atol=1e-6)


def test_06a_saves_nothing_before_the_exercise_is_answered(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path))
    exec(_save_cell(), {"respuesta_06a_4": ..., "config": config})
    assert not (config.checkpoints_dir() / "fashion_cnn.pt").exists()


def test_another_network_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="no es la red del enunciado"):
        training.fashion_cnn_from(PaddedNetwork())
    shuffled = models.FashionCNN()
    shuffled.relu = nn.ReLU()      # the same weights, another activation: other outputs
    with pytest.raises(ValueError, match="sus salidas no coinciden"):
        training.fashion_cnn_from(shuffled)


def test_a_fashion_cnn_comes_back_unchanged_and_keeps_its_mode():
    model = models.FashionCNN().train()
    copy = training.fashion_cnn_from(model)
    assert model.training
    for (name, a), (_, b) in zip(model.state_dict().items(), copy.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name


def _student_text() -> list[tuple[str, int, str]]:
    """(notebook, cell, text) of every cell and output a student gets (06b is not handed out);
    the outputs of a notebook that waits for its re-execution are left for then."""
    found = []
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        if path.name.startswith("06b"):
            continue
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            outputs = ["".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", [])
                       if path.name not in AWAITING_CONTENT_PASS]
            found.append((path.name, i, "".join([*cell["source"], *outputs])))
    return found


def test_no_student_notebook_sends_a_student_to_06b():
    for name, i, text in _student_text():
        if "06b" in text:   # only to say that the instructor hands it out later
            assert "profesor" in text, f"{name}, cell {i}: {text[:300]}"


def test_no_library_message_sends_a_student_to_06b():
    for path in (ROOT / "cnn_course").rglob("*.py"):
        if "tools" in path.parts:   # the instructor's tools may name it
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and "06b" in node.value):
                assert "profesor" in node.value, f"{path.name}: {node.value}"


def test_the_bundle_s_leeme_installs_in_the_order_a_student_runs_it():
    from cnn_course.tools import bundle

    text = bundle.getting_started("cnn_course-0.1.0-py3-none-any.whl")
    blocks = re.findall(r"```(?:bash|bat)\n(.*?)```", text, re.S)
    assert len(blocks) == 3   # Linux and macOS, Windows, conda
    for block in blocks:
        lines = block.splitlines()
        steps = [next(i for i, line in enumerate(lines) if any(m in line for m in marks))
                 for marks in (("-m venv", "conda create"),
                               ("--index-url https://download.pytorch.org/whl/cpu",),
                               ("install cnn_course-",), ("jupyter lab",))]
        assert steps == sorted(steps), block   # environment, CPU PyTorch, course, Jupyter
        cpu = lines[steps[1]]   # that environment's pip (conda's once activated)
        assert cpu.startswith((".venv/bin/pip ", ".venv\\Scripts\\pip ", "pip ")), cpu
    assert "6 GB" in text and "200 MB" in text and "CNN_COURSE_DATA" in text
