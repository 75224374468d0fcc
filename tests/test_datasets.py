import functools
import hashlib
import shutil
import struct
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from torchvision import datasets as tv_datasets
from torchvision import transforms

from cnn_course import datasets
from cnn_course.datasets import (
    CorruptDatasetError,
    DatasetNotFoundError,
    FlattenDataset,
    TensorBatches,
    load_fashion_mnist,
)

from .conftest import REAL_DEBIAN


def _copy_sample_raw(root):
    raw = datasets.raw_folder(root)
    raw.mkdir(parents=True)
    for name in datasets.FASHION_FILES:
        shutil.copy(datasets.raw_folder(datasets.SAMPLE_ROOT) / name, raw / name)
    return raw


# ---------------------------------------------------------------- the shipped sample


def test_sample_is_real_balanced_and_licensed():
    data = load_fashion_mnist(sample=True, root=datasets.SAMPLE_ROOT / "nowhere",
                              debian_dir=datasets.SAMPLE_ROOT / "nowhere")
    assert data.source == "sample"
    assert (len(data.train), len(data.test)) == (1000, 500)
    assert torch.bincount(data.train.targets).tolist() == [100] * 10
    assert torch.bincount(data.test.targets).tolist() == [50] * 10
    assert data.train.data.dtype == torch.uint8 and data.train.data.float().std() > 50
    assert "MIT" in (datasets.SAMPLE_ROOT / "LICENSE").read_text()


def test_sample_fallback_says_so_in_one_line(no_data, capsys):
    data = load_fashion_mnist(sample=True)
    assert data.source == "sample"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "sample" in out[0] and "cnn-course download" in out[0]


def test_quick_mode_falls_back_to_the_sample(no_data, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    assert load_fashion_mnist().source == "sample"


def test_normal_mode_never_falls_back_silently(no_data, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "0")
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist()
    message = str(info.value)
    for hint in ("cnn-course download fashion-mnist", "apt-get install dataset-fashion-mnist",
                 str(datasets.raw_folder(no_data)), "sample=True", "no network in this test"):
        assert hint in message


# ---------------------------------------------------------------- the three places


def test_found_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_FILES",
                        {k: (m, None) for k, (m, _) in datasets.FASHION_FILES.items()})
    _copy_sample_raw(tmp_path)
    root, source = datasets.find_fashion_mnist(tmp_path, tmp_path / "no-debian", download=False)
    assert (root, source) == (tmp_path, "data dir")


def test_prepared_from_a_debian_layout(tmp_path, sample_gz_dir, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_FILES",
                        {k: (m, None) for k, (m, _) in datasets.FASHION_FILES.items()})
    root = tmp_path / "data"
    assert datasets.find_fashion_mnist(root, sample_gz_dir, download=False)[1] == "debian"
    raw = datasets.raw_folder(root)
    assert sorted(p.name for p in raw.iterdir()) == sorted(datasets.FASHION_FILES)
    ours = tv_datasets.FashionMNIST(str(root), train=False)
    sample = tv_datasets.FashionMNIST(str(datasets.SAMPLE_ROOT), train=False)
    assert torch.equal(ours.data, sample.data) and torch.equal(ours.targets, sample.targets)
    # a second call finds the prepared files in the data dir
    assert datasets.find_fashion_mnist(root, sample_gz_dir, download=False)[1] == "data dir"


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


def test_torchvision_download_path(tmp_path, monkeypatch, local_mirror):
    """torchvision's checksummed download, from a mirror on this machine (no network here)."""
    resources = [(f"{name}.gz", hashlib.md5((REAL_DEBIAN / f"{name}.gz").read_bytes()).hexdigest())
                 for name in datasets.FASHION_FILES]
    monkeypatch.setattr(tv_datasets.FashionMNIST, "mirrors", [local_mirror])
    monkeypatch.setattr(tv_datasets.FashionMNIST, "resources", resources)
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    root, source = datasets.find_fashion_mnist(tmp_path / "data")
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
        datasets.find_fashion_mnist(tmp_path, tmp_path / "no-debian", download=False)
    message = str(info.value)
    assert str(bad) in message and "cnn-course download fashion-mnist --force" in message


