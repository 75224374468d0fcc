from pathlib import Path

import pytest

from cnn_course import memory


def test_peak_extra_bytes_grows_with_the_batch():
    # Linux only (reads /proc); one batch of 600 images holds far more activations than 6 of 100
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc/self/status on this system")
    one, many = memory.peak_extra_bytes(600, 600), memory.peak_extra_bytes(600, 100)
    assert one > 2 * many > 0
