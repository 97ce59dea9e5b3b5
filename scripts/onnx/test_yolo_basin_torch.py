"""Tests of the PyTorch mirror, its loader, decoder and the ORT export.

Run from this folder with the venv's Python:  python -m unittest -v test_yolo_basin_torch
Tests that need the `yolo-basin` binary (env YB, default target/release/yolo-basin) are
skipped without it.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

import check_predict
import yolo_basin_torch as ybt

BIN = check_predict.default_bin()
HAVE_BIN = os.access(BIN, os.X_OK)


def fresh(name: str, seed: int = 0) -> ybt.Detector:
    return ybt.random_init(ybt.Detector(ybt.parse_config_name(name)), seed)


def outputs(model: ybt.Detector, x: torch.Tensor) -> list[np.ndarray]:
    with torch.inference_mode():
        return [t.numpy() for t in model(x)]


def rewrite_header(src: Path, dst: Path, edit) -> None:
    """Copies a safetensors file with `edit` applied to its JSON header."""
    data = src.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    table = json.loads(data[8 : 8 + n])
    edit(table)
    text = json.dumps(table).encode()
    dst.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + n :])


@unittest.skipUnless(HAVE_BIN, f"no yolo-basin binary at {BIN}")
class SameLayersAsInfo(unittest.TestCase):
    """Every conv of every variant and scale has the name, shape, stride, groups and
    parameter count `yolo-basin info --layers` lists (info lists them in forward order,
    PyTorch in construction order: compared by name)."""

    @staticmethod
    def info_rows(variant: str, scale: str, dwneck: bool):
        cmd = [BIN, "info", "--variant", variant, "--scale", scale, "--layers", "--no-memory"]
        if dwneck:
            cmd.append("--depthwise-neck")
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows, total = [], None
        for line in text.splitlines():
            f = line.split()
            if len(f) == 9 and f[1].isdigit():
                rows.append((f[0], *map(int, f[1:6]), int(f[7])))
            if "conv layers," in line:
                total = int(line.split("conv layers, ")[1].split()[0])
        return rows, total

    @staticmethod
    def torch_rows(model: ybt.Detector):
        rows = []
        for name, *rest in ybt.layer_table(model):
            # info prints module paths without burn's enum variants; a coupled head is `pred`.
            for variant in (".Double", ".Dense", ".Depthwise"):
                name = name.replace(variant, "")
            rows.append((name.replace(".Coupled", ".pred"), *rest))
        return rows

    def test_every_variant_and_scale(self):
        cases = [(v, s, False) for v in ybt.VARIANTS for s in ybt.SCALES] + [("light-yolo-basin", "n", True)]
        for variant, scale, dw in cases:
            with self.subTest(variant=variant, scale=scale, dwneck=dw):
                name = f"{variant}-{scale}" + ("+dwneck" if dw else "")
                model = ybt.Detector(ybt.parse_config_name(name))
                want, total = self.info_rows(variant, scale, dw)
                self.assertGreater(len(want), 50)
                self.assertEqual(sorted(self.torch_rows(model)), sorted(want))
                self.assertEqual(sum(p.numel() for p in model.parameters()), total)


class Weights(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.model = fresh("light-yolo-basin-n", seed=1)
        self.path = self.tmp / "n.safetensors"
        ybt.save_weights(self.model, self.path)

    def tearDown(self):
        self.dir.cleanup()

    def test_round_trip_is_exact_and_uses_every_tensor(self):
        back, header = ybt.load_weights(self.path)
        self.assertEqual(back.config, self.model.config)
        self.assertEqual(header["config"]["scale"], "N")
        self.assertEqual(ybt.weights_tensor_count(self.path), len(ybt.expected_tensors(back)))
        x = torch.rand(1, 3, 64, 64) * 2 - 1
        for a, b in zip(outputs(self.model, x), outputs(back, x)):
            np.testing.assert_array_equal(a, b)
        # Another init really differs: the comparison above has teeth.
        other = outputs(fresh("light-yolo-basin-n", seed=2), x)[0]
        self.assertGreater(np.abs(other - outputs(back, x)[0]).max(), 1e-3)

    def test_batchnorm_in_eval_uses_our_eps_and_running_statistics(self):
        bn = self.model.backbone.stem.bn
        self.assertEqual((bn.eps, bn.momentum), (1e-3, 0.03))
        x = torch.randn(1, bn.num_features, 2, 2)
        with torch.inference_mode():
            got = bn(x)
        rm, rv = bn.running_mean[None, :, None, None], bn.running_var[None, :, None, None]
        want = (x - rm) / torch.sqrt(rv + 1e-3) * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]
        torch.testing.assert_close(got, want)

    def refused(self, edit) -> str:
        bad = self.tmp / "bad.safetensors"
        rewrite_header(self.path, bad, edit)
        with self.assertRaises(ybt.WeightsError) as e:
            ybt.load_weights(bad)
        return str(e.exception)

    def test_missing_reshaped_and_unexpected_tensors_are_named(self):
        name = "backbone.stem.conv.weight"
        msg = self.refused(lambda t: t.pop(name))
        self.assertIn(f"`{name}` is missing", msg)
        msg = self.refused(lambda t: t[name].update(shape=[16, 3, 36, 1]))
        self.assertIn("[16, 3, 36, 1]", msg)
        self.assertIn("[16, 3, 6, 6]", msg)
        msg = self.refused(lambda t: t.update({"extra.weight": dict(t[name])}))
        self.assertIn("unexpected tensor `extra.weight`", msg)

    def test_header_of_another_network_is_refused(self):
        def claim_dense(t):
            h = json.loads(t["__metadata__"][ybt.METADATA_KEY])
            h["config"]["variant"] = "yolo-basin"
            t["__metadata__"][ybt.METADATA_KEY] = json.dumps(h)

        msg = self.refused(claim_dense)
        self.assertIn("yolo-basin-n", msg)
        self.assertIn("missing", msg)
        self.assertIn("unexpected", msg)

    def test_a_cut_file_and_a_foreign_file_are_refused(self):
        cut = self.tmp / "cut.safetensors"
        cut.write_bytes(self.path.read_bytes()[:-1000])
        with self.assertRaisesRegex(ybt.WeightsError, "damaged or cut short"):
            ybt.load_weights(cut)
        junk = self.tmp / "junk.safetensors"
        junk.write_bytes(b"hello")
        with self.assertRaisesRegex(ybt.WeightsError, "too short"):
            ybt.load_weights(junk)


class Blocks(unittest.TestCase):
    def test_upsample_is_half_pixel_bilinear(self):
        # 1-D along x: [0, 4] → sample points −0.25, 0.25, 0.75, 1.25 (clamped) → 0, 1, 3, 4.
        y = ybt.upsample2(torch.tensor([[[[0.0, 4.0]]]]))
        torch.testing.assert_close(y, torch.tensor([[[[0.0, 1.0, 3.0, 4.0]] * 2]]))

    def test_sppf_pool_pads_with_minus_infinity(self):
        x = torch.full((1, 1, 7, 7), -1.0)
        x[0, 0, 3, 3] = 5.0
        x[0, 0, 0, 0] = -0.5
        y = ybt.sppf_pool(x)[0, 0]
        for r in range(7):
            for c in range(7):
                want = 5.0 if abs(r - 3) <= 2 and abs(c - 3) <= 2 else (-0.5 if r <= 2 and c <= 2 else -1.0)
                self.assertEqual(float(y[r, c]), want, (r, c))

    def test_scaling_as_make_divisible(self):
        s = ybt.parse_config_name("yolov5-s")
        n = ybt.parse_config_name("yolov5-n")
        m = ybt.parse_config_name("yolov5-m")
        self.assertEqual((s.channels(64), s.channels(1024)), (32, 512))
        self.assertEqual((n.channels(64), n.channels(1024)), (16, 256))
        self.assertEqual((m.channels(64), m.channels(1024)), (48, 768))
        self.assertEqual([m.repeats(r) for r in (3, 6, 9)], [2, 4, 6])
        self.assertEqual([s.repeats(r) for r in (3, 6, 9)], [1, 2, 3])

    def test_bottleneck_adds_only_when_asked_and_shapes_match(self):
        self.assertTrue(ybt.Bottleneck(8, 8, True, False).add)
        self.assertFalse(ybt.Bottleneck(8, 8, False, False).add)
        self.assertFalse(ybt.Bottleneck(8, 16, True, False).add)

    def test_output_shapes(self):
        for name, c in (("light-yolo-basin-n", 5), ("yolov5-n", 18)):
            shapes = [list(o.shape) for o in outputs(fresh(name), torch.zeros(1, 3, 64, 96))]
            self.assertEqual(shapes, [[1, c, 8, 12], [1, c, 4, 6], [1, c, 2, 3]], name)


class Decode(unittest.TestCase):
    def test_anchor_free_by_hand(self):
        # Zero logits: centre (0.5 + cell) · stride, size exp(0) · stride, score σ(0) = 0.5.
        cfg = ybt.parse_config_name("light-yolo-basin-n")
        raw = [
            np.zeros((1, 5, 1, 2), np.float32),
            np.full((1, 5, 1, 1), -20, np.float32),
            np.full((1, 5, 1, 1), -20, np.float32),
        ]
        raw[0][0, 2, 0, 1] = math.log(3.0)  # width 3 cells at the second cell
        preds = ybt.decode_host(raw, cfg, 0.4)[0]
        self.assertEqual(len(preds), 2)
        np.testing.assert_allclose(preds[0], (0.0, 0.0, 8.0, 8.0, 0.5), atol=1e-5)
        np.testing.assert_allclose(preds[1], (12 - 12, 0.0, 12 + 12, 8.0, 0.5), atol=1e-5)
        # The size logits are clamped at 6: exp(6) · 8 wide, not exp(50) · 8.
        raw[0][0, 2, 0, 0] = 50.0
        p = ybt.decode_host(raw, cfg, 0.4)[0][0]
        self.assertAlmostEqual(p[2] - p[0], math.exp(6.0) * 8, places=2)

    def test_yolov5_by_hand(self):
        # Zero logits: centre (2σ − 0.5 + cell) · stride = (0.5 + cell) · stride, size
        # (2σ)² · anchor = the anchor, score σ(0)·σ(0) = 0.25; anchor-major order.
        cfg = ybt.parse_config_name("yolov5-n")
        raw = [np.zeros((1, 18, 1, 1), np.float32)] + [np.full((1, 18, 1, 1), -20, np.float32)] * 2
        preds = ybt.decode_host(raw, cfg, 0.2)[0]
        self.assertEqual(len(preds), 3)
        for a, p in enumerate(preds):
            w, h = ybt.DEFAULT_ANCHORS[0][2 * a : 2 * a + 2]
            np.testing.assert_allclose(p, (4 - w / 2, 4 - h / 2, 4 + w / 2, 4 + h / 2, 0.25), atol=1e-5)

    def test_clip_and_greedy_nms(self):
        preds = [
            (-5, 0, 10, 10, 0.9),
            (0, 0, 10, 11, 0.8),
            (20, 20, 30, 30, 0.7),
            (40, 40, 50, 50, 0.95),
            (70, 0, 80, 10, 0.6),
        ]
        out = ybt.postprocess(preds, 64.0, 64.0, 0.45, 300)
        # (0,0,10,11) overlaps the clipped (0,0,10,10) by 10/11 and goes; the box beyond the
        # input clips to nothing and goes; the rest by descending score.
        self.assertEqual([d[4] for d in out], [0.95, 0.9, 0.7])
        self.assertEqual(out[1][:4], (0.0, 0.0, 10.0, 10.0))
        self.assertEqual(out[0][:4], (40.0, 40.0, 50.0, 50.0))
        self.assertEqual(len(ybt.postprocess(preds, 64.0, 64.0, 1.0, 300)), 4)
        self.assertEqual(len(ybt.postprocess(preds, 64.0, 64.0, 0.45, 2)), 2)


class Encode(unittest.TestCase):
    def test_offset_and_direction_do_not_change_the_planes(self):
        rng = np.random.default_rng(0)
        phase = rng.uniform(-math.pi, math.pi, (16, 16)).astype(np.float32) * 0.5
        base = check_predict.encode_phase(phase, None)
        shifted = np.angle(np.exp(1j * (phase.astype(np.float64) + 1.3))).astype(np.float32)
        np.testing.assert_allclose(check_predict.encode_phase(shifted, None), base, atol=1e-5)
        np.testing.assert_allclose(check_predict.encode_phase(-phase, None), base, atol=1e-5)

    def test_constant_phase_no_data_and_coherence(self):
        phase = np.full((2, 3), 2.0, np.float32)
        phase[1, 2] = np.nan
        coh = np.array([[0.5, 2.0, np.nan], [-1.0, 0.25, 0.9]], np.float32)
        x = check_predict.encode_phase(phase, coh)
        valid = np.isfinite(phase)
        np.testing.assert_allclose(x[0][valid], 1.0, atol=1e-6)  # re-referenced to φ' = 0
        np.testing.assert_allclose(x[1][valid], 0.0, atol=1e-6)
        np.testing.assert_array_equal(x[:, 1, 2], 0.0)
        np.testing.assert_array_equal(x[2], [[0.5, 1.0, 0.0], [0.0, 0.25, 0.0]])
        np.testing.assert_array_equal(check_predict.encode_phase(phase, None)[2], valid.astype(np.float32))

    def test_padding_to_the_stride(self):
        x = check_predict.pad_to_stride(np.ones((3, 40, 33), np.float32))
        self.assertEqual(x.shape, (3, 64, 64))
        self.assertEqual(float(x.sum()), 3 * 40 * 33)


class Onnx(unittest.TestCase):
    def test_ort_matches_pytorch(self):
        import bench_ort

        for name in ("light-yolo-basin-n", "yolov5-n"):
            model = fresh(name)
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "m.onnx"
                bench_ort.export_onnx(model, 64, path, bench_ort.OPSET)
                sess = bench_ort.ort_session(path, 1)
                rows = bench_ort.check_outputs(model, sess, bench_ort.phase_like_input(64))
            self.assertEqual([r["stride"] for r in rows], [8, 16, 32])
            for r in rows:
                self.assertGreater(r["max_abs"], 1e-3, name)
                self.assertLess(r["max_abs_diff"], 1e-4 * r["max_abs"], (name, r))

    def test_combined_rounds_and_ratios(self):
        import bench_ort

        def rnd(ours, ort):
            row = {
                "tile": 416,
                "onnx_bytes": 1,
                "ours": {"median_ms": ours, "min_ms": ours - 1, "max_ms": ours + 1},
                "ort": {"median_ms": ort, "min_ms": ort - 2, "max_ms": ort + 2},
                "torch": {"median_ms": 100.0, "min_ms": 90.0, "max_ms": 110.0},
            }
            return {"model": "m", "threads": 2, "runs": 3, "results": [row]}

        r = bench_ort.combine([rnd(10, 20), rnd(30, 10), rnd(20, 15)])["results"][0]
        self.assertEqual(r["ours"]["median_ms"], 20)
        self.assertEqual(r["ort"]["median_ms"], 15)
        self.assertEqual((r["ours"]["min_ms"], r["ort"]["max_ms"]), (9, 22))
        self.assertAlmostEqual(r["ratios"]["ort_over_ours"], 0.75)
        self.assertAlmostEqual(r["ratios"]["ort_over_ours_fastest"], 8 / 9)
        self.assertAlmostEqual(r["ratios"]["torch_over_ours"], 5.0)

    def test_reads_the_fast_path_line_of_bench_infer(self):
        import bench_ort

        with tempfile.TemporaryDirectory() as d:
            log = Path(d) / "ours.txt"
            log.write_text(
                "bench infer: x\n  plain burn   409.3 ms  [341.1–589.5]\n"
                "  fast path       255.4 ms  [231.9–347.7]   (folding once: 30 ms)\n"
            )
            got = bench_ort.parse_ours([f"416={log}"])
        self.assertEqual(got, {416: {"median_ms": 255.4, "min_ms": 231.9, "max_ms": 347.7}})


@unittest.skipUnless(HAVE_BIN, f"no yolo-basin binary at {BIN}")
class SameDetectionsAsPredict(unittest.TestCase):
    """Every prediction on a simulated tile equals `yolo-basin predict`'s to float rounding,
    and one changed BatchNorm statistic is seen."""

    def test_light_n_from_python_weights(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            model = fresh("light-yolo-basin-n", seed=5)
            w = d / "n.safetensors"
            ybt.save_weights(model, w)
            tiles = check_predict.synth_tiles(BIN, d / "synth", 1)
            rust = check_predict.run_predict(BIN, w, tiles, d / "p", 0.0, 1.0, 1_000_000, False)[tiles[0].name]
            ours = check_predict.torch_detections(model, tiles[0], 0.0, 1.0, 1_000_000)
            same = check_predict.compare(ours, rust)
            self.assertEqual(same["rust"], 3549)
            self.assertEqual(same["torch"], 3549)
            self.assertLess(same["max_box_px"], 1e-3)
            self.assertLess(same["max_score"], 1e-5)
            with torch.no_grad():
                model.neck.out3.cv3.bn.running_mean += 0.5
            changed = check_predict.compare(check_predict.torch_detections(model, tiles[0], 0.0, 1.0, 1_000_000), rust)
            self.assertGreater(max(changed["max_box_px"], changed["max_score"] * 100), 1e-2)


if __name__ == "__main__":
    unittest.main()
