"""The whole course as one download (``build_bundle``): a zip holding the notebooks, the library
as a wheel and a short Spanish "cómo empezar" (``getting_started``), which the site links from its
landing page; and the first cell that installs the library when a notebook runs in Google Colab
(``with_colab_install``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from .. import config

__all__ = ["BUNDLE_FOLDER", "BUNDLE_NAME", "GETTING_STARTED_NAME", "NOTEBOOKS_FOLDER",
           "build_bundle", "build_wheel", "colab_install_cell", "getting_started",
           "with_colab_install"]

BUNDLE_NAME = "curso-cnn.zip"          # the file the site offers
BUNDLE_FOLDER = "curso-cnn"            # the one folder the zip unpacks to
NOTEBOOKS_FOLDER = "cuadernos"         # inside it: the notebooks
GETTING_STARTED_NAME = "LEEME.md"      # inside it: how to start
CPU_TORCH = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
COLAB_TAG = "colab-install"            # the tag of the cell with_colab_install adds


def build_wheel(out_dir: Path | str, project: Path | str | None = None) -> Path:
    """Build the library's wheel into ``out_dir`` with ``pip wheel --no-deps`` (offline: the
    build uses the setuptools already installed) from a clean copy of ``project`` (default: the
    course's folder), so no build files land in it. Returns the wheel's path."""
    project = Path(project) if project else config.project_root()
    out_dir = Path(out_dir)
    if not (project / "pyproject.toml").is_file():
        raise FileNotFoundError(f"no hay pyproject.toml en {project}: el paquete (wheel) se "
                                "construye desde la carpeta del proyecto (una copia de su código).")
    with tempfile.TemporaryDirectory(prefix="cnn-course-wheel-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copyfile(project / name, source / name)
        shutil.copytree(project / "cnn_course", source / "cnn_course",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--no-index", "--quiet", "--wheel-dir", str(Path(tmp) / "wheel"), str(source)],
            capture_output=True, text=True)
        wheels = sorted((Path(tmp) / "wheel").glob("cnn_course-*.whl"))
        if done.returncode or not wheels:
            raise RuntimeError(f"pip no pudo construir el paquete de la biblioteca: "
                               f"{done.stderr.strip()} (necesita setuptools en este entorno: "
                               "pip install setuptools)")
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheels[0], out_dir / wheels[0].name))


def getting_started(wheel: str, level: int = 1) -> str:
    """The Spanish "cómo empezar" for a student who unpacked the bundle (Linux, macOS, Windows,
    conda, quick mode), in the order it is run: the environment, the CPU-only PyTorch (without
    an NVIDIA GPU), the course; ``level`` is its top heading's level."""
    h = "#" * level
    return GETTING_STARTED.format(h=h, wheel=wheel, cpu=CPU_TORCH, folder=BUNDLE_FOLDER,
                                  notebooks=NOTEBOOKS_FOLDER)


# The sizes: the CUDA build is the .venv measured here (issue 27: 6,0 GB, 14 nvidia-* packages,
# torch 2.14.1 on Linux x86_64); the CPU-only wheel's is its published size (about 200 MB for
# torch 2.x on Linux x86_64), not measured here: the CPU index is out of reach from CI.
GETTING_STARTED = """\
{h} Cómo empezar

La carpeta `{folder}` trae el curso entero: los cuadernos de Jupyter en `{notebooks}/` y la
biblioteca del curso, `cnn_course`, como paquete de Python (`{wheel}`). Necesitas Python 3.10 o
posterior. Se instala en este orden, con los comandos de tu sistema que siguen:

1. **el entorno**: un entorno virtual en la carpeta `{folder}` (`.venv`);
2. **sin tarjeta gráfica de NVIDIA, PyTorch solo para CPU**, con el `pip` de ese entorno;
3. **el curso**: el paquete `{wheel}`, que instala también Jupyter y el resto;
4. **Jupyter**, para abrir los cuadernos.

Cuánto se descarga: en Linux, `pip` instala por defecto PyTorch con CUDA, que con sus paquetes
`nvidia-*` deja un entorno de unos 6 GB, casi todo inútil sin una GPU de NVIDIA; PyTorch solo
para CPU descarga unos 200 MB. Por eso el paso 2 va antes del 3: si el paso 3 encuentra PyTorch ya
instalado, no descarga el de CUDA. En macOS, `pip` ya instala la versión sin CUDA: salta el
paso 2. Con una GPU de NVIDIA, sáltalo también. La primera instalación tarda unos minutos.

{h}# Linux y macOS

Abre una terminal en la carpeta `{folder}`; una línea por paso:

```bash
python3 -m venv .venv
.venv/bin/{cpu}
.venv/bin/pip install {wheel}
.venv/bin/jupyter lab {notebooks}/
```

{h}# Windows

Abre PowerShell (o «Símbolo del sistema») en la carpeta `{folder}`; una línea por paso:

```bat
py -m venv .venv
.venv\\Scripts\\{cpu}
.venv\\Scripts\\pip install {wheel}
.venv\\Scripts\\jupyter lab {notebooks}
```

{h}# Con conda

Con el entorno activado, `pip` es el suyo:

```bash
conda create -n curso-cnn python=3.11 pip && conda activate curso-cnn
{cpu}
pip install {wheel}
jupyter lab {notebooks}/
```

{h}# Antes de clase y en clase

- `cnn-course info` (`.venv/bin/cnn-course` o `.venv\\Scripts\\cnn-course`) dice qué hay
  instalado, qué datos faltan y cuál es la carpeta de datos del curso: una por usuario, la misma
  desde cualquier carpeta (Jupyter y la terminal la comparten; la variable de entorno
  `CNN_COURSE_DATA` la cambia). `cnn-course download fashion-mnist` descarga allí los datos
  antes de clase. Sin red, el curso usa una pequeña muestra real de Fashion-MNIST incluida en el
  paquete: las 3.000 imágenes de entrenamiento y 1.000 de test del modo rápido.
- Ejecuta los cuadernos en orden, celda a celda.
- En un portátil lento, el **modo rápido** (subconjuntos pequeños y pocas épocas) se activa con
  la variable de entorno `CNN_COURSE_QUICK=1` antes de abrir Jupyter:
  - Linux y macOS: `CNN_COURSE_QUICK=1 .venv/bin/jupyter lab {notebooks}/`
  - Windows, PowerShell: `$env:CNN_COURSE_QUICK=1` y después
    `.venv\\Scripts\\jupyter lab {notebooks}`
  - Windows, «Símbolo del sistema»: `set CNN_COURSE_QUICK=1` y después
    `.venv\\Scripts\\jupyter lab {notebooks}`
  - conda: `conda env config vars set CNN_COURSE_QUICK=1` y vuelve a activar el entorno.
"""


def colab_install_cell(repo_url: str) -> nbformat.NotebookNode:
    """The code cell that installs the library from ``repo_url`` in Google Colab and does
    nothing anywhere else (tagged ``colab-install``)."""
    source = ("# En Google Colab, instala la biblioteca del curso; fuera de Colab no hace nada.\n"
              "import sys\n\n"
              'if "google.colab" in sys.modules:\n'
              f'    %pip install --quiet "cnn_course @ git+{repo_url.rstrip("/")}"')
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [COLAB_TAG]})
    cell.id = "colab-install"
    return cell


def with_colab_install(nb: nbformat.NotebookNode, repo_url: str) -> nbformat.NotebookNode:
    """``nb`` with ``colab_install_cell`` as its first code cell (after the title cell)."""
    at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(at, colab_install_cell(repo_url))
    return nb


def build_bundle(out: Path | str, notebooks: list[Path], wheel: Path | str) -> Path:
    """Write the zip ``out``: ``curso-cnn/`` holding ``notebooks`` in ``cuadernos/``, the
    ``wheel`` and ``LEEME.md`` (``getting_started``). Returns ``out``."""
    out, wheel = Path(out), Path(wheel)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{BUNDLE_FOLDER}/{GETTING_STARTED_NAME}", getting_started(wheel.name))
        bundle.write(wheel, f"{BUNDLE_FOLDER}/{wheel.name}")
        for path in notebooks:
            bundle.write(path, f"{BUNDLE_FOLDER}/{NOTEBOOKS_FOLDER}/{path.name}")
    return out
