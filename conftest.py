"""Test-wide settings: quick mode and a non-interactive matplotlib, for tests and notebooks.

The notebooks' kernels inherit this environment, so `pytest` runs every notebook in quick mode.
"""

import os

os.environ.setdefault("CNN_COURSE_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
