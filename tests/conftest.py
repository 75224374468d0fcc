"""Shared fixtures: a Debian-style folder of gzipped Fashion-MNIST files made from the sample."""

import gzip
import shutil
from pathlib import Path

import pytest

from cnn_course import datasets

REAL_DEBIAN = datasets.DEBIAN_FASHION_DIR


@pytest.fixture
def sample_gz_dir(tmp_path: Path) -> Path:
    """The shipped sample's four files gzipped, as the Debian package lays them out."""
    folder = tmp_path / "debian"
    folder.mkdir()
    raw = datasets.raw_folder(datasets.SAMPLE_ROOT)
    for name in datasets.FASHION_FILES:
        with open(raw / name, "rb") as src, gzip.open(folder / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    return folder


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch) -> Path:
    """An empty data root, no Debian package and no network: nothing to find."""
    root = tmp_path / "data"
    monkeypatch.setenv("CNN_COURSE_DATA", str(root))
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")

    def offline(root):
        raise OSError("no network in this test")

    monkeypatch.setattr(datasets, "_download", offline)
    return root
