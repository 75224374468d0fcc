"""Exercises 00-04 tried as students would answer them (issue 25): for each, at least four right
answers written differently (module or functional, NumPy or torch, float64, list comprehension or
vectorised, odd sizes) that must pass, and at least four wrong ones (typical mistakes, wrappers of
what the statement forbids, the right result obtained the forbidden way), each with a distinctive
part of the message it must get. The probe/judge split is tried too: evidence survives its JSON,
and tampered evidence is "incorrecto" without a crash."""

import functools
import math
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.functional import max_pool2d as imported_before

from cnn_course import ops
from cnn_course.exercise_checks import first_steps, sizes
from cnn_course.exercises import (
    EXERCISES,
    check,
    evidence_from_json,
    evidence_to_json,
    judge,
    probe,
)

IDS = [id for id in EXERCISES if EXERCISES[id].notebook in ("00", "01", "02", "03", "04")]


def _numbers(value, size=False):
    """A right number in the forms students write it."""
    forms = [value, np.int64(value), torch.tensor(value), float(value), np.array([value])]
    return forms + ([(value, value), torch.Size([value, value])] if size else [])


# --- 00.3: a batch (N, 28, 28) uint8 -> (N, 784) float32 in 0..1 -------------------------------

def _flatten_stack(images):
    return torch.stack([image.flatten().float() / 255 for image in images])


def _flatten_numpy(images):
    return torch.from_numpy(images.numpy().reshape(len(images), 784).astype(np.float32) / 255)


def _flatten_five(images):                      # only the notebook's example has 5 images
    return images.reshape(5, 784).float() / 255


# --- 01.1: (N, H, W, C) -> (N, C, H, W) ---------------------------------------------------------

def _moveaxis(batch):                           # notebook 01's NumPy: gets the batch as an array
    return np.moveaxis(batch, -1, 1)


def _reshape_channels(batch):
    n, h, w, c = batch.shape
    return batch.reshape(n, c, h, w)


# --- 02.3: conv_rgb(image, weight, bias) --------------------------------------------------------

def _conv_loops(image, weight, bias, flip=False, use_bias=True, square=False, plus_one=1,
                channels=None):
    """A student's loops; the keyword arguments make the typical mistakes."""
    n_filters, _, kh, kw = weight.shape
    kw = kh if square else kw
    out = torch.zeros(n_filters, image.shape[1] - kh + plus_one, image.shape[2] - kw + plus_one)
    for f in range(n_filters):
        kernel = weight[f].flip(1, 2) if flip else weight[f]
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                window = image[:channels, i:i + kh, j:j + kw]
                out[f, i, j] = (window * kernel[:channels]).sum() + (bias[f] if use_bias else 0)
    return out


def _conv_numpy(image, weight, bias):
    x, w = np.asarray(image, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    n_filters, _, kh, kw = w.shape
    out = np.zeros((n_filters, x.shape[1] - kh + 1, x.shape[2] - kw + 1))
    for f in range(n_filters):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[f, i, j] = np.sum(x[:, i:i + kh, j:j + kw] * w[f]) + float(bias[f])
    return out


def _conv_tensor_unfold(image, weight, bias):    # Tensor.unfold is a view, not F.unfold
    patches = image.unfold(1, weight.shape[2], 1).unfold(2, weight.shape[3], 1)
    return torch.einsum("chwij,fcij->fhw", patches, weight) + bias[:, None, None]


def _conv_by_offsets(image, weight, bias):
    _, _, kh, kw = weight.shape
    h, w = image.shape[1] - kh + 1, image.shape[2] - kw + 1
    out = bias[:, None, None].repeat(1, h, w)
    for di in range(kh):
        for dj in range(kw):
            out = out + torch.einsum("fc,chw->fhw", weight[:, :, di, dj],
                                     image[:, di:di + h, dj:dj + w])
    return out


def _conv_comprehension(image, weight, bias):
    n_filters, _, kh, kw = weight.shape
    return [[[float((image[:, i:i + kh, j:j + kw] * weight[f]).sum() + bias[f])
              for j in range(image.shape[2] - kw + 1)]
             for i in range(image.shape[1] - kh + 1)] for f in range(n_filters)]


def _conv_wrapped(image, weight, bias):
    return F.conv2d(image[None], weight, bias)[0]


def _conv_module(image, weight, bias):
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]))
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
        return conv(image[None])[0]


