"""images: reading image files as RGB, ImageNet normalisation, the slides' CatsDogs dataset
over class folders in several layouts, and the offline stand-in folders."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from cnn_course import downloads, images
from cnn_course.downloads import DatasetNotFoundError
from cnn_course.images import CatsDogs, UnreadableImageError

RED_NORMALISED = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225]


def _write(path: Path, image: np.ndarray) -> Path:
    """Write an image (OpenCV's BGR / BGRA / gray order) to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def _colour(bgr, size=(40, 30)) -> np.ndarray:
    return np.full((*size, 3), bgr, dtype=np.uint8)


@pytest.fixture
def folder(tmp_path) -> Path:
    """cats/ with JPEG, PNG, grayscale and RGBA files; dogs/ with JPEGs and a text file."""
    root = tmp_path / "pets"
    _write(root / "cats" / "cat.1.jpg", _colour((0, 0, 255)))
    _write(root / "cats" / "cat.2.png", _colour((255, 0, 0)))
    _write(root / "cats" / "cat.3.png", np.full((50, 20), 128, dtype=np.uint8))  # grayscale
    rgba = np.zeros((30, 30, 4), dtype=np.uint8)
    rgba[..., 1], rgba[..., 3] = 255, 100
    _write(root / "cats" / "cat.4.png", rgba)
    for i in range(4):
        _write(root / "dogs" / f"dog.{i}.JPG", _colour((0, 60 * i, 0)))
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


# ---------------------------------------------------------------- reading images


def test_items_are_normalised_float_images_and_float_targets(folder):
    ds = CatsDogs(folder)
    assert len(ds) == 8 and ds.classes == ("cats", "dogs")
    assert sorted(ds.targets) == [0] * 4 + [1] * 4
    assert repr(ds) == f"CatsDogs(8 imágenes en '{folder}'; cats: 4, dogs: 4)"
    for i in range(len(ds)):
        image, target = ds[i]
        assert image.shape == (3, 224, 224) and image.dtype == torch.float32
        assert target.shape == (1,) and target.dtype == torch.float32
        assert image.device.type == "cpu"
        assert target.item() == float(ds.fpaths[i].parent.name == "dogs")


def test_a_pure_red_image_is_largest_in_channel_0(tmp_path):
    root = tmp_path / "red"
    _write(root / "cats" / "red.png", _colour((0, 0, 255)))  # OpenCV writes BGR: this is red
    _write(root / "dogs" / "blue.png", _colour((255, 0, 0)))
    ds = CatsDogs(root)
    red, _ = ds[ds.targets.index(0)]
    assert torch.allclose(red.mean(dim=(1, 2)), torch.tensor(RED_NORMALISED), atol=1e-5)
    assert (red[0] > red[1]).all() and (red[0] > red[2]).all()
    blue, _ = ds[ds.targets.index(1)]
    assert (blue[2] > blue[0]).all()


def test_grayscale_rgba_and_png_become_three_channel_rgb(folder):
    gray = images.load_image(folder / "cats" / "cat.3.png")
    rgba = images.load_image(folder / "cats" / "cat.4.png")
    assert gray.shape == (50, 20, 3) and (gray == 128).all()
    assert rgba.shape == (30, 30, 3) and (rgba[..., 1] == 255).all()
    assert gray.dtype == rgba.dtype == np.uint8


def test_unreadable_file_names_itself(folder):
    broken = folder / "dogs" / "dog.9.jpg"
    broken.write_bytes(b"\xff\xd8 this is not really a jpeg")
    (folder / "dogs" / "dog.10.png").write_bytes(b"")
    ds = CatsDogs(folder)
    index = ds.fpaths.index(broken)
    with pytest.raises(UnreadableImageError, match="dog.9.jpg.*skip_unreadable=True"):
        ds[index]


def test_unreadable_files_skipped_on_request_with_a_count(folder):
    (folder / "dogs" / "dog.9.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    (folder / "dogs" / "dog.10.png").write_bytes(b"")
    with pytest.warns(UserWarning, match="2 archivo.s. ilegible"):
        ds = CatsDogs(folder, skip_unreadable=True)
    assert len(ds) == 8 and len(ds.skipped) == 2
    assert all(ds[i][0].shape == (3, 224, 224) for i in range(len(ds)))


def test_empty_class_folder_says_what_it_found(folder):
    for f in (folder / "dogs").glob("*.JPG"):
        f.unlink()
    with pytest.raises(DatasetNotFoundError, match=r"no tiene imágenes.*hay: notes.txt"):
        CatsDogs(folder)


def test_missing_class_folder_lists_the_folders_there(tmp_path):
    _write(tmp_path / "pets" / "cat" / "a.jpg", _colour((1, 2, 3)))
    _write(tmp_path / "pets" / "dogs" / "b.jpg", _colour((1, 2, 3)))
    with pytest.raises(DatasetNotFoundError, match=r"'cats/'.*hay: cat/, dogs/"):
        CatsDogs(tmp_path / "pets")
    with pytest.raises(DatasetNotFoundError, match="no existe.*download cats-dogs"):
        CatsDogs(tmp_path / "nowhere")


def test_limit_takes_a_seeded_balanced_subset(tmp_path):
    for i in range(20):
        _write(tmp_path / "cats" / f"cat.{i}.jpg", _colour((i, 0, 0), (8, 8)))
        _write(tmp_path / "dogs" / f"dog.{i}.jpg", _colour((0, i, 0), (8, 8)))
    a = CatsDogs(tmp_path, limit=5)
    assert len(a) == 10 and a.targets.count(0) == a.targets.count(1) == 5
    assert a.fpaths == CatsDogs(tmp_path, limit=5).fpaths
    assert set(a.fpaths) != set(CatsDogs(tmp_path, limit=5, seed=11).fpaths)
    assert a.targets[:10] != sorted(a.targets[:10])  # shuffled, not cats then dogs
    assert len(CatsDogs(tmp_path, limit=100)) == 40


@pytest.mark.parametrize("layout, split", [
    ("training_set/training_set", "train"),
    ("test_set/test_set", "test"),
    ("train", "train"),
    ("validation", "validation"),
    ("test", "test"),
])
def test_split_layouts(tmp_path, layout, split):
    for name in ("cats", "dogs"):
        _write(tmp_path / layout / name / "x.jpg", _colour((9, 9, 9)))
    assert len(CatsDogs(tmp_path, split=split)) == 2
    if "/" in layout:  # the Kaggle zip's doubled folder is entered by itself
        assert len(CatsDogs(tmp_path / layout.split("/")[0])) == 2


def test_unknown_or_absent_split(tmp_path):
    _write(tmp_path / "train" / "cats" / "x.jpg", _colour((9, 9, 9)))
    with pytest.raises(ValueError, match="split tiene que ser uno de"):
        CatsDogs(tmp_path, split="dev")
    with pytest.raises(DatasetNotFoundError, match=r"No hay partición 'test'.*hay: train/"):
        CatsDogs(tmp_path, split="test")


def test_batches_through_a_dataloader(folder):
    images, targets = next(iter(DataLoader(CatsDogs(folder), batch_size=3)))
    assert images.shape == (3, 3, 224, 224) and targets.shape == (3, 1)


def test_unnormalize_undoes_normalize():
    x = torch.rand(2, 3, 5, 5)
    assert torch.allclose(images.imagenet_unnormalize(images.imagenet_normalize(x)), x,
                          atol=1e-6)


def test_fashion_stand_in_folders(tmp_path):
    dest = images.write_fashion_folders(tmp_path / "shirts", per_class=(100, 50), full=False)
    train = CatsDogs(dest, split="train", classes=images.STAND_IN_FOLDERS)
    test = CatsDogs(dest, split="test", classes=images.STAND_IN_FOLDERS)
    assert (len(train), len(test)) == (200, 100)
    assert images.STAND_IN_FOLDERS == ("t-shirt_top", "shirt")
    image = images.load_image(train.fpaths[0])
    assert image.shape == (224, 224, 3) and train.fpaths[0].suffix == ".jpg"
    stamp = train.fpaths[0].stat().st_mtime_ns
    images.write_fashion_folders(dest, per_class=(100, 50), full=False)  # the same: kept
    assert train.fpaths[0].stat().st_mtime_ns == stamp
    images.write_fashion_folders(dest, per_class=(3, 2), full=False)  # other sizes: rewritten
    assert len(CatsDogs(dest, split="train", classes=images.STAND_IN_FOLDERS)) == 6
    assert len(CatsDogs(dest, split="test", classes=images.STAND_IN_FOLDERS)) == 4
    assert not list(tmp_path.glob("*.part"))


def test_fashion_stand_in_from_the_full_set_or_the_sample(tmp_path, no_data, sample_gz_dir,
                                                          any_size, monkeypatch):
    with pytest.raises(DatasetNotFoundError, match="Fashion-MNIST no está"):
        images.write_fashion_folders(tmp_path / "full", per_class=(2, 2), full=True)
    assert not (tmp_path / "full").exists()
    sample = images.write_fashion_folders(tmp_path / "auto", per_class=(2, 2))
    assert str(downloads.SAMPLE_ROOT) in (sample / "done").read_text()
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_DIR", sample_gz_dir)  # now "installed"
    full = images.write_fashion_folders(tmp_path / "auto", per_class=(2, 2))
    assert str(no_data) in (full / "done").read_text()
    assert len(CatsDogs(full, split="test", classes=images.STAND_IN_FOLDERS)) == 4
