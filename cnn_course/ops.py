"""From-scratch convolution and pooling, written to be read (the slides' first half): slow on
purpose, they show what ``F.pad``, ``F.conv2d``, ``F.unfold`` and ``F.max_pool2d``/``avg_pool2d``
compute (the tests check they agree).

Images are (H, W), (C, H, W) or (N, C, H, W); weights (kh, kw) for a one-channel image, else
(out_channels, in_channels, kh, kw). ``stride``, ``padding`` and ``kernel`` take an int or a pair
(vertical, horizontal). Inputs may be arrays, lists or tensors; results are tensors, exact int64
for integer inputs (the slides' pixel values).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["as_pair", "conv2d_im2col", "conv2d_naive", "im2col", "output_size", "pad2d", "pool2d"]

Pair = int | tuple[int, int]


def as_pair(value: Pair | Sequence[int], name: str) -> tuple[int, int]:
    """``value`` as (vertical, horizontal): an int is used for both directions; anything else
    than an int or two raises a ValueError naming ``name``."""
    if isinstance(value, int):
        return value, value
    values = tuple(value)
    if len(values) != 2 or not all(isinstance(v, int) for v in values):
        raise ValueError(f"{name} tiene que ser un entero o un par (vertical, horizontal) de "
                         f"enteros, no {value!r}.")
    return values


def _padding(padding: Pair | str, kernel: tuple[int, int]) -> tuple[int, int]:
    """Resolve ``padding`` (an int, a pair, ``"same"`` or ``"valid"``) to (vertical, horizontal);
    ``"same"`` is ``kernel // 2``, which keeps the size at stride 1 for odd kernels."""
    if isinstance(padding, str):
        if padding == "same":
            if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
                raise ValueError(
                    "padding='same' en cnn_course.ops pone el mismo relleno a los dos lados y "
                    f"necesita un núcleo impar (3×3, 5×5, 7×7, ...), no {kernel[0]}×{kernel[1]}: "
                    "con un núcleo par ningún relleno simétrico conserva el tamaño (PyTorch pone "
                    "un píxel más abajo y a la derecha). Usa un núcleo impar o da el relleno como "
                    "número.")
            return kernel[0] // 2, kernel[1] // 2
        if padding == "valid":
            return 0, 0
        raise ValueError(f"padding tiene que ser un número, un par, 'same' o 'valid', no "
                         f"{padding!r}.")
    return _non_negative(as_pair(padding, "padding"), padding)


def _non_negative(pair: tuple[int, int], given) -> tuple[int, int]:
    """``pair`` unchanged, or a ValueError when a padding is negative."""
    if pair[0] < 0 or pair[1] < 0:
        raise ValueError(f"padding tiene que ser 0 o más, no {given!r}.")
    return pair


def output_size(n: int, kernel: int, stride: int = 1, padding: int | str = 0) -> int:
    """Window positions along one direction of ``n`` pixels: ``(n + 2 * padding - kernel) //
    stride + 1`` (leftover pixels are not visited). ``stride`` is the slides' *avance*,
    ``padding`` their *relleno* per side, or ``"same"`` (``kernel // 2``, odd kernels).
    Notebooks 02, 03, 04, 08."""
    if n < 1 or kernel < 1:
        raise ValueError(f"el tamaño de la entrada y el del núcleo tienen que ser 1 o más, no "
                         f"n={n}, kernel={kernel}.")
    if stride < 1:
        raise ValueError(f"stride tiene que ser 1 o más (un píxel por paso), no {stride}.")
    pad = _padding(padding, (kernel, kernel))[0]
    if kernel > n + 2 * pad:
        raise ValueError(
            f"el núcleo {kernel} es mayor que la entrada con relleno ({n} + 2*{pad} = "
            f"{n + 2 * pad} píxeles): usa un núcleo menor o más relleno.")
    return (n + 2 * pad - kernel) // stride + 1


