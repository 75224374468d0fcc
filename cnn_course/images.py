"""Image files for transfer learning: reading them as RGB, ImageNet normalisation, the slides'
``CatsDogs`` image-folder dataset, and an offline two-class stand-in written from Fashion-MNIST
(for when cats vs dogs is not on this machine)."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

from .config import format_number
from .downloads import (
    CATS_DOGS_CLASSES,
    SAMPLE_ROOT,
    DatasetNotFoundError,
    atomic_write,
    prepare_fashion_mnist,
)

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "SPLIT_FOLDERS", "STAND_IN_CLASSES",
    "STAND_IN_FOLDERS", "CatsDogs", "UnreadableImageError", "folder_name", "image_folder",
    "image_to_tensor", "imagenet_normalize", "imagenet_unnormalize", "load_image",
    "write_fashion_folders",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# the slides' split folders: the Kaggle download (training_set/training_set/...), the
# TensorFlow tutorials' cats_and_dogs_filtered (train/, validation/) and the common names
SPLIT_FOLDERS = {
    "train": ("train", "training", "training_set/training_set", "training_set"),
    "test": ("test", "testing", "test_set/test_set", "test_set"),
    "validation": ("validation", "valid", "val"),
}
# Fashion-MNIST classes for the offline stand-in: the pair the course's CNN confuses most
# (notebook 06b), so that how much a method learns from few labels shows (shoes are too easy)
STAND_IN_CLASSES = ("T-shirt/top", "Shirt")


def folder_name(class_name: str) -> str:
    """A class name as a folder name: 'Ankle boot' -> 'ankle_boot', 'T-shirt/top' ->
    't-shirt_top'."""
    return class_name.lower().replace(" ", "_").replace("/", "_")


STAND_IN_FOLDERS = tuple(folder_name(c) for c in STAND_IN_CLASSES)  # ("t-shirt_top", "shirt")


class UnreadableImageError(ValueError):
    """A file in an image folder is not an image OpenCV can read."""


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file (grayscale, RGBA, 16-bit: all become 8-bit) as RGB uint8 (H, W, 3).
    Notebook 07.

    OpenCV reads BGR: ``[:, :, ::-1]`` reverses the channels (the slides' ``[:, :, :-1]`` would
    drop one). UnreadableImageError names a file OpenCV cannot decode.
    """
    bgr = _decode(Path(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UnreadableImageError(
            f"{path} no es una imagen legible (falta, está vacía, truncada o no es una imagen). "
            "Bórrala o cámbiala, o pasa skip_unreadable=True para dejar fuera esos archivos.")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _decode(path: Path, flags: int) -> np.ndarray | None:
    """OpenCV's decoding of a file, or ``None``; ``np.fromfile`` reads non-ASCII Windows paths."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    return cv2.imdecode(raw, flags) if raw.size else None


def _mean_std(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.tensor(IMAGENET_MEAN, dtype=dtype).view(3, 1, 1),
            torch.tensor(IMAGENET_STD, dtype=dtype).view(3, 1, 1))


def imagenet_normalize(images: torch.Tensor) -> torch.Tensor:
    """(…, 3, H, W) values in [0, 1] -> per channel, mean 0 and std 1 on ImageNet."""
    mean, std = _mean_std(images.dtype)
    return (images - mean) / std


def imagenet_unnormalize(images: torch.Tensor) -> torch.Tensor:
    """Undo ``imagenet_normalize`` and clip to [0, 1], for showing images. Notebook 07."""
    mean, std = _mean_std(images.dtype)
    return (images.cpu() * std + mean).clamp(0, 1)


def image_to_tensor(rgb: np.ndarray, size: int = 224) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float (3, size, size): resized, scaled to [0, 1], normalised.
    Notebook 07."""
    resized = cv2.resize(rgb, (size, size))
    tensor = torch.from_numpy(resized).permute(2, 0, 1).float().div_(255)
    return imagenet_normalize(tensor)


def _listing(folder: Path, limit: int = 8) -> str:
    """What a folder holds, for error messages: 'hay: a/, b/, c.txt', 'está vacía'..."""
    if not folder.is_dir():
        return "no existe"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "está vacía"
    more = f", ... ({len(names)} en total)" if len(names) > limit else ""
    return "hay: " + ", ".join(names[:limit]) + more


def image_folder(folder: str | Path, split: str | None = None,
                 classes: tuple[str, ...] = CATS_DOGS_CLASSES) -> Path:
    """The folder holding one sub-folder per class: ``folder`` itself, or its ``split`` in one of
    the layouts of ``SPLIT_FOLDERS``; a lone folder of its own name (the Kaggle zip's
    ``training_set/training_set``) is entered. DatasetNotFoundError lists what was found.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"La carpeta de imágenes {folder} no existe. Descarga gatos y perros con "
            "`cnn-course download cats-dogs`, o indica tu propia carpeta con una subcarpeta "
            f"por clase ({', '.join(c + '/' for c in classes)}).")
    if split is not None:
        if split not in SPLIT_FOLDERS:
            raise ValueError(f"split tiene que ser uno de {sorted(SPLIT_FOLDERS)} o None, "
                             f"no {split!r}.")
        for name in SPLIT_FOLDERS[split]:
            if (folder / name).is_dir():
                return image_folder(folder / name, None, classes)
        raise DatasetNotFoundError(
            f"No hay partición {split!r} en {folder}: se buscó "
            f"{', '.join(n + '/' for n in SPLIT_FOLDERS[split])}; {_listing(folder)}.")
    if not any((folder / c).is_dir() for c in classes) and (folder / folder.name).is_dir():
        return folder / folder.name
    return folder


def _class_files(folder: Path, name: str) -> list[Path]:
    """The image files of one class folder, sorted; errors say what was found instead."""
    path = folder / name
    if not path.is_dir():
        raise DatasetNotFoundError(
            f"No hay carpeta de clase '{name}/' en {folder} ({_listing(folder)}). Un dataset "
            "de imágenes necesita una subcarpeta por clase con las imágenes dentro.")
    files = sorted(p for p in path.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DatasetNotFoundError(
            f"La carpeta de clase {path} no tiene imágenes ({', '.join(IMAGE_EXTENSIONS)}); "
            f"{_listing(path)}.")
    return files


class CatsDogs(Dataset):
    """The slides' ``CatsDogs``: images in class folders -> (3, 224, 224) ImageNet-normalised
    tensors and float targets of shape (1,) (0 for the first class, 1 for the second). Notebook 07.

    Corrected from the slides: BGR -> RGB with ``[:, :, ::-1]``; files sorted before the seeded
    shuffle (the same images on every machine); no ``.to(device)`` (the training loop moves
    batches, which keeps DataLoader workers working). ``folder`` and ``split`` as in
    ``image_folder``; ``limit`` images per class (the slides' 500) after a shuffle with ``seed``
    (the slides' 10); ``classes`` in target order. ``skip_unreadable`` checks every file now
    and leaves out, with a warning, those that are not images (else reading one raises).
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
        self.skipped = [f for f, _ in pairs if skip_unreadable  # decoded at 1/8 size: cheap
                        and _decode(f, cv2.IMREAD_REDUCED_GRAYSCALE_8) is None]
        if self.skipped:
            bad = set(self.skipped)
            pairs = [(f, t) for f, t in pairs if f not in bad]
            warnings.warn(
                f"CatsDogs: {len(self.skipped)} archivo(s) ilegible(s) dejado(s) fuera en "
                f"{self.root}: "
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
        counts = ", ".join(f"{c}: {format_number(self.targets.count(i))}"
                           for i, c in enumerate(self.classes))
        return f"CatsDogs({format_number(len(self))} imágenes en '{self.root}'; {counts})"


def write_fashion_folders(dest: str | Path, classes: tuple[str, ...] = STAND_IN_CLASSES,
                          per_class: tuple[int, int] = (500, 1000), size: int = 224,
                          full: bool | None = None) -> Path:
    """Write the offline stand-in for cats vs dogs, ready for ``CatsDogs(dest, split=...,
    classes=STAND_IN_FOLDERS)``: ``dest/{train,test}/<folder_name(class)>/*.jpg``, the first
    ``per_class`` (train, test) images of each class as ``size``-square RGB JPEGs (the sample
    has about 300 and 100 per class, the full set 6,000 and 1,000). ``full``: ``True`` the full set
    already on this machine (else DatasetNotFoundError; never downloaded), ``False`` the
    shipped sample, ``None`` the full set if here. Written once through a temporary folder; a
    complete folder made with the same arguments is kept. Notebook 07.
    """
    dest = Path(dest)
    root = SAMPLE_ROOT
    if full is not False:
        try:
            root, _ = prepare_fashion_mnist(download=False)
        except DatasetNotFoundError:
            if full:
                raise
    made_with = (f"written by cnn_course.images.write_fashion_folders from {root}: classes "
                 f"{classes}, per class {per_class}, size {size}\n")
    if (dest / "done").is_file() and (dest / "done").read_text() == made_with:
        return dest
    with atomic_write(dest) as tmp:
        for split, train, count in (("train", True, per_class[0]), ("test", False, per_class[1])):
            data = TorchvisionFashionMNIST(str(root), train=train)
            for name in classes:
                folder = tmp / split / folder_name(name)
                folder.mkdir(parents=True)
                label = data.classes.index(name)
                for i in (data.targets == label).nonzero().flatten()[:count].tolist():
                    gray = cv2.resize(data.data[i].numpy(), (size, size),
                                      interpolation=cv2.INTER_CUBIC)
                    cv2.imwrite(str(folder / f"{folder_name(name)}.{i}.jpg"),
                                cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
        (tmp / "done").write_text(made_with)
    return dest
