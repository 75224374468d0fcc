"""Every exercise's reference solution passes its check, typical wrong answers fail with the
message aimed at them, and the API (ids, unsolved answers, errors in the student's code, the
library's own answers) behaves as the grader (issue 19) expects."""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnn_course import config, datasets, exercises, models, training
from cnn_course.exercises import EXERCISES, check, check_namespace, comprueba

NEEDS_TRAINING = {"06a.3", "06a.4", "06a.5"}   # solutions that use the notebook's model/data


def _accuracy_and_loss(model, x, y):
    with torch.no_grad():
        out = model(x)
    return (out.argmax(1) == y).float().mean().item(), F.cross_entropy(out, y).item()


@pytest.fixture(scope="module")
def trained() -> dict:
    """The assignment's notebook state: the reference network trained in quick mode (seconds)
    with a plain loop, as a student would, and its history."""
    assert config.quick_mode()
    data = datasets.load_fashion_mnist()
    train_x, train_y = datasets.to_tensors(data.train)
    test_x, test_y = datasets.to_tensors(data.test)
    config.seed_everything(0)
    model = models.FashionCNN()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y),
                                         batch_size=32, shuffle=True)
    history = {key: [] for key in ("train_loss", "train_acc", "test_loss", "test_acc")}
    for _ in range(training.EXERCISE.epochs_to_run()):
        model.train()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        for split, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
            accuracy, loss = _accuracy_and_loss(model, x, y)
            history[f"{split}_acc"].append(accuracy)
            history[f"{split}_loss"].append(loss)
    return {"data": data, "model": model, "history": history}


def run_solution(exercise, context: dict | None = None) -> dict:
    from cnn_course import plots
    namespace = {"torch": torch, "nn": nn, "np": np, "config": config, "plots": plots,
                 **(context or {})}
    exec(exercise.solution, namespace)
    return namespace


@pytest.mark.parametrize("id", [i for i in EXERCISES if i not in NEEDS_TRAINING])
def test_reference_solution_passes(id):
    result = check_namespace(id, run_solution(EXERCISES[id]))
    assert result.passed and result.message == "✔ Correcto", result


@pytest.mark.parametrize("id", sorted(NEEDS_TRAINING))
def test_assignment_solution_passes_on_a_model_trained_here(id, trained):
    namespace = run_solution(EXERCISES[id], dict(trained))
    result = check_namespace(id, namespace)
    plt.close("all")
    assert result.passed, result


def test_every_notebook_has_exercises_and_one_asks_for_code():
    notebooks = ["00", "01", "02", "03", "04", "05", "06", "06a", "07", "08"]
    assert sorted({e.notebook for e in EXERCISES.values()}) == notebooks
    for notebook in notebooks:
        found = exercises.exercises_of(notebook)
        assert 2 <= len(found) <= 5 and any(e.code for e in found), notebook
    for e in EXERCISES.values():
        assert e.answer == "respuesta_" + e.id.replace(".", "_") and e.answer in e.solution
        assert e.statement and e.hint and "\n" not in e.statement


def _epoch_no_zero_grad(model, loader, loss_fn, optimizer):
    model.train()
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()


def _epoch_no_train_mode(model, loader, loss_fn, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()


def _epoch_no_step(model, loader, loss_fn, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()


class _NoProjection(nn.Module):          # the slides' ResLayer
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size - 2)

    def forward(self, x):
        return torch.relu(self.conv(x)) + x


class _SlidesPadding(nn.Module):         # projected, but padding k - 2
    def __init__(self, ni, no, kernel_size, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size - 2)
        self.shortcut = nn.Conv2d(ni, no, 1, stride)

    def forward(self, x):
        return torch.relu(self.conv(x)) + self.shortcut(x)


class _Dataset3d(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class _DatasetWrongLength(_Dataset3d):
    def __len__(self):
        return self.images.numel()

    def __getitem__(self, i):
        return self.images[i].reshape(-1), self.labels[i]


def _freeze_all(model):
    model.requires_grad_(False)


def _freeze_nothing(model):
    return model


def _sum_of_means(model, loader, loss_fn):
    return sum(loss_fn(model(x), y).item() for x, y in loader)


def _mean_of_means(model, loader, loss_fn):
    losses = [loss_fn(model(x), y).item() for x, y in loader]
    return sum(losses) / len(losses)


class _PaddedNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.LeakyReLU(), nn.Conv2d(16, 32, 3, padding=1),
            nn.LeakyReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.LeakyReLU(),
            nn.Conv2d(64, 128, 3, padding=1), nn.LeakyReLU(), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(7 * 7 * 128, 128), nn.LeakyReLU(),
                                nn.Linear(128, 10))

    def forward(self, x):
        return self.fc(self.features(x))


class _ReluNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2048, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class _SoftmaxNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.LeakyReLU(), nn.Conv2d(16, 32, 3), nn.LeakyReLU(),
            nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.LeakyReLU(), nn.Conv2d(64, 128, 3),
            nn.LeakyReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2048, 128), nn.LeakyReLU(),
            nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x).softmax(dim=1)


