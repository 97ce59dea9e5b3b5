#!/usr/bin/env python3
"""Reference numbers from pycocotools for detect-core's evaluator test (tests/cocoeval.rs).

Makes small random COCO cases (random GT over several images, in all size classes, crowd
boxes, an `area` field that differs from w*h as segmentation areas do, jittered, duplicated
and false detections, tied scores, images without GT, an image with more than 100
detections) and writes, per case, gt.json, dets.json and expected.json:

- stats: COCOeval.stats with default parameters;
- ap_per_iou: AP (area all, maxDets 100) at each IoU threshold;
- pr_curve: precision at each recall point per IoU threshold, mean over categories
  (entries of -1 left out), area all, largest maxDets;
- large: the same with maxDets [1, 10, 100, LARGE];
- counts: TP/FP/FN of detections scoring >= SCORE_THR at IoU 0.5 and 0.3 (area all,
  maxDets LARGE), counted from COCOeval.evalImgs.

Run: pip install pycocotools numpy && python3 make_coco_fixtures.py  (numbers used:
pycocotools 2.0.11, numpy 2.4). Rust tests read the files; they never run Python.
"""
import contextlib
import io
import json
import os
import random

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

HERE = os.path.dirname(os.path.abspath(__file__))
LARGE = 300
SCORE_THR = 0.3


def rand_box(rng, w, h, size_class):
    lo, hi = {"small": (4, 30), "medium": (33, 94), "large": (98, 200)}[size_class]
    bw, bh = rng.uniform(lo, hi), rng.uniform(lo, hi)
    bw, bh = min(bw, w - 1), min(bh, h - 1)
    x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
    return [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)]


def jitter(rng, b, amount):
    x, y, w, h = b
    dx, dy = rng.gauss(0, amount * w), rng.gauss(0, amount * h)
    sw, sh = max(0.3, 1 + rng.gauss(0, amount)), max(0.3, 1 + rng.gauss(0, amount))
    return [round(x + dx, 3), round(y + dy, 3), round(w * sw, 3), round(h * sh, 3)]


def make_case(seed, n_images, n_cats, crowded_image):
    rng = random.Random(seed)
    images, anns, dets = [], [], []
    cats = [{"id": k + 1, "name": f"c{k + 1}"} for k in range(n_cats)]
    for i in range(n_images):
        img_id = 10 + 3 * i  # not 1..n: ids must be looked up, not assumed
        w, h = rng.choice([(416, 416), (640, 480), (300, 500)])
        images.append({"id": img_id, "file_name": f"img_{i}.png", "width": w, "height": h})
        n_gt = 0 if i == 1 else rng.randint(1, 6)
        if i == crowded_image:
            n_gt = 40
        for _ in range(n_gt):
            size_class = rng.choice(["small", "medium", "large"])
            b = rand_box(rng, w, h, size_class)
            crowd = 1 if rng.random() < 0.08 else 0
            area = round(b[2] * b[3] * rng.uniform(0.55, 1.0), 2)
            cat = rng.randint(1, n_cats)
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": cat,
                         "bbox": b, "area": area, "iscrowd": crowd})
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                amount = rng.choice([0.02, 0.05, 0.1, 0.3])
                score = round(rng.random(), 2)  # ties on purpose
                dets.append({"image_id": img_id, "category_id": cat,
                             "bbox": jitter(rng, b, amount), "score": score})
        n_fp = rng.randint(0, 4) if i != crowded_image else 150
        for _ in range(n_fp):
            b = rand_box(rng, w, h, rng.choice(["small", "medium", "large"]))
            dets.append({"image_id": img_id, "category_id": rng.randint(1, n_cats),
                         "bbox": b, "score": round(rng.random() * 0.8, 2)})
    rng.shuffle(dets)
    gt = {"info": {"description": f"detect-core fixture seed {seed}"},
          "images": images, "annotations": anns, "categories": cats}
    return gt, dets


def run_eval(gt_path, dets, max_dets=None, iou_thrs=None):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt_path)
        coco_dt = coco_gt.loadRes(dets)
        e = COCOeval(coco_gt, coco_dt, "bbox")
        if max_dets is not None:
            e.params.maxDets = max_dets
        if iou_thrs is not None:
            e.params.iouThrs = np.array(iou_thrs)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


def per_iou(e, m):
    p = e.eval["precision"]
    out = []
    for t in range(len(e.params.iouThrs)):
        s = p[t, :, :, 0, m]
        out.append(float(np.mean(s[s > -1])) if (s > -1).any() else -1.0)
    return out


def pr_curve(e, m):
    p = e.eval["precision"]
    curves = []
    for t in range(len(e.params.iouThrs)):
        row = []
        for r in range(len(e.params.recThrs)):
            s = p[t, r, :, 0, m]
            row.append(float(np.mean(s[s > -1])) if (s > -1).any() else -1.0)
        curves.append(row)
    return curves


def counts(gt_path, dets):
    e = run_eval(gt_path, dets, max_dets=[1, 10, LARGE], iou_thrs=[0.5, 0.3])
    out = []
    for t, thr in enumerate([0.5, 0.3]):
        tp = fp = npig = 0
        # evalImgs is ordered category, area range, image: area index 0 ("all") first.
        n_img = len(e.params.imgIds)
        n_area = len(e.params.areaRng)
        for k in range(len(e.params.catIds)):
            for i in range(n_img):
                ev = e.evalImgs[k * n_area * n_img + i]
                if ev is None:
                    continue
                npig += int(np.count_nonzero(np.asarray(ev["gtIgnore"]) == 0))
                for d, s in enumerate(ev["dtScores"]):
                    if s < SCORE_THR or ev["dtIgnore"][t, d]:
                        continue
                    if ev["dtMatches"][t, d]:
                        tp += 1
                    else:
                        fp += 1
        out.append({"iou_thr": thr, "tp": tp, "fp": fp, "fn": npig - tp})
    return out


def main():
    cases = {"single_cat": (11, 7, 1, 4), "two_cats": (23, 9, 2, 6), "dense": (37, 4, 1, 0)}
    for name, (seed, n_images, n_cats, crowded) in cases.items():
        d = os.path.join(HERE, "coco", name)
        os.makedirs(d, exist_ok=True)
        gt, dets = make_case(seed, n_images, n_cats, crowded)
        gt_path = os.path.join(d, "gt.json")
        with open(gt_path, "w") as f:
            json.dump(gt, f, indent=1)
        with open(os.path.join(d, "dets.json"), "w") as f:
            json.dump(dets, f, indent=1)
        std = run_eval(gt_path, [dict(x) for x in dets])
        big = run_eval(gt_path, [dict(x) for x in dets], max_dets=[1, 10, 100, LARGE])
        expected = {
            "iou_thrs": [float(x) for x in std.params.iouThrs],
            "rec_thrs": [float(x) for x in std.params.recThrs],
            "stats": [float(x) for x in std.stats],
            "ap_per_iou": per_iou(std, 2),
            "pr_curve": pr_curve(std, 2),
            "large": {
                "max_dets": LARGE,
                "stats": [float(x) for x in big.stats],
                "ap_per_iou": per_iou(big, 3),
                "pr_curve": pr_curve(big, 3),
                "ar": float(np.mean(big.eval["recall"][:, :, 0, 3][big.eval["recall"][:, :, 0, 3] > -1])),
            },
            "score_thr": SCORE_THR,
            "counts": counts(gt_path, [dict(x) for x in dets]),
        }
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1)
        print(name, len(gt["annotations"]), "gt", len(dets), "dets", "AP", expected["stats"][0])


if __name__ == "__main__":
    main()