def _conv_unfold(image, weight, bias):
    cols = F.unfold(image[None], tuple(weight.shape[2:]))[0]
    h, w = image.shape[1] - weight.shape[2] + 1, image.shape[2] - weight.shape[3] + 1
    return (weight.reshape(len(weight), -1) @ cols + bias[:, None]).reshape(-1, h, w)


def _conv_per_channel(image, weight, bias):
    return torch.stack([_conv_loops(image[c:c + 1], weight[:, c:c + 1], bias)
                        for c in range(image.shape[0])], dim=1)


# --- 03.4: tamano_salida(n, k, s=1, p=0) --------------------------------------------------------

def _size_floor(n, k, s=1, p=0):
    return math.floor((n + 2 * p - k) / s) + 1


def _size_torch(n, k, s=1, p=0):
    return torch.div(torch.tensor(n + 2 * p - k), s, rounding_mode="floor") + 1


def _size_numpy(n, k, s=1, p=0):
    return np.int64((n - k + 2 * p) // s + 1)


def _size_wrapper(n, k, s=1, p=0):
    return ops.output_size(n, k, s, p)


def _size_true_division(n, k, s=1, p=0):
    return (n + 2 * p - k) / s + 1


def _size_np_floor(n, k, s=1, p=0):
    return np.floor((n + 2 * p - k) / s) + 1


def _size_swapped(n, k, p=0, s=1):
    return (n + 2 * p - k) // s + 1


def _size_no_defaults(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# --- 04.2: max_pool(x), 2×2, stride 2, odd borders dropped --------------------------------------

def _pool_numpy_loops(x):                       # float64 out, as NumPy computes
    a = np.asarray(x, dtype=np.float64)
    n, c, h, w = a.shape
    out = np.zeros((n, c, h // 2, w // 2))
    for i in range(h // 2):
        for j in range(w // 2):
            out[:, :, i, j] = a[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(2, 3))
    return out


def _pool_torch_loops(x):
    n, c, h, w = x.shape
    out = torch.empty(n, c, h // 2, w // 2)
    for i in range(h // 2):
        for j in range(w // 2):
            out[:, :, i, j] = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].amax(dim=(2, 3))
    return out


def _pool_slices(x):
    h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
    return torch.maximum(torch.maximum(x[..., 0:h:2, 0:w:2], x[..., 1:h:2, 0:w:2]),
                         torch.maximum(x[..., 0:h:2, 1:w:2], x[..., 1:h:2, 1:w:2]))


def _pool_comprehension(x):
    n, c, h, w = x.shape
    return [[[[float(x[a, b, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max()) for j in range(w // 2)]
              for i in range(h // 2)] for b in range(c)] for a in range(n)]


def _pool_wrapped(x):
    return F.max_pool2d(x, 2)


class MiPool(nn.MaxPool2d):
    pass


def _pool_sneaky(x):                            # tries the forbidden one first, then its own
    try:
        return F.max_pool2d(x, 2)
    except Exception:
        return _pool_torch_loops(x)


def _pool_no_crop(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def _pool_stride_one(x):
    n, c, h, w = x.shape
    out = torch.empty(n, c, h - 1, w - 1)
    for i in range(h - 1):
        for j in range(w - 1):
            out[:, :, i, j] = x[:, :, i:i + 2, j:j + 2].amax(dim=(2, 3))
    return out


def _pool_mean(x):
    h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
    return (x[..., 0:h:2, 0:w:2] + x[..., 1:h:2, 0:w:2] + x[..., 0:h:2, 1:w:2]
            + x[..., 1:h:2, 1:w:2]) / 4


def _pool_keeps_border(x):
    n, c, h, w = x.shape
    out = torch.empty(n, c, math.ceil(h / 2), math.ceil(w / 2))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].amax(dim=(2, 3))
    return out


def _pool_mixed_windows(x):
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, w // 2, 4).amax(-1)


RIGHT = {
    "00.1": _numbers(32 * 3 * 224 * 224 * 4),
    "00.2": _numbers(147),
    "00.3": [lambda x: x.reshape(len(x), -1).float() / 255,
             lambda x: x.view(x.shape[0], 784).to(torch.float32).div(255),
             lambda x: torch.flatten(x, 1).float() / 255.0, _flatten_stack, _flatten_numpy,
             lambda x: (x.double().reshape(-1, 784) / 255).float(),
             lambda x: x.reshape(len(x), -1) / 255],
    "01.1": [lambda b: b.permute(0, 3, 1, 2), _moveaxis,
             lambda b: np.transpose(b, (0, 3, 1, 2)), lambda b: torch.movedim(b, -1, 1),
             lambda b: b.transpose(1, 3).transpose(2, 3),
             lambda b: torch.einsum("nhwc->nchw", b)],
    "01.2": _numbers(2 * 30 * 3 * 112 * 112),
    "02.1": [[[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
             np.array([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]]),
             torch.tensor([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=torch.float32),
             np.array([[-1, 0, 1]] * 3).T, torch.tensor([[0, -1, 0], [0, 0, 0], [0, 1, 0]])],
    "02.2": _numbers(3 * 3 * 3 * 600 * 512 * 2),
    "02.3": [_conv_loops, _conv_numpy, _conv_tensor_unfold, _conv_by_offsets,
             _conv_comprehension],
    "02.4": [(9, 676), [9, 676], torch.Size([9, 676]), np.array([9, 676]),
             ops.im2col(torch.zeros(1, 28, 28), 3).shape],
    "03.1": _numbers(28, size=True),
    "03.2": _numbers(55, size=True),
    "03.3": _numbers(3),
    "03.4": [lambda n, k, s=1, p=0: (n + 2 * p - k) // s + 1, _size_floor, _size_torch,
             _size_numpy, lambda n, k, s=1, p=0: int((n - k + 2 * p) / s) + 1],
    "04.1": _numbers(9, size=True),
    "04.2": [EXERCISES["04.2"].solution, _pool_numpy_loops, _pool_torch_loops,
             lambda x: x.unfold(2, 2, 2).unfold(3, 2, 2).amax(dim=(-1, -2)), _pool_slices,
             _pool_comprehension],
    "04.3": _numbers(1792),
}

WRONG = {   # id -> [(answer, a distinctive part of the message it must get)]
    "00.1": [(32 * 3 * 224 * 224, "uint8"), (32 * 224 * 224 * 4, "canales"),
             (3 * 224 * 224 * 4, "una sola imagen"), (19.267584, "megabytes"),
             (32 * 3 * 224 * 224 * 32, "bits"), ("19267584", "número")],
    "00.2": [(7 * 28 + 5, "filas por columnas"), (35, "filas completas"),
             (4 * 28 + 6, "empiezan en 0"), (6 * 28 + 8, "empiezan en 0"),
             (148, "Cuenta los píxeles")],
    "00.3": [(_flatten_five, "N = 5, 1, 7"), (lambda x: x.reshape(len(x), -1).float(), "255"),
             (lambda x: x.float().reshape(-1) / 255, "un solo vector"),
             (lambda x: x.reshape(len(x), -1).double() / 255, "float32"),
             (lambda x: x.numpy().reshape(len(x), -1).astype(np.float32) / 255,
              "debe devolver un tensor"),
             (lambda x: x.transpose(1, 2).reshape(len(x), -1).float() / 255, "en su sitio"),
             (lambda x: x.reshape(len(x), -1).float() / 256, "en su escala")],
    "01.1": [(_reshape_channels, "revueltos"), (lambda b: b.permute(0, 3, 2, 1), "alto y el ancho"),
             (lambda b: b, "siguen al final"), (lambda b: b.transpose(1, 3), "alto y el ancho"),
             (lambda b: np.transpose(b), "se esperaba (2, 3, 5, 7)"),
             (lambda b: b.permute(0, 3, 1, 2, 4), "también falla")],
    "01.2": [(2 * 3 * 112 * 112, "fotogramas"), (30 * 3 * 112 * 112, "una sola muestra"),
             (2 * 30 * 112 * 112, "3 canales"), (2 * 30 * 3 * 112, "112 × 112"),
             (2 * 30 * 3 * 112 * 112 * 4, "bytes")],
    "02.1": [([[-1, 0, 1]] * 3, "verticales"), (torch.ones(3, 3) / 9, "zona lisa"),
             (np.eye(3), "zona lisa"), ([[1, 2], [3, 4]], "se esperaba 3×3"),
             (np.zeros((3, 3)), "apenas responde"), ("horizontal", "str")],
    "02.2": [(9 * 600 * 512 * 2, "3 canales"), (27 * 598 * 510 * 2, "padding=1"),
             (27 * 600 * 512, "2 filtros"), (9 * 600 * 512, "Faltan los 3 canales")],
    "02.3": [(_conv_wrapped, "`F.conv2d`"), (_conv_module, "`nn.Conv2d`"),
             (ops.conv2d_naive, "`ops.conv2d_naive`"),
             (functools.partial(ops.conv2d_im2col, stride=1), "`ops.conv2d_im2col`"),
             (_conv_unfold, "`F.unfold`"),
             (functools.partial(_conv_loops, flip=True), "volteado"),
             (functools.partial(_conv_loops, use_bias=False), "sesgo"),
             (functools.partial(_conv_loops, square=True), "cuadrado"),
             (functools.partial(_conv_loops, plus_one=0), "n - k + 1"),
             (functools.partial(_conv_loops, channels=1), "primer canal"),
             (_conv_per_channel, "un solo mapa"), (lambda image, weight, bias: "hecho", "str")],
    "02.4": [((676, 9), "cambiadas"), (torch.Size([9, 784]), "Sin relleno"),
             ([9, 26, 26], "una matriz"), ((3, 676), "9 números"), ("9x676", "forma")],
    "03.1": [(27, "+1"), (32, "encoge"), (24, "quita k − 1 = 4"), (30, "3×3"),
             (36, "n + k − 1"), ((28, 27), "número")],
    "03.2": [(217, "avance"), (54, "+1"), (227 / 4, "El avance divide"), (57, "imagen entera")],
    "03.3": [(6, "cada lado"), (7, "crece"), (0, "22×22"), (5, "k − 2")],
    "03.4": [(_size_wrapper, "`ops.output_size`"), (ops.output_size, "`ops.output_size`"),
             (_size_true_division, "debe ser un entero"), (_size_np_floor, "debe ser un entero"),
             (_size_swapped, "tamano_salida(n, k, s=1, p=0)"),
             (_size_no_defaults, "tamano_salida(28, 3)"),
             (lambda n, k, s=1, p=0: (n + p - k) // s + 1, "un solo lado"),
             (lambda n, k, s=1, p=0: n + 2 * p - k + 1, "avance"),
             (lambda n, k, s=1, p=0: (n + 2 * p - k) // s, "+1"),
             (lambda n, k, s=1, p=0: (n - k) // s + 1, "relleno"),
             (lambda n, k, s=1, p=0: str((n + 2 * p - k) // s + 1), "debe ser un entero")],
    "04.1": [(26, "avance"), (8, "+1"), (28 / 3, "redondea hacia abajo"), (10, "se sale")],
    "04.2": [(_pool_wrapped, "`F.max_pool2d`"),
             (functools.partial(F.max_pool2d, kernel_size=2), "`F.max_pool2d`"),
             (MiPool(2), "`nn.MaxPool2d`"), (nn.MaxPool2d(2), "`nn.MaxPool2d`"),
             (lambda x: ops.pool2d(x, 2), "`ops.pool2d`"), (_pool_sneaky, "`F.max_pool2d`"),
             (lambda x: imported_before(x, 2), "`F.max_pool2d`"),
             (lambda x: torch.max_pool2d(x, 2), "`F.max_pool2d`"),
             (lambda x: F.max_pool2d(x, 2, return_indices=True)[0], "`F.max_pool2d`"),
             (F.max_pool2d, "`F.max_pool2d`"),
             (_pool_no_crop, "impar"), (_pool_stride_one, "avance 2"), (_pool_mean, "media"),
             (_pool_keeps_border, "se pierde"), (_pool_mixed_windows, "no son el máximo")],
    "04.3": [(1728, "sesgos"), (640, "3 canales"), (576, "un sesgo"), (1731, "por filtro")],
}


def _answer(id, answer):
    """A solution given as source (the reference) becomes the variable it assigns."""
    if isinstance(answer, str) and "respuesta_" in answer:
        namespace = {"torch": torch, "np": np}
        exec(answer, namespace)
        return namespace[EXERCISES[id].answer]
    return answer


ENGLISH = re.compile(r"\b(the|expected|must|got|cannot|argument|should|invalid)\b", re.I)


def test_every_exercise_has_its_corpus():
    for id in IDS:
        assert len(RIGHT[id]) >= 4 and len(WRONG[id]) >= 4, id


@pytest.mark.parametrize("id,answer", [(i, a) for i in IDS for a in RIGHT[i]])
def test_right_answer_passes(id, answer):
    for seed in (0, 7):
        result = check(id, _answer(id, answer), seed)
        assert result.passed, result.message


@pytest.mark.parametrize("id,answer,words", [(i, a, w) for i in IDS for a, w in WRONG[i]])
def test_wrong_answer_gets_its_message(id, answer, words):
    result = check(id, answer)
    assert result.status == "incorrecto", result
    assert words in result.message, result.message
    assert not ENGLISH.search(result.message), result.message
    if words.startswith("`"):           # a forbidden call is evidence too, by name
        assert probe(id, answer)["forbidden_called"] == [words.strip("`")]


@pytest.mark.parametrize("id,answer", [(i, a) for i in IDS
                                       for a in RIGHT[i] + [w for w, _ in WRONG[i]]])
def test_evidence_round_trips_through_json(id, answer):
    evidence = probe(id, _answer(id, answer), 3)
    again = evidence_from_json(evidence_to_json(evidence))
    assert evidence_to_json(again) == evidence_to_json(evidence)
    assert judge(id, again, 3) == check(id, _answer(id, answer), 3)


def _tampered(evidence: dict) -> list:
    """Evidence a lying or broken kernel could send instead."""
    lies = [None, [], "correcto", {}, {"verdict": "correcto"}, {"wrong": 5},
            {"unsolved": "sí"}, {key: "x" for key in evidence},
            {key: [True] * 3 for key in evidence}, {key: {"a": 1} for key in evidence}]
    for key, value in evidence.items():
        if isinstance(value, list):
            lies += [{key: value[:-1]}, {key: value + value},
                     {key: [np.zeros((2, 2))] * len(value)}, {key: [1.5] * len(value)}]
        if isinstance(value, np.ndarray):
            lies += [{key: value.astype(bool)}, {key: np.zeros(0)}]
    return lies


@pytest.mark.parametrize("id", IDS)
def test_tampered_evidence_is_incorrect_without_a_crash(id):
    right = _answer(id, RIGHT[id][0])
    evidence = probe(id, right, 0)
    assert judge(id, evidence, 0).passed
    for lie in _tampered(evidence):
        result = judge(id, lie, 0)
        assert result.status == "incorrecto", (lie, result)


@pytest.mark.parametrize("id", ["00.3", "01.1", "02.3", "03.4", "04.2"])
def test_the_judge_draws_the_inputs_from_the_seed(id):
    """Outputs recorded on seed 0's inputs do not pass as seed 5's: the judge never trusts
    inputs reported by the probe."""
    evidence = probe(id, _answer(id, RIGHT[id][0]), 0)
    assert judge(id, evidence, 0).passed
    assert not judge(id, evidence, 5).passed


def test_forbidding_leaves_nothing_behind():
    before = sys.getprofile()
    for answer, _ in WRONG["04.2"][:8]:
        check("04.2", answer)
    assert sys.getprofile() is before
    assert not torch.nn.modules.module._global_forward_pre_hooks
    assert not torch.overrides._get_current_function_mode_stack()
    assert torch.equal(F.max_pool2d(torch.ones(1, 1, 2, 2), 2), torch.ones(1, 1, 1, 1))


def test_statements_name_what_they_forbid():
    for id, rules in (("02.3", first_steps.CONV_FORBIDDEN), ("03.4", sizes.SIZE_FORBIDDEN),
                      ("04.2", sizes.POOL_FORBIDDEN)):
        for rule in rules:
            assert f"`{rule.name}`" in EXERCISES[id].statement, (id, rule.name)


def test_an_error_is_explained_with_the_input_and_the_fix():
    message = check("00.3", _flatten_five).message
    assert "RuntimeError" in message and "(1, 28, 28) uint8" in message and "x.shape" in message
    message = check("03.4", _size_swapped).message
    assert "ZeroDivisionError" in message and "tamano_salida(28, 3, 1, 0)" in message
    message = check("04.2", lambda x: x.double() @ torch.ones(x.shape[3], 1)).message
    assert "float64 y float32" in message and "x = un tensor (2, 3, 6, 8) float32" in message
