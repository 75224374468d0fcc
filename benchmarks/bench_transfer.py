"""Seconds per head epoch for the frozen transfer models (VGG16 and EfficientNet-Lite0): through
the backbone (the slides' way) vs on features cached once with ``training.predict``.

Run by hand (not part of the tests), e.g. on 2 CPU cores:

    python benchmarks/bench_transfer.py --per-class 50
    python benchmarks/bench_transfer.py --backbone efficientnet_lite0 --size 112 --threads 1

Uses cats vs dogs when downloaded (``cnn-course download cats-dogs``), else the Fashion-MNIST
stand-in folder of notebook 07; random weights (speed does not depend on them, and VGG16's need
no download).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from cnn_course import config, datasets, downloads, images, models, training


def image_dataset(split: str, per_class: int, size: int) -> images.CatsDogs:
    """Cats vs dogs if downloaded, else the two-class Fashion-MNIST stand-in."""
    try:
        return images.CatsDogs(downloads.find_cats_dogs(), split=split, limit=per_class,
                               size=size)
    except downloads.DatasetNotFoundError:
        folder = images.write_fashion_folders(config.data_dir() / "fashion_two_class")
        return images.CatsDogs(folder, split=split, limit=per_class, size=size,
                               classes=images.STAND_IN_FOLDERS)


def measure(backbone: str, data: images.CatsDogs, args: argparse.Namespace,
            device: torch.device) -> dict[str, float]:
    """One head epoch through the frozen backbone, the extraction, and cached head epochs."""
    config.seed_everything(0)
    model = models.transfer_model(backbone, weights=None).to(device)
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-3)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    loader = DataLoader(data, batch_size=args.batch_size, shuffle=True, num_workers=0)
    start = time.perf_counter()
    with training.memory_format(model):  # as fit runs it
        training.train_one_epoch(model, loader, loss_fn, optimizer, device)
    sync()
    full_epoch = time.perf_counter() - start

    start = time.perf_counter()
    features, targets = training.predict(
        model.backbone, DataLoader(data, batch_size=args.batch_size), device)
    sync()
    extraction = time.perf_counter() - start

    batches = datasets.TensorBatches(features, targets, args.batch_size, shuffle=True)
    start = time.perf_counter()
    for _ in range(args.cached_epochs):
        training.train_one_epoch(model.head, batches, loss_fn, optimizer, device)
    sync()
    cached_epoch = (time.perf_counter() - start) / args.cached_epochs
    return {"full_epoch": full_epoch, "extraction": extraction, "cached_epoch": cached_epoch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", choices=(*models.TRANSFER_BACKBONES, "both"),
                        default="both")
    parser.add_argument("--per-class", type=int, default=8, help="training images per class")
    parser.add_argument("--size", type=int, default=224, help="side of the images, in pixels")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--cached-epochs", type=int, default=50,
                        help="head epochs on cached features to average over")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: "
                        "torch's own choice)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = config.get_device(args.device)
    data = image_dataset("train", args.per_class, args.size)
    backbones = models.TRANSFER_BACKBONES if args.backbone == "both" else (args.backbone,)
    results = {name: measure(name, data, args, device) for name in backbones}

    print(config.run_info())
    print(f"{data}; {args.size}x{args.size}; batch {args.batch_size}")
    for name, r in results.items():
        print(f"--- {name}")
        print(f"head epoch through the frozen backbone: {r['full_epoch']:10.4f} s "
              f"({1000 * r['full_epoch'] / len(data):.1f} ms per image)")
        print(f"feature extraction (once):              {r['extraction']:10.4f} s")
        print(f"head epoch on cached features:          {r['cached_epoch']:10.4f} s "
              f"(mean of {args.cached_epochs})")
        print(f"ratio (through backbone / cached):      "
              f"{r['full_epoch'] / r['cached_epoch']:10.0f} x")
        print(f"extraction pays for itself after        "
              f"{r['extraction'] / r['full_epoch']:10.2f} epoch(s)")
    if len(results) == 2:
        vgg, lite = results["vgg16"], results["efficientnet_lite0"]
        print(f"VGG16 / Lite0 extraction time: {vgg['extraction'] / lite['extraction']:.1f} x")


if __name__ == "__main__":
    main()
