"""Residual layers, the small ResNet and the plain vs residual deep stacks (cnn_course.models),
and ``training.train_steps`` that the notebook 08 experiment uses."""

import pytest
import torch
from torch import nn
from torchvision.datasets import FashionMNIST

from cnn_course import config, datasets, downloads, training
from cnn_course.models import FashionResNet, ResLayer, count_parameters, deep_stack


@pytest.mark.parametrize("kernel_size", [3, 5, 7])
def test_res_layer_keeps_the_shape_for_odd_kernels(kernel_size):
    layer = ResLayer(8, 8, kernel_size)
    x = torch.randn(2, 8, 28, 28)
    assert layer(x).shape == x.shape
    assert isinstance(layer.shortcut, nn.Identity)


def test_res_layer_adds_the_input_back():
    layer = ResLayer(4, 4, 3)
    x = torch.randn(2, 4, 10, 10)
    assert torch.allclose(layer(x) - x, layer.conv(x), atol=1e-6)


def test_res_layer_projects_the_shortcut_when_channels_change():
    layer = ResLayer(8, 16, 5)
    assert isinstance(layer.shortcut, nn.Conv2d) and layer.shortcut.kernel_size == (1, 1)
    assert layer(torch.randn(2, 8, 28, 28)).shape == (2, 16, 28, 28)


@pytest.mark.parametrize("kernel_size", [3, 5, 7])
def test_res_layer_with_stride_2_halves_the_size(kernel_size):
    layer = ResLayer(8, 8, kernel_size, stride=2)
    assert layer.shortcut.stride == (2, 2)
    assert layer(torch.randn(2, 8, 28, 28)).shape == (2, 8, 14, 14)


@pytest.mark.parametrize("kernel_size", [2, 4])
def test_res_layer_even_kernel_says_to_use_an_odd_one(kernel_size):
    # torch's padding="same" keeps an even kernel's size by padding one side more: only a
    # symmetric padding is impossible, and the message must say so and not claim more
    same = nn.Conv2d(1, 1, kernel_size, padding="same")
    assert same(torch.zeros(1, 1, 28, 28)).shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="impar") as error:
        ResLayer(8, 8, kernel_size)
    assert "ningún relleno simétrico" in str(error.value)


def test_fashion_resnet_shapes_and_parameters():
    model = FashionResNet()
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    assert count_parameters(model) == 359_594  # FashionCNN: 360,714
    assert sum(isinstance(m, ResLayer) for m in model.modules()) == 5


@pytest.mark.parametrize("shape", [(32, 784), (1, 28, 28), (32, 3, 28, 28), (32, 1, 32, 32)])
def test_fashion_resnet_wrong_shape_says_what_it_expects(shape):
    with pytest.raises(ValueError, match=r"FashionResNet espera .*\(N, 1, 28, 28\)"):
        FashionResNet()(torch.randn(*shape))


def test_deep_stacks_differ_only_in_the_shortcut():
    config.seed_everything(0)
    plain = deep_stack(depth=6, channels=4, residual=False)
    config.seed_everything(0)
    residual = deep_stack(depth=6, channels=4, residual=True)
    assert len(plain.body) == len(residual.body) == 6
    assert all(isinstance(layer, ResLayer) for layer in residual.body)
    assert [p.shape for p in plain.parameters()] == [p.shape for p in residual.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), residual.parameters(),
                                                 strict=True))
    assert residual(torch.randn(3, 1, 28, 28)).shape == (3, 10)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """32 real Fashion-MNIST images and labels, from the sample shipped in the package."""
    images, labels = datasets.to_tensors(FashionMNIST(str(downloads.SAMPLE_ROOT), train=True))
    return images[:32], labels[:32]


def test_a_residual_stack_trains_on_a_tiny_batch(batch):
    config.seed_everything(0)
    model = deep_stack(depth=4, channels=8, residual=True)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
    record = training.train_steps(model, [batch], nn.CrossEntropyLoss(), optimizer, 60)
    assert len(record["loss"]) == 60 and record["grad_norm"][0] == []
    assert record["loss"][-1] < 0.8 * record["loss"][0]


def _first_grad_norm(residual: bool, batch) -> float:
    config.seed_everything(0)
    model = deep_stack(depth=20, channels=16, residual=residual)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    record = training.train_steps(model, [batch], nn.CrossEntropyLoss(), optimizer, 1,
                                  watch=[model.stem[0], model.body[-1].conv[0]
                                         if residual else model.body[-1][0]])
    return record["grad_norm"][0][0]


def test_the_gradient_vanishes_in_a_deep_plain_stack_but_not_in_a_residual_one(batch):
    plain, residual = _first_grad_norm(False, batch), _first_grad_norm(True, batch)
    assert residual > 1e3 * plain


def test_kaiming_init_keeps_the_gradient_of_a_deep_plain_stack(batch):
    config.seed_everything(0)
    model = deep_stack(depth=20, channels=16, residual=False, init="kaiming")
    assert all(torch.all(m.bias == 0) for m in model.modules() if isinstance(m, nn.Conv2d))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    record = training.train_steps(model, [batch], nn.CrossEntropyLoss(), optimizer, 1,
                                  watch=[model.stem[0], model.body[-1][0]])
    first, last = record["grad_norm"][0]
    assert 1e-2 < first / last < 1e2                 # default init: about 0.41 ** 20 = 2e-8
    assert first > 1e3 * _first_grad_norm(False, batch)


def test_deep_stack_rejects_an_unknown_init():
    with pytest.raises(ValueError, match="'default' o 'kaiming'"):
        deep_stack(depth=2, init="xavier")


def test_fashion_resnet_trains_with_the_exercise_recipe(batch):
    config.seed_everything(0)
    model = FashionResNet()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
    record = training.train_steps(model, [batch], nn.CrossEntropyLoss(), optimizer, 30)
    assert record["loss"][-1] < 0.5 * record["loss"][0]


def test_train_steps_on_no_batches_says_so():
    model = deep_stack(depth=1, channels=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="vacío"):
        training.train_steps(model, [], nn.CrossEntropyLoss(), optimizer, 3)
