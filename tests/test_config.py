import os
import random
import shutil
from pathlib import Path

import numpy as np
import platformdirs
import pytest
import torch

from cnn_course import config, downloads


def test_data_dir_from_environment_is_created(tmp_path, monkeypatch):
    target = tmp_path / "somewhere" / "data"
    monkeypatch.setenv("CNN_COURSE_DATA", str(target))
    assert config.data_dir() == target
    assert target.is_dir()


def _imported_from(monkeypatch, folder: Path) -> None:
    """Make ``config`` believe that the package was imported from ``folder/cnn_course``."""
    monkeypatch.setattr(config, "__file__", str(folder / "cnn_course" / "config.py"))


def test_a_checkout_uses_its_own_data_folder_from_any_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    root = Path(__file__).resolve().parents[1]   # this checkout: the package is imported from it
    seen = set()
    for folder in (root / "notebooks", tmp_path):
        monkeypatch.chdir(folder)
        seen.add(config.data_dir())
    assert seen == {root / "data"} and config.source_checkout() == root
    assert config.runs_dir() == root / "data" / "runs"
    assert "clonado" in config.data_dir_origin()


def test_an_installed_package_uses_one_folder_per_user_from_any_working_folder(tmp_path,
                                                                             monkeypatch):
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "share"))
    _imported_from(monkeypatch, tmp_path / "venv" / "site-packages")
    work = tmp_path / "curso-cnn"
    seen = set()
    for folder in (work, work / "cuadernos"):   # the command line, then Jupyter
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.chdir(folder)
        seen.add(config.data_dir())
    assert seen == {tmp_path / "home" / "share" / "cnn_course"}
    assert config.source_checkout() is None and "usuario" in config.data_dir_origin()
    assert config.runs_dir() == tmp_path / "home" / "share" / "cnn_course" / "runs"
    assert not (work / "data").exists() and not (work / "cuadernos" / "data").exists()


def test_a_clone_s_existing_data_is_found_and_never_downloaded_again(tmp_path, monkeypatch,
                                                                   sample_gz_dir, any_size,
                                                                   offline):
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    clone = tmp_path / "clone"
    (clone / "data").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("[project]\nname = 'cnn_course'\n")
    raw = downloads.raw_folder(clone / "data")
    raw.mkdir(parents=True)
    for gz in sample_gz_dir.iterdir():
        shutil.copy(gz, raw / gz.name)
    _imported_from(monkeypatch, clone)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    root, source = downloads.prepare_fashion_mnist()   # offline: a download would fail
    assert (root, source) == (clone / "data", "data dir")
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        [*downloads.FASHION_FILES, *(f"{n}.gz" for n in downloads.FASHION_FILES)])


def test_the_tests_never_write_into_the_real_per_user_folder():
    # conftest.py points CNN_COURSE_DATA at the checkout's data/ (unless the shell set it)
    per_user = Path(platformdirs.user_data_dir("cnn_course", appauthor=False))
    assert os.environ.get("CNN_COURSE_DATA") and config.data_dir() != per_user


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
