import json

from cnn_course import downloads
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
    assert "final test accuracy" in capsys.readouterr().out


def test_download_without_any_source_fails_clearly(no_data, capsys):
    assert cli.main(["download", "fashion-mnist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnn-course: Fashion-MNIST was not found")
    assert "apt-get install dataset-fashion-mnist" in err


def test_download_prepares_from_debian(tmp_path, sample_gz_dir, any_size, monkeypatch, capsys):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path / "d"))
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", sample_gz_dir)
    assert cli.main(["download", "fashion-mnist"]) == 0
    assert "from debian" in capsys.readouterr().out


def test_info_lists_device_and_data(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "device:" in out and "Fashion-MNIST" in out and "data dir" in out
