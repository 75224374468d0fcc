"""Make the small real Fashion-MNIST sample that ships inside the package.

Takes the first 100 training and the first 50 test images of each class, in the original
order, from the full dataset, and writes them as IDX files in torchvision's layout under
cnn_course/data/fashion_mnist_sample/FashionMNIST/raw/, with the dataset's MIT licence.

    python scripts/make_fashion_sample.py            # from the data dir or the Debian package
"""

from __future__ import annotations

import struct

import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from cnn_course import downloads

PER_CLASS = {"train": 100, "t10k": 50}
LICENSE = """Fashion-MNIST sample (1000 training and 500 test images, 100 and 50 per class,
the first of each class in the original order), taken from
https://github.com/zalandoresearch/fashion-mnist by scripts/make_fashion_sample.py.

The MIT License (MIT) Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the “Software”), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def first_per_class(labels: torch.Tensor, per_class: int) -> torch.Tensor:
    """Indices of the first ``per_class`` items of each class, kept in the original order."""
    keep = torch.cat([torch.nonzero(labels == c).flatten()[:per_class] for c in range(10)])
    return keep.sort().values


def main() -> None:
    root, source = downloads.prepare_fashion_mnist(download=False)
    raw = downloads.raw_folder(root)
    out = downloads.raw_folder(downloads.SAMPLE_ROOT)
    out.mkdir(parents=True, exist_ok=True)
    for split, per_class in PER_CLASS.items():
        images = read_image_file(str(raw / f"{split}-images-idx3-ubyte"))
        labels = read_label_file(str(raw / f"{split}-labels-idx1-ubyte"))
        keep = first_per_class(labels, per_class)
        n = len(keep)
        (out / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, n, 28, 28) + images[keep].numpy().tobytes())
        (out / f"{split}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + labels[keep].numpy().astype("uint8").tobytes())
        print(f"{split}: {n} images from {source} ({raw})")
    (downloads.SAMPLE_ROOT / "LICENSE").write_text(LICENSE)


if __name__ == "__main__":
    main()
