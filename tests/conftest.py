"""Shared fixtures: a Debian-style folder of gzipped Fashion-MNIST files made from the sample,
and a machine with no data and no network."""

import gzip
import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from cnn_course import downloads

REAL_DEBIAN = downloads.DEBIAN_FASHION_DIR


@pytest.fixture
def sample_gz_dir(tmp_path: Path) -> Path:
    """The shipped sample's four files gzipped, as the Debian package lays them out."""
    folder = tmp_path / "debian"
    folder.mkdir()
    raw = downloads.raw_folder(downloads.SAMPLE_ROOT)
    for name in downloads.FASHION_FILES:
        with open(raw / name, "rb") as src, gzip.open(folder / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    return folder


@pytest.fixture
def any_size(monkeypatch):
    """Accept Fashion-MNIST files of any item count (the sample's 3000 / 1000 images)."""
    monkeypatch.setattr(downloads, "FASHION_FILES",
                        {k: (m, None) for k, (m, _) in downloads.FASHION_FILES.items()})


@pytest.fixture
def offline(monkeypatch):
    """No network: every download fails as it would without a connection."""
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch, offline) -> Path:
    """An empty data root, no Debian package and no network: nothing to find."""
    root = tmp_path / "data"
    monkeypatch.setenv("CNN_COURSE_DATA", str(root))
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    return root
