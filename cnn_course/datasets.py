"""Fashion-MNIST as tensors: loading (the full set, or the small real sample shipped in the
package for quick mode and offline use), the slides' ``FlattenDataset``, and fast batches from
tensors in memory. Finding, downloading and checking the files is ``downloads``' job."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset
from torchvision import transforms
from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST
from torchvision.datasets import VisionDataset

from . import config
from .downloads import SAMPLE_ROOT, DatasetNotFoundError, prepare_fashion_mnist

__all__ = [
    "EVAL_BATCH_SIZE", "FASHION_CLASSES", "FASHION_CLASSES_ES", "QUICK_SIZES", "FashionData",
    "FlattenDataset", "TensorBatches", "fashion_batches", "load_fashion_mnist", "per_class_subset",
    "to_tensors",
]

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
# the same classes, in the same order, in Spanish (the course's figures and tables)
FASHION_CLASSES_ES = ("camiseta", "pantalón", "jersey", "vestido", "abrigo", "sandalia", "camisa",
                      "zapatilla", "bolso", "botín")
# quick mode's images: the first of each set; the shipped sample is exactly these (the same
# images online and offline; scripts/make_fashion_sample.py makes it)
QUICK_SIZES = {"train": 3000, "test": 1000}
EVAL_BATCH_SIZE = 256  # evaluation batches: fastest on a CPU (they stay in the cache)


@dataclass
class FashionData:
    """The loaded Fashion-MNIST: torchvision ``FashionMNIST`` datasets and where they came from."""

    train: TorchvisionFashionMNIST
    test: TorchvisionFashionMNIST
    classes: tuple[str, ...]
    source: str  # "data dir", "debian", "download" or "sample"
    root: Path

    def __repr__(self) -> str:
        return (f"FashionData({config.format_number(len(self.train))} imágenes de entrenamiento, "
                f"{config.format_number(len(self.test))} de test; origen {self.source!r} en "
                f"'{self.root}')")


def _subset(ds: TorchvisionFashionMNIST, n: int | None) -> TorchvisionFashionMNIST:
    """Keep the first ``n`` images (Fashion-MNIST's order is well mixed across classes)."""
    if n is not None and n < len(ds):
        ds.data, ds.targets = ds.data[:n], ds.targets[:n]
    return ds


def load_fashion_mnist(root: Path | None = None, *, sample: bool | None = None,
                       download: bool = True, transform=None, train_size: int | None = None,
                       test_size: int | None = None, debian_dir: Path | None = None
                       ) -> FashionData:
    """Load the real Fashion-MNIST train and test sets (see ``downloads.prepare_fashion_mnist``).
    Notebooks 00, 04, 05, 06, 06b, 08.

    ``sample=True`` falls back on the shipped sample when the full set is not here (no download
    tried); ``None`` does so in quick mode only, ``False`` never. ``train_size``/``test_size``
    keep the first images (default all, ``QUICK_SIZES`` in quick mode); ``transform`` defaults
    to ``ToTensor()``.
    """
    quick = config.quick_mode()
    use_sample = quick if sample is None else sample
    try:
        data_root, source = prepare_fashion_mnist(
            root, debian_dir, download=download and not use_sample)
    except DatasetNotFoundError:
        if not use_sample:
            raise
        data_root, source = SAMPLE_ROOT, "sample"
        sizes = [config.format_number(n) for n in QUICK_SIZES.values()]
        print("Fashion-MNIST: el conjunto completo no está en esta máquina; se usa la pequeña "
              f"muestra real que trae cnn_course ({sizes[0]} imágenes de entrenamiento / "
              f"{sizes[1]} de test: las del modo rápido). `cnn-course download fashion-mnist` "
              "descarga el completo.")
    transform = transform if transform is not None else transforms.ToTensor()
    train = TorchvisionFashionMNIST(str(data_root), train=True, transform=transform)
    test = TorchvisionFashionMNIST(str(data_root), train=False, transform=transform)
    if quick:
        train_size = train_size or QUICK_SIZES["train"]
        test_size = test_size or QUICK_SIZES["test"]
    return FashionData(_subset(train, train_size), _subset(test, test_size),
                       FASHION_CLASSES, source, Path(data_root))


# ---------------------------------------------------------------- tensors and batches
def to_tensors(dataset: VisionDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as one float tensor (N, 1, H, W) in [0, 1] and labels as int64: the numbers
    ``ToTensor`` gives image by image, in one vectorised step. Notebooks 00, 05, 08."""
    images = dataset.data
    if images.dtype == torch.uint8:
        images = images.float().div_(255)
    if images.dim() == 3:
        images = images.unsqueeze(1)
    return images.contiguous(), torch.as_tensor(dataset.targets, dtype=torch.long)


class FlattenDataset(Dataset):
    """The slides' ``Flatten_Dataset``: flattened image rows (from (N, 784), (N, 1, 28, 28) or
    (N, 28, 28) tensors in memory) paired with labels. Notebook 05."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if len(images) != len(labels):
            raise ValueError(f"FlattenDataset: {len(images)} imágenes, pero {len(labels)} "
                             "etiquetas; tiene que haber una etiqueta por imagen.")
        self.images = images.reshape(len(images), -1)
        self.labels = labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, idx):
        return self.images[idx], self.labels[idx]


class TensorBatches:
    """Fast ``(images, labels)`` batches from tensors in memory, by slicing; ``len()`` counts
    batches like a ``DataLoader``. With ``shuffle`` each epoch draws a new permutation from a
    generator seeded once, so runs repeat exactly. Notebooks 05, 07, 08."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0, drop_last: bool = False):
        if len(images) != len(labels):
            raise ValueError(f"TensorBatches: {len(images)} imágenes, pero {len(labels)} "
                             "etiquetas.")
        if batch_size < 1:
            raise ValueError(f"batch_size tiene que ser 1 o más, no {batch_size}.")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)
        self.dataset = TensorDataset(images, labels)  # like DataLoader.dataset

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            idx = slice(start, stop) if order is None else order[start:stop]
            yield self.images[idx], self.labels[idx]


def fashion_batches(data: FashionData, batch_size: int = 32, seed: int = 0,
                    eval_batch_size: int = EVAL_BATCH_SIZE
                    ) -> tuple[TensorBatches, TensorBatches, TensorBatches]:
    """The slides' three loaders as fast in-memory batches: ``train_loader`` (shuffled each epoch
    with ``seed``), ``train_accuracy_loader`` (the same images in order) and ``test_loader``,
    the last two in batches of ``eval_batch_size``. Notebooks 05, 06, 06b."""
    train_x, train_y = to_tensors(data.train)
    return (TensorBatches(train_x, train_y, batch_size, shuffle=True, seed=seed),
            TensorBatches(train_x, train_y, eval_batch_size),
            TensorBatches(*to_tensors(data.test), eval_batch_size))


def per_class_subset(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` examples of each class of ``labels`` ((N,) or (N, 1)), drawn with
    ``seed``, classes in order: a small balanced training set. ValueError if a class has fewer."""
    labels = labels.reshape(-1)
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for value in labels.unique():
        where = (labels == value).nonzero().flatten()
        if len(where) < per_class:
            raise ValueError(f"per_class_subset: la clase {value.item()} tiene {len(where)} "
                             f"ejemplos, menos que los {per_class} pedidos.")
        chosen.append(where[torch.randperm(len(where), generator=generator)[:per_class]])
    return torch.cat(chosen)
