import dataclasses

import pytest
import torch
from torch import nn

from cnn_course import config, datasets, models, training
from cnn_course.datasets import TensorBatches
from cnn_course.downloads import SAMPLE_ROOT


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
    data = datasets.load_fashion_mnist(sample=True, root=SAMPLE_ROOT / "x",
                                       debian_dir=SAMPLE_ROOT / "x")
    config.seed_everything(0)
    loaders = datasets.fashion_batches(data, batch_size=32)
    model = models.FashionCNN()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.01)
    seen = []
    history = training.fit(model, loaders, nn.CrossEntropyLoss(), opt, epochs=2,
                           callback=lambda h: seen.append(len(h["lr"])))
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
    with pytest.raises(FileNotFoundError, match="el ejercicio 06a guarda la tuya"):
        training.load_checkpoint(tmp_path / "missing.pt", models.FashionCNN())
    path = training.save_checkpoint(tmp_path / "mlp.pt", models.MLP())
    with pytest.raises(ValueError, match="guarda un MLP, no un FashionCNN"):
        training.load_checkpoint(path, models.FashionCNN())


# ---------------------------------------------------------------- the fast (channels_last) path


def _trained(channels_last, steps_seed=0):
    config.seed_everything(steps_seed)
    x, y = _data(96)
    model = models.FashionCNN()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.01)
    with training.memory_format(model, channels_last):
        running = training.train_one_epoch(model, TensorBatches(x, y, 32, shuffle=True, seed=0),
                                           nn.CrossEntropyLoss(), opt)
    return model, opt, running


def test_fast_path_trains_like_the_plain_path():
    fast, _, fast_running = _trained(True)
    plain, _, plain_running = _trained(False)
    # Adagrad's first steps divide by tiny accumulated squares, so the convolutions' rounding
    # differences can move a single weight by ~1e-4; the tensors as a whole agree far closer
    # (a real difference would be of the order of lr = 0.01 on many weights)
    for name, value in fast.state_dict().items():
        other = plain.state_dict()[name]
        assert (value - other).norm() <= 1e-4 * other.norm(), name
    x, _ = _data(64)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), plain(x), rtol=1e-4, atol=1e-4)
    assert abs(fast_running[0] - plain_running[0]) < 1e-5
    assert fast_running[1] == plain_running[1]


def test_fast_path_evaluates_like_the_plain_path():
    x, y = _data(100)
    model, loss_fn = models.FashionCNN(), nn.CrossEntropyLoss()
    with training.memory_format(model):
        fast = training.evaluate(model, TensorBatches(x, y, 30), loss_fn)
    plain = training.evaluate(model, TensorBatches(x, y, 30), loss_fn)
    assert abs(fast[0] - plain[0]) < 1e-5 and fast[1] == plain[1]


def test_fast_path_gives_the_model_back_in_the_default_layout():
    model, opt, _ = _trained(True)
    params = list(model.parameters())
    assert all(p.is_contiguous() for p in params)
    model.conv2.weight.view(32, -1)  # what a kernel picture does; fails on channels_last
    # the optimizer still holds the model's own parameters, and training can go on after an
    # evaluation (the layout must not change under inference mode)
    assert all(a is b for a, b in zip(params, opt.param_groups[0]["params"], strict=True))
    x, y = _data(32)
    training.evaluate(model, TensorBatches(x, y, 16), nn.CrossEntropyLoss())
    training.train_one_epoch(model, TensorBatches(x, y, 16), nn.CrossEntropyLoss(), opt)
    assert all(p.is_contiguous() for p in model.parameters())


def test_memory_format_switches_only_inside_the_block():
    model = models.FashionCNN()
    with training.memory_format(model) as inside:
        assert inside is model
        assert model.conv3.weight.is_contiguous(memory_format=torch.channels_last)
        assert not model.conv3.weight.is_contiguous()
    assert model.conv3.weight.is_contiguous()
    with training.memory_format(model, channels_last=False):
        assert model.conv3.weight.is_contiguous()


