"""The slides' exercise, side by side: the slides' pipeline vs the library's ``fit``.

Both train the same ``FashionCNN`` with the same recipe (batch 32, cross-entropy, Adagrad lr 0.01,
the same seed, hence the same initial weights, and the same images) and both compute the slides'
per-epoch figures: loss and accuracy over the whole training set and the whole test set.

(a) ``slides``: as the slides write it. torchvision ``FashionMNIST`` + ``ToTensor``,
    ``DataLoader(batch_size=32, shuffle=True)``, the training set fetched as one 60,000-image
    batch and the test set as one 10,000-image batch, both evaluated in one forward pass each
    under ``no_grad`` after every epoch.
(b) ``library``: ``datasets.fashion_batches`` (images converted once to one float tensor,
    index batches) and ``training.fit`` (``channels_last``, evaluation in batches of 256 under
    ``inference_mode``).

Each run of one pipeline is its own subprocess, so its peak resident set size (``ru_maxrss``) is
its own; runs alternate a, b, b, a, ... over ``--repeats`` so that machine noise hits both.

Run by hand (not part of the tests; the full run peaks at about 12 GB for the slides' pipeline):

    python benchmarks/bench_exercise.py --json bench_exercise.json   # add --threads N to pin

Smoke run: add ``--train-size 2000 --test-size 500``. Uses the real Fashion-MNIST when it is in
the data folder (``cnn-course download fashion-mnist``), else the sample shipped in the package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision import transforms
from tqdm.auto import tqdm

from cnn_course import config, datasets, downloads, models, training

PIPELINES = ("slides", "library")
RECIPE = {"model": "FashionCNN", "batch_size": training.EXERCISE.batch_size,
          "loss": "CrossEntropyLoss", "optimizer": "Adagrad", "lr": training.EXERCISE.lr}
FIGURES = ("train_loss", "train_acc", "test_loss", "test_acc")
SECONDS = ("train_time", "eval_time")


# ---------------------------------------------------------------- data and model


def find_data() -> tuple[Path, str]:
    """The folder torchvision reads Fashion-MNIST from, and where it came from.

    The full set in the data folder (or Debian's package) when present, else the shipped sample;
    never a download, so a benchmark does not time the network.
    """
    try:
        return downloads.prepare_fashion_mnist(download=False)
    except downloads.DatasetNotFoundError:
        return downloads.SAMPLE_ROOT, "sample"


def first(dataset, n: int | None):
    """Keep the first ``n`` images of a torchvision dataset (all when ``n`` is None)."""
    if n is not None:
        dataset.data, dataset.targets = dataset.data[:n], dataset.targets[:n]
    return dataset


def new_model(seed: int, threads: int | None) -> tuple[nn.Module, torch.optim.Optimizer]:
    """Seed, set the thread count, and build the exercise's model and optimizer."""
    if threads:
        torch.set_num_threads(threads)
    config.seed_everything(seed)
    model = models.FashionCNN()
    return model, torch.optim.Adagrad(model.parameters(), lr=RECIPE["lr"])


def fingerprint(model: nn.Module) -> str:
    """A short hash of the model's weights: equal hashes mean identical initial weights."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux and macOS)."""
    import resource  # not on Windows

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


# ---------------------------------------------------------------- (a) the slides' pipeline


def slides_data(root: Path, train_size: int | None, test_size: int | None, bandeja: int = 32):
    """The slides' datasets and loaders (section "Datasets de Pytorch y Dataloaders"), and the
    whole training and test sets fetched as one batch each ("Aprendizaje por épocas").

    ``download=False``: the files are already there (``find_data``); the slides' ``True`` only
    checks that, and nothing else changes.

    Returns:
        (train_loader, (X_train, y_train), (X_test, y_test)).
    """
    train_set = first(torchvision.datasets.FashionMNIST(
        root=str(root), download=False, train=True,
        transform=transforms.Compose([transforms.ToTensor()])), train_size)
    test_set = first(torchvision.datasets.FashionMNIST(
        root=str(root), download=False, train=False,
        transform=transforms.Compose([transforms.ToTensor()])), test_size)
    train_loader = torch.utils.data.DataLoader(train_set, shuffle=True, batch_size=bandeja)
    train_accuracy_loader = torch.utils.data.DataLoader(train_set, batch_size=len(train_set))
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=len(test_set))
    X_train, y_train = next(iter(train_accuracy_loader))
    X_test, y_test = next(iter(test_loader))
    return train_loader, (X_train, y_train), (X_test, y_test)


def slides_evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                    criterion: nn.Module) -> tuple[float, float]:
    """The slides' per-epoch figures: one forward pass over the whole set as one batch."""
    with torch.no_grad():
        y_pred = model(X)
        accuracy = np.mean((y == y_pred.argmax(dim=1)).numpy())
        loss = criterion(y_pred, y.long()).numpy()
    return float(loss), float(accuracy)


