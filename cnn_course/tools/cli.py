"""The ``cnn-course`` command: ``train`` (the slides' exercise), ``download``, ``info``, ``site``,
``handout`` and ``execute`` (refresh a notebook's stored outputs).

Everything it prints is Spanish. Every argument is checked before any work (the ``_check_*``
argument types and each subcommand's ``check``): a wrong one gets one line naming the fix and
exit code 2, before any data is loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import torch

from .. import config, datasets, downloads, models, training

__all__ = ["build_parser", "main"]

DESCRIPTION = ("cnn-course: entrena el ejercicio de las transparencias, descarga datos y pesos, "
               "publica el sitio y los cuadernos de los estudiantes, y ejecuta cuadernos.")
fmt = config.format_number
# where Fashion-MNIST came from (downloads' and datasets' source names), as a person reads it
_SOURCES = {"data dir": "la carpeta de datos", "debian": "el paquete de Debian",
           "download": "una descarga", "sample": "la muestra incluida"}


# ---------------------------------------------------------------- Spanish argparse
# argparse's own messages (gettext, English) and what the command says instead
_ARGPARSE_ES = [
    (r"the following arguments are required: (.*)", r"faltan argumentos: \1 (mira --help)"),
    (r"unrecognized arguments: (.*)", r"argumentos desconocidos: \1 (mira --help)"),
    (r"invalid choice: (.*) \(choose from (.*)\)", r"opción no válida: \1 (elige entre \2)"),
    (r"invalid (\w+) value: (.*)", r"valor no válido: \2 (se espera un número)"),
    (r"expected one argument", r"falta su valor"),
    (r"ambiguous option: (.*) could match (.*)", r"opción ambigua: \1 puede ser \2"),
    (r"^argument ", r"argumento "),
]


def _spanish(message: str) -> str:
    """argparse's English error ``message`` in Spanish (unknown ones pass unchanged)."""
    for pattern, replacement in _ARGPARSE_ES:
        message = re.sub(pattern, replacement, message)
    return message


class _SpanishHelp(argparse.HelpFormatter):
    """argparse's help with a Spanish 'uso:' heading."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Spanish and says a wrong argument in one line (exit 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _SpanishHelp)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"
        self.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {_spanish(message)}\n")


# ---------------------------------------------------------------- argument checks
def _check_count(value: str) -> int:
    """An int of at least 1 (epochs, batch size, threads)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} no es un número entero; escribe uno de 1 o más, por ejemplo 5") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} no vale: tiene que ser 1 o más, por ejemplo 5")
    return number


