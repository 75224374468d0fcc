"""Where the exercise's time goes: ``torch.profiler`` on FashionCNN training steps (batch 32)
and evaluation passes (batch 256), and the arithmetic rate they reach.

Prints, for each memory layout asked for, the top operators by self CPU time, then the
achieved GFLOP/s of a training step (forward mult-adds x 2 flops x 3 for forward + backward,
an approximation) and of an evaluation batch, next to a large single-precision matrix product
on the same threads as a practical peak. Run by hand (not part of the tests):

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/profile_exercise.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from cnn_course import config, models

LAYOUTS = {"channels_last": True, "nchw": False}


def mult_adds_per_image(model: nn.Module) -> int:
    """Forward mult-adds of one 28x28 image through the model's convolutions and linear layers."""
    total = 0

    def count(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.weight[0, 0].numel()
            total += output[0].numel() * per_output
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        model(torch.zeros(1, *models.FashionCNN.input_shape))
    for hook in hooks:
        hook.remove()
    return total


def step_functions(channels_last: bool, seed: int = 0
                   ) -> tuple[Callable[[], None], Callable[[], None]]:
    """A training step on a batch of 32 and an evaluation pass on a batch of 256, as
    ``training.train_one_epoch`` and ``training.evaluate`` run them (in ``channels_last`` when
    asked; evaluation under ``inference_mode``), without their once-per-call layout change."""
    config.seed_everything(seed)
    model = models.FashionCNN()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    train_x, train_y = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    eval_x, eval_y = torch.rand(256, 1, 28, 28), torch.randint(0, 10, (256,))
    if channels_last:
        model.to(memory_format=torch.channels_last)

    def train_step() -> None:
        loss = loss_fn(model(train_x), train_y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def eval_pass() -> None:
        with torch.inference_mode():
            outputs = model(eval_x)
            loss_fn(outputs, eval_y).item()
            (outputs.argmax(dim=1) == eval_y).sum().item()

    return train_step, eval_pass


def seconds_per_call(function: Callable[[], None], calls: int, warmup: int = 5
                     ) -> tuple[float, float]:
    """(median, best) wall seconds of ``function`` over ``calls`` calls, after a warm-up."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def profile_table(function: Callable[[], None], calls: int, rows: int) -> str:
    """The top ``rows`` operators by self CPU time over ``calls`` calls (after a warm-up)."""
    for _ in range(5):
        function()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            function()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def matmul_gflops(sizes: tuple[int, ...] = (512, 1024, 2048), calls: int = 5) -> float:
    """Best GFLOP/s of square float32 matrix products of these sizes: a practical peak."""
    best = 0.0
    for size in sizes:
        a, b = torch.rand(size, size), torch.rand(size, size)
        _, seconds = seconds_per_call(lambda a=a, b=b: a @ b, calls, warmup=2)
        best = max(best, 2 * size**3 / seconds / 1e9)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's default)")
    parser.add_argument("--layout", choices=[*LAYOUTS, "both"], default="both")
    parser.add_argument("--calls", type=int, default=20,
                        help="steps profiled and timed (the table sums over them)")
    parser.add_argument("--rows", type=int, default=8, help="operators in each table")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(config.run_info())
    print(f"CPU capability: {torch.backends.cpu.get_cpu_capability()}")
    layouts = list(LAYOUTS) if args.layout == "both" else [args.layout]
    macs = mult_adds_per_image(models.FashionCNN())
    rates = []
    for layout in layouts:
        train_step, eval_pass = step_functions(LAYOUTS[layout])
        for name, function in (("training step, batch 32", train_step),
                               ("evaluation pass, batch 256", eval_pass)):
            print(f"\n== {layout}: {name} ({args.calls} calls; totals over all of them)")
            print(profile_table(function, args.calls, args.rows))
        flops = {"train": 3 * 2 * macs * 32, "eval": 2 * macs * 256}
        for kind, function in (("train", train_step), ("eval", eval_pass)):
            median, best = seconds_per_call(function, args.calls)
            rates.append((layout, kind, median, best, flops[kind] / best / 1e9,
                          flops[kind] / median / 1e9))
    print(f"\nFashionCNN forward: {macs:,} mult-adds per image ({2 * macs / 1e6:.1f} MFLOP); "
          "a training step counted as 3x its forward (approx.)")
    print(f"{'layout':14} {'what':22} {'median ms':>10} {'best ms':>8} {'GFLOP/s best':>13} "
          f"{'(median)':>9}")
    for layout, kind, median, best, rate, median_rate in rates:
        what = "train step, batch 32" if kind == "train" else "eval pass, batch 256"
        print(f"{layout:14} {what:22} {median * 1e3:10.2f} {best * 1e3:8.2f} {rate:13.1f} "
              f"{median_rate:9.1f}")
    print(f"float32 matmul (512-2048, best) on {torch.get_num_threads()} thread(s): "
          f"{matmul_gflops():.1f} GFLOP/s (a practical peak)")


if __name__ == "__main__":
    main()
