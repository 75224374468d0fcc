"""Test-wide settings: quick mode, a non-interactive matplotlib, and the checkout's own data
folder, for tests and notebooks.

The notebooks' kernels inherit this environment, so `pytest` runs every notebook in quick mode;
``CNN_COURSE_DATA`` pins the data folder to this checkout's ``data/`` (what the library picks in
a checkout anyway), so a run of the tests never writes into the per-user data folder of the
person running them, whichever way the package was installed.
"""

import os
from pathlib import Path

os.environ.setdefault("CNN_COURSE_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CNN_COURSE_DATA", str(Path(__file__).resolve().parent / "data"))
