import argparse
import json
import os
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

import nbformat
import pytest

from cnn_course import datasets, downloads
from cnn_course.tools import cli


def test_train_quick_writes_history_curves_checkpoint(tmp_path, capsys):
    code = cli.main(["train", "--quick", "--epochs", "1", "--name", "t", "--runs-dir",
                     str(tmp_path)])
    assert code == 0
    run = tmp_path / "t"
    assert {p.name for p in run.iterdir()} == {"history.json", "recipe.json", "curves.png",
                                              "checkpoint.pt"}
    history = json.loads((run / "history.json").read_text())
    recipe = json.loads((run / "recipe.json").read_text())
    assert len(history["test_acc"]) == 1 and recipe["optimizer"] == "Adagrad"
    assert recipe["batch_size"] == 32 and recipe["quick"] is True
    out = capsys.readouterr().out
    assert "tasa de aciertos final en test: 0," in out      # Spanish, the prose's decimal comma
    assert "3.000 imágenes de entrenamiento" in out          # and its thousands point


def test_download_without_any_source_fails_clearly(no_data, capsys):
    assert cli.main(["download", "fashion-mnist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnn-course: Fashion-MNIST no está")
    assert "apt-get install dataset-fashion-mnist" in err


def test_download_prepares_from_debian(tmp_path, sample_gz_dir, any_size, monkeypatch, capsys):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path / "d"))
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", sample_gz_dir)
    assert cli.main(["download", "fashion-mnist"]) == 0
    assert "origen: el paquete de Debian" in capsys.readouterr().out


def test_info_lists_device_and_data(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "dispositivo:" in out and "Fashion-MNIST" in out and "carpeta de datos" in out


# ---------------------------------------------------------------- arguments checked first
@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command starts loading data, downloading or building."""
    def work(*args, **kwargs):
        raise AssertionError("the command started working before checking its arguments")
    for module, name in ((datasets, "load_fashion_mnist"), (downloads, "prepare_fashion_mnist"),
                         (downloads, "download_cats_dogs"), (downloads, "download_vgg16_weights")):
        monkeypatch.setattr(module, name, work)


def _refused(argv, capsys) -> str:
    """The one line a wrong argument gets (exit code 2, nothing on stdout)."""
    assert cli.main(argv) == 2, argv
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, (argv, out, err)
    assert err.startswith("cnn-course") and "error:" in err, err
    return err


@pytest.mark.parametrize("argv, fix", [
    (["train", "--epochs", "0"], "1 o más"),
    (["train", "--epochs", "-3"], "1 o más"),
    (["train", "--epochs", "dos"], "no es un número entero"),
    (["train", "--batch-size", "0"], "1 o más"),
    (["train", "--lr", "0"], "mayor que 0"),
    (["train", "--lr", "-0.1"], "mayor que 0"),
    (["train", "--lr", "inf"], "mayor que 0"),
    (["train", "--threads", "0"], "1 o más"),
    (["train", "--seed", "-1"], "de 0 a 4294967295"),
    (["train", "--device", "tpu"], "usa 'auto', 'cpu'"),
    (["train", "--data-dir", "/dev/null"], "no es una carpeta"),
    (["train", "--runs-dir", "/dev/null/runs"], "/dev/null es un archivo"),
    (["train", "--name", "a/b"], "no lleva '/'"),
    (["train", "--model", "vgg"], "elige entre 'cnn', 'mlp'"),
    (["train", "--bogus"], "argumentos desconocidos: --bogus"),
    (["site", "--out", "/dev/null"], "no es una carpeta"),
    (["site", "--notebooks", "/no/such/folder"], "no existe"),
    (["handout", "--out", __file__], "no es una carpeta"),
    (["handout", "--notebooks", __file__], "es un archivo"),
    (["execute", "/no/such/notebook.ipynb"], "no existe"),
    (["execute", __file__], "no es un cuaderno de Jupyter"),
    (["execute"], "faltan argumentos"),
    (["download", "mnist"], "elige entre 'cats-dogs'"),
    (["download", "cats-dogs", "--url", "servidor/gatos.zip"], "no es una URL"),
    (["download", "vgg16", "--url", "https://example.org/vgg16.pth"], "quita --url"),
    (["entrena"], "elige entre 'train'"),
    ([], "faltan argumentos"),
])
def test_a_wrong_argument_gets_one_spanish_line_and_exit_2_before_any_work(argv, fix, no_work,
                                                                         capsys):
    assert fix in _refused(argv, capsys)


def test_train_never_overwrites_a_run(tmp_path, no_work, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "history.json").write_text("{}")
    err = _refused(["train", "--name", "mine", "--runs-dir", str(tmp_path)], capsys)
    assert "ya existe" in err and "--name" in err
    assert (tmp_path / "mine" / "history.json").read_text() == "{}"


def test_a_cuda_device_this_machine_lacks_is_refused_first(no_work, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert "no está disponible" in _refused(["train", "--device", "cuda"], capsys)


def test_help_is_spanish(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("uso: cnn-course") and "opciones:" in out and "órdenes:" in out
    assert "muestra esta ayuda" in out and "usage:" not in out
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "tasa de aprendizaje" in out and "options:" not in out


# ---------------------------------------------------------------- the students' install
# Every command, as in an environment made from the course's wheel alone (its dependencies,
# no extras): every module this environment has beyond them is made unimportable.

ROOT = Path(__file__).resolve().parents[1]


def _needed_distributions() -> set[str]:
    """The distributions the wheel's dependencies pull in (pyproject's, then theirs, with the
    extras they ask for: nbconvert's ``bleach[css]``), by normalised name."""
    import importlib.metadata as metadata

    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    todo = [(Requirement(r), "") for r in
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    seen: set[tuple[str, str]] = set()
    while todo:
        requirement, extra = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, extra) in seen or (requirement.marker
                                     and not requirement.marker.evaluate({"extra": extra})):
            continue
        seen.add((name, extra))
        with suppress(metadata.PackageNotFoundError):
            requires = [Requirement(r) for r in metadata.requires(name) or []]
            todo += [(r, e) for r in requires for e in {"", *requirement.extras}]
    return {name for name, _ in seen}


def _students_site(folder: Path) -> Path:
    """``folder`` holding links to what those distributions installed (their packages, modules
    and metadata) and nothing else: the site-packages of a wheel-only install."""
    import importlib.metadata as metadata

    from packaging.utils import canonicalize_name

    needed = _needed_distributions()
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) not in needed:
            continue
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] != ".."}:
            source, link = Path(dist.locate_file(top)), folder / top
            if source.exists() and not link.exists():
                link.symlink_to(source)
    return folder


