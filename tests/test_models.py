import pytest
import torch

from cnn_course.models import MLP, FashionCNN, count_parameters


def test_fashion_cnn_has_the_slides_parameter_count():
    assert count_parameters(FashionCNN()) == 360_714


def test_fashion_cnn_shapes():
    model = FashionCNN()
    x = torch.randn(32, 1, 28, 28)
    assert model.features(x).shape == (32, 128, 4, 4)
    assert model(x).shape == (32, 10)


@pytest.mark.parametrize("shape", [(32, 784), (1, 28, 28), (32, 3, 28, 28), (32, 1, 32, 32)])
def test_fashion_cnn_wrong_shape_says_what_it_expects(shape):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        FashionCNN()(torch.randn(*shape))


def test_mlp_512_128_64():
    model = MLP()
    sizes = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert sizes == [512, 128, 64, 10]
    expected = 784 * 512 + 512 + 512 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert count_parameters(model) == expected
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    assert model(torch.randn(5, 784)).shape == (5, 10)
    with pytest.raises(ValueError, match="784"):
        model(torch.randn(5, 100))


def test_state_dict_uses_the_slides_layer_names():
    names = {k.split(".")[0] for k in FashionCNN().state_dict()}
    assert names == {"conv1", "conv2", "conv3", "conv4", "fc1", "out"}


def test_small_cnn_takes_any_image_size():
    from cnn_course.models import small_cnn

    net = small_cnn()
    assert count_parameters(net) == 23_649
    for size in (28, 64):
        assert net(torch.zeros(2, 3, size, size)).shape == (2, 1)
