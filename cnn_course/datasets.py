"""Datasets: Fashion-MNIST (find, prepare, download, load), tensor datasets and fast batches.

Fashion-MNIST is looked for, in order, in
1. the data folder (``<data_dir>/FashionMNIST/raw``, torchvision's layout);
2. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``),
   decompressed into the data folder without any network;
3. torchvision's download.
A small real sample (100 train + 50 test images per class) ships inside the package, for quick
mode and ``sample=True`` when the full set is missing.

Image folders (one sub-folder per class, the slides' cats vs dogs): ``CatsDogs`` reads them with
OpenCV for a pretrained VGG16; ``download_cats_dogs`` fetches the public
``cats_and_dogs_filtered`` set; ``write_fashion_folders`` writes an offline two-class stand-in.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import struct
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset
from torchvision import datasets as tv_datasets
from torchvision import transforms
from tqdm.auto import tqdm

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
# The same classes, in the same order, in Spanish (the course's figures and tables).
FASHION_CLASSES_ES = (
    "camiseta",
    "pantalón",
    "jersey",
    "vestido",
    "abrigo",
    "sandalia",
    "camisa",
    "zapatilla",
    "bolso",
    "botín",
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


# ---------------------------------------------------------------- image folders (cats vs dogs)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
CATS_DOGS_CLASSES = ("cats", "dogs")
# the slides' split folders: the Kaggle download (training_set/training_set/...), the
# TensorFlow tutorials' cats_and_dogs_filtered (train/, validation/) and the common names
SPLIT_FOLDERS = {
    "train": ("train", "training", "training_set/training_set", "training_set"),
    "test": ("test", "testing", "test_set/test_set", "test_set"),
    "validation": ("validation", "valid", "val"),
}
CATS_DOGS_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
CATS_DOGS_SIZE = 68_606_236  # bytes of cats_and_dogs_filtered.zip
CATS_DOGS_DIR = "cats_and_dogs_filtered"
STAND_IN_CLASSES = ("Sneaker", "Ankle boot")  # Fashion-MNIST classes for the offline stand-in


def folder_name(class_name: str) -> str:
    """A class name as a folder name: 'Ankle boot' -> 'ankle_boot', 'T-shirt/top' ->
    't-shirt_top'."""
    return class_name.lower().replace(" ", "_").replace("/", "_")


STAND_IN_FOLDERS = tuple(folder_name(c) for c in STAND_IN_CLASSES)  # ("sneaker", "ankle_boot")


class UnreadableImageError(ValueError):
    """A file in an image folder is not an image OpenCV can read."""


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as an RGB uint8 array (H, W, 3), whatever it holds.

    Grayscale, RGBA and 16-bit files become 3-channel 8-bit RGB (OpenCV's ``IMREAD_COLOR``).
    OpenCV reads BGR: ``[:, :, ::-1]`` reverses the channels (the slides' ``[:, :, :-1]``
    would drop one). Reading through ``np.fromfile`` also works for non-ASCII paths on Windows.

    Raises:
        UnreadableImageError: the file is not an image OpenCV can decode (the message names it).
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise UnreadableImageError(f"Cannot read image file {path}: {err}") from err
    bgr = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
    if bgr is None:
        raise UnreadableImageError(
            f"{path} is not a readable image (empty, truncated or not an image). Delete or "
            "replace it, or pass skip_unreadable=True to leave such files out.")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def imagenet_normalize(images: torch.Tensor) -> torch.Tensor:
    """(…, 3, H, W) values in [0, 1] -> ImageNet-normalised (per channel, mean 0 std 1 on
    ImageNet)."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype).view(3, 1, 1)
    return (images - mean) / std