@pytest.fixture(scope="module")
def student_cli(tmp_path_factory):
    """Run ``cnn-course ARGS`` with only the wheel's dependencies importable (``python -S``:
    no site-packages but the linked ones)."""
    site = _students_site(tmp_path_factory.mktemp("site-packages"))
    assert (site / "torch").exists() and (site / "nbclient").exists()   # the course's, jupyter's
    assert not any((site / m).exists() for m in ("sphinx", "myst_nb", "markdown_it", "pytest"))
    home = tmp_path_factory.mktemp("student")

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}",
               "CNN_COURSE_DATA": str(home / "data"), "OMP_NUM_THREADS": "1",
               "TQDM_DISABLE": "1"}
        return subprocess.run([sys.executable, "-S", "-m", "cnn_course.tools.cli", *args],
                              cwd=home, env=env, capture_output=True, text=True, timeout=300)
    run.home = home
    return run


def _commands() -> list[str]:
    sub = next(a for a in cli.build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def test_every_command_s_help_works_in_the_students_install(student_cli):
    commands = _commands()
    assert set(commands) >= {"train", "download", "info", "site", "handout", "execute", "grade"}
    for command in ["", *commands]:
        done = student_cli(*([command] if command else []), "--help")
        assert done.returncode == 0 and done.stdout.startswith("uso: cnn-course"), done.stderr
        assert "Traceback" not in done.stderr


def test_every_command_works_or_names_the_extra_in_the_students_install(student_cli):
    home = student_cli.home
    notebook = home / "uno.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]),
                   notebook)
    calls = {
        "info": ["info"],
        "train": ["train", "--quick", "--epochs", "1", "--threads", "1", "--name", "t"],
        "download": ["download", "fashion-mnist"],
        "handout": ["handout", "--notebooks", str(ROOT / "notebooks"), "--out", "h"],
        "execute": ["execute", str(notebook)],
        "site": ["site", "--out", "s"],
        "grade": ["grade", str(notebook), "--out", "g", "--timeout", "120"],
    }
    assert set(calls) == set(_commands()), "a new command needs a real call here"
    for command, args in calls.items():
        done = student_cli(*args)
        assert "Traceback" not in done.stderr, f"{command}: {done.stderr}"
        if command == "site":   # needs the site extra: one line naming it, exit code 2
            assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
            assert 'pip install "cnn_course[site]"' in done.stderr
        elif command == "download":   # offline without Debian's package: its message, exit 2
            assert done.returncode in (0, 2), done.stderr
        else:
            assert done.returncode == 0, f"{command}: {done.stderr}"
    assert (home / "data" / "runs" / "t" / "checkpoint.pt").is_file()   # the data folder's runs/
    assert "42" in notebook.read_text() and any((home / "h").glob("06a*.ipynb"))
    assert (home / "g" / "grades.csv").is_file()