def _check_rate(value: str) -> float:
    """A finite float above 0 (a learning rate)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} no vale: la tasa de aprendizaje es un número mayor que 0, por ejemplo "
            "0.01")
    return number


def _check_seed(value: str) -> int:
    """An int from 0 to 2**32 - 1 (what NumPy's seed accepts)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number < 2**32:
        raise argparse.ArgumentTypeError(
            f"{value!r} no vale: la semilla es un entero de 0 a 4294967295, por ejemplo 0")
    return number


def _check_device(value: str) -> str:
    """A device this machine has ('auto', 'cpu', 'cuda', 'mps')."""
    try:
        config.get_device(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def _check_folder_out(value: str) -> Path:
    """A folder to write into: it may not exist yet, but it is not a file (nor /dev/null) and
    its nearest existing parent is a folder."""
    path = Path(value).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "" if existing == path else f" ({existing} es un archivo)"
        raise argparse.ArgumentTypeError(
            f"{value} no es una carpeta{where}; elige una carpeta nueva o vacía")
    return path


def _existing(value: str, folder: bool, example: str) -> Path:
    """An existing folder (``folder``) or file, else a one-line error naming ``example``."""
    path = Path(value).expanduser()
    if not (path.is_dir() if folder else path.is_file()):
        what = "no existe" if not path.exists() else ("es un archivo" if folder else
                                                        "es una carpeta")
        raise argparse.ArgumentTypeError(f"{value} {what}; indica {example}")
    return path


def _check_folder_in(value: str) -> Path:
    """An existing folder to read from."""
    return _existing(value, True, "una carpeta que exista, por ejemplo notebooks/")


def _check_notebook(value: str) -> Path:
    """An existing ``.ipynb`` file."""
    path = _existing(value, False, "un cuaderno .ipynb, por ejemplo notebooks/00_*.ipynb")
    if path.suffix != ".ipynb":
        raise argparse.ArgumentTypeError(
            f"{value} no es un cuaderno de Jupyter (.ipynb); indica un archivo .ipynb")
    return path


def _check_url(value: str) -> str:
    """An http(s), ftp or file URL."""
    url = urlparse(value)
    if url.scheme not in ("http", "https", "ftp", "file") or (url.scheme != "file"
                                                                and not url.netloc):
        raise argparse.ArgumentTypeError(
            f"{value!r} no es una URL; escribe una completa, por ejemplo "
            "https://servidor/cats_and_dogs_filtered.zip")
    return value


def _check_train(args: argparse.Namespace) -> str | None:
    """What is wrong with ``train``'s arguments together (else None): a run name with a path
    in it, or a run folder that already holds files (never overwritten)."""
    if args.name is not None:
        if not args.name.strip() or Path(args.name).name != args.name or args.name in (".", ".."):
            return (f"argumento --name: {args.name!r} no vale: el nombre de la carpeta de la "
                    "ejecución no lleva '/'; elige otro, por ejemplo --name prueba1")
        run_dir = (args.runs_dir or config.runs_dir()) / args.name
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            return (f"argumento --name: {run_dir} ya existe y no se sobrescribe; elige otro "
                    "--name o bórrala")
    return None


def _check_download(args: argparse.Namespace) -> str | None:
    """``--url`` only where a mirror is possible (not for vgg16)."""
    if args.url is not None and args.what == "vgg16":
        return ("argumento --url: vgg16 se descarga siempre de torchvision; quita --url, o copia "
                f"el archivo {downloads.VGG16_FILE} a {downloads.vgg16_weights_path().parent}")
    return None


# ---------------------------------------------------------------- the subcommands
def _train(args: argparse.Namespace) -> int:
    if args.quick:
        os.environ["CNN_COURSE_QUICK"] = "1"
    if args.data_dir:
        os.environ["CNN_COURSE_DATA"] = str(args.data_dir)
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = dataclasses.replace(training.EXERCISE, batch_size=args.batch_size, lr=args.lr,
                                 seed=args.seed)
    if args.epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=args.epochs, quick_epochs=args.epochs)
    device = config.get_device(args.device)
    config.seed_everything(recipe.seed)
    data = datasets.load_fashion_mnist()
    source = _SOURCES.get(data.source, data.source)
    print(f"datos: {fmt(len(data.train))} imágenes de entrenamiento y {fmt(len(data.test))} de "
          f"test ({source}); dispositivo: {device}; hilos de torch: {torch.get_num_threads()}")
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
    print(f"tasa de aciertos final en test: {fmt(history['test_acc'][-1], 4)} "
          f"(la mejor, {fmt(history['test_acc'][best], 4)}, en la época {best + 1}); "
          f"{fmt(wall, 0)} s en total, {fmt(wall / epochs, 1)} s por época")
    print(f"escrito en {run_dir}: history.json, recipe.json, curves.png, checkpoint.pt")
    return 0


def _save_curves(history: training.History, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import SAVE_DPI, plot_history
    fig = plot_history(history, title)
    fig.savefig(path, dpi=SAVE_DPI)
    plt.close(fig)


def _download(args: argparse.Namespace) -> int:
    if args.what == "fashion-mnist":
        root, source = downloads.prepare_fashion_mnist(force=args.force, url=args.url)
        print(f"Fashion-MNIST listo en {downloads.raw_folder(root)} "
              f"(origen: {_SOURCES.get(source, source)}).")
        return 0
    if args.what == "cats-dogs":
        name, (where, done) = "Gatos y perros", downloads.download_cats_dogs(
            url=args.url or downloads.CATS_DOGS_URL, force=args.force)
    else:
        name, (where, done) = "Los pesos ImageNet de VGG16", downloads.download_vgg16_weights(
            force=args.force)
    print(f"{name}: listo en {where}." if done else
          f"{name}: ya está en {where}; nada que hacer (--force lo descarga de nuevo).")
    return 0


def _info(args: argparse.Namespace) -> int:
    import torchvision

    print(f"cnn_course con Python {platform.python_version()}, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}")
    print(f"dispositivo: {config.get_device()}  (hilos: {torch.get_num_threads()})")
    print(f"modo rápido: {'sí' if config.quick_mode() else 'no'}")
    print(f"carpeta de datos: {config.data_dir()} ({config.data_dir_origin()})")
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
        index = build_site(args.out, args.notebooks, instructor=args.instructor,
                           repo_url=args.repo_url, colab_branch=args.colab_branch,
                           warnings=sys.stderr)
        return (f"sitio del curso escrito en {index.parent}; abre {index} en un navegador, o "
                f"sirve la carpeta (la búsqueda lo necesita): python3 -m http.server -d "
                f"{index.parent}")
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
        print(f"ejecutando {path} (modo completo) ...", flush=True)
        try:
            execute.execute_notebook(path)
        except (CellExecutionError, FileNotFoundError) as err:
            print(f"cnn-course: {path} queda sin cambios: {err}", file=sys.stderr)
            return 1
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grade import grade_class

    memory = int(args.memoria * 2**30) if args.memoria else None
    try:
        summary = grade_class(args.submissions, args.out, timeout=args.timeout, jobs=args.jobs,
                              checks=args.checks, full=args.full, expect=args.expect,
                              memory=memory, isolation=not args.sin_aislamiento)
    except KeyboardInterrupt:
        print(f"cnn-course grade: calificación interrumpida; lo terminado está en {args.out} "
              "(los cuadernos sin terminar dicen «se interrumpió»).", file=sys.stderr)
        return 130
    print(f"Entregas calificadas: {len(summary)}. Notas en {args.out / 'grades.csv'} y "
          f"{args.out / 'resumen.csv'}; lo que no se calificó, en "
          f"{args.out / 'no_calificado.csv'}; un informe por estudiante en "
          f"{args.out / 'informes'}")
    return 0


def _check_gigabytes(value: str) -> float:
    """A memory size in GB, at least 0.25."""
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0.25:
        raise argparse.ArgumentTypeError(
            f"{value!r} no vale: la memoria es un número de GB de 0,25 o más, por ejemplo 4")
    return number


def _add_grade(sub) -> None:
    grade = sub.add_parser(
        "grade", help="califica las entregas de una clase: ejecuta cada cuaderno de nuevo, "
        "aislado, y lo comprueba", description="Califica cuadernos entregados: cada uno se "
        "ejecuta de nuevo, sin sus salidas guardadas, dentro de un entorno aislado (bubblewrap: "
        "sin red, sin ver tus ficheros, con memoria limitada), y cada ejercicio se comprueba "
        "fuera de él con las comprobaciones del curso. Guía: docs/guia_profesor.md.")
    grade.add_argument("submissions", type=Path, nargs="+", metavar="ENTREGA",
                       help="cuadernos, zips o carpetas (una carpeta es un estudiante; la "
                       "descarga de Moodle descomprimida, con carpetas «Ana "
                       "García_12345_assignsubmission_file_», es la clase entera)")
    grade.add_argument("--out", type=_check_folder_out, required=True, metavar="CARPETA",
                       help="dónde escribir grades.csv, resumen.csv, no_calificado.csv e "
                       "informes/")
    grade.add_argument("--timeout", type=_check_count, default=600, metavar="SEGUNDOS",
                       help="límite de tiempo por cuaderno (por defecto 600)")
    grade.add_argument("--jobs", type=_check_count, default=1, metavar="N",
                       help="cuadernos a la vez; los hilos de la máquina se reparten entre ellos")
    grade.add_argument("--memoria", type=_check_gigabytes, default=None, metavar="GB",
                       help="memoria de cada cuaderno, con todos sus procesos (por defecto, el "
                       "60 %% de la máquina repartido entre --jobs); quien la supera se detiene")
    grade.add_argument("--checks", type=Path, default=None, metavar="FICHERO",
                       help="comprobaciones propias del profesor: funciones "
                       "check_<cuaderno>_<nombre>(variables) que reciben las variables del "
                       "cuaderno que son datos simples (números, textos, listas, "
                       "diccionarios; arrays y tensores como arrays de NumPy) y devuelven None "
                       "o un texto con el fallo; se ejecutan fuera del entorno aislado (ver "
                       "docs/guia_profesor.md)")
    grade.add_argument("--full", action="store_true",
                       help="ejecutar en modo completo (por defecto, modo rápido)")
    grade.add_argument("--expect", nargs="+", default=None, metavar="CUADERNO",
                       help="cuadernos que se piden, p. ej. 06a (por defecto, los que entregó "
                       "al menos la mitad de la clase)")
    grade.add_argument("--sin-aislamiento", action="store_true",
                       help="calificar sin bubblewrap, con tus permisos: el código de los "
                       "estudiantes podría leer tus ficheros y cambiar las notas (solo con "
                       "entregas de confianza)")
    grade.set_defaults(func=_grade)


# ---------------------------------------------------------------- the parser
def _add_train(sub) -> None:
    train = sub.add_parser("train", help="entrena el ejercicio de las transparencias (FashionCNN, "
                           "bandejas de 32, entropía cruzada, Adagrad, 20 épocas)",
                           description="Entrena el ejercicio de las transparencias y escribe "
                           "history.json, recipe.json, curves.png y checkpoint.pt.")
    train.add_argument("--model", choices=["cnn", "mlp"], default="cnn",
                       help="la red: cnn (FashionCNN) o mlp (por defecto: cnn)")
    train.add_argument("--epochs", type=_check_count, default=None, metavar="N",
                       help="épocas (por defecto 20; 2 en modo rápido)")
    train.add_argument("--batch-size", type=_check_count, metavar="N",
                       default=training.EXERCISE.batch_size,
                       help="imágenes por bandeja (por defecto %(default)s)")
    train.add_argument("--lr", type=_check_rate, default=training.EXERCISE.lr, metavar="TASA",
                       help="tasa de aprendizaje de Adagrad (por defecto %(default)s)")
    train.add_argument("--seed", type=_check_seed, default=training.EXERCISE.seed, metavar="N",
                       help="semilla (por defecto %(default)s)")
    train.add_argument("--threads", type=_check_count, default=None, metavar="N",
                       help="hilos de torch (por defecto los de torch; las cifras del curso, 2)")
    train.add_argument("--device", type=_check_device, default="auto", metavar="DISPOSITIVO",
                       help="auto, cpu, cuda o mps (por defecto auto)")
    train.add_argument("--data-dir", type=_check_folder_out, default=None, metavar="CARPETA",
                       help="carpeta de datos (CNN_COURSE_DATA)")
    train.add_argument("--quick", action="store_true",
                       help="subconjuntos pequeños (CNN_COURSE_QUICK=1)")
    train.add_argument("--name", default=None, metavar="NOMBRE",
                       help="nombre de la carpeta de la ejecución (por defecto: modelo-hora)")
    train.add_argument("--runs-dir", type=_check_folder_out, default=None, metavar="CARPETA",
                       help="dónde van las ejecuciones (por defecto: runs/ en la carpeta de "
                       "datos, la que dice cnn-course info)")
    train.set_defaults(func=_train, check=_check_train)


def _add_download(sub) -> None:
    download = sub.add_parser("download", help="descarga datos o pesos antes de clase",
                              description="Descarga y comprueba datos o pesos.")
    download.add_argument("what", choices=["cats-dogs", "fashion-mnist", "vgg16"], metavar="DATOS",
                          help="qué descargar: cats-dogs, fashion-mnist o vgg16")
    download.add_argument("--force", action="store_true", help="prepáralo o descárgalo de nuevo")
    download.add_argument("--url", type=_check_url, default=None, metavar="URL",
                          help="descarga de este espejo: la URL del zip para cats-dogs, la de "
                          "una carpeta con los cuatro .gz para fashion-mnist")
    download.set_defaults(func=_download, check=_check_download)


def _add_publishing(sub) -> None:
    site = sub.add_parser("site", help="construye el sitio web del curso con las salidas "
                          "guardadas de los cuadernos (sin red; necesita el extra site)",
                          description="Construye el sitio web del curso.")
    site.add_argument("--out", type=_check_folder_out, default=None, metavar="CARPETA",
                      help="carpeta del sitio (por defecto: <proyecto>/_site)")
    site.add_argument("--notebooks", type=_check_folder_in, default=None, metavar="CARPETA",
                      help="los cuadernos que publicar (por defecto: notebooks/; una carpeta de "
                      "cuadernos de estudiante da el sitio de los estudiantes)")
    site.add_argument("--instructor", action="store_true",
                      help="publica la versión del profesor (con soluciones); por defecto, la "
                      "de los estudiantes (las hojas sin soluciones)")
    site.add_argument("--repo-url", type=_check_url, default=None, metavar="URL",
                      help="el repositorio del curso: enlaces a él y, en GitHub, botones "
                      "«Abrir en Colab»")
    site.add_argument("--colab-branch", default="gh-pages", metavar="RAMA",
                      help="la rama de --repo-url que guarda este sitio, de donde Colab abre "
                      "sus cuadernos (por defecto gh-pages)")
    site.set_defaults(func=_site)

    handout = sub.add_parser("handout", help="escribe los cuadernos de los estudiantes, sin "
                             "soluciones", description="Escribe los cuadernos de los "
                             "estudiantes: las celdas de solución se quitan.")
    handout.add_argument("--out", type=_check_folder_out, default=None, metavar="CARPETA",
                         help="carpeta de salida (por defecto: <proyecto>/handouts)")
    handout.add_argument("--notebooks", type=_check_folder_in, default=None, metavar="CARPETA",
                         help="carpeta de los cuadernos (por defecto: notebooks/)")
    handout.set_defaults(func=_handout)

    execute = sub.add_parser("execute", help="renueva las salidas guardadas de cuadernos: una "
                             "ejecución en modo completo, con figuras y sin barras de progreso",
                             description="Ejecuta cuadernos y guarda sus salidas.")
    execute.add_argument("notebooks", type=_check_notebook, nargs="+", metavar="CUADERNO",
                         help="los archivos .ipynb que ejecutar")
    execute.set_defaults(func=_execute)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnn-course", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, title="órdenes",
                                metavar="ORDEN", parser_class=_Parser)
    _add_train(sub)
    _add_download(sub)
    info = sub.add_parser("info", help="qué hay instalado, el dispositivo, los datos y pesos "
                          "presentes", description="Qué hay instalado y qué datos hay.")
    info.set_defaults(func=_info)
    _add_publishing(sub)
    _add_grade(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:   # --help (0) or a wrong argument (2, its line already printed)
        return stop.code if isinstance(stop.code, int) else 2
    problem = getattr(args, "check", lambda _: None)(args)
    if problem:
        print(f"cnn-course {args.command}: error: {problem}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (downloads.DatasetNotFoundError, downloads.CorruptDatasetError,
            downloads.WeightsNotFoundError, ValueError) as err:
        print(f"cnn-course: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
