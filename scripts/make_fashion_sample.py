"""Make the small real Fashion-MNIST sample that ships inside the package.

Takes the first ``datasets.QUICK_SIZES`` training and test images (3.000 and 1.000), in the
original order, from the full dataset: exactly the images quick mode uses when the full set is
here, so quick mode trains and tests on the same images online and offline. Writes them as IDX
files in torchvision's layout under cnn_course/data/fashion_mnist_sample/FashionMNIST/raw/, with
the dataset's MIT licence.

    python scripts/make_fashion_sample.py            # from the data dir or the Debian package
"""

from __future__ import annotations

import struct

from torchvision.datasets.mnist import read_image_file, read_label_file

from cnn_course import datasets, downloads

SIZES = {"train": datasets.QUICK_SIZES["train"], "t10k": datasets.QUICK_SIZES["test"]}
LICENSE = f"""Fashion-MNIST sample (the first {SIZES['train']} training and the first
{SIZES['t10k']} test images, in the original order: the images quick mode uses), taken from
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


def main() -> None:
    root, source = downloads.prepare_fashion_mnist(download=False)
    raw = downloads.raw_folder(root)
    out = downloads.raw_folder(downloads.SAMPLE_ROOT)
    out.mkdir(parents=True, exist_ok=True)
    for split, n in SIZES.items():
        images = read_image_file(str(raw / f"{split}-images-idx3-ubyte"))[:n]
        labels = read_label_file(str(raw / f"{split}-labels-idx1-ubyte"))[:n]
        (out / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, n, 28, 28) + images.numpy().tobytes())
        (out / f"{split}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + labels.numpy().astype("uint8").tobytes())
        print(f"{split}: {n} images from {source} ({raw})")
    (downloads.SAMPLE_ROOT / "LICENSE").write_text(LICENSE)


if __name__ == "__main__":
    main()