def test_accuracy_vs_labels_runs_each_size_and_seed():
    """Two well-separated clusters: a logistic regression learns them from 2 examples a class,
    a fixed number of steps whatever the size; the thread count is restored."""
    torch.manual_seed(0)
    def clusters(n):
        x = torch.cat([torch.randn(n, 2) - 3, torch.randn(n, 2) + 3])
        return x, torch.cat([torch.zeros(n), torch.ones(n)]).unsqueeze(1)

    threads = torch.get_num_threads()
    results = training.accuracy_vs_labels(
        lambda: nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()), clusters(20), clusters(50),
        per_class=(2, 10), seeds=range(3), steps=100, lr=0.1, progress=False)
    assert list(results) == [2, 10] and all(len(v) == 3 for v in results.values())
    assert min(min(v) for v in results.values()) > 0.95
    assert torch.get_num_threads() == threads


def test_calibrate_batchnorm_measures_the_data_and_keeps_the_mode():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)).eval()
    x = torch.randn(32, 1, 4, 4) * 5 + 3
    training.calibrate_batchnorm(net, TensorBatches(x, torch.zeros(32), 8))
    bn = net[1]
    with torch.no_grad():
        conv = net[0](x)
    assert torch.allclose(bn.running_mean, conv.mean(dim=(0, 2, 3)), atol=1e-4)
    assert not bn.training and bn.momentum == 0.1


# ---------------------------------------------------------------- the loop, the recipe, resuming


def test_loop_functions_take_the_slides_arguments():
    import inspect
    assert list(inspect.signature(training.train_one_epoch).parameters) == [
        "model", "loader", "loss_fn", "optimizer", "device"]
    assert list(inspect.signature(training.evaluate).parameters) == [
        "model", "loader", "loss_fn", "device"]
    assert len(inspect.signature(training.fit).parameters) <= 8


def test_recipe_builds_what_it_records():
    model = models.FashionCNN()
    recipe = dataclasses.replace(training.EXERCISE, lr=0.05)
    optimizer, loss_fn = recipe.optimizer(model), recipe.loss_fn()
    assert optimizer.param_groups[0]["lr"] == 0.05
    assert optimizer.param_groups[0]["params"] == list(model.parameters())
    data = datasets.load_fashion_mnist(sample=True, root=SAMPLE_ROOT / "x",
                                       debian_dir=SAMPLE_ROOT / "x")
    record = recipe.record(model, data, "cpu")
    assert (record["optimizer"], record["loss"]) == (type(optimizer).__name__,
                                                     type(loss_fn).__name__)
    assert record["lr"] == 0.05 and record["model"] == "FashionCNN"


def _tiny_run(epochs, checkpoint=None):
    """A small CNN with Dropout (it draws from torch's generator) on 48 random images."""
    config.seed_everything(0)
    x, y = _data(48)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Dropout(0.3), nn.AdaptiveAvgPool2d(2),
                          nn.Flatten(), nn.Linear(16, 10))
    opt = torch.optim.Adagrad(model.parameters(), lr=0.05)
    loaders = (TensorBatches(x, y, 8, shuffle=True, seed=3), TensorBatches(x, y, 16),
               TensorBatches(x[:20], y[:20], 16))
    history = training.fit(model, loaders, nn.CrossEntropyLoss(), opt, epochs,
                           checkpoint=checkpoint)
    return history, model


def test_fit_resumes_an_interrupted_run_bit_for_bit(tmp_path):
    path = tmp_path / "run.pt"
    whole, whole_model = _tiny_run(3)
    first, _ = _tiny_run(1, path)         # "interrupted" after epoch 1 of 3
    assert len(first["lr"]) == 1 and path.is_file()
    torch.manual_seed(123)                  # a new session's random state: the file restores it
    resumed, resumed_model = _tiny_run(3, path)
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
        assert resumed[key] == whole[key], key
    assert resumed["train_loss"][0] == first["train_loss"][0]
    for name, value in whole_model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name
    again, _ = _tiny_run(3, path)           # a finished run: nothing left to train
    assert again["test_acc"] == whole["test_acc"]


def test_fit_refuses_to_resume_from_a_file_without_its_state(tmp_path):
    path = training.save_checkpoint(tmp_path / "plain.pt", nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Dropout(0.3), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(16, 10)))
    with pytest.raises(ValueError, match="no se puede reanudar"):
        _tiny_run(2, path)
