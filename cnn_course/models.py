"""Models of the course: the MLP baseline and the slides' VGG-style FashionCNN."""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` if asked)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_input(x: torch.Tensor, expected: tuple[int, ...], name: str) -> None:
    """Raise a ValueError naming the expected (N, ...) shape when ``x`` does not match it."""
    if x.dim() != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        want = ", ".join(["N", *map(str, expected)])
        raise ValueError(
            f"{name} expects a batch of shape ({want}), got {tuple(x.shape)}. "
            "A single image needs x.unsqueeze(0); flat rows of 784 need x.view(-1, 1, 28, 28).")


class MLP(nn.Module):
    """The slides' Fashion-MNIST baseline: a perceptron 784-512-128-64-10 with ReLU.

    Accepts flat rows (N, 784) or images (N, 1, 28, 28), which it flattens (losing the 2D
    neighbourhoods, the slides' point).
    """

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
            raise ValueError(f"MLP expects {self.in_features} values per sample, e.g. (N, 784) or "
                             f"(N, 1, 28, 28); got a batch of shape {tuple(x.shape)}.")
        return self.net(x)


class FashionCNN(nn.Module):
    """The slides' ``Network``: conv(1,16) conv(16,32) pool, conv(32,64) conv(64,128) pool,
    linear(2048,128), linear(128,10), LeakyReLU. 360,714 parameters.

    Layer names are the slides' own, so a state dict moves between the two unchanged.
    """

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
