"""What notebook 05 measures: the extra memory of evaluating in one batch or in several, in a
fresh Python process (the memory the caller already holds would hide the peak)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["peak_extra_bytes"]

# What peak_extra_bytes runs in a fresh Python: evaluate n random images with FashionCNN and print
# how much that raised the process's peak resident memory (Linux's VmHWM, in KiB).
_PEAK_CHILD = """
import sys, torch
from pathlib import Path
from cnn_course import models, training
def peak():
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmHWM"].split()[0]) * 1024
n, size = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
images, labels = torch.rand(n, 1, 28, 28), torch.randint(0, 10, (n,))
model, loss_fn = models.FashionCNN(), torch.nn.CrossEntropyLoss()
training.evaluate(model, [(images[:8], labels[:8])], loss_fn)      # warm-up: allocator, kernels
before = peak()
training.evaluate(model, [(images[i:i + size], labels[i:i + size]) for i in range(0, n, size)],
                  loss_fn)
print(peak() - before)
"""


def peak_extra_bytes(n: int, batch_size: int) -> int | None:
    """Bytes that evaluating ``n`` random 28x28 images with ``FashionCNN`` in batches of
    ``batch_size`` adds to the peak memory of a fresh Python process (a fresh one, so the memory
    the caller already holds does not hide the peak). Reads Linux's ``/proc/self/status``; None
    where there is none (Windows, macOS). Notebook 05."""
    if not Path("/proc/self/status").exists():
        return None
    result = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(n), str(batch_size)],
                            capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])
