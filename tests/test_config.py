import random

import numpy as np
import pytest
import torch

from cnn_course import config


def test_data_dir_from_environment_is_created(tmp_path, monkeypatch):
    target = tmp_path / "somewhere" / "data"
    monkeypatch.setenv("CNN_COURSE_DATA", str(target))
    assert config.data_dir() == target
    assert target.is_dir()


def test_data_dir_defaults_to_project_data_also_from_notebooks(monkeypatch):
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    root = config.project_root()
    assert (root / "pyproject.toml").is_file()
    monkeypatch.chdir(root / "notebooks")
    assert config.data_dir() == root / "data"


def test_quick_mode_checkpoints_never_overwrite_full_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path))
    monkeypatch.setenv("CNN_COURSE_QUICK", "0")
    full = config.checkpoints_dir()
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    quick = config.checkpoints_dir()
    assert full == tmp_path / "checkpoints" and quick.is_dir()
    assert quick != full and (quick / "fashion_cnn.pt") != (full / "fashion_cnn.pt")


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False),
                                             ("", False)])
def test_quick_mode(monkeypatch, value, expected):
    monkeypatch.setenv("CNN_COURSE_QUICK", value)
    assert config.quick_mode() is expected


def test_get_device():
    assert config.get_device("cpu") == torch.device("cpu")
    assert config.get_device().type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="Dispositivo desconocido"):
        config.get_device("tpu")


def test_get_device_refuses_missing_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no está disponible"):
        config.get_device("cuda")


def test_seed_everything_repeats_python_numpy_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3)

    config.seed_everything(7)
    first = draw()
    config.seed_everything(7)
    second = draw()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])


def test_format_number_writes_numbers_as_the_prose_does():
    assert config.format_number(60000) == "60.000"
    assert config.format_number(360714) == "360.714"
    assert config.format_number(0.92184, 4) == "0,9218"
    assert config.format_number(torch.tensor(2048)) == "2.048"
    assert config.format_number(1234.5, 1) == "1.234,5"
    assert config.format_number(15.364) == "15,36"
    assert config.format_number(1 / 3, ".3g") == "0,333"
    assert config.format_number(-1.0, ".0f") == "-1"
