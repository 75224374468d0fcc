"""The ``cnn-course`` command: ``train`` (the slides' exercise), ``download``, ``info``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from . import config, datasets, models, training

EXERCISE = {"model": "FashionCNN", "batch_size": 32, "loss": "CrossEntropyLoss",
            "optimizer": "Adagrad", "lr": 0.01, "epochs": 20}


def _train(args: argparse.Namespace) -> int:
    if args.quick:
        os.environ["CNN_COURSE_QUICK"] = "1"
    if args.data_dir:
        os.environ["CNN_COURSE_DATA"] = str(args.data_dir)
    epochs = args.epochs if args.epochs is not None else (2 if config.quick_mode() else 20)
    device = config.get_device(args.device)
    config.seed_everything(args.seed)
    data = datasets.load_fashion_mnist()
    print(f"data: {data}; device: {device}; torch threads: {torch.get_num_threads()}")
    train_loader, train_eval_loader, test_loader = datasets.fashion_loaders(
        data, batch_size=args.batch_size, seed=args.seed)
    model = models.MLP() if args.model == "mlp" else models.FashionCNN()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=args.lr)
    recipe = {**EXERCISE, "model": type(model).__name__, "batch_size": args.batch_size,
              "lr": args.lr, "epochs": epochs, "seed": args.seed, "device": str(device),
              "data_source": data.source, "train_size": len(data.train),
              "test_size": len(data.test), "quick": config.quick_mode()}
    name = args.name or f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = (args.runs_dir or config.runs_dir()) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    history = training.fit(model, train_loader, test_loader, torch.nn.CrossEntropyLoss(),
                           optimizer, epochs, device=device, train_eval_loader=train_eval_loader)
    wall = time.perf_counter() - start
    recipe["wall_seconds"] = round(wall, 1)
    training.save_history(history, run_dir / "history.json")
    (run_dir / "recipe.json").write_text(json.dumps(recipe, indent=2))
    training.save_checkpoint(run_dir / "checkpoint.pt", model, optimizer, history, recipe)
    _save_curves(history, run_dir / "curves.png", f"- {recipe['model']} Fashion-MNIST")
    best = max(range(epochs), key=lambda i: history["test_acc"][i])
    print(f"final test accuracy: {history['test_acc'][-1]:.4f} "
          f"(best {history['test_acc'][best]:.4f} at epoch {best + 1}); "
          f"{wall:.0f} s in all, {wall / epochs:.1f} s per epoch")
    print(f"wrote {run_dir}/history.json, curves.png, checkpoint.pt")
    return 0


def _save_curves(history: training.History, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import plot_history
    fig = plot_history(history, title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _download_fashion(args: argparse.Namespace) -> int:
    root, source = datasets.find_fashion_mnist(force=args.force)
    print(f"Fashion-MNIST ready in {datasets.raw_folder(root)} (from {source}).")
    return 0


def _download_cats_dogs(args: argparse.Namespace) -> int:
    url = args.url or datasets.CATS_DOGS_URL
    folder, done = datasets.download_cats_dogs(url=url, force=args.force)
    if done:
        print(f"cats vs dogs ready in {folder} (train/ and validation/, cats/ and dogs/ each).")
    else:
        print(f"cats vs dogs already in {folder}; nothing to do (--force fetches it again).")
    return 0


def _download_vgg16(args: argparse.Namespace) -> int:
    if args.force:
        models.vgg16_weights_path().unlink(missing_ok=True)
    path, done = models.download_vgg16_weights()
    print(f"VGG16 ImageNet weights {'saved' if done else 'already'} in {path}"
          f"{'' if done else '; nothing to do (--force fetches them again)'}.")
    return 0


DOWNLOADS = {"fashion-mnist": _download_fashion, "cats-dogs": _download_cats_dogs,
             "vgg16": _download_vgg16}


def _download(args: argparse.Namespace) -> int:
    return DOWNLOADS[args.what](args)


def _info(args: argparse.Namespace) -> int:
    import torchvision

    print(f"cnn_course on Python {platform.python_version()}, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}")
    print(f"device: {config.get_device()}  (threads: {torch.get_num_threads()})")
    print(f"quick mode: {config.quick_mode()}")
    print(f"data dir: {config.data_dir()}")
    raw = datasets.raw_folder()
    debian = datasets.DEBIAN_FASHION_DIR
    print("Fashion-MNIST:")
    print(f"  data dir ({raw}): {'present' if datasets._has_all(raw) else 'missing'}")
    print(f"  Debian package ({debian}): "
          f"{'installed' if datasets._has_all(debian, '.gz') else 'not installed'}")
    sample = datasets.raw_folder(datasets.SAMPLE_ROOT)
    print(f"  shipped sample ({sample}): "
          f"{'present' if datasets._has_all(sample) else 'missing'}")
    print("Transfer learning (notebook 07):")
    weights = models.vgg16_weights_path()
    print(f"  VGG16 ImageNet weights ({weights}): "
          f"{'present' if weights.is_file() else 'missing (`cnn-course download vgg16`)'}")
    try:
        cats_dogs = datasets.find_cats_dogs()
        print(f"  cats vs dogs ({cats_dogs}): present")
    except datasets.DatasetNotFoundError:
        print(f"  cats vs dogs ({datasets.cats_dogs_dir()}): missing "
              "(`cnn-course download cats-dogs`)")
    return 0


def _site(args: argparse.Namespace) -> int:
    from . import publish
    try:
        index = publish.build_site(args.out, args.notebooks, warnings=sys.stderr)
    except (publish.SiteToolsMissingError, publish.SiteBuildError, FileNotFoundError) as err:
        print(f"cnn-course: {err}", file=sys.stderr)
        return 2
    print(f"course site written to {index.parent}; open {index} in a browser, or serve the "
          f"folder (search snippets need it): python3 -m http.server -d {index.parent}")
    return 0


def _handout(args: argparse.Namespace) -> int:
    from . import publish
    try:
        written = publish.make_handouts(args.out, args.notebooks)
    except FileNotFoundError as err:
        print(f"cnn-course: {err}", file=sys.stderr)
        return 2
    print(f"{len(written)} student notebooks (solutions removed) written to "
          f"{written[0].parent}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train the slides' exercise (FashionCNN, batch 32, "
                           "cross-entropy, Adagrad, 20 epochs)")
    train.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    train.add_argument("--epochs", type=int, default=None, help="default 20 (2 in quick mode)")
    train.add_argument("--batch-size", type=int, default=EXERCISE["batch_size"])
    train.add_argument("--lr", type=float, default=EXERCISE["lr"], help="Adagrad learning rate")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--data-dir", type=Path, default=None, help="data root (CNN_COURSE_DATA)")
    train.add_argument("--quick", action="store_true", help="small subsets (CNN_COURSE_QUICK=1)")
    train.add_argument("--name", default=None, help="run folder name (default: model-time)")
    train.add_argument("--runs-dir", type=Path, default=None, help="default: <project>/runs")
    train.set_defaults(func=_train)

    download = sub.add_parser("download", help="get data or weights ahead of class")
    download.add_argument("what", choices=sorted(DOWNLOADS))
    download.add_argument("--force", action="store_true", help="prepare or fetch it again")
    download.add_argument("--url", default=None,
                          help="cats-dogs only: fetch the zip from this mirror instead")
    download.set_defaults(func=_download)

    info = sub.add_parser("info", help="what is installed, the device, data and weights present")
    info.set_defaults(func=_info)

    site = sub.add_parser("site", help="build the course website from the notebooks' stored "
                          "outputs (offline; needs the site extra)")
    site.add_argument("--out", type=Path, default=None, help="default: <project>/_site")
    site.add_argument("--notebooks", type=Path, default=None,
                      help="the notebooks to publish (default: notebooks/; a handouts folder "
                      "gives the students' site)")
    site.set_defaults(func=_site)

    handout = sub.add_parser("handout", help="write the students' notebooks: solutions removed")
    handout.add_argument("--out", type=Path, default=None, help="default: <project>/handouts")
    handout.add_argument("--notebooks", type=Path, default=None, help="default: notebooks/")
    handout.set_defaults(func=_handout)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (datasets.DatasetNotFoundError, datasets.CorruptDatasetError,
            models.WeightsNotFoundError, ValueError) as err:
        print(f"cnn-course: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
