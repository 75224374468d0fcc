"""Seconds per head epoch for the frozen-VGG16 transfer model: through the backbone (the slides'
way) vs on features cached once with ``training.predict``.

Run by hand (not part of the tests), e.g. on 2 CPU cores:

    python benchmarks/bench_transfer.py --per-class 8

Uses cats vs dogs when downloaded (``cnn-course download cats-dogs``), else the Fashion-MNIST
stand-in folder; random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from cnn_course import config, datasets, downloads, images, models, training


def image_dataset(split: str, per_class: int) -> images.CatsDogs:
    """Cats vs dogs if downloaded, else the two-class Fashion-MNIST stand-in."""
    try:
        return images.CatsDogs(downloads.find_cats_dogs(), split=split, limit=per_class)
    except downloads.DatasetNotFoundError:
        folder = images.write_fashion_folders(config.data_dir() / "fashion_two_class")
        return images.CatsDogs(folder, split=split, limit=per_class,
                               classes=images.STAND_IN_FOLDERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-class", type=int, default=8, help="training images per class")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--cached-epochs", type=int, default=50,
                        help="head epochs on cached features to average over")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = config.get_device(args.device)
    config.seed_everything(0)
    data = image_dataset("train", args.per_class)
    model = models.vgg16_transfer(weights=None).to(device)
    backbone, head = models.vgg16_parts(model)
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    loader = DataLoader(data, batch_size=args.batch_size, shuffle=True, num_workers=0)
    start = time.perf_counter()
    training.train_one_epoch(model, loader, loss_fn, optimizer, device)
    sync()
    full_epoch = time.perf_counter() - start

    start = time.perf_counter()
    features, targets = training.predict(
        backbone, DataLoader(data, batch_size=args.batch_size), device, progress=False)
    sync()
    extraction = time.perf_counter() - start

    batches = datasets.TensorBatches(features, targets, args.batch_size, shuffle=True)
    start = time.perf_counter()
    for _ in range(args.cached_epochs):
        training.train_one_epoch(head, batches, loss_fn, optimizer, device)
    sync()
    cached_epoch = (time.perf_counter() - start) / args.cached_epochs

    print(config.run_info())
    print(f"{data}; batch {args.batch_size}")
    print(f"head epoch through the frozen VGG16:  {full_epoch:10.4f} s")
    print(f"feature extraction (once):            {extraction:10.4f} s")
    print(f"head epoch on cached features:        {cached_epoch:10.4f} s "
          f"(mean of {args.cached_epochs})")
    print(f"ratio (through backbone / cached):    {full_epoch / cached_epoch:10.0f} x")
    print(f"extraction pays for itself after      {extraction / full_epoch:10.2f} epoch(s)")


if __name__ == "__main__":
    main()