def slides_fit(model, optimizer, data, epochs: int, progress: bool = False) -> dict:
    """The slides' loop ("Aprendizaje por épocas"), timed: train, then the two evaluations.

    ``data``: what ``slides_data`` returns.
    """
    train_loader, (X_train, y_train), (X_test, y_test) = data
    criterion = nn.CrossEntropyLoss()
    history = {key: [] for key in FIGURES + SECONDS}
    for _ in range(epochs):
        start = time.perf_counter()
        model.train(True)
        for images, targets in tqdm(train_loader, disable=not progress):
            y_pred = model(images)
            loss = criterion(y_pred, targets.long())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        middle = time.perf_counter()
        figures = (*slides_evaluate(model, X_train, y_train, criterion),
                   *slides_evaluate(model, X_test, y_test, criterion))
        history["eval_time"].append(time.perf_counter() - middle)
        history["train_time"].append(middle - start)
        for key, value in zip(FIGURES, figures, strict=True):
            history[key].append(value)
    return history


# ---------------------------------------------------------------- (b) the library's pipeline


def library_loaders(source: str, train_size: int | None, test_size: int | None, seed: int):
    """``load_fashion_mnist`` and ``fashion_batches``: the slides' three loaders (training
    batches, the training set in order, the test set)."""
    data = datasets.load_fashion_mnist(sample=source == "sample", download=False,
                                       train_size=train_size, test_size=test_size)
    return datasets.fashion_batches(data, batch_size=RECIPE["batch_size"], seed=seed)


def library_fit(model, optimizer, loaders, epochs: int, progress: bool = False) -> dict:
    """``training.fit`` with the slides' per-epoch evaluation of the whole training set
    (``loaders``: the three of ``fashion_batches``). Its bar obeys ``TQDM_DISABLE``, not
    ``progress``."""
    history = training.fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs)
    return {key: history[key] for key in FIGURES + SECONDS}


# ---------------------------------------------------------------- one run of one pipeline


def run_pipeline(pipeline: str, epochs: int = 1, seed: int = 0, threads: int | None = None,
                 train_size: int | None = None, test_size: int | None = None,
                 progress: bool = False) -> dict:
    """Train and evaluate one pipeline in this process; a dict of what it measured.

    Keys: ``pipeline``, ``data_source``, ``train_size``, ``test_size``, ``threads``,
    ``init_weights`` (fingerprint), ``setup_time`` (data and loaders, incl. the slides' one-batch
    tensors), ``history`` (per epoch: figures, ``train_time``, ``eval_time``),
    ``rss_before_epochs_mib`` and ``peak_rss_mib``.
    """
    if pipeline not in PIPELINES:
        raise ValueError(f"Unknown pipeline {pipeline!r}: use one of {PIPELINES}.")
    root, source = find_data()
    start = time.perf_counter()
    if pipeline == "slides":
        data = slides_data(root, train_size, test_size, RECIPE["batch_size"])
        fit, n_test = slides_fit, len(data[2][1])
    else:
        data = library_loaders(source, train_size, test_size, seed)
        fit, n_test = library_fit, len(data[2].dataset)
    setup_time = time.perf_counter() - start
    model, optimizer = new_model(seed, threads)
    result = {
        "pipeline": pipeline, "data_source": source,
        "train_size": len(data[0].dataset), "test_size": n_test,
        "threads": torch.get_num_threads(), "seed": seed, "epochs": epochs,
        "init_weights": fingerprint(model), "setup_time": setup_time,
        "rss_before_epochs_mib": peak_rss_mib(),
    }
    result["history"] = fit(model, optimizer, data, epochs, progress)
    result["peak_rss_mib"] = peak_rss_mib()
    return result


# ---------------------------------------------------------------- many runs, in subprocesses


