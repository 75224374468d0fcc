"""The from-scratch operations against torch.nn.functional, and the slides' worked example."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnn_course import ops

# The slides' "Relleno o Padding" example: this 5x5 image, zero-padded by 1, with this kernel.
SLIDES_IMAGE = [[60, 113, 56, 139, 85],
                [73, 121, 54, 84, 128],
                [131, 99, 70, 129, 127],
                [80, 57, 115, 69, 134],
                [104, 126, 123, 95, 130]]
SLIDES_KERNEL = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]

# kernel size, stride (vertical, horizontal), padding (vertical, horizontal)
GRID = list(itertools.product((3, 5, 7), (1, 2, (1, 3), (3, 2)), (0, 1, (2, 0), (3, 3))))


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---------------------------------------------------------------- output_size


@pytest.mark.parametrize("n, k, s, p, expected", [
    (28, 3, 1, 0, 26), (5, 3, 1, 1, 5), (224, 3, 1, 1, 224), (11, 5, 4, 0, 2),
    (7, 3, 2, 0, 3), (8, 3, 2, 0, 3), (28, 2, 2, 0, 14), (5, 5, 1, 0, 1), (4, 2, 1, 0, 3),
])
def test_output_size_formula(n, k, s, p, expected):
    assert ops.output_size(n, k, s, p) == expected


@pytest.mark.parametrize("k", [3, 5, 7, 9])
def test_output_size_same_keeps_size_at_stride_one(k):
    assert ops.output_size(28, k, 1, "same") == 28
    assert ops.output_size(28, k, 2, "same") == 14


@pytest.mark.parametrize("k, s, p", GRID)
def test_output_size_matches_conv2d(k, s, p):
    x = torch.zeros(1, 1, 17, 19)
    out = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p)
    sv, sh = (s, s) if isinstance(s, int) else s
    pv, ph = (p, p) if isinstance(p, int) else p
    assert out.shape[2:] == (ops.output_size(17, k, sv, pv), ops.output_size(19, k, sh, ph))


@pytest.mark.parametrize("args, words", [
    ((10, 3, 0, 0), "stride tiene que ser 1 o más"),
    ((10, 3, -1, 0), "stride tiene que ser 1 o más"),
    ((10, 3, 1, -1), "padding tiene que ser 0 o más"),
    ((4, 7, 1, 1), "mayor que la entrada con relleno"),
    ((10, 4, 1, "same"), "núcleo impar"),
    ((10, 3, 1, "full"), "'same' o 'valid'"),
    ((0, 3, 1, 0), "1 o más"),
])
def test_output_size_errors(args, words):
    with pytest.raises(ValueError, match=words):
        ops.output_size(*args)


# ---------------------------------------------------------------- pad2d


def test_pad2d_matches_slides_table():
    padded = ops.pad2d(np.array(SLIDES_IMAGE), 1)
    assert padded.shape == (7, 7)
    assert padded[0].tolist() == [0] * 7 and padded[:, -1].tolist() == [0] * 7
    assert padded[1].tolist() == [0, 60, 113, 56, 139, 85, 0]
    assert padded.dtype == torch.int64


@pytest.mark.parametrize("padding", [0, 1, 3, (2, 0), (0, 2), (1, 4)])
def test_pad2d_matches_f_pad(padding):
    x = _random(2, 3, 5, 6)
    pv, ph = (padding, padding) if isinstance(padding, int) else padding
    expected = F.pad(x, (ph, ph, pv, pv), value=-2.5)
    assert torch.equal(ops.pad2d(x, padding, value=-2.5), expected)


def test_pad2d_does_not_change_its_input():
    x = _random(4, 4)
    before = x.clone()
    ops.pad2d(x, 2)[2, 2] = 99
    assert torch.equal(x, before)


def test_pad2d_errors():
    with pytest.raises(ValueError, match="al menos 2 dimensiones"):
        ops.pad2d(torch.zeros(5), 1)
    with pytest.raises(ValueError, match="0 o más"):
        ops.pad2d(torch.zeros(5, 5), -1)
    with pytest.raises(ValueError, match="par"):
        ops.pad2d(torch.zeros(5, 5), (1, 2, 3))


# ---------------------------------------------------------------- the slides' 114


@pytest.mark.parametrize("conv", [ops.conv2d_naive, ops.conv2d_im2col])
def test_slides_padding_example_gives_114(conv):
    out = conv(SLIDES_IMAGE, SLIDES_KERNEL, padding=1)
    assert out.shape == (5, 5)
    assert out[0, 0].item() == 114
    expected = F.conv2d(torch.tensor(SLIDES_IMAGE, dtype=torch.float64)[None, None],
                        torch.tensor(SLIDES_KERNEL, dtype=torch.float64)[None, None], padding=1)
    assert torch.equal(out.double(), expected[0, 0])


def test_slides_example_with_same_padding_and_by_hand():
    out = ops.conv2d_naive(SLIDES_IMAGE, SLIDES_KERNEL, padding="same")
    assert out.shape == (5, 5)
    # top-left: the centre 5*60 minus the right and lower neighbours (the border adds nothing)
    assert out[0, 0].item() == 5 * 60 - 113 - 73
    # the centre pixel, with four real neighbours
    assert out[2, 2].item() == 5 * 70 - 54 - 99 - 129 - 115


# ---------------------------------------------------------------- convolution vs F.conv2d


@pytest.mark.parametrize("k, stride, padding", GRID)
@pytest.mark.parametrize("conv", [ops.conv2d_naive, ops.conv2d_im2col])
def test_conv2d_matches_torch(conv, k, stride, padding):
    x = _random(2, 3, 12, 11, seed=k)
    weight = _random(2, 3, k, k, seed=k + 1)   # the slides' layer: 3 channels in, 2 out
    bias = _random(2, seed=k + 2)
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    out = conv(x, weight, bias, stride=stride, padding=padding)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("conv", [ops.conv2d_naive, ops.conv2d_im2col])
def test_conv2d_rectangular_kernel_and_same(conv):
    x, weight = _random(1, 2, 9, 10), _random(4, 2, 3, 5, seed=1)
    torch.testing.assert_close(conv(x, weight, padding="same"),
                               F.conv2d(x, weight, padding="same"))
    torch.testing.assert_close(conv(x, weight, stride=(2, 1), padding=(0, 2)),
                               F.conv2d(x, weight, stride=(2, 1), padding=(0, 2)))


@pytest.mark.parametrize("conv", [ops.conv2d_naive, ops.conv2d_im2col])
def test_conv2d_keeps_the_rank_of_its_input(conv):
    weight = _random(2, 3, 3, 3)
    image = _random(3, 8, 8)
    out = conv(image, weight)
    assert out.shape == (2, 6, 6)
    torch.testing.assert_close(out, F.conv2d(image[None], weight)[0])
    gray = conv(_random(8, 8), _random(3, 3))
    assert gray.shape == (6, 6)


def test_conv2d_float32_image_and_numpy_inputs():
    image = np.random.default_rng(0).random((3, 10, 10), dtype=np.float32)
    weight = np.random.default_rng(1).random((2, 3, 3, 3), dtype=np.float32)
    out = ops.conv2d_im2col(image, weight, padding=1)
    assert out.dtype == torch.float32
    torch.testing.assert_close(ops.conv2d_naive(image, weight, padding=1), out)


def test_conv2d_is_a_cross_correlation_not_a_flipped_convolution():
    # An asymmetric kernel: the output at (0, 0) is the window times the kernel as written.
    image = torch.arange(9.0).reshape(3, 3)
    kernel = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert ops.conv2d_naive(image, kernel).tolist() == [[0.0, 1.0], [3.0, 4.0]]


@pytest.mark.parametrize("conv", [ops.conv2d_naive, ops.conv2d_im2col])
@pytest.mark.parametrize("kwargs, words", [
    ({"stride": 0}, "stride tiene que ser 1 o más"),
    ({"stride": (1, 0)}, "stride tiene que ser 1 o más"),
    ({"padding": "same", "weight": torch.zeros(2, 3, 4, 4)}, "núcleo impar"),
    ({"weight": torch.zeros(2, 3, 9, 9)}, "mayor que la entrada con relleno"),
    ({"weight": torch.zeros(2, 1, 3, 3)}, "los canales no casan"),
    ({"weight": torch.zeros(3, 3)}, r"\(out_channels, in_channels, kh, kw\)"),
    ({"bias": torch.zeros(3)}, "un valor por canal de salida"),
    ({"padding": -1}, "0 o más"),
])
def test_conv2d_errors_say_what_is_wrong(conv, kwargs, words):
    args = {"weight": torch.zeros(2, 3, 3, 3), **kwargs}
    with pytest.raises(ValueError, match=words):
        conv(torch.zeros(3, 7, 7), **args)


def test_conv2d_image_rank_errors():
    with pytest.raises(ValueError, match=r"\(H, W\), \(C, H, W\)"):
        ops.conv2d_naive(torch.zeros(7), torch.zeros(3))
    with pytest.raises(ValueError, match="núcleo 2D"):
        ops.conv2d_naive(torch.zeros(7, 7), torch.zeros(1, 1, 3, 3))


# ---------------------------------------------------------------- im2col


@pytest.mark.parametrize("k, stride, padding", GRID)
def test_im2col_matches_unfold(k, stride, padding):
    x = _random(2, 3, 12, 11)
    expected = F.unfold(x, k, padding=padding, stride=stride)
    assert torch.equal(ops.im2col(x, k, stride, padding), expected)
    assert torch.equal(ops.im2col(x[0], k, stride, padding), expected[0])


def test_im2col_columns_are_windows_in_reading_order():
    image = torch.arange(16).reshape(4, 4)
    cols = ops.im2col(image, 2, stride=2)
    assert cols.shape == (4, 4)
    assert cols[:, 0].tolist() == [0, 1, 4, 5]        # top-left window
    assert cols[:, 1].tolist() == [2, 3, 6, 7]        # then to the right
    assert cols[:, 2].tolist() == [8, 9, 12, 13]      # then the next row


# ---------------------------------------------------------------- pooling


@pytest.mark.parametrize("k, stride, padding",
                         [(2, None, 0), (2, 1, 0), (3, 2, 1), (3, None, 0), ((2, 3), (1, 2), 0),
                          (5, 2, 2), (7, 3, 3), (4, 4, (2, 1))])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_matches_torch(mode, k, stride, padding):
    x = _random(2, 3, 13, 12)
    fn = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = fn(x, k, stride=stride, padding=padding)
    out = ops.pool2d(x, k, stride, padding, mode=mode)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected)


def test_pool2d_slides_style_example():
    x = torch.tensor([[1, 1, 2, 4],
                      [5, 6, 7, 8],
                      [3, 2, 1, 0],
                      [1, 2, 3, 4]])
    assert ops.pool2d(x, 2).tolist() == [[6, 8], [3, 4]]
    assert ops.pool2d(x, 2, mode="avg").tolist() == [[3.25, 5.25], [2.0, 2.0]]
    assert ops.pool2d(x, 2).dtype == torch.int64
    assert ops.pool2d(x, 2, mode="avg").dtype == torch.float32


def test_pool2d_keeps_rank():
    assert ops.pool2d(_random(28, 28), 2).shape == (14, 14)
    assert ops.pool2d(_random(16, 28, 28), 2).shape == (16, 14, 14)


@pytest.mark.parametrize("kwargs, words", [
    ({"mode": "min"}, "'max' o 'avg'"),
    ({"stride": 0}, "stride tiene que ser 1 o más"),
    ({"kernel_size": 9}, "mayor que la entrada con relleno"),
    ({"kernel_size": 2, "padding": 2}, "la mitad del núcleo"),
    ({"kernel_size": (2, 2, 2)}, "par"),
])
def test_pool2d_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ops.pool2d(torch.zeros(1, 6, 6), **kwargs)
