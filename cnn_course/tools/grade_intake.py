"""What a class handed in, read for ``cnn-course grade``: one ``Submission`` per student, every
file accounted for. Moodle's "Descargar todas las entregas" (unzipped) is a folder of folders
``Ana García_12345_assignsubmission_file_`` (and ``..._onlinetext_`` for the text box, joined to
the same student); notebooks and plain folders beside them are students too; zips are unpacked
(with limits) and graded; names are normalised to NFC (macOS writes NFD)."""

from __future__ import annotations

import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["HELPERS", "ZIP_MAX_BYTES", "ZIP_MAX_ENTRIES", "Submission", "gather", "student_name"]

ZIP_MAX_BYTES = 200 << 20   # what a student's zip may hold once unpacked
ZIP_MAX_ENTRIES = 2000
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<kind>\w*?)_?$")
_SKIPPED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
HELPERS = {".py"}   # files a notebook may import: copied beside it, not reported


@dataclass
class Submission:
    """One student: the folders or files handed in (``sources``), and once ``files`` is
    called, every file in them (zips unpacked under ``unpacked``) with ``skipped`` the files
    that could not be opened and why (Spanish)."""

    name: str
    sources: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def files(self, unpacked: Path) -> list[Path]:
        """Every file handed in, zips replaced by what they hold (unpacked under ``unpacked``).
        """
        found = []
        for source in self.sources:
            for path in _files_of(source):
                if path.suffix.lower() == ".zip":
                    target = unpacked / f"{len(found)}-{path.stem}"
                    why = _unzip(path, target)
                    if why:
                        self.skipped.append((path, why))
                    else:
                        found += [p for p in _files_of(target)]
                else:
                    found.append(path)
        return found


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def student_name(path: Path) -> str:
    """A student's name from a submission: a folder's name without Moodle's
    ``_12345_assignsubmission_file_`` suffix, or a file's name without its extension; NFC."""
    path = Path(path)
    match = _MOODLE.match(path.name) if path.is_dir() else None
    return _nfc(match["name"] if match else path.name if path.is_dir() else path.stem)


def _is_moodle(path: Path) -> bool:
    return path.is_dir() and _MOODLE.match(path.name) is not None


def _visible(path: Path, root: Path) -> bool:
    return not any(part in _SKIPPED or part.startswith(".")
                   for part in path.relative_to(root).parts)


def _files_of(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*") if p.is_file() and not p.is_symlink()
                  and _visible(p, source))


def gather(paths: list[Path]) -> list[Submission]:
    """The students in ``paths``: a folder holding Moodle folders is a class download (each
    Moodle folder, plain folder, and file beside them a student; a student's ``file`` and
    ``onlinetext`` folders joined); any other folder or file given is one student."""
    by_key: dict[str, Submission] = {}
    order = []

    def add(key: str, name: str, source: Path) -> None:
        if key not in by_key:
            by_key[key] = Submission(name)
            order.append(key)
        by_key[key].sources.append(source)

    for path in paths:
        inside = sorted(p for p in path.iterdir() if _visible(p, path)) if path.is_dir() else []
        if not any(_is_moodle(p) for p in inside):
            add(str(path.resolve()), student_name(path), path)
            continue
        for entry in inside:
            match = _MOODLE.match(entry.name) if entry.is_dir() else None
            key = f"{_nfc(match['name'])}_{match['id']}" if match else str(entry.resolve())
            add(key, student_name(entry), entry)
    return [by_key[key] for key in order]


def _unzip(path: Path, target: Path) -> str | None:
    """Unpack ``path`` into ``target``; None, or why it was refused (Spanish)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_MAX_ENTRIES:
                return f"el zip tiene más de {ZIP_MAX_ENTRIES} ficheros"
            if sum(e.file_size for e in entries) > ZIP_MAX_BYTES:
                return f"el zip ocupa más de {ZIP_MAX_BYTES >> 20} MB al descomprimirlo"
            for entry in entries:
                name = PurePosixPath(entry.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or ":" in entry.filename:
                    return f"el zip contiene una ruta fuera de su carpeta ({entry.filename})"
                if stat.S_ISLNK(entry.external_attr >> 16):
                    return f"el zip contiene un enlace simbólico ({entry.filename})"
            for entry in entries:
                destination = target / _nfc(entry.filename.replace("\\", "/"))
                if entry.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(entry) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)  # stops at the declared size
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as err:
        return f"no se pudo descomprimir el zip ({type(err).__name__})"
    return None
