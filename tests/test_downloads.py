"""downloads: finding, preparing, checking and fetching files (Fashion-MNIST here; cats vs dogs
and the VGG16 weights in test_transfer), the atomic write and the status ``cnn-course info``
prints."""

import functools
import hashlib
import shutil
import struct
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from torchvision import datasets as tv_datasets

from cnn_course import downloads
from cnn_course.datasets import load_fashion_mnist
from cnn_course.downloads import CorruptDatasetError

from .conftest import REAL_DEBIAN


def _copy_sample_raw(root):
    raw = downloads.raw_folder(root)
    raw.mkdir(parents=True)
    for name in downloads.FASHION_FILES:
        shutil.copy(downloads.raw_folder(downloads.SAMPLE_ROOT) / name, raw / name)
    return raw


# ---------------------------------------------------------------- the three places


def test_found_in_the_data_dir(tmp_path, any_size):
    _copy_sample_raw(tmp_path)
    root, source = downloads.prepare_fashion_mnist(tmp_path, tmp_path / "no-debian", download=False)
    assert (root, source) == (tmp_path, "data dir")


def test_prepared_from_a_debian_layout(tmp_path, sample_gz_dir, any_size):
    root = tmp_path / "data"
    assert downloads.prepare_fashion_mnist(root, sample_gz_dir, download=False)[1] == "debian"
    raw = downloads.raw_folder(root)
    assert sorted(p.name for p in raw.iterdir()) == sorted(downloads.FASHION_FILES)
    ours = tv_datasets.FashionMNIST(str(root), train=False)
    sample = tv_datasets.FashionMNIST(str(downloads.SAMPLE_ROOT), train=False)
    assert torch.equal(ours.data, sample.data) and torch.equal(ours.targets, sample.targets)
    # a second call finds the prepared files in the data dir
    assert downloads.prepare_fashion_mnist(root, sample_gz_dir, download=False)[1] == "data dir"


@pytest.fixture
def local_mirror():
    """An HTTP server on loopback serving the Debian package's files, as a download mirror."""
    if not (REAL_DEBIAN / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("needs the Debian package dataset-fashion-mnist as a local mirror")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(REAL_DEBIAN))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_from_torchvisions_mirrors(tmp_path, monkeypatch, local_mirror):
    """The download from torchvision's mirror list, here a mirror on this machine."""
    resources = [(f"{name}.gz", hashlib.md5((REAL_DEBIAN / f"{name}.gz").read_bytes()).hexdigest())
                 for name in downloads.FASHION_FILES]
    monkeypatch.setattr(tv_datasets.FashionMNIST, "mirrors", [local_mirror])
    monkeypatch.setattr(tv_datasets.FashionMNIST, "resources", resources)
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    root, source = downloads.prepare_fashion_mnist(tmp_path / "data")
    assert source == "download"
    data = load_fashion_mnist(root, sample=False, train_size=100, test_size=100)
    assert data.source == "data dir" and data.train.targets[:3].tolist() == [9, 0, 0]


def test_the_real_full_set_when_installed(monkeypatch):
    if not (REAL_DEBIAN / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("the Debian package dataset-fashion-mnist is not installed")
    monkeypatch.setenv("CNN_COURSE_QUICK", "0")
    data = load_fashion_mnist(sample=False)
    assert (len(data.train), len(data.test)) == (60000, 10000)
    assert data.classes[9] == "Ankle boot" and data.source in {"data dir", "debian"}


# ---------------------------------------------------------------- broken files


def test_truncated_file_names_the_file_and_the_repair(tmp_path, monkeypatch):
    raw = _copy_sample_raw(tmp_path)
    bad = raw / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:5000])
    with pytest.raises(CorruptDatasetError) as info:
        downloads.prepare_fashion_mnist(tmp_path, tmp_path / "no-debian", download=False)
    message = str(info.value)
    assert str(bad) in message and "cnn-course download fashion-mnist --force" in message


def test_bad_magic_number(tmp_path):
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(struct.pack(">II", 1234, 3) + b"abc")
    with pytest.raises(CorruptDatasetError, match="número mágico 1234"):
        downloads.check_idx_file(bad)


def test_wrong_count_for_the_full_set(tmp_path):
    raw = _copy_sample_raw(tmp_path)
    with pytest.raises(CorruptDatasetError, match="tiene 3000 elementos; Fashion-MNIST, 60000"):
        downloads.check_idx_file(raw / "train-labels-idx1-ubyte", 60000)


