"""The ``cnn-course`` command: ``train`` (the slides' exercise), ``download``, ``info``, ``site``,
``handout`` and ``execute`` (refresh a notebook's stored outputs)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from .. import config, datasets, downloads, models, training

__all__ = ["build_parser", "main"]


def _train(args: argparse.Namespace) -> int:
    if args.quick:
        os.environ["CNN_COURSE_QUICK"] = "1"
    if args.data_dir:
        os.environ["CNN_COURSE_DATA"] = str(args.data_dir)
    recipe = dataclasses.replace(training.EXERCISE, batch_size=args.batch_size, lr=args.lr,
                                 seed=args.seed)
    if args.epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=args.epochs, quick_epochs=args.epochs)
    device = config.get_device(args.device)
    config.seed_everything(recipe.seed)
    data = datasets.load_fashion_mnist()
    print(f"data: {data}; device: {device}; torch threads: {torch.get_num_threads()}")
    model = models.MLP() if args.model == "mlp" else models.FashionCNN()
    name = args.name or f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = (args.runs_dir or config.runs_dir()) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    history, optimizer = training.train_with_recipe(model, data, recipe, device)
    wall = time.perf_counter() - start
    record = {**recipe.record(model, data, device), "wall_seconds": round(wall, 1)}
    training.save_history(history, run_dir / "history.json")
    (run_dir / "recipe.json").write_text(json.dumps(record, indent=2))
    training.save_checkpoint(run_dir / "checkpoint.pt", model, optimizer, history, record)
    _save_curves(history, run_dir / "curves.png", f"- {record['model']} Fashion-MNIST")
    epochs = len(history["test_acc"])
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

    from ..plots import plot_history
    fig = plot_history(history, title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _download(args: argparse.Namespace) -> int:
    if args.what == "fashion-mnist":
        root, source = downloads.prepare_fashion_mnist(force=args.force, url=args.url)
        print(f"Fashion-MNIST ready in {downloads.raw_folder(root)} (from {source}).")
        return 0
    if args.what == "cats-dogs":
        name, (where, done) = "cats vs dogs", downloads.download_cats_dogs(
            url=args.url or downloads.CATS_DOGS_URL, force=args.force)
    else:
        name, (where, done) = "VGG16 ImageNet weights", downloads.download_vgg16_weights(
            force=args.force)
    print(f"{name} ready in {where}." if done else
          f"{name} already in {where}; nothing to do (--force fetches it again).")
    return 0


def _info(args: argparse.Namespace) -> int:
    import torchvision

    print(f"cnn_course on Python {platform.python_version()}, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}")
    print(f"device: {config.get_device()}  (threads: {torch.get_num_threads()})")
    print(f"quick mode: {config.quick_mode()}")
    print(f"data dir: {config.data_dir()}")
    print(downloads.status())
    return 0


def _publish(job) -> int:
    """Run ``job()`` and print the line it returns; a missing site extra, a failed build or a
    missing notebook exits 2 with the message (which names the fix)."""
    from .site import SiteBuildError, SiteToolsMissingError
    try:
        print(job())
    except (SiteToolsMissingError, SiteBuildError, FileNotFoundError) as err:
        print(f"cnn-course: {err}", file=sys.stderr)
        return 2
    return 0


def _site(args: argparse.Namespace) -> int:
    from .site import build_site

    def job() -> str:
        index = build_site(args.out, args.notebooks, warnings=sys.stderr)
        return (f"course site written to {index.parent}; open {index} in a browser, or serve "
                f"the folder (search snippets need it): python3 -m http.server -d {index.parent}")
    return _publish(job)


def _handout(args: argparse.Namespace) -> int:
    from .handouts import make_handouts

    def job() -> str:
        written = make_handouts(args.out, args.notebooks)
        lines = [f"{len(written)} hojas para los estudiantes (sin soluciones) escritas en "
                 f"{written[0].parent}"]
        lines += [f"{changed.name} tiene cambios tuyos y no se sobrescribe: la hoja nueva está "
                  f"en {new.name}" for changed, new in written.beside.items()]
        return "\n".join(lines)
    return _publish(job)


def _execute(args: argparse.Namespace) -> int:
    from nbclient.exceptions import CellExecutionError

    from . import execute
    for path in args.notebooks:
        print(f"executing {path} (full mode) ...", flush=True)
        try:
            execute.execute_notebook(path)
        except (CellExecutionError, FileNotFoundError) as err:
            print(f"cnn-course: {path} was left unchanged: {err}", file=sys.stderr)
            return 1
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grade import grade_class

    summary = grade_class(args.submissions, args.out, timeout=args.timeout, jobs=args.jobs,
                          checks=args.checks, full=args.full, expect=args.expect)
    print(f"Entregas calificadas: {len(summary)}. Notas en {args.out / 'grades.csv'} y "
          f"{args.out / 'resumen.csv'}; un informe por estudiante en {args.out / 'informes'}")
    return 0


def _add_grade(sub) -> None:
    grade = sub.add_parser(
        "grade", help="califica las entregas de una clase: ejecuta cada cuaderno de nuevo y lo "
        "comprueba", description="Califica cuadernos entregados: cada uno se ejecuta de nuevo, "
        "sin sus salidas guardadas, y cada ejercicio se comprueba con las comprobaciones del "
        "curso.")
    grade.add_argument("submissions", type=Path, nargs="+", metavar="ENTREGA",
                       help="cuadernos o carpetas (una carpeta es un estudiante, como las "
                       "descarga Moodle: «Ana García_12345_assignsubmission_file_»)")
    grade.add_argument("--out", type=Path, required=True, metavar="CARPETA",
                       help="dónde escribir grades.csv, resumen.csv e informes/")
    grade.add_argument("--timeout", type=int, default=600, metavar="SEGUNDOS",
                       help="límite de tiempo por cuaderno (por defecto 600)")
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="cuadernos a la vez; los hilos de la máquina se reparten entre ellos")
    grade.add_argument("--checks", type=Path, default=None, metavar="FICHERO",
                       help="comprobaciones propias del profesor: funciones "
                       "check_<cuaderno>_<nombre>(ns) (ver el README)")
    grade.add_argument("--full", action="store_true",
                       help="ejecutar en modo completo (por defecto, modo rápido)")
    grade.add_argument("--expect", nargs="+", default=None, metavar="CUADERNO",
                       help="cuadernos que se piden, p. ej. 06a (por defecto, los que aparezcan "
                       "en las entregas)")
    grade.set_defaults(func=_grade)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train the slides' exercise (FashionCNN, batch 32, "
                           "cross-entropy, Adagrad, 20 epochs)")
    train.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    train.add_argument("--epochs", type=int, default=None, help="default 20 (2 in quick mode)")
    train.add_argument("--batch-size", type=int, default=training.EXERCISE.batch_size)
    train.add_argument("--lr", type=float, default=training.EXERCISE.lr,
                       help="Adagrad learning rate")
    train.add_argument("--seed", type=int, default=training.EXERCISE.seed)
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--data-dir", type=Path, default=None, help="data root (CNN_COURSE_DATA)")
    train.add_argument("--quick", action="store_true", help="small subsets (CNN_COURSE_QUICK=1)")
    train.add_argument("--name", default=None, help="run folder name (default: model-time)")
    train.add_argument("--runs-dir", type=Path, default=None, help="default: <project>/runs")
    train.set_defaults(func=_train)

    download = sub.add_parser("download", help="get data or weights ahead of class")
    download.add_argument("what", choices=["cats-dogs", "fashion-mnist", "vgg16"])
    download.add_argument("--force", action="store_true", help="prepare or fetch it again")
    download.add_argument("--url", default=None,
                          help="fetch from this mirror instead: the zip's URL for cats-dogs, "
                          "a folder URL holding the four .gz files for fashion-mnist")
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

    execute = sub.add_parser("execute", help="refresh notebooks' stored outputs: a full-mode run, "
                             "figures kept, no progress bars")
    execute.add_argument("notebooks", type=Path, nargs="+", help="the .ipynb files to run")
    execute.set_defaults(func=_execute)
    _add_grade(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (downloads.DatasetNotFoundError, downloads.CorruptDatasetError,
            downloads.WeightsNotFoundError, ValueError) as err:
        print(f"cnn-course: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
