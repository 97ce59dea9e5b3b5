"""Is the PyTorch network ours? Boxes and scores of PyTorch against `yolo-basin predict`.

Both read the same tiles: predict through its own readers, this script by reading the float32
phase GeoTIFF (and the simulator's `../coherence/<name>` beside it, as predict does) and
encoding it as `model::input::encode_phase` does (cos φ', sin φ', coherence of the phase
re-referenced to its mean direction and cycle sense), zero-padded to a multiple of 32. The raw
head maps are decoded as `decode.rs` does (`decode_host`), clipped, put through greedy NMS and
compared detection by detection (both lists are in descending score). With `--tiles` absent,
four tiles are simulated with `yolo-basin synth`.

By default every prediction of the net is compared (score ≥ 0, NMS IoU 1: nothing
suppressed); `--score 0.25 --iou 0.45 --max-det 300` compares predict's defaults instead.

Usage: python check_predict.py --weights W [--tiles DIR] [--score S --iou I] [--json OUT]
Exit status 1 when the detections differ by more than --tol-box pixels or --tol-score.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import tifffile
import torch

import yolo_basin_torch as ybt

GDAL_NODATA_TAG = 42113


def default_bin() -> str:
    return os.environ.get("YB", str(Path(__file__).resolve().parents[2] / "target/release/yolo-basin"))


def read_f32(path: Path) -> tuple[np.ndarray, float | None]:
    """Band 1 of a TIFF as float32 (bytes / 255 for a byte raster) and its GDAL no-data."""
    with tifffile.TiffFile(path) as t:
        page = t.pages[0]
        a = page.asarray()
        nd = page.tags.get(GDAL_NODATA_TAG)
        nodata = float(str(nd.value).strip("\x00 ")) if nd is not None else None
    if a.ndim == 3:
        a = a[..., 0]
    if a.dtype == np.uint8:
        return (a.astype(np.float32) / np.float32(255.0)), None
    if a.dtype != np.float32:
        raise ValueError(f"{path}: {a.dtype} pixels, expected float32 phase or byte coherence")
    return a, nodata


def encode_phase(phase: np.ndarray, coherence: np.ndarray | None) -> np.ndarray:
    """model::input::encode_phase: [3, H, W] of cos φ', sin φ', coherence (1 when none)."""
    f32 = np.float32
    valid = np.isfinite(phase)
    p = np.where(valid, phase, 0).astype(f32)
    cos = np.where(valid, np.cos(p), 0).astype(f32)
    sin = np.where(valid, np.sin(p), 0).astype(f32)
    if coherence is None:
        coh = np.ones_like(p)
    else:
        coh = np.where(np.isfinite(coherence), np.clip(coherence, 0, 1), 0).astype(f32)
    coh = np.where(valid, coh, 0).astype(f32)
    # reference(): rotate so the phasors' sum points along φ = 0, conjugate when Σ sin 2φ' < 0.
    sc, ss = float(cos.sum(dtype=np.float64)), float(sin.sum(dtype=np.float64))
    norm = float(np.hypot(sc, ss))
    rc, rs = (f32(sc / norm), f32(ss / norm)) if norm > 0 else (f32(1), f32(0))
    c2 = (cos * rc + sin * rs).astype(f32)
    s2 = (sin * rc - cos * rs).astype(f32)
    sin2 = float((f32(2.0) * s2 * c2).astype(np.float64).sum())
    if sin2 < -1e-5 * cos.size:
        s2 = -s2
    return np.stack([c2, s2, coh]).astype(f32)


def pad_to_stride(x: np.ndarray) -> np.ndarray:
    _, h, w = x.shape
    ph, pw = -(-h // ybt.MAX_STRIDE) * ybt.MAX_STRIDE, -(-w // ybt.MAX_STRIDE) * ybt.MAX_STRIDE
    out = np.zeros((3, ph, pw), np.float32)
    out[:, :h, :w] = x
    return out


def tile_input(path: Path) -> tuple[np.ndarray, int, int]:
    """The padded network input of one phase tile, as predict's `load_item` makes it."""
    phase, nodata = read_f32(path)
    if nodata is not None:
        phase = np.where(phase == np.float32(nodata), np.float32(np.nan), phase)
    coh_path = path.parent.parent / "coherence" / path.name
    coh = read_f32(coh_path)[0] if coh_path.is_file() else None
    if coh is not None and coh.shape != phase.shape:
        raise ValueError(f"{coh_path}: coherence {coh.shape} is not on the phase grid {phase.shape}")
    h, w = phase.shape
    return pad_to_stride(encode_phase(phase, coh)), w, h


def torch_detections(model, path: Path, score: float, iou: float, max_det: int):
    x, w, h = tile_input(path)
    with torch.inference_mode():
        raw = [t.numpy() for t in model(torch.from_numpy(x[None]))]
    preds = ybt.decode_host(raw, model.config, score)[0]
    _, ph, pw = x.shape
    dets = ybt.postprocess(preds, float(pw), float(ph), iou, max_det)
    # predict.rs clips again to the unpadded image and drops what becomes empty.
    out = []
    for x1, y1, x2, y2, s in dets:
        b = [min(max(v, 0.0), lim) for v, lim in ((x1, w), (y1, h), (x2, w), (y2, h))]
        if b[2] - b[0] > 0 and b[3] - b[1] > 0:
            out.append((*b, s))
    return out


