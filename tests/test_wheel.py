"""The package as built, not only as checked out: a wheel of the project holds every module,
subpackage and data file of ``cnn_course/``, and once installed in a fresh environment (away from
the checkout) ``cnn-course --help`` runs, every module imports and the shipped sample is whole.

Offline and quick (15-30 s, most of it importing torch, torchvision and Sphinx): the wheel is
built without build isolation from a copy of the project, and the fresh environment reuses this
environment's packages (torch and the rest) through a ``.pth`` file, so nothing is downloaded.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cnn_course"


def _package_files() -> set[str]:
    """Every file of the package in the checkout, as wheel paths (``cnn_course/...``)."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _modules() -> set[str]:
    """Every module of the package in the checkout: ``cnn_course``, ``cnn_course.tools.cli``...
    (a ``.py`` file outside a package, such as the site's ``conf.py``, is data, not a module)."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        if not (path.parent / "__init__.py").is_file():
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _run(args: list, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "CNN_COURSE_DATA": str(cwd / "data"),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by pip from a copy of the project (the checkout stays clean)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "cnn_course",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "-w", tmp / "dist", source], tmp)
    (built,) = (tmp / "dist").glob("cnn_course-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; this environment's site-packages
    are reachable through a .pth file (its editable install of the checkout is not: .pth files
    found there are not run). Returns the environment's folder."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], venv.parent)
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     venv.parent).stdout.strip())
    (site / "shared_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--quiet", wheel], venv.parent)
    return venv


def test_the_wheel_holds_every_module_subpackage_and_data_file(wheel):
    with zipfile.ZipFile(wheel) as archive:
        inside = {name for name in archive.namelist() if name.startswith("cnn_course/")}
    missing = _package_files() - inside
    assert not missing, f"left out of the wheel: {sorted(missing)}"
    assert "cnn_course/tools/cli.py" in inside                    # the tools subpackage
    assert any(name.endswith("train-images-idx3-ubyte") for name in inside)   # the sample


IMPORT_ALL = """
import importlib, json, pkgutil, sys
import cnn_course
names = ["cnn_course"] + [m.name for m in pkgutil.walk_packages(cnn_course.__path__,
                                                                 "cnn_course.")]
files = {name: importlib.import_module(name).__file__ for name in names}
from cnn_course import downloads
raw = downloads.raw_folder(downloads.SAMPLE_ROOT)
counts = [downloads.check_idx_file(raw / name) for name in downloads.FASHION_FILES]
print(json.dumps({"files": files, "sample": str(downloads.SAMPLE_ROOT), "counts": counts}))
"""


def test_installed_it_runs_imports_every_module_and_loads_its_sample(installed, tmp_path):
    help_text = _run([installed / "bin" / "cnn-course", "--help"], tmp_path).stdout
    assert help_text.startswith("uso: cnn-course") and "train" in help_text
    report = json.loads(_run([installed / "bin" / "python", "-c", IMPORT_ALL],
                             tmp_path).stdout.splitlines()[-1])
    assert set(report["files"]) == _modules(), "installed modules differ from the checkout's"
    for name, file in report["files"].items():
        assert file is None or Path(file).is_relative_to(installed), f"{name} came from {file}"
    assert Path(report["sample"]).is_relative_to(installed)
    assert report["counts"] == [3000, 3000, 1000, 1000]     # train images, labels; test


def test_installed_its_data_folder_is_one_per_user_from_any_working_folder(installed, tmp_path):
    """The student's case: `cnn-course info` from the unpacked course and from its notebooks'
    folder (where Jupyter runs them) names the same per-user folder, never the working one."""
    home = tmp_path / "home"
    course = tmp_path / "curso-cnn"
    (course / "cuadernos").mkdir(parents=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "OMP_NUM_THREADS": "1"}
    lines = set()
    for folder in (course, course / "cuadernos"):
        done = subprocess.run([str(installed / "bin" / "cnn-course"), "info"], cwd=folder,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        lines |= {line for line in done.stdout.splitlines()
                  if line.startswith("carpeta de datos:")}
    assert lines == {f"carpeta de datos: {home / '.local' / 'share' / 'cnn_course'} (la carpeta "
                     "de datos de este usuario, la misma desde cualquier carpeta; "
                     "CNN_COURSE_DATA la cambia)"}
    assert not any(p.name == "data" for p in course.rglob("*"))
