"""cnn_course: the library behind the notebooks of a course on convolutional neural networks.

Modules, in the order data flows: ``config`` -> ``downloads`` (fetching, checking, preparing
files) -> ``datasets`` (Fashion-MNIST as tensors) and ``images`` (image files, ``CatsDogs``) ->
``models`` -> ``training`` -> ``plots``; ``ops`` (from-scratch convolution and pooling) stands
alone; ``cli`` is the ``cnn-course`` command.
"""

__version__ = "0.1.0"
