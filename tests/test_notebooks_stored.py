"""The notebooks' stored outputs come from a full-mode run.

Every notebook's first code cell prints ``config.run_info()``, which names the mode. Outputs
stored from quick mode (3,000 images, 1-2 epochs) would show students figures the prose does not
describe, so a notebook may keep them only if it is listed in ``QUICK_ALLOWED`` and the README
says why (none is, today).
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
QUICK_ALLOWED: set[str] = set()     # notebook file names; each needs its reason in the README


def stored_mode(notebook: dict) -> str | None:
    """The mode named by the stored output of the first code cell ("full", "quick"), or None."""
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    if not cells:
        return None
    for output in cells[0].get("outputs", []):
        text = "".join(output.get("text", []))
        for field in text.split("|"):
            name, _, value = field.strip().partition(": ")
            if name == "mode" and value:
                return value.split()[0]
    return None


def _first_cell(lines: str) -> dict:
    return {"cells": [{"cell_type": "markdown", "source": "# x"},
                      {"cell_type": "code", "source": "print(run_info())",
                       "outputs": [{"output_type": "stream", "name": "stdout", "text": lines}]}]}


def test_stored_mode_reads_run_info_lines():
    full = "cnn_course 0.1.0 | mode: full | device: cpu (2 threads) | torch 2.14.1\n"
    quick = "cnn_course 0.1.0 | mode: quick (CNN_COURSE_QUICK=1) | device: cpu (1 threads)\n"
    assert stored_mode(_first_cell(full)) == "full"
    assert stored_mode(_first_cell(quick)) == "quick"
    assert stored_mode(_first_cell("hello\n")) is None
    assert stored_mode({"cells": []}) is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_stored_outputs_come_from_full_mode(path: Path):
    mode = stored_mode(json.loads(path.read_text(encoding="utf-8")))
    refresh = (f"execute it in full mode from the repository root: env -u CNN_COURSE_QUICK "
               f"-u MPLBACKEND .venv/bin/jupyter nbconvert --to notebook --execute --inplace "
               f"notebooks/{path.name}")
    assert mode is not None, (f"{path.name}: its first code cell has no stored run_info() line; "
                              f"{refresh}")
    if path.name in QUICK_ALLOWED:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert path.name in readme, f"{path.name} keeps quick-mode outputs: say why in the README"
        return
    assert mode == "full", f"{path.name}: its stored outputs come from {mode} mode; {refresh}"
