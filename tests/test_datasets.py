"""datasets: Fashion-MNIST loaded as tensors (the full set or the shipped sample), quick-mode
subsets, FlattenDataset and TensorBatches."""

import pytest
import torch
from torchvision import transforms

from cnn_course import datasets, downloads
from cnn_course.datasets import FlattenDataset, TensorBatches, load_fashion_mnist
from cnn_course.downloads import SAMPLE_ROOT, DatasetNotFoundError

# ---------------------------------------------------------------- the shipped sample


def test_sample_is_real_quick_sized_every_class_in_it_and_licensed():
    data = load_fashion_mnist(sample=True, root=SAMPLE_ROOT / "nowhere",
                              debian_dir=SAMPLE_ROOT / "nowhere")
    assert data.source == "sample"
    assert (len(data.train), len(data.test)) == (3000, 1000)
    assert (len(data.train), len(data.test)) == tuple(datasets.QUICK_SIZES.values())
    assert torch.bincount(data.train.targets).min() > 250      # the first 3.000: about 300 each
    assert torch.bincount(data.test.targets).min() > 80
    assert data.train.data.dtype == torch.uint8 and data.train.data.float().std() > 50
    assert "MIT" in (SAMPLE_ROOT / "LICENSE").read_text()


def test_quick_mode_trains_on_the_same_images_online_and_offline(monkeypatch, tmp_path):
    """The sample is the full set's first images: quick mode gets the same tensors either way,
    so its thresholds hold with or without the network."""
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    try:
        full = load_fashion_mnist(download=False, sample=False)
    except DatasetNotFoundError:
        pytest.skip("the full Fashion-MNIST is not on this machine")
    offline = load_fashion_mnist(root=tmp_path, debian_dir=tmp_path / "no-debian",
                                 download=False)
    assert full.source != "sample" and offline.source == "sample"
    for a, b in ((full.train, offline.train), (full.test, offline.test)):
        assert torch.equal(a.data, b.data) and torch.equal(a.targets, b.targets)


def test_sample_fallback_says_so_in_one_line(no_data, capsys):
    data = load_fashion_mnist(sample=True)
    assert data.source == "sample"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "muestra" in out[0] and "cnn-course download" in out[0]


def test_quick_mode_falls_back_to_the_sample(no_data, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    assert load_fashion_mnist().source == "sample"


def test_normal_mode_never_falls_back_silently(no_data, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "0")
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist()
    message = str(info.value)
    for hint in ("cnn-course download fashion-mnist", "apt-get install dataset-fashion-mnist",
                 str(downloads.raw_folder(no_data)), "sample=True", "no network in this test"):
        assert hint in message


# ---------------------------------------------------------------- tensors and batches


@pytest.fixture(scope="module")
def sample():
    return load_fashion_mnist(sample=True, root=SAMPLE_ROOT / "nowhere",
                              debian_dir=SAMPLE_ROOT / "nowhere")


def test_to_tensors_equals_totensor_image_by_image(sample):
    images, labels = datasets.to_tensors(sample.test)
    assert images.shape == (1000, 1, 28, 28) and images.dtype == torch.float32
    to_tensor = transforms.ToTensor()
    for i in (0, 17, 499):
        image, label = sample.test[i]
        assert torch.equal(images[i], to_tensor(sample.test.data[i].numpy()))
        assert torch.equal(images[i], image) and labels[i] == label


def test_tensor_batches_cover_every_image_once_and_repeat_with_the_seed(sample):
    images, labels = (t[:1000] for t in datasets.to_tensors(sample.train))
    batches = TensorBatches(images, torch.arange(1000), batch_size=32, shuffle=True, seed=3)
    assert len(batches) == 32
    epoch1 = torch.cat([y for _, y in batches])
    epoch2 = torch.cat([y for _, y in batches])
    assert sorted(epoch1.tolist()) == list(range(1000)) and not torch.equal(epoch1, epoch2)
    again = TensorBatches(images, torch.arange(1000), batch_size=32, shuffle=True, seed=3)
    assert torch.equal(torch.cat([y for _, y in again]), epoch1)
    sizes = [len(y) for _, y in TensorBatches(images, labels, batch_size=300)]
    assert sizes == [300, 300, 300, 100]


def test_fashion_batches_are_the_slides_three_loaders(sample):
    train_loader, train_accuracy_loader, test_loader = datasets.fashion_batches(sample, 32, 0)
    images, labels = datasets.to_tensors(sample.train)
    assert train_loader.shuffle and train_loader.batch_size == 32
    assert not train_accuracy_loader.shuffle and not test_loader.shuffle
    assert train_accuracy_loader.batch_size == test_loader.batch_size == datasets.EVAL_BATCH_SIZE
    assert torch.equal(torch.cat([x for x, _ in train_accuracy_loader]), images)
    assert torch.equal(torch.cat([y for _, y in train_accuracy_loader]), labels)
    assert torch.equal(torch.cat([y for _, y in test_loader]), datasets.to_tensors(sample.test)[1])


def test_flatten_dataset_pairs_rows_and_labels(sample):
    images, labels = datasets.to_tensors(sample.test)
    ds = FlattenDataset(images, labels)
    assert len(ds) == 1000
    x, y = ds[3]
    assert x.shape == (784,) and torch.equal(x, images[3].flatten()) and y == labels[3]
    with pytest.raises(ValueError, match="una etiqueta por imagen"):
        FlattenDataset(images, labels[:10])


def test_quick_mode_takes_a_subset_of_the_full_set(monkeypatch, tmp_path, sample_gz_dir,
                                                   any_size):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    data = load_fashion_mnist(tmp_path, debian_dir=sample_gz_dir, train_size=200, test_size=50)
    assert (len(data.train), len(data.test), data.source) == (200, 50, "debian")


def test_per_class_subset_is_balanced_seeded_and_checked():
    labels = torch.tensor([0] * 10 + [1] * 6).unsqueeze(1)  # (N, 1), as BCELoss targets
    idx = datasets.per_class_subset(labels, 4, seed=0)
    assert labels[idx].flatten().tolist() == [0] * 4 + [1] * 4
    assert len(set(idx.tolist())) == 8
    assert torch.equal(idx, datasets.per_class_subset(labels, 4, seed=0))
    assert not torch.equal(idx, datasets.per_class_subset(labels, 4, seed=1))
    with pytest.raises(ValueError, match="la clase 1 tiene 6 ejemplos, menos que los 7"):
        datasets.per_class_subset(labels, 7)


def test_spanish_class_names_follow_the_same_order():
    assert len(datasets.FASHION_CLASSES_ES) == len(datasets.FASHION_CLASSES) == 10
    assert len(set(datasets.FASHION_CLASSES_ES)) == 10
    spanish = dict(zip(datasets.FASHION_CLASSES, datasets.FASHION_CLASSES_ES, strict=True))
    assert (spanish["Shirt"], spanish["T-shirt/top"], spanish["Ankle boot"]) == (
        "camisa", "camiseta", "botín")