def run_in_subprocess(pipeline: str, args: argparse.Namespace) -> dict:
    """One run of ``pipeline`` in a fresh Python process (its own peak memory); its result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", pipeline,
                   "--worker-out", str(out), "--epochs", str(args.epochs),
                   "--seed", str(args.seed)]
        for option in ("threads", "train_size", "test_size"):
            value = getattr(args, option)
            if value is not None:
                command += [f"--{option.replace('_', '-')}", str(value)]
        env = {key: value for key, value in os.environ.items() if key != "CNN_COURSE_QUICK"}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"The {pipeline} run failed (exit {done.returncode}):\n"
                               f"{done.stdout}{done.stderr}")
        return json.loads(out.read_text())


def order_of_runs(repeats: int) -> list[str]:
    """a, b, then b, a, then a, b ...: each pipeline goes first in every other repeat."""
    runs = []
    for repeat in range(repeats):
        runs += PIPELINES if repeat % 2 == 0 else PIPELINES[::-1]
    return runs


def summarize(runs: list[dict]) -> dict:
    """Per pipeline: medians of the per-epoch seconds, the largest peak RSS, the figures of its
    first run; and the ratios slides / library. Checks that both saw the same data and weights.
    """
    summary: dict = {"pipelines": {}}
    for pipeline in PIPELINES:
        mine = [run for run in runs if run["pipeline"] == pipeline]
        if not mine:
            raise ValueError(f"summarize: no run of the {pipeline} pipeline.")
        epochs = [(train, evaluation) for run in mine for train, evaluation in
                  zip(run["history"]["train_time"], run["history"]["eval_time"], strict=True)]
        summary["pipelines"][pipeline] = {
            "train_s": statistics.median(t for t, _ in epochs),
            "eval_s": statistics.median(e for _, e in epochs),
            "epoch_s": statistics.median(t + e for t, e in epochs),
            "setup_s": statistics.median(run["setup_time"] for run in mine),
            "peak_rss_mib": max(run["peak_rss_mib"] for run in mine),
            "rss_before_epochs_mib": max(run["rss_before_epochs_mib"] for run in mine),
            "figures": {key: mine[0]["history"][key] for key in FIGURES},
            "runs": len(mine),
            "epochs_timed": len(epochs),
        }
    for key in ("data_source", "train_size", "test_size", "init_weights", "threads"):
        values = {run[key] for run in runs}
        if len(values) != 1:
            raise ValueError(f"The pipelines differ in {key}: {sorted(map(str, values))}; "
                             "they must train on the same data from the same weights.")
        summary[key] = values.pop()
    a, b = (summary["pipelines"][p] for p in PIPELINES)
    summary["ratio"] = {key: a[key] / b[key] for key in
                        ("epoch_s", "train_s", "eval_s", "peak_rss_mib")}
    return summary


def report(summary: dict) -> str:
    """The summary as text: data, seconds per epoch, memory, figures per epoch, ratios."""
    data = ("real Fashion-MNIST" if summary["data_source"] != "sample"
            else "the small sample shipped with cnn_course (the full set is not here)")
    lines = [
        f"data: {data} (source {summary['data_source']!r}); {summary['train_size']:,} train / "
        f"{summary['test_size']:,} test images; {summary['threads']} thread(s); "
        f"same initial weights: {summary['init_weights']}",
        "",
        f"{'pipeline':10} {'train s':>9} {'eval s':>9} {'epoch s':>9} {'setup s':>9} "
        f"{'peak RSS MiB':>13} {'(before epochs)':>16}",
    ]
    for name, p in summary["pipelines"].items():
        lines.append(f"{name:10} {p['train_s']:9.2f} {p['eval_s']:9.2f} {p['epoch_s']:9.2f} "
                     f"{p['setup_s']:9.2f} {p['peak_rss_mib']:13.0f} "
                     f"{p['rss_before_epochs_mib']:16.0f}")
    r = summary["ratio"]
    lines.append(f"{'a/b':10} {r['train_s']:9.2f} {r['eval_s']:9.2f} {r['epoch_s']:9.2f} "
                 f"{'':9} {r['peak_rss_mib']:13.2f}")
    lines += ["", f"{'pipeline':10} {'epoch':>5} {'train loss':>11} {'train acc':>10} "
                  f"{'test loss':>10} {'test acc':>9}"]
    for name, p in summary["pipelines"].items():
        f = p["figures"]
        for i, row in enumerate(zip(*(f[key] for key in FIGURES), strict=True)):
            lines.append(f"{name:10} {i + 1:5d} {row[0]:11.5f} {row[1]:10.5f} "
                         f"{row[2]:10.5f} {row[3]:9.5f}")
    lines += ["", "seconds: medians over epochs and repeats (train: one pass in batches of 32; "
                  "eval: loss and accuracy on the whole train and test sets); peak RSS: the "
                  "largest over repeats, one process per run; a/b: slides / library."]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each pipeline, alternating which goes first (default 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=None,
                        help="keep only the first N training images (smoke runs)")
    parser.add_argument("--test-size", type=int, default=None,
                        help="keep only the first N test images (smoke runs)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        parser.error("--epochs and --repeats must be at least 1.")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.worker:
        result = run_pipeline(args.worker, args.epochs, args.seed, args.threads,
                              args.train_size, args.test_size)
        args.worker_out.write_text(json.dumps(result))
        return result
    find_data()  # prepares the files once (e.g. from Debian's package), so every run finds
    runs = []    # them the same way and reports the same source
    for i, pipeline in enumerate(order_of_runs(args.repeats)):
        print(f"run {i + 1}/{2 * args.repeats}: {pipeline} ...", end=" ", flush=True)
        start = time.perf_counter()
        runs.append(run_in_subprocess(pipeline, args))
        print(f"{time.perf_counter() - start:.0f} s", flush=True)
    summary = summarize(runs)
    summary["command"] = " ".join(["benchmarks/bench_exercise.py", *(argv or sys.argv[1:])])
    summary["recipe"] = {**RECIPE, "epochs": args.epochs, "seed": args.seed}
    summary["runs"] = runs
    print(config.run_info())
    print(report(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
        print(f"wrote {args.json}")
    return summary


if __name__ == "__main__":
    main()
