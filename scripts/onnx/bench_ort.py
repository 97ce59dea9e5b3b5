"""ONNX Runtime and PyTorch CPU timings of one of our weights files (issue 13).

For each tile side T: exports the network (`yolo_basin_torch.py`, loaded exactly from the
weights) to ONNX at a fixed 1×3×T×T input, then times, at batch 1 on the same input,
- ONNX Runtime, CPU execution provider, intra-op threads = --threads, inter-op 1,
  sequential execution, graph optimisations ORT_ENABLE_ALL (BatchNorm folded into the
  convs, SiLU and other fusions);
- PyTorch eager, torch.set_num_threads(--threads), `torch.inference_mode`, eval mode.
Each is run --warmup times untimed, then --runs times; the median, fastest and slowest are
reported (milliseconds of wall time, one forward pass each, decoding excluded as in
`yolo-basin bench infer`). `--ours T=FILE` reads our fast path's figures for tile T from a
`yolo-basin bench infer` report (what `bench.sh` passes) and adds the ratios ORT time / ours
and PyTorch time / ours, of the medians and of the fastest runs: above 1, ours is faster.

`--check` also compares the raw head maps of ORT with PyTorch's on a phase-like input
(max |ORT − PyTorch| against max |PyTorch| per level) and exits 1 beyond --tol.

Usage: python bench_ort.py --weights W [--tile 416 1792] [--runs 20] [--json OUT] [--check]
       python bench_ort.py --combine ROUND1.json ROUND2.json ... [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import yolo_basin_torch as ybt

OPSET = 17


def export_onnx(model: ybt.Detector, side: int, path: Path, opset: int) -> None:
    """Fixed-size export (ORT may then plan every shape ahead) with the TorchScript
    exporter, which needs no extra package."""
    x = torch.zeros(1, 3, side, side)
    with torch.no_grad(), warnings.catch_warnings():
        # The legacy exporter is deprecated, not broken; the dynamo one needs onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (x,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["input"],
            output_names=["p3", "p4", "p5"],
            do_constant_folding=True,
        )


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def phase_like_input(side: int, seed: int = 0) -> np.ndarray:
    """cos φ, sin φ of a smooth random phase and coherence in [0, 1]: values the network
    meets (speed does not depend on them, agreement may)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    phase = 20 * (xx - 0.5) ** 2 + 13 * yy * xx + rng.normal(0, 0.3, (side, side))
    coh = rng.uniform(0, 1, (side, side))
    return np.stack([np.cos(phase), np.sin(phase), coh])[None].astype(np.float32)


def timed(fn, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    ms = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    # CPU seconds of all the process's threads per wall second: the cores an engine kept
    # busy (about --threads when it uses what it was given and no more).
    cores = (time.process_time() - cpu0) / (sum(ms) / 1e3)
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms), "cores_busy": cores}


def check_outputs(model: ybt.Detector, sess, x: np.ndarray) -> list[dict]:
    with torch.inference_mode():
        want = [t.numpy() for t in model(torch.from_numpy(x))]
    got = sess.run(None, {"input": x})
    return [
        {
            "stride": s,
            "shape": list(w.shape),
            "max_abs_diff": float(np.abs(g - w).max()),
            "max_abs": float(np.abs(w).max()),
        }
        for s, w, g in zip(ybt.STRIDES, want, got)
    ]


def bench_tile(model, side: int, args, onnx_dir: Path) -> dict:
    path = onnx_dir / f"{model.config.name()}-{side}.onnx"
    export_onnx(model, side, path, args.opset)
    sess = ort_session(path, args.threads)
    x = phase_like_input(side)
    row = {"tile": side, "onnx_bytes": path.stat().st_size}
    row["ort"] = timed(lambda: sess.run(None, {"input": x}), args.runs, args.warmup)
    xt = torch.from_numpy(x)

    def eager():
        with torch.inference_mode():
            model(xt)

    row["torch"] = timed(eager, args.runs, args.warmup)
    if args.check:
        row["check"] = check_outputs(model, sess, x)
    return row


FAST_PATH_LINE = re.compile(r"fast path\s+([0-9.]+) ms\s+\[([0-9.]+)[^0-9.]+([0-9.]+)\]")


def parse_ours(items: list[str]) -> dict[int, dict]:
    """`T=FILE` → our fast path's figures for tile T, read from the `yolo-basin bench infer`
    report in FILE (its line `fast path  M ms  [fastest–slowest]`)."""
    out = {}
    for it in items:
        tile, _, path = it.partition("=")
        text = Path(path).read_text()
        m = FAST_PATH_LINE.search(text)
        if m is None:
            raise ValueError(f"{path}: no `fast path  M ms  [a–b]` line (a yolo-basin bench infer report?)")
        out[int(tile)] = {"median_ms": float(m[1]), "min_ms": float(m[2]), "max_ms": float(m[3])}
    return out


def add_ratios(row: dict) -> None:
    """ORT and PyTorch time over ours (above 1: ours is faster), of the medians and of the
    fastest runs (the latter less sensitive to other load on the machine)."""
    if "ours" not in row:
        return
    o = row["ours"]
    row["ratios"] = {
        f"{eng}_over_ours{suffix}": row[eng][key] / o[key]
        for eng in ("ort", "torch")
        for key, suffix in (("median_ms", ""), ("min_ms", "_fastest"))
    }