def test_corrupt_gzip_leaves_nothing_half_written(tmp_path, sample_gz_dir, any_size):
    (sample_gz_dir / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    root = tmp_path / "data"
    with pytest.raises(CorruptDatasetError, match="t10k-images-idx3-ubyte.gz"):
        downloads.prepare_fashion_mnist(root, sample_gz_dir, download=False)
    leftovers = [p.name for p in downloads.raw_folder(root).iterdir()]
    assert "t10k-images-idx3-ubyte" not in leftovers
    assert not [n for n in leftovers if n.endswith(".part")]


def test_download_from_a_mirror_given_by_url(tmp_path, local_mirror, monkeypatch):
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    root, source = downloads.prepare_fashion_mnist(tmp_path / "data", url=local_mirror,
                                                   progress=False)
    assert source == "download"
    raw = downloads.raw_folder(root)
    assert downloads.check_idx_file(raw / "t10k-labels-idx1-ubyte") == 10000
    assert not list(raw.glob("*.part"))


# ---------------------------------------------------------------- one downloader, one write


def test_atomic_write_moves_on_success_and_cleans_up_on_failure(tmp_path):
    dest = tmp_path / "out" / "file.bin"
    with downloads.atomic_write(dest) as tmp:
        tmp.write_bytes(b"new")
        assert not dest.exists()
    assert dest.read_bytes() == b"new"
    with pytest.raises(RuntimeError), downloads.atomic_write(dest) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"new" and sorted(p.name for p in dest.parent.iterdir()) == [
        "file.bin"]
    folder = tmp_path / "folder"
    for text in ("one", "two"):  # a folder replaces the folder there
        with downloads.atomic_write(folder) as tmp:
            tmp.mkdir()
            (tmp / f"{text}.txt").write_text(text)
    assert [p.name for p in folder.iterdir()] == ["two.txt"]


@pytest.fixture
def served_file(tmp_path):
    """A loopback HTTP server serving one file; yields (url, bytes)."""
    served = tmp_path / "served"
    served.mkdir()
    content = b"cnn_course " * 1000
    (served / "file.bin").write_bytes(content)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/file.bin", content
    server.shutdown()
    server.server_close()


def test_download_checks_size_and_hash_and_is_idempotent(tmp_path, served_file):
    url, content = served_file
    sha = hashlib.sha256(content).hexdigest()
    dest = tmp_path / "d" / "file.bin"
    with pytest.raises(CorruptDatasetError, match="se esperaban 5"):
        downloads.download(url, dest, "retry", expected_size=5, progress=False)
    with pytest.raises(CorruptDatasetError, match="no es el archivo esperado"):
        downloads.download(url, dest, "retry", hash_prefix="0000000", progress=False)
    assert list(dest.parent.iterdir()) == []
    downloads.download(url, dest, "retry", len(content), sha[:8], progress=False)
    assert dest.read_bytes() == content
    dest.write_bytes(b"kept")  # a file already there is not fetched again
    assert downloads.download(url, dest, "retry", progress=False).read_bytes() == b"kept"


def test_download_offline_names_the_fix(tmp_path, offline):
    dest = tmp_path / "file.bin"
    with pytest.raises(downloads.DatasetNotFoundError,
                       match="no network.*Comprueba.*run this command"):
        downloads.download("http://example.invalid/f", dest, "run this command")
    with pytest.raises(downloads.WeightsNotFoundError):
        downloads.download("http://example.invalid/f", dest, "x",
                           error=downloads.WeightsNotFoundError)


def test_status_lists_each_file_and_its_command(no_data):
    text = downloads.status()
    assert "Fashion-MNIST:" in text and "muestra incluida" in text
    assert "falta (`cnn-course download fashion-mnist`)" in text
    assert "gatos y perros" in text and "`cnn-course download cats-dogs`" in text
    assert "pesos ImageNet de EfficientNet-Lite0: presente" in text  # installed with the course



def test_read_state_dict_takes_a_bare_or_a_checkpoint_file_and_names_the_fix(tmp_path):
    weights = {"w": torch.ones(2)}
    torch.save(weights, tmp_path / "bare.pth")
    torch.save({"model": weights, "history": {}}, tmp_path / "checkpoint.pt")
    for name in ("bare.pth", "checkpoint.pt"):
        assert torch.equal(downloads.read_state_dict(tmp_path / name)["w"], weights["w"])
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(downloads.WeightsNotFoundError, match="contiene un list.*download vgg16"):
        downloads.read_state_dict(tmp_path / "list.pth")
    with pytest.raises(downloads.WeightsNotFoundError, match="ningún fichero de pesos"):
        downloads.read_state_dict(tmp_path / "missing.pth")
