"""Handouts (solutions removed, still runnable), the course map, and the commands that make them.

The website itself is checked in a browser in test_site.py.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnn_course import exercises
from cnn_course.tools import cli, course_map, site
from cnn_course.tools import handouts as handout_tools

NOTEBOOKS = course_map.default_notebooks_dir()
SOLUTION_NOTEBOOKS = {"06b_ejercicio_solucion.ipynb"}   # 06a is its handout
HANDED_OUT = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in SOLUTION_NOTEBOOKS)
DETAILS = re.compile(r"<details[^>]*>\s*<summary[^>]*>\s*Soluci.*?</details>", re.DOTALL)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _solution_texts(nb) -> list[str]:
    """Every piece of solution text in a notebook: tagged cells and Soluciones blocks."""
    texts = [c.source for c in nb.cells if handout_tools.SOLUTION_TAG in _tags(c)]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            texts += DETAILS.findall(cell.source)
    return [t for t in texts if t.strip()]


@pytest.fixture(scope="module")
def handouts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("handouts")
    handout_tools.make_handouts(out)
    return out


def test_every_notebook_but_the_solution_has_a_handout(handouts):
    assert sorted(p.name for p in handouts.glob("*.ipynb")) == HANDED_OUT
    assert all(handout_tools.is_solution_notebook(nbformat.read(NOTEBOOKS / n, as_version=4))
               for n in SOLUTION_NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_every_notebook_carries_its_identity(name):
    identity = nbformat.read(NOTEBOOKS / name, as_version=4).metadata["cnn_course"]
    number = name.split("_")[0]
    assert identity["notebook"] == number and identity["version"] == "curso"
    ids = [e.id for e in exercises.exercises_of("06a" if number == "06b" else number)]
    assert identity["exercises"] == ids and len(ids) >= 2


@pytest.mark.parametrize("name", HANDED_OUT)
def test_handout_carries_its_identity_and_says_what_to_write(handouts, name):
    handout = nbformat.read(handouts / name, as_version=4)
    identity = handout.metadata["cnn_course"]
    assert identity["version"] == "hoja" and identity["hash"] == handout_tools.cells_hash(handout)
    text = "\n".join(c.source for c in handout.cells)
    for id in identity["exercises"]:
        exercise = exercises.EXERCISES[id]
        assert handout_tools.placeholder(exercise.solution) in text
        assert exercise.statement.split()[-1] in handout_tools.placeholder(exercise.solution)
        assert f'comprueba("{id}", {exercise.answer})' in text


def test_the_course_has_solutions_to_remove():
    found = {p.name: _solution_texts(nbformat.read(p, as_version=4))
             for p in NOTEBOOKS.glob("*.ipynb")}
    assert sum(len(t) for t in found.values()) >= 10, found
    assert any(handout_tools.SOLUTION_TAG in _tags(c)
               for p in NOTEBOOKS.glob("*.ipynb")
               for c in nbformat.read(p, as_version=4).cells), "no cell is tagged 'solution'"


@pytest.mark.parametrize("name", HANDED_OUT)
def test_handout_holds_no_solution_text(handouts, name):
    original = nbformat.read(NOTEBOOKS / name, as_version=4)
    handout = nbformat.read(handouts / name, as_version=4)
    nbformat.validate(handout)
    text = "\n".join(c.source for c in handout.cells)
    for solution in _solution_texts(original):
        assert solution.strip() not in text
    assert not DETAILS.search(text)
    assert not any(handout_tools.SOLUTION_TAG in _tags(c) for c in handout.cells)
    tagged_code = [c for c in original.cells
                   if c.cell_type == "code" and handout_tools.SOLUTION_TAG in _tags(c)]
    blanks = [c for c in handout.cells if c.cell_type == "code" and c.source in
              {handout_tools.placeholder(t.source) for t in tagged_code}]
    assert len(blanks) == len(tagged_code)
    assert all(c.cell_type == "code" and not c.outputs for c in blanks)
    assert not any(c.outputs for c in handout.cells if "comprueba(" in c.source)


@pytest.mark.parametrize("name", HANDED_OUT)
def test_handout_keeps_the_statements(handouts, name):
    original = nbformat.read(NOTEBOOKS / name, as_version=4)
    handout = nbformat.read(handouts / name, as_version=4)
    kept = [c for c in original.cells if handout_tools.SOLUTION_TAG not in _tags(c)
            and DETAILS.sub("", c.source).strip()]
    assert len(handout.cells) == len(kept) + sum(
        c.cell_type == "code" and handout_tools.SOLUTION_TAG in _tags(c) for c in original.cells)
    text = " ".join("\n".join(c.source for c in handout.cells).split())
    for cell in kept:
        assert " ".join(DETAILS.sub("", cell.source).split()) in text


def _synthetic_notebook() -> nbformat.NotebookNode:
    stdout = new_output("stream", name="stdout", text="42\n")
    return new_notebook(cells=[
        new_markdown_cell("## Ejercicio\n\nCalcula 6 × 7.\n\n<details>\n<summary>Pista</summary>"
                          "\nMultiplica.\n</details>"),
        new_code_cell("answer = 6 * 7\nprint(answer)", outputs=[stdout],
                      metadata={"tags": ["solution"]}),
        new_markdown_cell("La respuesta es 42 porque 6 × 7 = 42.", metadata={"tags": ["solution"]}),
        new_markdown_cell("Preguntas.\n\n<details>\n<summary> Solución </summary>\n\nEs 42.\n"
                          "</details>\n\nY después, otra pregunta."),
        new_markdown_cell("<details open><summary>Soluciones</summary>Todas.</details>"),
        new_code_cell("x = 1", outputs=[new_output("stream", name="stdout", text="kept\n")]),
    ])


def test_remove_solutions_on_a_synthetic_notebook(tmp_path):
    source = tmp_path / "ejercicio.ipynb"
    nbformat.write(_synthetic_notebook(), source)
    handout = nbformat.read(handout_tools.make_handout(source, tmp_path / "out" / "e.ipynb"), 4)
    sources = [c.source for c in handout.cells]
    assert sources == [
        "## Ejercicio\n\nCalcula 6 × 7.\n\n<details>\n<summary>Pista</summary>\nMultiplica."
        "\n</details>",
        handout_tools.STUDENT_PLACEHOLDER,
        "Preguntas.\n\nY después, otra pregunta.",
        "x = 1",
    ]
    assert handout.cells[1].outputs == [] and handout.cells[1].metadata == {}
    assert handout.cells[-1].outputs[0].text == "kept\n"
    assert "42" not in "".join(sources[1:])
    assert list(tmp_path.joinpath("out").iterdir()) == [tmp_path / "out" / "e.ipynb"]


def test_handouts_refuse_to_overwrite_the_notebooks(tmp_path):
    nbformat.write(_synthetic_notebook(), tmp_path / "00_x.ipynb")
    with pytest.raises(ValueError, match="sobrescribirían los de"):
        handout_tools.make_handouts(tmp_path, tmp_path)


@pytest.mark.parametrize("name", ["03_relleno_y_avance.ipynb", "06a_ejercicio_enunciado.ipynb"])
def test_a_handout_runs_with_nothing_filled_in(handouts, tmp_path, monkeypatch, name):
    """Top to bottom in quick mode: every check of an unanswered exercise says so."""
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(handouts / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "comprueba(" in c.source]
    assert len(checks) == len(nb.metadata["cnn_course"]["exercises"])
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "sin resolver todavía" in text, (cell.source, text)


def _student_edit(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("mi_trabajo = 1"))
    nbformat.write(nb, path)


def test_handout_again_never_overwrites_a_students_work(tmp_path, capsys):
    out = tmp_path / "hojas"
    first = handout_tools.make_handouts(out)
    assert not first.beside and len(first) == len(HANDED_OUT)
    mine, untouched = out / HANDED_OUT[3], out / HANDED_OUT[4]
    _student_edit(mine)
    before = mine.read_bytes()
    untouched.write_text(untouched.read_text().replace('"version": "hoja"', '"version":"hoja"'))
    again = handout_tools.make_handouts(out)
    new = mine.with_name(mine.stem + handout_tools.NEW_SUFFIX)
    assert mine.read_bytes() == before and again.beside == {mine: new} and new in again
    assert untouched in again and "mi_trabajo" not in new.read_text()   # refreshed in place
    _student_edit(new)
    with pytest.raises(ValueError, match="cambios tuyos"):
        handout_tools.make_handouts(out)
    assert mine.read_bytes() == before and "mi_trabajo" in new.read_text()
    assert cli.main(["handout", "--out", str(out)]) == 2
    assert "cambios tuyos" in capsys.readouterr().err


def test_course_map_reads_every_notebook_header():
    infos = course_map.course_map()
    assert [i.path.name for i in infos] == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert len({i.number for i in infos}) == len(infos)
    for info in infos:
        assert info.path.name.startswith(info.number + "_"), info
        assert info.title and info.objectives and info.time and info.slides, info
        assert "minuto" in info.time or "hora" in info.time, info
        assert info.minutes and 5 <= info.minutes <= 180, info
    assert any(i.long_run for i in infos), "no notebook flags a long training run"


def test_notebook_info_parses_a_header(tmp_path):
    header = ("# 03 · Relleno y avance\n\n**Objetivos**\n- Uno,\n  largo.\n- Dos.\n\n"
              "**Tiempo**: unos 25 minutos; la ejecución tarda 1.5 s.\n\n**Requisitos**: 02.")
    nbformat.write(new_notebook(cells=[new_markdown_cell(header)]), tmp_path / "03_r.ipynb")
    info = course_map.notebook_info(tmp_path / "03_r.ipynb")
    assert (info.number, info.title, info.time) == ("03", "Relleno y avance", "unos 25 minutos")
    assert info.objectives == "- Uno,\n  largo.\n- Dos."
    assert info.slides == course_map.SLIDE_SECTIONS["03"]
    assert (info.minutes, info.long_run) == (25, "")


def test_notebook_info_reads_minutes_and_a_long_run(tmp_path):
    header = ("# 06b · Solución\n\n**Objetivos**\n- Uno.\n\n**Tiempo**: unas 2 horas de trabajo. "
              "El entrenamiento tarda entre 8 y\n15 minutos en una CPU.\n\n**Requisitos**: 06.")
    nbformat.write(new_notebook(cells=[new_markdown_cell(header)]), tmp_path / "06b_s.ipynb")
    info = course_map.notebook_info(tmp_path / "06b_s.ipynb")
    assert (info.minutes, info.long_run) == (120, "8–15 min")


def test_notebook_without_a_title_is_named_in_the_error(tmp_path):
    nbformat.write(new_notebook(cells=[new_markdown_cell("Sin título")]), tmp_path / "x.ipynb")
    with pytest.raises(ValueError, match=r"x\.ipynb.*# 03 · "):
        course_map.course_map(tmp_path)


def test_cli_handout_writes_the_students_notebooks(tmp_path, capsys):
    assert cli.main(["handout", "--out", str(tmp_path / "h")]) == 0
    assert sorted(p.name for p in (tmp_path / "h").glob("*.ipynb")) == HANDED_OUT
    assert "sin soluciones" in capsys.readouterr().out
    _student_edit(tmp_path / "h" / HANDED_OUT[0])
    assert cli.main(["handout", "--out", str(tmp_path / "h")]) == 0
    assert "tiene cambios tuyos y no se sobrescribe" in capsys.readouterr().out


def test_cli_site_without_the_tools_says_how_to_install_them(tmp_path, monkeypatch, capsys):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "myst_nb" else real(name, *a))
    assert cli.main(["site", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "myst_nb" in err and site.SITE_EXTRA_INSTALL in err
    assert not (tmp_path / "s").exists()


def test_site_refuses_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(ValueError, match="no está vacía"):
        site.build_site(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "mine"


def test_instructor_site_without_its_guide_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(site, "INSTRUCTOR_GUIDE", Path("docs", "no_existe.md"))
    with pytest.raises(site.SiteBuildError, match=r"no_existe\.md.*carpeta del curso"):
        site.build_site(tmp_path / "s", instructor=True)
    assert not (tmp_path / "s").exists()


def _probe_notebook(path: Path, code: str) -> None:
    nb = new_notebook(cells=[new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_execute_stores_a_full_mode_run_with_figures_and_no_progress_bars(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")  # what pytest sets; the stored run must drop it
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path / "probe.ipynb"
    _probe_notebook(path, "import os\nimport matplotlib.pyplot as plt\n"
                          "from cnn_course import config, training\n"
                          "for _ in training.progress_bar(range(3)):\n    pass\n"
                          "print('quick:', config.quick_mode(), os.getcwd())\n"
                          "plt.plot([0, 1]);")
    assert cli.main(["execute", str(path)]) == 0
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    kinds = [list(o.get("data", {})) or o.output_type for o in outputs]
    assert outputs[0].text == f"quick: False {tmp_path}\n", kinds
    assert any("image/png" in o.get("data", {}) for o in outputs), kinds  # the figure is kept
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                   for o in outputs), kinds  # no bar stored at 0 %
    assert Path.cwd() != tmp_path and os.environ["CNN_COURSE_QUICK"] == "1"


def test_execute_leaves_a_failing_notebook_unchanged(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    _probe_notebook(path, "raise ValueError('roto')")
    before = path.read_bytes()
    assert cli.main(["execute", str(path)]) == 1
    assert path.read_bytes() == before
    assert "queda sin cambios" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb"]   # no temporary file left


def test_course_card_renders_markdown_and_keeps_a_wrapped_sum_in_its_item(tmp_path):
    from cnn_course.tools import landing
    info = course_map.NotebookInfo(
        path=tmp_path / "03_r.ipynb", number="03", title="Relleno (*padding*)",
        objectives="- Pesar 0,299 R + 0,587 G\n  + 0,114 B.\n- Las matrices $I_R$.",
        time="unos 25 minutos", slides="Relleno", minutes=25, long_run="8–15 min")
    card = landing.course_card(info, "https://colab.example/03_r.ipynb")
    assert "03 · Relleno (<em>padding</em>)" in card and "*" not in card
    assert card.count("<li>") == 2 and "0,587 G + 0,114 B." in card   # not a nested bullet
    assert "<i>I</i><sub>R</sub>" in card and "25 min" in card and "8–15 min" in card
    assert 'href="descargas/03_r.ipynb"' in card and "Abrir en Colab" in card


def test_colab_links_only_for_github():
    from cnn_course.tools import landing
    assert landing.colab_url("https://github.com/a/b.git", "gh-pages", "x.ipynb") == \
        "https://colab.research.google.com/github/a/b/blob/gh-pages/descargas/x.ipynb"
    assert landing.colab_url("https://gitlab.com/a/b", "main", "x.ipynb") is None


def test_colab_cell_installs_only_in_colab():
    from cnn_course.tools import bundle
    nb = new_notebook(cells=[new_markdown_cell("# 00 · T"), new_code_cell("import os")])
    bundle.with_colab_install(nb, "https://github.com/a/b/")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    source = nb.cells[1].source
    assert 'if "google.colab" in sys.modules:' in source
    assert '%pip install --quiet "cnn_course @ git+https://github.com/a/b"' in source
    from IPython.core.inputtransformer2 import TransformerManager
    namespace = {"get_ipython": lambda: pytest.fail("ran %pip outside Colab")}
    exec(TransformerManager().transform_cell(source), namespace)   # does nothing here