def _windows(batch: torch.Tensor, kernel: tuple[int, int], stride: Pair | Sequence[int],
             padding: Pair | str) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(stride, padding, output size) of a sliding window, each as (vertical, horizontal)."""
    sv, sh = as_pair(stride, "stride")
    ph, pw = _padding(padding, kernel)
    out_size = (output_size(batch.shape[-2], kernel[0], sv, ph),
                output_size(batch.shape[-1], kernel[1], sh, pw))
    return (sv, sh), (ph, pw), out_size


def _as_tensor(x) -> torch.Tensor:
    """A tensor from an array, list or tensor (no copy when already a tensor)."""
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x)


def _work_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The dtype to compute in: the promoted float dtype, or int64 for integer inputs."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype if dtype.is_floating_point else torch.int64


def _as_batch(x: torch.Tensor, name: str) -> tuple[torch.Tensor, int]:
    """``x`` as (N, C, H, W) and its original number of dimensions (2, 3 or 4)."""
    if x.dim() in (2, 3, 4):
        return x[(None,) * (4 - x.dim())], x.dim()
    raise ValueError(f"{name} tiene que ser una imagen (H, W), (C, H, W) o una bandeja "
                     f"(N, C, H, W), no de forma {tuple(x.shape)}.")


def _restore(out: torch.Tensor, dims: int) -> torch.Tensor:
    """Undo ``_as_batch``: drop the batch (and channel) dimensions that were added."""
    return out[(0,) * (4 - dims)] if dims < 4 else out


def pad2d(x, padding: Pair, value: float = 0) -> torch.Tensor:
    """A new tensor with ``padding`` pixels of ``value`` (the slides' zero border) around the
    last two dimensions: (..., H + 2*ph, W + 2*pw) with ``x`` in the middle. Notebooks 02, 03."""
    x = _as_tensor(x)
    if x.dim() < 2:
        raise ValueError(f"pad2d necesita al menos 2 dimensiones (H, W), no la forma "
                         f"{tuple(x.shape)}.")
    ph, pw = _non_negative(as_pair(padding, "padding"), padding)
    h, w = x.shape[-2:]
    out = torch.full((*x.shape[:-2], h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[..., ph:ph + h, pw:pw + w] = x
    return out


def _prepare_conv(x, weight, bias, stride, padding):
    """Check a convolution's arguments: (padded batch (N, C, H+2ph, W+2pw), weight (O, C, kh,
    kw), bias (O,) or None, (sv, sh), (out_h, out_w), number of dimensions of ``x``)."""
    x, weight = _as_tensor(x), _as_tensor(weight)
    batch, dims = _as_batch(x, "la imagen")
    if dims == 2:
        if weight.dim() != 2:
            raise ValueError(f"una imagen de un canal (H, W) lleva un núcleo 2D (kh, kw), no un "
                             f"peso de forma {tuple(weight.shape)}.")
        weight = weight[None, None]
    elif weight.dim() != 4:
        raise ValueError(
            f"el peso tiene que ser (out_channels, in_channels, kh, kw) para una imagen de forma "
            f"{tuple(x.shape)}, no {tuple(weight.shape)}. Un solo núcleo 2D sobre una imagen de "
            "un canal (1, H, W) es kernel[None, None].")
    channels = batch.shape[1]
    if weight.shape[1] != channels:
        raise ValueError(
            f"los canales no casan: la imagen tiene {channels} canal(es), pero el peso espera "
            f"{weight.shape[1]} (forma del peso {tuple(weight.shape)} = (out, in, kh, kw)). "
            "Cada filtro necesita un núcleo por canal de entrada.")
    strides, (ph, pw), out_size = _windows(batch, tuple(weight.shape[2:]), stride, padding)
    if bias is not None:
        bias = _as_tensor(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias tiene que tener un valor por canal de salida, forma "
                             f"({weight.shape[0]},), no {tuple(bias.shape)}.")
    dtype = _work_dtype(batch, weight, *([bias] if bias is not None else []))
    batch, weight = batch.to(dtype), weight.to(dtype)
    bias = bias.to(dtype) if bias is not None else None
    return pad2d(batch, (ph, pw)), weight, bias, strides, out_size, dims


def conv2d_naive(x, weight, bias=None, stride: Pair = 1, padding: Pair | str = 0
                 ) -> torch.Tensor:
    """Convolution (cross-correlation, as in every deep-learning library) with explicit loops.
    Notebooks 02, 03.

    The kernel visits the padded image left to right, then top to bottom, as the slides
    describe; each output is the sum of the window times the kernel over every input channel,
    plus the bias. ``padding``: an int, a pair, ``"same"`` (odd kernels) or ``"valid"`` (none).
    The result has ``x``'s number of dimensions, ``out_channels`` channels (if any) and
    ``output_size`` pixels a side.
    """
    xp, weight, bias, (sv, sh), (out_h, out_w), dims = _prepare_conv(
        x, weight, bias, stride, padding)
    n_images, out_channels = xp.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    out = torch.zeros((n_images, out_channels, out_h, out_w), dtype=xp.dtype)
    for n in range(n_images):
        for o in range(out_channels):
            for i in range(out_h):              # top to bottom
                for j in range(out_w):          # left to right
                    top, left = i * sv, j * sh
                    window = xp[n, :, top:top + kh, left:left + kw]   # (C, kh, kw)
                    out[n, o, i, j] = (window * weight[o]).sum()
            if bias is not None:
                out[n, o] += bias[o]
    return _restore(out, dims)


def im2col(x, kernel_size: Pair, stride: Pair = 1, padding: Pair | str = 0) -> torch.Tensor:
    """Unroll every window of the (padded) image into a column, as ``F.unfold``: (C*kh*kw,
    H'*W'), or (N, ...) for a batch, so a convolution becomes one matrix product. Notebook 02.

    Column ``j`` is the window at output position ``j`` (row-major), flattened channel by
    channel. The loops run over the kernel's ``kh * kw`` offsets, not over the windows: row
    ``(c, di, dj)`` is the pixel at offset ``(di, dj)`` of every window, a strided slice.
    """
    x = _as_tensor(x)
    batch, dims = _as_batch(x, "la imagen")
    kh, kw = as_pair(kernel_size, "kernel_size")
    (sv, sh), (ph, pw), (out_h, out_w) = _windows(batch, (kh, kw), stride, padding)
    xp = pad2d(batch, (ph, pw))
    n_images, channels = xp.shape[:2]
    cols = torch.empty((n_images, channels, kh, kw, out_h, out_w), dtype=xp.dtype)
    for di in range(kh):
        for dj in range(kw):
            # the pixel at offset (di, dj) of every window: rows di, di+sv, ..., same for columns
            cols[:, :, di, dj] = xp[:, :, di:di + sv * (out_h - 1) + 1:sv,
                                    dj:dj + sh * (out_w - 1) + 1:sh]
    cols = cols.reshape(n_images, channels * kh * kw, out_h * out_w)
    return cols if dims == 4 else cols[0]


def conv2d_im2col(x, weight, bias=None, stride: Pair = 1, padding: Pair | str = 0
                  ) -> torch.Tensor:
    """``conv2d_naive`` as one matrix product: (out, C*kh*kw) @ im2col(x) -> (out, H'*W');
    the loops move into ``im2col`` (copying data), the arithmetic into one fast product.
    Notebooks 02, 03, 04."""
    xp, weight, bias, (sv, sh), (out_h, out_w), dims = _prepare_conv(
        x, weight, bias, stride, padding)
    kh, kw = weight.shape[2:]
    cols = im2col(xp, (kh, kw), (sv, sh), 0)             # already padded
    rows = weight.reshape(weight.shape[0], -1)           # one row per filter
    out = rows @ cols                                     # (N, out, H'*W')
    if bias is not None:
        out = out + bias[:, None]
    return _restore(out.reshape(xp.shape[0], weight.shape[0], out_h, out_w), dims)


def pool2d(x, kernel_size: Pair = 2, stride: Pair | None = None, padding: Pair = 0,
           mode: str = "max") -> torch.Tensor:
    """Max or average (``mode``) pooling, channel by channel, with explicit loops. Notebook 04.

    ``stride`` defaults to ``kernel_size`` (windows that do not overlap). ``padding``, at most
    half the kernel as in PyTorch, is ``-inf`` for max pooling and zeros, counted in the mean,
    for average pooling, which gives floats for an integer image.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode tiene que ser 'max' o 'avg', no {mode!r}.")
    x = _as_tensor(x)
    batch, dims = _as_batch(x, "la imagen")
    kh, kw = as_pair(kernel_size, "kernel_size")
    stride = stride if stride is not None else (kh, kw)
    (sv, sh), (ph, pw), (out_h, out_w) = _windows(batch, (kh, kw), stride, padding)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"el relleno del pooling ({ph}, {pw}) tiene que ser como mucho la mitad "
                         f"del núcleo ({kh}, {kw}): si no, una ventana podría tener solo relleno.")
    floating = batch.dtype.is_floating_point
    if mode == "max":
        fill = float("-inf") if floating else torch.iinfo(batch.dtype).min
    else:  # a mean of integers is a float
        fill, batch = 0, batch if floating else batch.to(torch.get_default_dtype())
    xp = pad2d(batch, (ph, pw), fill)
    out = torch.empty((*batch.shape[:2], out_h, out_w), dtype=batch.dtype)
    reduce = torch.amax if mode == "max" else torch.mean
    for i in range(out_h):                  # top to bottom
        for j in range(out_w):              # left to right
            window = xp[:, :, i * sv:i * sv + kh, j * sh:j * sh + kw]   # (N, C, kh, kw)
            out[:, :, i, j] = reduce(window, dim=(2, 3))
    return _restore(out, dims)
