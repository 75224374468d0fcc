"""Stored outputs: ``cnn-course execute`` runs a notebook top to bottom and stores what it
printed and drew, the way every notebook's outputs in the repository were made."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from ..downloads import atomic_write

__all__ = ["execute_notebook", "write_notebook"]


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Write ``nb`` to ``path`` atomically (a failure leaves no half-written file)."""
    with atomic_write(path) as tmp:
        nbformat.write(nb, tmp)
    return path


# What a stored run must not inherit (quick mode, a non-interactive matplotlib that keeps the
# figures out of the notebook, what tells the class panels a live Jupyter shows widgets: run
# from a notebook's `!` its kernel would store them) and what it must set (no progress bars: a
# stored bar reads 0 %).
_STORED_RUN_UNSET = ("CNN_COURSE_QUICK", "MPLBACKEND", "JPY_SESSION_NAME", "CNN_COURSE_PANELS")
_STORED_RUN_SET = {"TQDM_DISABLE": "1"}


def execute_notebook(path: Path | str, timeout: int | None = None) -> Path:
    """Run notebook ``path`` top to bottom and store its outputs in place, the file replaced
    only once the whole run succeeded (else nbclient's CellExecutionError). The kernel starts in
    the notebook's folder with quick mode and ``MPLBACKEND`` unset and progress bars off; widget
    state saved by an earlier run is dropped."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)   # an earlier run's widget state: nothing of it is shown
    env = {k: v for k, v in os.environ.items() if k not in _STORED_RUN_UNSET} | _STORED_RUN_SET
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    return write_notebook(nb, path)