def combine(reports: list[dict]) -> dict:
    """Rounds of one benchmark → one report: each engine's median of its round medians (so
    a round slowed by other load counts no more for one engine than another), the fastest
    and slowest single runs, and each check's worst difference."""
    first = reports[0]

    def key(r: dict) -> tuple:
        return r["model"], r["threads"], [x["tile"] for x in r["results"]]

    if any(key(r) != key(first) for r in reports[1:]):
        raise ValueError("the rounds are of different benchmarks")
    out = {k: v for k, v in first.items() if k != "results"}
    out["rounds"] = len(reports)
    out["results"] = []
    for i, row in enumerate(first["results"]):
        rows = [r["results"][i] for r in reports]
        new = {"tile": row["tile"], "onnx_bytes": row["onnx_bytes"]}
        for eng in ("ours", "ort", "torch"):
            if all(eng in x for x in rows):
                new[eng] = {
                    "median_ms": statistics.median(x[eng]["median_ms"] for x in rows),
                    "min_ms": min(x[eng]["min_ms"] for x in rows),
                    "max_ms": max(x[eng]["max_ms"] for x in rows),
                    "round_medians_ms": [x[eng]["median_ms"] for x in rows],
                }
        add_ratios(new)
        if all("check" in x for x in rows):
            new["check"] = [max(cs, key=lambda c: c["max_abs_diff"]) for cs in zip(*(x["check"] for x in rows))]
        out["results"].append(new)
    return out


def cell(t: dict | None) -> str:
    return f"{t['median_ms']:.1f} [{t['min_ms']:.1f}–{t['max_ms']:.1f}]" if t else "–"


def ratio(row: dict, eng: str) -> str:
    q = row.get("ratios")
    return f"{q[eng + '_over_ours']:.2f} ({q[eng + '_over_ours_fastest']:.2f})" if q else "–"


def print_table(report: dict) -> None:
    rounds = f", {report['rounds']} rounds (median of round medians)" if report.get("rounds", 1) > 1 else ""
    print(
        f"{report['model']}, batch 1, {report['threads']} threads, median of {report['runs']} runs "
        f"[fastest–slowest]{rounds}, ms; ratio = their time / ours (> 1: ours faster), median (fastest)"
    )
    print(f"{'tile':>5} {'ours':>22} {'ONNX Runtime':>22} {'PyTorch eager':>22} {'ORT/ours':>14} {'PyTorch/ours':>14}")
    for r in report["results"]:
        print(
            f"{r['tile']:>5} {cell(r.get('ours')):>22} {cell(r['ort']):>22} {cell(r['torch']):>22} "
            f"{ratio(r, 'ort'):>14} {ratio(r, 'torch'):>14}"
        )
        for c in r.get("check", []):
            print(
                f"{'':>5} check stride {c['stride']:>2}: max |ORT − PyTorch| {c['max_abs_diff']:.1e} "
                f"of max |PyTorch| {c['max_abs']:.2e}"
            )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_json(path: Path | None, report: dict) -> None:
    if path is None:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path)
    ap.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="no timing: merge the JSON reports of several rounds into one",
    )
    ap.add_argument("--tile", type=int, nargs="+", default=[416], help="input sides (multiples of 32)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--opset", type=int, default=OPSET)
    ap.add_argument("--onnx-dir", type=Path, help="keep the .onnx files here (default: a temporary folder)")
    ap.add_argument(
        "--ours",
        action="append",
        default=[],
        metavar="T=FILE",
        help="the `yolo-basin bench infer --tile T` report in FILE: our figures for tile T",
    )
    ap.add_argument("--check", action="store_true", help="compare ORT's outputs with PyTorch's")
    ap.add_argument("--tol", type=float, default=1e-4, help="--check: max |diff| / max |PyTorch|")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.combine:
        report = combine([json.loads(p.read_text()) for p in args.combine])
        print_table(report)
        write_json(args.json, report)
        return 0
    if args.weights is None:
        ap.error("--weights is required (or --combine)")
    if any(t <= 0 or t % ybt.MAX_STRIDE for t in args.tile):
        ap.error(f"--tile must be positive multiples of {ybt.MAX_STRIDE}")
    if args.runs < 1 or args.threads < 1 or args.opset < 17:
        ap.error("--runs and --threads must be ≥ 1, --opset ≥ 17")
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by an earlier parallel call: it only affects inter-op work
    model, _ = ybt.load_weights(args.weights)
    ours = parse_ours(args.ours)
    import onnxruntime

    report = {
        "model": model.config.name(),
        "weights": str(args.weights),
        "threads": args.threads,
        "runs": args.runs,
        "warmup": args.warmup,
        "opset": args.opset,
        "versions": {
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
        "cpu": cpu_name(),
        "results": [],
    }
    with tempfile.TemporaryDirectory(prefix="yb-onnx-") as tmp:
        onnx_dir = args.onnx_dir or Path(tmp)
        onnx_dir.mkdir(parents=True, exist_ok=True)
        for side in args.tile:
            row = bench_tile(model, side, args, onnx_dir)
            if side in ours:
                row["ours"] = ours[side]
                add_ratios(row)
            report["results"].append(row)
    print_table(report)
    write_json(args.json, report)
    bad = [
        c
        for r in report["results"]
        for c in r.get("check", [])
        if c["max_abs_diff"] > args.tol * max(c["max_abs"], 1.0)
    ]
    if bad:
        print(f"ORT and PyTorch differ beyond {args.tol:g} (relative): {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