def test_bad_magic_number(tmp_path):
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(struct.pack(">II", 1234, 3) + b"abc")
    with pytest.raises(CorruptDatasetError, match="magic number 1234"):
        datasets.check_idx_file(bad)


def test_wrong_count_for_the_full_set(tmp_path):
    raw = _copy_sample_raw(tmp_path)
    with pytest.raises(CorruptDatasetError, match="holds 1000 items, Fashion-MNIST has 60000"):
        datasets.check_idx_file(raw / "train-labels-idx1-ubyte", 60000)


def test_corrupt_gzip_leaves_nothing_half_written(tmp_path, sample_gz_dir, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_FILES",
                        {k: (m, None) for k, (m, _) in datasets.FASHION_FILES.items()})
    (sample_gz_dir / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    root = tmp_path / "data"
    with pytest.raises(CorruptDatasetError, match="t10k-images-idx3-ubyte.gz"):
        datasets.find_fashion_mnist(root, sample_gz_dir, download=False)
    leftovers = [p.name for p in datasets.raw_folder(root).iterdir()]
    assert "t10k-images-idx3-ubyte" not in leftovers
    assert not [n for n in leftovers if n.endswith(".part")]


# ---------------------------------------------------------------- tensors and batches


@pytest.fixture(scope="module")
def sample():
    return load_fashion_mnist(sample=True, root=datasets.SAMPLE_ROOT / "nowhere",
                              debian_dir=datasets.SAMPLE_ROOT / "nowhere")


def test_to_tensors_equals_totensor_image_by_image(sample):
    images, labels = datasets.to_tensors(sample.test)
    assert images.shape == (500, 1, 28, 28) and images.dtype == torch.float32
    to_tensor = transforms.ToTensor()
    for i in (0, 17, 499):
        image, label = sample.test[i]
        assert torch.equal(images[i], to_tensor(sample.test.data[i].numpy()))
        assert torch.equal(images[i], image) and labels[i] == label


def test_tensor_batches_cover_every_image_once_and_repeat_with_the_seed(sample):
    images, labels = datasets.to_tensors(sample.train)
    batches = TensorBatches(images, torch.arange(1000), batch_size=32, shuffle=True, seed=3)
    assert len(batches) == 32
    epoch1 = torch.cat([y for _, y in batches])
    epoch2 = torch.cat([y for _, y in batches])
    assert sorted(epoch1.tolist()) == list(range(1000)) and not torch.equal(epoch1, epoch2)
    again = TensorBatches(images, torch.arange(1000), batch_size=32, shuffle=True, seed=3)
    assert torch.equal(torch.cat([y for _, y in again]), epoch1)
    sizes = [len(y) for _, y in TensorBatches(images, labels, batch_size=300)]
    assert sizes == [300, 300, 300, 100]


def test_flatten_dataset_pairs_rows_and_labels(sample):
    images, labels = datasets.to_tensors(sample.test)
    ds = FlattenDataset(images, labels)
    assert len(ds) == 500
    x, y = ds[3]
    assert x.shape == (784,) and torch.equal(x, images[3].flatten()) and y == labels[3]
    with pytest.raises(ValueError, match="pair one to one"):
        FlattenDataset(images, labels[:10])


def test_quick_mode_takes_a_subset_of_the_full_set(monkeypatch, tmp_path, sample_gz_dir):
    monkeypatch.setattr(datasets, "FASHION_FILES",
                        {k: (m, None) for k, (m, _) in datasets.FASHION_FILES.items()})
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    data = load_fashion_mnist(tmp_path, debian_dir=sample_gz_dir, train_size=200, test_size=50)
    assert (len(data.train), len(data.test), data.source) == (200, 50, "debian")


def test_spanish_class_names_follow_the_same_order():
    assert len(datasets.FASHION_CLASSES_ES) == len(datasets.FASHION_CLASSES) == 10
    assert len(set(datasets.FASHION_CLASSES_ES)) == 10
    spanish = dict(zip(datasets.FASHION_CLASSES, datasets.FASHION_CLASSES_ES, strict=True))
    assert (spanish["Shirt"], spanish["T-shirt/top"], spanish["Ankle boot"]) == (
        "camisa", "camiseta", "botín")