def imagenet_unnormalize(images: torch.Tensor) -> torch.Tensor:
    """Undo ``imagenet_normalize`` and clip to [0, 1], for showing images."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype).view(3, 1, 1)
    return (images.cpu() * std + mean).clamp(0, 1)


def image_to_tensor(rgb: np.ndarray, size: int = 224) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float (3, size, size): resized, scaled to [0, 1], normalised."""
    resized = cv2.resize(rgb, (size, size))
    tensor = torch.from_numpy(resized).permute(2, 0, 1).float().div_(255)
    return imagenet_normalize(tensor)


def _listing(folder: Path, limit: int = 8) -> str:
    """What a folder holds, for error messages: 'a/, b/, c.txt' or 'nothing'."""
    if not folder.is_dir():
        return "it does not exist"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "it is empty"
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return "found: " + ", ".join(names[:limit]) + more


def image_folder(folder: str | Path, split: str | None = None,
                 classes: tuple[str, ...] = CATS_DOGS_CLASSES) -> Path:
    """The folder holding one sub-folder per class, for a split of a dataset.

    Accepts the class folder's parent itself, or a dataset root with ``split`` in one of the
    layouts of ``SPLIT_FOLDERS`` (``train/``, ``training_set/training_set/``, ...). A folder
    that holds only a folder of its own name (the Kaggle zip's ``training_set/training_set``)
    is entered.

    Raises:
        DatasetNotFoundError: no such folder; the message lists what was found.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"Image folder {folder} does not exist. Get cats vs dogs with "
            "`cnn-course download cats-dogs`, or point at your own folder with one sub-folder "
            f"per class ({', '.join(c + '/' for c in classes)}).")
    if split is not None:
        if split not in SPLIT_FOLDERS:
            raise ValueError(f"split must be one of {sorted(SPLIT_FOLDERS)} or None, "
                             f"got {split!r}.")
        for name in SPLIT_FOLDERS[split]:
            if (folder / name).is_dir():
                return image_folder(folder / name, None, classes)
        raise DatasetNotFoundError(
            f"No {split!r} split in {folder}: looked for "
            f"{', '.join(n + '/' for n in SPLIT_FOLDERS[split])}; {_listing(folder)}.")
    if not any((folder / c).is_dir() for c in classes) and (folder / folder.name).is_dir():
        return folder / folder.name
    return folder


def _class_files(folder: Path, name: str) -> list[Path]:
    """The image files of one class folder, sorted; errors say what was found instead."""
    path = folder / name
    if not path.is_dir():
        raise DatasetNotFoundError(
            f"No class folder '{name}/' in {folder} ({_listing(folder)}). An image dataset "
            "needs one sub-folder per class with the images inside.")
    files = sorted(p for p in path.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DatasetNotFoundError(
            f"Class folder {path} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
            f"{_listing(path)}.")
    return files


def _readable(path: Path) -> bool:
    """True if OpenCV decodes ``path`` (at 1/8 size, which is cheap)."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return False
    return raw.size > 0 and cv2.imdecode(raw, cv2.IMREAD_REDUCED_GRAYSCALE_8) is not None


