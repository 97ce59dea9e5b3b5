"""PyTorch CPU's time for one training step of our network (issue 13: training speed).

Builds the network from its configuration (`yolo_basin_torch.parse_config_name`, e.g.
`light-yolo-basin-s`) in training mode (BatchNorm on batch statistics) and times, on a
random batch of B × 3 × T × T, forward + a loss + backward + one Adam step, as
`yolo-basin bench train` times ours. The loss here is a mean of squares of the three head
maps: its cost is negligible beside the network's (ours reports assignment + loss at
~0.002 s of a ~1.8 s step), so the figure is the network's training cost in PyTorch.
`torch.set_num_threads(--threads)`; one untimed warm-up step, then --steps timed; the
median, fastest and slowest are printed, and with --json written.

Usage: python bench_train_torch.py [--config light-yolo-basin-s] [--batch 8] [--tile 416]
       [--steps 5] [--threads 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import yolo_basin_torch as ybt


def step_seconds(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor) -> float:
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = sum((level.float() ** 2).mean() for level in model(x))
    loss.backward()
    opt.step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="light-yolo-basin-s")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tile", type=int, default=416)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.batch < 1 or a.steps < 1 or a.tile < 32 or a.tile % 32:
        ap.error("--batch and --steps must be at least 1, --tile a positive multiple of 32")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ybt.Detector(ybt.parse_config_name(a.config)).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 3, a.tile, a.tile) * 2 - 1
    step_seconds(model, opt, x)
    times = [step_seconds(model, opt, x) for _ in range(a.steps)]
    med = statistics.median(times)
    print(
        f"PyTorch {torch.__version__} training step, {a.config}, batch {a.batch}, {a.tile}², "
        f"{a.threads} threads: median {med:.3f} s [{min(times):.3f}–{max(times):.3f}] of {a.steps}"
    )
    if a.json:
        report = {"config": a.config, "batch": a.batch, "tile": a.tile, "threads": a.threads,
                  "torch": torch.__version__, "median_s": med, "times_s": times}
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