WRONG = {   # id -> [(answer, words of the intended message)]; 00-04: test_exercise_corpus_00_04
    "05.1": [(_Dataset3d, "aplanada"), (_DatasetWrongLength, "len()"),
             (datasets.FlattenDataset, "no permite")],
    "05.2": [(_sum_of_means, "sumado las medias"), (_mean_of_means, "media de las medias")],
    "05.3": [(468, "96")],
    "06.1": [(128, "alto y el ancho"), (7 * 7 * 128, "relleno")],
    "06.2": [(4608, "sesgos")],
    "06.3": [(_epoch_no_zero_grad, "a cero"), (_epoch_no_train_mode, "modo entrenamiento"),
             (_epoch_no_step, "paso del optimizador"), (training.train_one_epoch, "no permite")],
    "06a.1": [(_PaddedNetwork, "relleno"), (_SoftmaxNetwork, "softmax"),
              (_ReluNetwork, "LeakyReLU"),
              (models.FashionCNN, "no permite")],
    "06a.2": [(8 * 8 * 128, "segundo pooling")],
    "07.1": [(131_328, "sesgos")],
    "07.2": [(512, "AdaptiveAvgPool2d"), (512 * 14 * 14, "5 poolings")],
    "07.3": [(nn.Sequential(nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 1)), "sigmoide"),
             (nn.Sequential(nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 2), nn.Softmax(1)),
              "2 salidas"),
             (nn.Sequential(nn.Linear(512, 128), nn.Linear(128, 1), nn.Sigmoid()), "ReLU")],
    "07.4": [(_freeze_all, "cabeza quedó congelada"), (_freeze_nothing, "sigue entrenable")],
    "08.1": [(73_856, "atajo")],
    "08.2": [(_NoProjection, "1×1"), (_SlidesPadding, "k − 2"), (models.ResLayer, "no permite")],
    "08.3": [(0.41 * 5, "no lo suman"), (0.41 ** 20, "20 capas")],
}


@pytest.mark.parametrize("id,answer,words",
                         [(i, a, w) for i, cases in WRONG.items() for a, w in cases])
def test_typical_mistake_gets_its_message(id, answer, words):
    result = check(id, answer)
    assert result.status == "incorrecto" and words in result.message, result.message


def test_every_code_exercise_has_two_typical_mistakes():
    from tests.test_exercise_corpus_00_04 import WRONG as CORPUS
    for e in EXERCISES.values():
        if e.code:
            assert len(WRONG.get(e.id, CORPUS.get(e.id, []))) >= 2, e.id


def test_assignment_recipe_mistakes(trained):
    model = trained["model"]
    loader = torch.utils.data.DataLoader(trained["data"].train, batch_size=64, shuffle=True)
    good = torch.utils.data.DataLoader(trained["data"].train, batch_size=32, shuffle=True)
    adagrad = torch.optim.Adagrad(model.parameters(), lr=0.01)
    cases = [((loader, nn.CrossEntropyLoss(), adagrad, 20), "bandeja 64"),
             ((good, nn.MSELoss(), adagrad, 20), "entropía"),
             ((good, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01), 20),
              "Adagrad"),
             ((good, nn.CrossEntropyLoss(), torch.optim.Adagrad(model.parameters(), lr=0.1), 20),
              "0,1"),
             ((torch.utils.data.DataLoader(trained["data"].train, batch_size=32),
               nn.CrossEntropyLoss(), adagrad, 20), "no baraja")]
    for answer, words in cases:
        result = check("06a.3", answer)
        assert not result.passed and words in result.message, result.message


def test_assignment_result_is_measured_on_the_model(trained):
    model, history = trained["model"], trained["history"]
    untrained = models.FashionCNN()
    result = check("06a.4", (untrained, history))
    assert not result.passed and "otra red" in result.message, result.message
    low = dict(history, test_acc=[0.1] * len(history["test_acc"]))
    assert "otra red" in check("06a.4", (model, low)).message
    percent = dict(history, test_acc=[100 * a for a in history["test_acc"]])
    assert check("06a.4", (model, percent)).passed      # accuracy in % is accepted (issue 25)
    assert "claves" in check("06a.4", (model, {"loss": [1.0]})).message


def test_assignment_curves_must_come_from_the_history(trained):
    history = trained["history"]
    fig, ax = plt.subplots()
    ax.plot(history["train_loss"])
    ax.plot(history["test_loss"])
    assert "una sola gráfica" in check("06a.5", (fig, history)).message
    fig, axes = plt.subplots(1, 2)
    axes[0].plot(history["train_loss"])
    axes[1].plot(history["train_acc"])
    axes[1].plot(history["test_acc"])
    assert "pérdida de test" in check("06a.5", (fig, history)).message
    plt.close("all")


def test_unanswered_and_unknown(capsys):
    for answer in (..., None):
        result = check("03.1", answer)
        assert result.status == "sin resolver" and "sin resolver todavía" in result.message
        assert not result.passed
    assert check_namespace("03.1", {}).status == "sin resolver"
    assert check_namespace("03.1", {"respuesta_03_1": 28}).passed
    with pytest.raises(ValueError, match=r"03\.1, 03\.2, 03\.3, 03\.4"):
        check("03.9", 1)
    assert comprueba("03.1", 27).status == "incorrecto"
    assert "+1" in capsys.readouterr().out
    exercises.pista("03.1")
    exercises.solucion("03.1")
    out = capsys.readouterr().out
    assert "Pista 03.1" in out and "respuesta_03_1 =" in out
    exercises.solucion("06a.1")
    out = capsys.readouterr().out
    assert "entrega" in out and "class" not in out


def test_an_error_in_the_students_code_is_a_wrong_answer_not_a_crash():
    def broken(n, k, s=1, p=0):
        return n / 0
    result = check("03.4", broken)
    assert result.status == "incorrecto" and "ZeroDivisionError" in result.message


def test_numbers_in_any_form():
    for answer in (28, 28.0, np.int64(28), torch.tensor(28), torch.tensor([28.0]), (28, 28),
                   torch.Size([28, 28]), np.array(28)):
        assert check("03.1", answer).passed, answer
    assert "número" in check("03.1", "28").message


def test_exercise_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXERCISES["03.1"].points = 5
