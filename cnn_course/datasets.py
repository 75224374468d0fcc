"""Datasets: Fashion-MNIST (find, prepare, download, load), tensor datasets and fast batches.

Fashion-MNIST is looked for, in order, in
1. the data folder (``<data_dir>/FashionMNIST/raw``, torchvision's layout);
2. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``),
   decompressed into the data folder without any network;
3. torchvision's download.
A small real sample (100 train + 50 test images per class) ships inside the package, for quick
mode and ``sample=True`` when the full set is missing.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset
from torchvision import datasets as tv_datasets
from torchvision import transforms

from . import config

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SAMPLE_ROOT = Path(__file__).resolve().parent / "data" / "fashion_mnist_sample"
QUICK_SIZES = {"train": 3000, "test": 1000}

# file name -> (magic number, item count, bytes per item after the header)
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
FASHION_FILES = {
    "train-images-idx3-ubyte": (_IMAGE_MAGIC, 60000),
    "train-labels-idx1-ubyte": (_LABEL_MAGIC, 60000),
    "t10k-images-idx3-ubyte": (_IMAGE_MAGIC, 10000),
    "t10k-labels-idx1-ubyte": (_LABEL_MAGIC, 10000),
}
REPAIR_HINT = "Run `cnn-course download fashion-mnist --force` to prepare it again"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on this machine and could not be fetched."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is truncated or not what its name says."""


@dataclass
class FashionMNIST:
    """The loaded Fashion-MNIST: torchvision datasets plus where they came from."""

    train: tv_datasets.FashionMNIST
    test: tv_datasets.FashionMNIST
    classes: tuple[str, ...]
    source: str  # "data dir", "debian", "download" or "sample"
    root: Path

    def __repr__(self) -> str:
        return (f"FashionMNIST(train={len(self.train)}, test={len(self.test)}, "
                f"source={self.source!r}, root='{self.root}')")


# ---------------------------------------------------------------- checking and preparing files


def raw_folder(root: Path | None = None) -> Path:
    """Where torchvision keeps Fashion-MNIST under a data root: ``<root>/FashionMNIST/raw``."""
    return Path(root if root is not None else config.data_dir()) / "FashionMNIST" / "raw"


def check_idx_file(path: Path, expected_count: int | None = None) -> int:
    """Check that ``path`` is a complete IDX file (images or labels) and return its item count.

    Raises:
        CorruptDatasetError: wrong magic number, wrong size, or an unexpected item count.
    """
    path = Path(path)
    with open(path, "rb") as f:
        header = f.read(16)
    if len(header) < 8:
        raise CorruptDatasetError(f"{path} is truncated ({len(header)} bytes). {REPAIR_HINT}.")
    magic, count = struct.unpack(">II", header[:8])
    if magic == _IMAGE_MAGIC:
        rows, cols = struct.unpack(">II", header[8:16]) if len(header) == 16 else (0, 0)
        expected_size = 16 + count * rows * cols
    elif magic == _LABEL_MAGIC:
        expected_size = 8 + count
    else:
        raise CorruptDatasetError(
            f"{path} has magic number {magic}, not an IDX image (2051) or label (2049) file "
            f"(a gzip file not decompressed, or a broken download?). {REPAIR_HINT}.")
    size = path.stat().st_size
    if size != expected_size:
        raise CorruptDatasetError(
            f"{path} is {size} bytes but its header promises {expected_size} "
            f"(truncated or damaged). {REPAIR_HINT}.")
    if expected_count is not None and count != expected_count:
        raise CorruptDatasetError(
            f"{path} holds {count} items, Fashion-MNIST has {expected_count}. {REPAIR_HINT}.")
    return count


def _check_folder(folder: Path, full: bool = True) -> None:
    """Check the four files in ``folder``; raises CorruptDatasetError on the first bad one."""
    for name, (_, count) in FASHION_FILES.items():
        check_idx_file(folder / name, count if full else None)


def _has_all(folder: Path, suffix: str = "") -> bool:
    return all((folder / (name + suffix)).is_file() for name in FASHION_FILES)


