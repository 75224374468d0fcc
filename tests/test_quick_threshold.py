"""The quick-mode threshold of check 06a.4 passes the reference solution at its worst measured
seed (``benchmarks/quick_threshold.py`` measured it; the script is imported from its path), on
the images quick mode uses online or offline (about 10 s on one thread)."""

import importlib.util
from pathlib import Path

import torch

from cnn_course import config, datasets, exercises
from cnn_course.exercise_checks.assignment import QUICK_ACCURACY

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "quick_threshold.py"


def _script():
    spec = importlib.util.spec_from_file_location("quick_threshold", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_at_the_worst_measured_seed_passes_06a_4(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    bench = _script()
    data = datasets.load_fashion_mnist()
    assert (len(data.train), len(data.test)) == (3000, 1000)   # the same online and offline
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, history = bench.train_reference(bench.WORST_SEED, data)
    finally:
        torch.set_num_threads(threads)
    assert config.quick_mode() and len(history["test_acc"]) == 2
    assert history["test_acc"][-1] >= QUICK_ACCURACY
    result = exercises.check("06a.4", (model, history))
    assert result.passed, result.message
