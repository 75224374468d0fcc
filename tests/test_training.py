import torch
from torch import nn

from cnn_course import config, datasets, models, training
from cnn_course.datasets import TensorBatches


def _data(n=50, binary=False):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 28, 28, generator=g)
    if binary:
        return x, (torch.rand(n, 1, generator=g) > 0.5).float()
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def test_evaluate_in_batches_equals_one_full_pass():
    x, y = _data(50)
    model, loss_fn = models.FashionCNN(), nn.CrossEntropyLoss()
    with torch.no_grad():
        out = model(x)
        full_loss = loss_fn(out, y).item()
        full_acc = (out.argmax(1) == y).float().mean().item()
    # batches of 7: the last one has a single sample, so an unweighted mean would differ
    loss, acc = training.evaluate(model, TensorBatches(x, y, batch_size=7), loss_fn)
    assert abs(loss - full_loss) < 1e-5 and abs(acc - full_acc) < 1e-6
    slides_sum = sum(loss_fn(model(xb), yb).item() for xb, yb in TensorBatches(x, y, 7)) / 8
    assert abs(slides_sum - full_loss) > 1e-4  # the slides' mean of batch means is not it


def test_evaluate_binary_sigmoid_model():
    x, y = _data(30, binary=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 1), nn.Sigmoid())
    loss, acc = training.evaluate(model, TensorBatches(x, y, batch_size=4), nn.BCELoss())
    with torch.no_grad():
        p = model(x)
    assert abs(loss - nn.BCELoss()(p, y).item()) < 1e-5
    assert abs(acc - ((p > 0.5).float() == y).float().mean().item()) < 1e-6


def test_fit_history_and_learning():
    data = datasets.load_fashion_mnist(sample=True, root=datasets.SAMPLE_ROOT / "x",
                                       debian_dir=datasets.SAMPLE_ROOT / "x")
    config.seed_everything(0)
    train, train_eval, test = datasets.fashion_loaders(data, batch_size=32)
    model = models.FashionCNN()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.01)
    seen = []
    history = training.fit(model, train, test, nn.CrossEntropyLoss(), opt, epochs=2,
                           train_eval_loader=train_eval,
                           callback=lambda h: seen.append(len(h["lr"])),
                           progress=False)
    assert set(history) == set(training.HISTORY_KEYS)
    assert all(len(v) == 2 for v in history.values()) and seen == [1, 2]
    assert history["lr"] == [0.01, 0.01]
    assert history["train_loss"][1] < history["train_loss"][0]
    assert history["test_acc"][1] > 0.3  # chance is 0.1


def _few_steps(seed):
    config.seed_everything(seed)
    x, y = _data(64)
    model = models.FashionCNN()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.01)
    training.train_one_epoch(model, TensorBatches(x, y, 16, shuffle=True, seed=seed),
                             nn.CrossEntropyLoss(), opt)
    return model.state_dict()


def test_two_seeded_runs_give_identical_weights():
    a, b, c = _few_steps(1), _few_steps(1), _few_steps(2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_checkpoint_round_trip(tmp_path):
    model = models.FashionCNN()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.01)
    x, y = _data(16)
    training.train_one_epoch(model, TensorBatches(x, y, 8), nn.CrossEntropyLoss(), opt)
    path = training.save_checkpoint(tmp_path / "c" / "model.pt", model, opt,
                                    {"test_acc": [0.5]}, {"lr": 0.01})
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]
    other = models.FashionCNN()
    other_opt = torch.optim.Adagrad(other.parameters(), lr=0.01)
    state = training.load_checkpoint(path, other, other_opt)
    assert state["history"] == {"test_acc": [0.5]} and state["recipe"] == {"lr": 0.01}
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in model.state_dict().items())
    assert other_opt.state_dict()["state"].keys() == opt.state_dict()["state"].keys()


def test_load_checkpoint_errors(tmp_path):
    import pytest
    with pytest.raises(FileNotFoundError, match="notebook 06 or `cnn-course train`"):
        training.load_checkpoint(tmp_path / "missing.pt", models.FashionCNN())
    path = training.save_checkpoint(tmp_path / "mlp.pt", models.MLP())
    with pytest.raises(ValueError, match="holds a MLP, not a FashionCNN"):
        training.load_checkpoint(path, models.FashionCNN())