class CatsDogs(Dataset):
    """The slides' ``CatsDogs``: images in class folders -> (3, 224, 224) ImageNet-normalised
    tensors and float targets of shape (1,) (0 for the first class, 1 for the second).

    Corrected from the slides: BGR -> RGB with ``[:, :, ::-1]``; files sorted before the seeded
    shuffle, so the same images are taken on every machine; no ``.to(device)`` here (the
    training loop moves batches, which keeps DataLoader workers working).

    Args:
        folder: the folder with one sub-folder per class, or a dataset root with ``split``.
        split: ``"train"``, ``"test"``, ``"validation"`` or None (see ``image_folder``).
        limit: at most this many images per class (the slides' 500), taken after a seeded
            shuffle of each class.
        classes: the class folder names, in target order.
        seed: seed of the shuffles (the slides' 10).
        size: side of the square the images are resized to.
        skip_unreadable: check every file now and leave out those that are not images, with a
            warning that counts them; by default such a file raises an error when it is read.
    """

    def __init__(self, folder: str | Path, split: str | None = None, limit: int | None = None,
                 classes: tuple[str, ...] = CATS_DOGS_CLASSES, seed: int = 10,
                 size: int = 224, skip_unreadable: bool = False):
        self.root = image_folder(folder, split, classes)
        self.classes, self.size = tuple(classes), size
        rng = random.Random(seed)
        pairs: list[tuple[Path, int]] = []
        for target, name in enumerate(self.classes):
            files = _class_files(self.root, name)
            rng.shuffle(files)
            pairs += [(f, target) for f in files[:limit]]
        self.skipped: list[Path] = []
        if skip_unreadable:
            self.skipped = [f for f, _ in pairs if not _readable(f)]
            if self.skipped:
                bad = set(self.skipped)
                pairs = [(f, t) for f, t in pairs if f not in bad]
                warnings.warn(
                    f"CatsDogs: skipped {len(self.skipped)} unreadable file(s) in {self.root}: "
                    + ", ".join(str(f.relative_to(self.root)) for f in self.skipped[:5])
                    + (" ..." if len(self.skipped) > 5 else ""), stacklevel=2)
        rng.shuffle(pairs)
        self.fpaths = [f for f, _ in pairs]
        self.targets = [t for _, t in pairs]

    def __len__(self) -> int:
        return len(self.fpaths)

    def __getitem__(self, ix: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = image_to_tensor(load_image(self.fpaths[ix]), self.size)
        return image, torch.tensor([self.targets[ix]], dtype=torch.float32)

    def __repr__(self) -> str:
        counts = ", ".join(f"{c}: {self.targets.count(i)}" for i, c in enumerate(self.classes))
        return f"CatsDogs({len(self)} images in '{self.root}'; {counts})"


def write_fashion_folders(dest: str | Path, classes: tuple[str, ...] = STAND_IN_CLASSES,
                          size: int = 224) -> Path:
    """Write a small two-class image folder from the shipped Fashion-MNIST sample.

    The offline stand-in for cats vs dogs: ``dest/train/<class>/*.jpg`` (100 per class) and
    ``dest/test/<class>/*.jpg`` (50 per class), upscaled to ``size`` x ``size`` RGB JPEGs, in
    class folders named by ``folder_name`` (``STAND_IN_FOLDERS``). Done once: a complete
    folder is kept.

    Returns:
        ``dest``, ready for ``CatsDogs(dest, split=..., classes=...)``.
    """
    dest = Path(dest)
    if (dest / "done").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent))
    try:
        for split, train in (("train", True), ("test", False)):
            data = tv_datasets.FashionMNIST(str(SAMPLE_ROOT), train=train)
            for name in classes:
                folder = tmp / split / folder_name(name)
                folder.mkdir(parents=True)
                label = FASHION_CLASSES.index(name)
                for i in (data.targets == label).nonzero().flatten().tolist():
                    gray = cv2.resize(data.data[i].numpy(), (size, size),
                                      interpolation=cv2.INTER_CUBIC)
                    cv2.imwrite(str(folder / f"{folder_name(name)}.{i}.jpg"),
                                cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
        (tmp / "done").write_text("written by cnn_course.datasets.write_fashion_folders\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def cats_dogs_dir(root: str | Path | None = None) -> Path:
    """Where ``download_cats_dogs`` puts the set: ``<data_dir>/cats_and_dogs_filtered``."""
    return Path(root if root is not None else config.data_dir()) / CATS_DOGS_DIR


def _cats_dogs_complete(folder: Path) -> bool:
    """True if ``folder`` has train/ and validation/, each with images in cats/ and dogs/."""
    try:
        for split in ("train", "validation"):
            for name in CATS_DOGS_CLASSES:
                _class_files(image_folder(folder, split), name)
    except DatasetNotFoundError:
        return False
    return True


def find_cats_dogs(root: str | Path | None = None) -> Path:
    """The downloaded cats vs dogs folder (``train/`` and ``validation/`` splits).

    Raises:
        DatasetNotFoundError: not downloaded; the message gives the command.
    """
    folder = cats_dogs_dir(root)
    if _cats_dogs_complete(folder):
        return folder
    raise DatasetNotFoundError(
        f"Cats vs dogs is not in {folder}. Run `cnn-course download cats-dogs` (68 MB, needs "
        "internet once), or give CatsDogs your own folder with cats/ and dogs/ inside (for "
        "example the slides' Kaggle download, training_set/training_set/).")


def _fetch(url: str, dest: Path, expected_size: int | None, progress: bool) -> None:
    """Download ``url`` to ``dest`` through ``dest.part``, checking the size before the move."""
    import urllib.request

    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            announced = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=announced or expected_size, unit="B", unit_scale=True,
                      desc=dest.name, disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
        size = part.stat().st_size
        for name, wanted in (("the server announced", announced), ("expected", expected_size)):
            if wanted is not None and size != wanted:
                raise CorruptDatasetError(
                    f"Downloaded {size} bytes from {url} but {name} {wanted} (an interrupted "
                    "or changed download). Run `cnn-course download cats-dogs` again.")
        os.replace(part, dest)
    except OSError as err:  # URLError, HTTPError and timeouts are OSErrors
        raise DatasetNotFoundError(
            f"Could not download {url} ({err}). Check the internet connection and run "
            "`cnn-course download cats-dogs` again; or copy the zip (from a USB stick, another "
            f"machine) to {dest} and run the command again, which then only extracts it.") from err
    finally:
        part.unlink(missing_ok=True)


def _extract_atomic(archive: Path, dest: Path) -> None:
    """Check every member's CRC, extract to a temporary folder, check the layout, then move."""
    import zipfile

    hint = f"Delete {archive} and run `cnn-course download cats-dogs` again."
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise CorruptDatasetError(f"{archive} is damaged ({bad} fails its CRC). "
                                              + hint)
                zf.extractall(tmp)
        except (zipfile.BadZipFile, EOFError) as err:
            raise CorruptDatasetError(f"{archive} is not a valid zip ({err}). {hint}") from err
        found = tmp / CATS_DOGS_DIR if (tmp / CATS_DOGS_DIR).is_dir() else tmp
        if not _cats_dogs_complete(found):
            raise CorruptDatasetError(
                f"{archive} does not hold train/ and validation/ with cats/ and dogs/ inside "
                f"({_listing(found)}). {hint}")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(found, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download_cats_dogs(root: str | Path | None = None, url: str = CATS_DOGS_URL,
                       expected_size: int | None = None, force: bool = False,
                       progress: bool = True) -> tuple[Path, bool]:
    """Fetch the public ``cats_and_dogs_filtered`` set (2000 train + 1000 validation photos,
    68 MB) into the data folder: download with a progress bar and a size check, CRC check,
    extraction to a temporary folder and one atomic move. A zip already at
    ``<data_dir>/cats_and_dogs_filtered.zip`` (copied by hand) is used without any network.

    Args:
        root: data root (default ``config.data_dir()``).
        url: where to fetch the zip (a classroom mirror, say).
        expected_size: bytes the zip must have (default: the public file's size, when ``url``
            is the public one).
        force: fetch and extract again even if the set is there.

    Returns:
        (folder, whether anything was done): a complete set already there is left alone.
    """
    dest = cats_dogs_dir(root)
    if not force and _cats_dogs_complete(dest):
        return dest, False
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = dest.with_name(CATS_DOGS_DIR + ".zip")
    if expected_size is None and url == CATS_DOGS_URL:
        expected_size = CATS_DOGS_SIZE
    if force or not archive.is_file():
        _fetch(url, archive, expected_size, progress)
    _extract_atomic(archive, dest)
    archive.unlink()
    return dest, True