def run_predict(
    bin_: str, weights: Path, tiles: list[Path], out: Path, score: float, iou: float, max_det: int, reference: bool
):
    src = out / "in"
    src.mkdir(parents=True)
    # predict reads a folder in name order; the coherence layout must survive the copy.
    (out / "coherence").mkdir()
    for t in tiles:
        (src / t.name).symlink_to(t.resolve())
        coh = t.parent.parent / "coherence" / t.name
        if coh.is_file():
            (out / "coherence" / t.name).symlink_to(coh.resolve())
    cmd = [
        bin_,
        "predict",
        "--weights",
        str(weights),
        "--out",
        str(out / "pred"),
        "--no-png",
        "--score",
        str(score),
        "--iou",
        str(iou),
        "--max-det",
        str(max_det),
        str(src),
    ]
    if reference:
        cmd.append("--reference")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    results = json.loads((out / "pred" / "results.json").read_text())
    images = json.loads((out / "pred" / "images.json").read_text())["images"]
    by_id = {im["id"]: Path(im["file_name"]).name for im in images}
    dets = {name: [] for name in by_id.values()}
    for r in results:
        x, y, w, h = r["bbox"]
        dets[by_id[r["image_id"]]].append((x, y, x + w, y + h, r["score"]))
    return dets


def compare(ours: list, theirs: list) -> dict:
    """Matches each detection of either list with its nearest in the other (largest corner
    or score difference): order-free, since an untrained net's scores tie to rounding and
    their order is then arbitrary. The worst match over both directions."""
    if not ours or not theirs:
        return {"rust": len(theirs), "torch": len(ours), "max_box_px": 0.0, "max_score": 0.0}
    a, b = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    box = np.abs(a[:, None, :4] - b[None, :, :4]).max(axis=2)
    score = np.abs(a[:, None, 4] - b[None, :, 4])
    dist = np.maximum(box, score)
    worst_box = worst_score = 0.0
    for axis in (0, 1):
        j = dist.argmin(axis=axis)
        i = np.arange(dist.shape[1 - axis])
        pick = (j, i) if axis == 0 else (i, j)
        worst_box = max(worst_box, float(box[pick].max()))
        worst_score = max(worst_score, float(score[pick].max()))
    return {"rust": len(theirs), "torch": len(ours), "max_box_px": worst_box, "max_score": worst_score}


def synth_tiles(bin_: str, out: Path, n: int) -> list[Path]:
    subprocess.run(
        [bin_, "synth", "--tiles", str(n), "--scenes", "0", "--out", str(out)], check=True, stdout=subprocess.DEVNULL
    )
    return sorted((out / "images").glob("*.tif"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--tiles", type=Path, help="folder of phase tiles (default: 4 fresh synth tiles)")
    ap.add_argument("--bin", default=default_bin(), help="yolo-basin binary (env YB)")
    ap.add_argument("--score", type=float, default=0.0, help="default: every prediction is compared")
    ap.add_argument("--iou", type=float, default=1.0, help="NMS threshold (default 1: none suppressed)")
    ap.add_argument("--max-det", type=int, default=1_000_000)
    ap.add_argument("--reference", action="store_true", help="compare with predict's plain-burn path")
    ap.add_argument("--tol-box", type=float, default=1e-3, help="pixels")
    ap.add_argument("--tol-score", type=float, default=1e-5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    model, _ = ybt.load_weights(args.weights)
    with tempfile.TemporaryDirectory(prefix="yb-check-") as tmp:
        tmp = Path(tmp)
        tiles = sorted(args.tiles.glob("*.tif")) if args.tiles else synth_tiles(args.bin, tmp / "synth", 4)
        if not tiles:
            print(f"{args.tiles}: no .tif tiles", file=sys.stderr)
            return 2
        rust = run_predict(args.bin, args.weights, tiles, tmp / "p", args.score, args.iou, args.max_det, args.reference)
        rows = {
            t.name: compare(torch_detections(model, t, args.score, args.iou, args.max_det), rust[t.name]) for t in tiles
        }
    worst_box = max(r["max_box_px"] for r in rows.values())
    worst_score = max(r["max_score"] for r in rows.values())
    same_counts = all(r["rust"] == r["torch"] for r in rows.values())
    engine = "burn" if args.reference else "fast"
    print(f"{model.config.name()} vs yolo-basin predict ({engine} path), score ≥ {args.score}:")
    for name, r in rows.items():
        print(
            f"  {name:<20} detections rust {r['rust']:>3} torch {r['torch']:>3}  "
            f"max |Δbox| {r['max_box_px']:.2e} px  max |Δscore| {r['max_score']:.2e}"
        )
    print(f"  worst: |Δbox| {worst_box:.2e} px, |Δscore| {worst_score:.2e}, same counts: {same_counts}")
    ok = same_counts and worst_box <= args.tol_box and worst_score <= args.tol_score
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "model": model.config.name(),
                    "engine": engine,
                    "score": args.score,
                    "tiles": rows,
                    "max_box_px": worst_box,
                    "max_score": worst_score,
                    "same_counts": same_counts,
                    "ok": ok,
                },
                indent=2,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