def _decompress_atomic(src: Path, dst: Path, expected_count: int) -> None:
    """Decompress ``src`` (.gz) to ``dst`` through a temporary name, checked before the move."""
    fd, tmp = tempfile.mkstemp(prefix=dst.name + ".", suffix=".part", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        check_idx_file(Path(tmp), expected_count)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except (OSError, EOFError, gzip.BadGzipFile, CorruptDatasetError) as err:
        raise CorruptDatasetError(
            f"{src} is damaged and could not be decompressed ({err}). Reinstall it "
            "(`sudo apt-get install --reinstall dataset-fashion-mnist`) or run "
            "`cnn-course download fashion-mnist --force`.") from err
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def prepare_from_gz(src_dir: Path, root: Path | None = None) -> Path:
    """Decompress the four ``*-ubyte.gz`` files of ``src_dir`` into torchvision's layout.

    Used for the Debian package's folder and for ``.gz`` files copied by hand. Returns the raw
    folder. Files already there and valid are kept.
    """
    dest = raw_folder(root)
    dest.mkdir(parents=True, exist_ok=True)
    for name, (_, count) in FASHION_FILES.items():
        target = dest / name
        if target.is_file():
            try:
                check_idx_file(target, count)
                continue
            except CorruptDatasetError:
                pass
        _decompress_atomic(Path(src_dir) / (name + ".gz"), target, count)
    return dest


def _download(root: Path) -> None:
    """torchvision's download (checksummed) of the four files into ``root``."""
    for train in (True, False):
        tv_datasets.FashionMNIST(root=str(root), train=train, download=True)


def find_fashion_mnist(
    root: Path | None = None,
    debian_dir: Path | None = None,
    download: bool = True,
    force: bool = False,
) -> tuple[Path, str]:
    """Make sure the full Fashion-MNIST is under ``root`` and say where it came from.

    Args:
        root: data root (default ``config.data_dir()``).
        debian_dir: the Debian package's folder (default ``/usr/share/datasets/fashion-mnist``).
        download: try torchvision's download as the last resort.
        force: discard the files in the data folder and prepare them again.

    Returns:
        (data root, source) with source ``"data dir"``, ``"debian"`` or ``"download"``.

    Raises:
        DatasetNotFoundError: none of the three ways worked; the message lists them.
        CorruptDatasetError: a file in the data folder is damaged.
    """
    root = Path(root if root is not None else config.data_dir())
    debian_dir = Path(debian_dir if debian_dir is not None else DEBIAN_FASHION_DIR)
    raw = raw_folder(root)
    if force and raw.exists():
        for name in FASHION_FILES:
            (raw / name).unlink(missing_ok=True)
    if _has_all(raw):
        _check_folder(raw)
        return root, "data dir"
    if _has_all(raw, ".gz"):
        prepare_from_gz(raw, root)
        return root, "data dir"
    if _has_all(debian_dir, ".gz"):
        prepare_from_gz(debian_dir, root)
        return root, "debian"
    reason = "download not attempted"
    if download:
        try:
            _download(root)
            _check_folder(raw)
            return root, "download"
        except (OSError, RuntimeError) as err:  # URLError is an OSError
            reason = f"download failed: {err}"
    raise DatasetNotFoundError(
        f"Fashion-MNIST was not found ({reason}). Get it one of three ways:\n"
        "  1. `cnn-course download fashion-mnist` (needs internet; torchvision's download)\n"
        "  2. `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; files in "
        f"{DEBIAN_FASHION_DIR})\n"
        f"  3. copy the four files (train-images-idx3-ubyte.gz, ...) into {raw}\n"
        "Or use the small sample shipped with the course: load_fashion_mnist(sample=True) "
        "or CNN_COURSE_QUICK=1.")


# ---------------------------------------------------------------- loading


def _subset(ds: tv_datasets.FashionMNIST, n: int | None) -> tv_datasets.FashionMNIST:
    """Keep the first ``n`` images (Fashion-MNIST's order is well mixed across classes)."""
    if n is not None and n < len(ds):
        ds.data, ds.targets = ds.data[:n], ds.targets[:n]
    return ds


def load_fashion_mnist(
    root: Path | None = None,
    *,
    sample: bool | None = None,
    download: bool = True,
    transform=None,
    train_size: int | None = None,
    test_size: int | None = None,
    debian_dir: Path | None = None,
) -> FashionMNIST:
    """Load the real Fashion-MNIST train and test sets (torchvision ``FashionMNIST`` objects).

    Args:
        root: data root (default ``config.data_dir()``).
        sample: ``True`` uses the shipped sample when the full set is not on this machine
            (no download is tried); ``None`` (default) does so only in quick mode; ``False``
            never uses it.
        download: allow torchvision's download when the full set is neither in the data
            folder nor installed by Debian's package.
        transform: torchvision transform for the images (default ``transforms.ToTensor()``).
        train_size, test_size: keep only the first images (default: all, or
            ``QUICK_SIZES`` in quick mode).
        debian_dir: where the Debian package's files are (for tests).

    Returns:
        A ``FashionMNIST`` record with ``train``, ``test``, ``classes``, ``source``, ``root``.
    """
    quick = config.quick_mode()
    use_sample = quick if sample is None else sample
    try:
        data_root, source = find_fashion_mnist(
            root, debian_dir, download=download and not use_sample)
    except DatasetNotFoundError:
        if not use_sample:
            raise
        data_root, source = SAMPLE_ROOT, "sample"
        print("Fashion-MNIST: the full set is not on this machine; using the small real sample "
              "shipped with cnn_course (1000 train / 500 test images). "
              "`cnn-course download fashion-mnist` gets the full set.")
    transform = transform if transform is not None else transforms.ToTensor()
    train = tv_datasets.FashionMNIST(str(data_root), train=True, transform=transform)
    test = tv_datasets.FashionMNIST(str(data_root), train=False, transform=transform)
    if quick:
        train_size = train_size or QUICK_SIZES["train"]
        test_size = test_size or QUICK_SIZES["test"]
    return FashionMNIST(_subset(train, train_size), _subset(test, test_size),
                        FASHION_CLASSES, source, Path(data_root))


# ---------------------------------------------------------------- tensors and batches


def to_tensors(dataset: tv_datasets.VisionDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as one float tensor (N, 1, H, W) in [0, 1] and labels as int64, converted once.

    Gives the same numbers as ``ToTensor`` applied image by image, in one vectorised step.
    """
    images = dataset.data
    if images.dtype == torch.uint8:
        images = images.float().div_(255)
    if images.dim() == 3:
        images = images.unsqueeze(1)
    return images.contiguous(), torch.as_tensor(dataset.targets, dtype=torch.long)


class FlattenDataset(Dataset):
    """The slides' ``Flatten_Dataset``: pairs image rows with labels, from tensors in memory.

    ``images`` may be (N, 784) already, or (N, 1, 28, 28) / (N, 28, 28): they are flattened.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if len(images) != len(labels):
            raise ValueError(f"FlattenDataset: {len(images)} images but {len(labels)} labels; "
                             "they must pair one to one.")
        self.images = images.reshape(len(images), -1)
        self.labels = labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, idx):
        return self.images[idx], self.labels[idx]


class TensorBatches:
    """Fast batches from tensors in memory: index slicing instead of per-image conversion.

    Iterating yields ``(images, labels)`` batches; with ``shuffle=True`` each epoch draws a new
    permutation from a generator seeded once, so runs repeat exactly. ``len()`` is the number of
    batches, like a ``DataLoader``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0, drop_last: bool = False):
        if len(images) != len(labels):
            raise ValueError(f"TensorBatches: {len(images)} images but {len(labels)} labels.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)
        self.dataset = TensorDataset(images, labels)  # like DataLoader.dataset

    @classmethod
    def from_dataset(cls, dataset, **kwargs) -> TensorBatches:
        """Build from a torchvision dataset with ``.data`` and ``.targets`` (see ``to_tensors``)."""
        return cls(*to_tensors(dataset), **kwargs)

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                yield self.images[start:stop], self.labels[start:stop]
            else:
                idx = order[start:stop]
                yield self.images[idx], self.labels[idx]


def fashion_loaders(data: FashionMNIST, batch_size: int = 32, seed: int = 0,
                    eval_batch_size: int = 256) -> tuple[TensorBatches, ...]:
    """The slides' three loaders, as fast in-memory batches.

    Returns:
        (train batches shuffled each epoch, train set for evaluation, test set for evaluation).
    """
    train_x, train_y = to_tensors(data.train)
    test_x, test_y = to_tensors(data.test)
    return (TensorBatches(train_x, train_y, batch_size, shuffle=True, seed=seed),
            TensorBatches(train_x, train_y, eval_batch_size),
            TensorBatches(test_x, test_y, eval_batch_size))
