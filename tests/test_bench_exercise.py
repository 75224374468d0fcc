"""benchmarks/bench_exercise.py: both pipelines run, start from the same weights, and compute the
same figures; the summary, the report and the JSON hold what benchmarks/README.md's table needs.

The benchmark is a script, not a module of the package: it is imported from its path. Runs on
the shipped sample (the ``no_data`` fixture hides any full set), a few hundred images, 1 epoch.
"""

import importlib.util
import json
import math
from pathlib import Path

import pytest
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from cnn_course.datasets import TensorBatches

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_exercise.py"
TRAIN, TEST = 320, 200


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_exercise", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def runs(bench, no_data):
    """One run of each pipeline, in this process, on the sample."""
    return [bench.run_pipeline(p, epochs=1, seed=0, threads=1, train_size=TRAIN, test_size=TEST)
            for p in bench.PIPELINES]


def test_same_batches_give_the_same_figures(bench, no_data):
    """Fed the same batches in the same order, the library's ``fit`` (channels_last, evaluation
    in batches of 256) gives the slides' loop's figures up to float rounding."""
    root, source = bench.find_data()
    assert source == "sample"
    data = bench.slides_data(root, TRAIN, TEST)
    model, optimizer = bench.new_model(seed=0, threads=1)
    slides = bench.slides_fit(model, optimizer, data, epochs=1)
    # new_model reseeds the global generator, from which DataLoader draws the same order again
    model, optimizer = bench.new_model(seed=0, threads=1)
    train_loader, _, test_set = data
    # the slides' loop wraps its DataLoader in tqdm, whose start draws from torch's generator
    # before the shuffle does; the library's loop has no bar, so it gets the same (silent) one
    loaders = (tqdm(train_loader, disable=True), DataLoader(train_loader.dataset, batch_size=256),
               TensorBatches(*test_set, 256))
    library = bench.library_fit(model, optimizer, loaders, epochs=1)
    for key in ("train_loss", "test_loss"):
        assert library[key][0] == pytest.approx(slides[key][0], abs=1e-3), key
    assert library["train_acc"][0] == pytest.approx(slides["train_acc"][0], abs=2 / TRAIN)
    assert library["test_acc"][0] == pytest.approx(slides["test_acc"][0], abs=2 / TEST)


def test_both_pipelines_same_data_same_start(bench, runs):
    slides, library = runs
    for key in ("data_source", "train_size", "test_size", "init_weights", "threads"):
        assert slides[key] == library[key], key
    assert (slides["train_size"], slides["test_size"]) == (TRAIN, TEST)
    assert slides["data_source"] == "sample"
    for run in runs:
        history = run["history"]
        assert all(len(history[key]) == 1 for key in bench.FIGURES + bench.SECONDS)
        assert all(math.isfinite(history[key][0]) for key in ("train_loss", "test_loss"))
        assert all(0 <= history[key][0] <= 1 for key in ("train_acc", "test_acc"))
        assert history["train_time"][0] > 0 and history["eval_time"][0] > 0
        assert run["peak_rss_mib"] >= run["rss_before_epochs_mib"] > 0


def test_different_seeds_give_different_weights(bench):
    first = bench.fingerprint(bench.new_model(seed=0, threads=1)[0])
    assert first == bench.fingerprint(bench.new_model(seed=0, threads=1)[0])
    assert first != bench.fingerprint(bench.new_model(seed=1, threads=1)[0])


def test_summary_report_and_json(bench, runs, tmp_path):
    summary = bench.summarize(runs)
    for pipeline in bench.PIPELINES:
        entry = summary["pipelines"][pipeline]
        assert set(entry) >= {"train_s", "eval_s", "epoch_s", "setup_s", "peak_rss_mib",
                              "rss_before_epochs_mib", "figures"}
        assert entry["epoch_s"] == pytest.approx(entry["train_s"] + entry["eval_s"])
        assert set(entry["figures"]) == set(bench.FIGURES)
    assert set(summary["ratio"]) == {"epoch_s", "train_s", "eval_s", "peak_rss_mib"}
    slides, library = (summary["pipelines"][p] for p in bench.PIPELINES)
    assert summary["ratio"]["epoch_s"] == pytest.approx(slides["epoch_s"] / library["epoch_s"])
    text = bench.report(summary)
    assert "shipped with cnn_course" in text and "a/b" in text
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(summary))
    assert json.loads(path.read_text())["init_weights"] == runs[0]["init_weights"]


def test_summary_refuses_runs_on_different_data(bench, runs):
    other = dict(runs[1], train_size=TRAIN + 1)
    with pytest.raises(ValueError, match="train_size"):
        bench.summarize([runs[0], other])


def test_runs_alternate(bench):
    assert bench.order_of_runs(2) == ["slides", "library", "library", "slides"]


def test_worker_writes_its_result(bench, no_data, tmp_path):
    out = tmp_path / "worker.json"
    bench.main(["--worker", "library", "--worker-out", str(out), "--threads", "1",
                "--train-size", "64", "--test-size", "32"])
    result = json.loads(out.read_text())
    assert (result["pipeline"], result["train_size"], result["test_size"]) == ("library", 64, 32)
