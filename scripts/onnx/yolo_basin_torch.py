"""yolo-basin's networks in PyTorch, loaded exactly from our `.safetensors` weights.

A mirror of `crates/model/src` for timing the same network under PyTorch and ONNX Runtime
(issue 13): `config.rs` (scales, channel rounding), `blocks.rs` (Conv, DwConv, Spatial,
Bottleneck, C3, SPPF, bilinear ×2), `backbone.rs`, `neck.rs`, `head.rs`, and the wiring of
`wiring.rs` written out in `Detector.forward`. Module names are chosen so that every
parameter's path is its burn path (burn writes enum variants into the path: `Dense`,
`Depthwise`, `Double`, `Coupled`); only BatchNorm's `weight`/`bias` are burn's
`gamma`/`beta`. Loading refuses a file unless every tensor it holds is used and every
tensor the network needs is there with its shape: no silent skips.

Also the host decoder of `decode.rs` (`decode_host`) and greedy NMS as `detect-core` does
it, so PyTorch's boxes can be compared with `yolo-basin predict`'s (`check_predict.py`).

Usage: python yolo_basin_torch.py --weights models/light-yolo-basin-s.safetensors [--layers]
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# blocks.rs: YOLOv5's BatchNorm settings (PyTorch's momentum convention).
BN_EPS = 1e-3
BN_MOMENTUM = 0.03
SPPF_POOL = 5

# config.rs
STRIDES = (8, 16, 32)
MAX_STRIDE = 32
MAX_TILE = 8192
ANCHORS_PER_LEVEL = 3
YOLOV5_OUTPUTS = 6
ANCHOR_FREE_OUTPUTS = 5
DEFAULT_ANCHORS = (
    (10.0, 13.0, 16.0, 30.0, 33.0, 23.0),
    (30.0, 61.0, 62.0, 45.0, 59.0, 119.0),
    (116.0, 90.0, 156.0, 198.0, 373.0, 326.0),
)
VARIANTS = ("yolov5", "yolo-basin", "light-yolo-basin")
# scale → (depth multiple, width multiple), as Scale::depth / Scale::width.
SCALES = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0)}

# backbone.rs
BACKBONE_CHANNELS = (64, 128, 256, 512, 1024)
BACKBONE_REPEATS = (3, 6, 9, 3)

# decode.rs: clamps of the anchor-free size logits.
T_WH_MIN = -10.0
T_WH_MAX = 6.0

# weights.rs
METADATA_KEY = "yolo_basin"
WEIGHTS_FORMAT = "yolo-basin-weights"
WEIGHTS_VERSION = 1
MAX_HEADER_BYTES = 64 << 20


class WeightsError(Exception):
    """A weights file that is not ours, or not the network its header names."""


@dataclass(frozen=True)
class ModelConfig:
    """`ModelConfig` of config.rs, as the weights header carries it."""

    variant: str
    scale: str
    input: str = "phase"
    tile: int = 416
    depthwise_neck: bool = False
    anchors: tuple | None = None

    @staticmethod
    def from_json(d: dict) -> ModelConfig:
        anchors = d.get("anchors")
        cfg = ModelConfig(
            variant=str(d["variant"]).lower(),
            scale=str(d["scale"]).lower(),
            input=str(d.get("input", "phase")).lower(),
            tile=int(d.get("tile", 416)),
            depthwise_neck=bool(d.get("depthwise_neck", False)),
            anchors=None if anchors is None else tuple(tuple(float(v) for v in a) for a in anchors),
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant `{self.variant}`, expected one of {', '.join(VARIANTS)}")
        if self.scale not in SCALES:
            raise ValueError(f"scale `{self.scale}`, expected n, s, m or l")
        if self.tile <= 0 or self.tile % MAX_STRIDE or self.tile > MAX_TILE:
            raise ValueError(f"tile size {self.tile} must be a positive multiple of {MAX_STRIDE} up to {MAX_TILE}")
        if self.anchors is not None:
            flat = [v for a in self.anchors for v in a]
            if len(self.anchors) != 3 or len(flat) != 18 or not all(math.isfinite(v) and v > 0 for v in flat):
                raise ValueError(f"anchors must be 3 × 6 finite positive numbers, got {self.anchors}")

    @property
    def anchor_free(self) -> bool:
        return self.variant != "yolov5"

    @property
    def depthwise_backbone(self) -> bool:
        return self.variant == "light-yolo-basin"

    def name(self) -> str:
        return f"{self.variant}-{self.scale}" + ("+dwneck" if self.depthwise_neck else "")

    def channels(self, c: int) -> int:
        """ceil(c · width / 8) · 8, as YOLOv5's make_divisible (same f64 operations)."""
        return math.ceil(c * SCALES[self.scale][1] / 8.0) * 8

    def repeats(self, n: int) -> int:
        """max(round(n · depth), 1); Rust rounds halves away from zero, Python's round doesn't."""
        return max(math.floor(n * SCALES[self.scale][0] + 0.5), 1)

    def anchors_in_use(self) -> tuple:
        return self.anchors if self.anchors is not None else DEFAULT_ANCHORS

    def outputs_per_level(self) -> int:
        return ANCHOR_FREE_OUTPUTS if self.anchor_free else ANCHORS_PER_LEVEL * YOLOV5_OUTPUTS


# ---------------------------------------------------------------- blocks.rs


class Conv(nn.Module):
    """Conv2d (no bias) + BatchNorm + SiLU: YOLOv5's `Conv`."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, padding: int | None = None, groups: int = 1):
        super().__init__()
        p = k // 2 if padding is None else padding
        self.conv = nn.Conv2d(c_in, c_out, k, stride, p, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.bn(self.conv(x)))


class DwConv(nn.Module):
    """YOLOX's DWConv: depthwise k×k Conv (groups = c_in), then pointwise 1×1 Conv."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int):
        super().__init__()
        self.dconv = Conv(c_in, c_in, k, stride, k // 2, groups=c_in)
        self.pconv = Conv(c_in, c_out, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))


class Spatial(nn.Module):
    """A 3×3 conv, dense or depthwise separable; the child's name is burn's enum variant."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, depthwise: bool):
        super().__init__()
        self.kind = "Depthwise" if depthwise else "Dense"
        block = DwConv(c_in, c_out, k, stride) if depthwise else Conv(c_in, c_out, k, stride)
        self.add_module(self.kind, block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.kind)(x)


class Bottleneck(nn.Module):
    """YOLOv5's Bottleneck with e = 1.0: 1×1 Conv, 3×3, plus the input when `add`."""

    def __init__(self, c_in: int, c_out: int, shortcut: bool, depthwise: bool):
        super().__init__()
        self.cv1 = Conv(c_in, c_out, 1, 1)
        self.cv2 = Spatial(c_out, c_out, 3, 1, depthwise)
        self.add = shortcut and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """YOLOv5's C3: hidden width c_out / 2, bottlenecks on the cv1 branch."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool, depthwise: bool):
        super().__init__()
        h = c_out // 2
        self.cv1 = Conv(c_in, h, 1, 1)
        self.cv2 = Conv(c_in, h, 1, 1)
        self.cv3 = Conv(2 * h, c_out, 1, 1)
        self.m = nn.ModuleList(Bottleneck(h, h, shortcut, depthwise) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.cv1(x)
        for b in self.m:
            a = b(a)
        return self.cv3(torch.cat([a, self.cv2(x)], 1))


class Sppf(nn.Module):
    """YOLOv5's SPPF: 1×1 to c_in / 2, three chained 5×5 max-pools, concat of four, 1×1."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        h = c_in // 2
        self.cv1 = Conv(c_in, h, 1, 1)
        self.cv2 = Conv(4 * h, c_out, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = sppf_pool(x)
        y2 = sppf_pool(y1)
        y3 = sppf_pool(y2)
        return self.cv2(torch.cat([x, y1, y2, y3], 1))


def sppf_pool(x: torch.Tensor) -> torch.Tensor:
    """5×5 max-pool, stride 1, padding 2 (PyTorch pads with −∞, as burn)."""
    return F.max_pool2d(x, SPPF_POOL, 1, SPPF_POOL // 2)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """×2 bilinear, half-pixel centres (align_corners = false): the paper's Figure 4."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


# ---------------------------------------------------------------- backbone.rs, neck.rs


class Stage(nn.Module):
    """One downsampling stage: a stride-2 3×3 conv, then a C3 with shortcuts."""

    def __init__(self, c_in: int, c_out: int, n: int, depthwise: bool):
        super().__init__()
        self.down = Spatial(c_in, c_out, 3, 2, depthwise)
        self.c3 = C3(c_out, c_out, n, True, depthwise)


def stage(s: Stage, x: torch.Tensor) -> torch.Tensor:
    return s.c3(s.down(x))


class Backbone(nn.Module):
    """Stem (6×6 s2 p2), four stages, SPPF."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch = [cfg.channels(c) for c in BACKBONE_CHANNELS]
        dw = cfg.depthwise_backbone
        self.stem = Conv(3, ch[0], 6, 2, 2)
        self.stages = nn.ModuleList(Stage(ch[i], ch[i + 1], cfg.repeats(BACKBONE_REPEATS[i]), dw) for i in range(4))
        self.sppf = Sppf(ch[4], ch[4])


class Neck(nn.Module):
    """YOLOv5 v7.0's PANet with bilinear ×2 (names and roles as neck.rs)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c256, c512, c1024 = (cfg.channels(c) for c in (256, 512, 1024))
        n = cfg.repeats(3)
        dw = cfg.depthwise_neck
        self.lat5 = Conv(c1024, c512, 1, 1)
        self.td4 = C3(2 * c512, c512, n, False, dw)
        self.lat4 = Conv(c512, c256, 1, 1)
        self.out3 = C3(2 * c256, c256, n, False, dw)
        self.down3 = Spatial(c256, c256, 3, 2, dw)
        self.out4 = C3(2 * c256, c512, n, False, dw)
        self.down4 = Spatial(c512, c512, 3, 2, dw)
        self.out5 = C3(2 * c512, c1024, n, False, dw)


# ---------------------------------------------------------------- head.rs


class DoubleHead(nn.Module):
    """The anchor-free double head: stem, then regression and confidence branches."""

    def __init__(self, c_in: int, width: int, depthwise: bool):
        super().__init__()
        self.stem = Conv(c_in, width, 1, 1)
        self.reg_convs = nn.ModuleList(Spatial(width, width, 3, 1, depthwise) for _ in range(2))
        self.reg_pred = nn.Conv2d(width, 4, 1)
        self.obj_convs = nn.ModuleList(Spatial(width, width, 3, 1, depthwise) for _ in range(2))
        self.obj_pred = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        reg, obj = x, x
        for c in self.reg_convs:
            reg = c(reg)
        for c in self.obj_convs:
            obj = c(obj)
        return torch.cat([self.reg_pred(reg), self.obj_pred(obj)], 1)


class LevelHead(nn.Module):
    """One level's head; the child's name is burn's enum variant (`Double` or `Coupled`)."""

    def __init__(self, cfg: ModelConfig, c_in: int):
        super().__init__()
        if cfg.anchor_free:
            self.kind = "Double"
            block = DoubleHead(c_in, cfg.channels(256), cfg.depthwise_neck)
        else:
            self.kind = "Coupled"
            block = nn.Conv2d(c_in, ANCHORS_PER_LEVEL * YOLOV5_OUTPUTS, 1)
        self.add_module(self.kind, block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.kind)(x)


class Head(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c_in = [cfg.channels(c) for c in (256, 512, 1024)]
        self.levels = nn.ModuleList(LevelHead(cfg, c) for c in c_in)


# ---------------------------------------------------------------- detector.rs + wiring.rs


class Detector(nn.Module):
    """The whole network; `forward` returns the three raw head maps (strides 8, 16, 32)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.config = cfg
        self.backbone = Backbone(cfg)
        self.neck = Neck(cfg)
        self.head = Head(cfg)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p3, p4, p5 = self.run_backbone(x)
        o3, o4, o5 = self.run_neck(p3, p4, p5)
        h = self.head.levels
        return h[0](o3), h[1](o4), h[2](o5)

    def run_backbone(self, x: torch.Tensor):
        """wiring::backbone: the outputs of stages 2 and 3, and SPPF over stage 4."""
        b = self.backbone
        s1, s2, s3, s4 = b.stages
        x = stage(s1, b.stem(x))
        p3 = stage(s2, x)
        p4 = stage(s3, p3)
        return p3, p4, b.sppf(stage(s4, p4))

    def run_neck(self, p3, p4, p5):
        """wiring::neck: top-down to the P3 output, then bottom-up with the laterals."""
        n = self.neck
        l5 = n.lat5(p5)
        t4 = n.td4(torch.cat([upsample2(l5), p4], 1))
        l4 = n.lat4(t4)
        o3 = n.out3(torch.cat([upsample2(l4), p3], 1))
        o4 = n.out4(torch.cat([n.down3(o3), l4], 1))
        o5 = n.out5(torch.cat([n.down4(o4), l5], 1))
        return o3, o4, o5


# ---------------------------------------------------------------- weights.rs


def burn_name(torch_name: str) -> str:
    """A parameter's path in our files: BatchNorm's weight/bias are burn's gamma/beta."""
    if ".bn." in torch_name:
        prefix, leaf = torch_name.rsplit(".", 1)
        leaf = {"weight": "gamma", "bias": "beta"}.get(leaf, leaf)
        return f"{prefix}.{leaf}"
    return torch_name


def expected_tensors(model: Detector) -> dict[str, torch.Tensor]:
    """burn name → the parameter or buffer it fills; BatchNorm's batch counter is not ours
    (it only matters in training with momentum None)."""
    return {
        burn_name(k): v for k, v in model.state_dict(keep_vars=True).items() if not k.endswith("num_batches_tracked")
    }


def read_header(path: Path) -> tuple[dict, dict[str, tuple[str, list[int], list[int]]]]:
    """The yolo-basin header and name → (dtype, shape, [begin, end]) of a safetensors file,
    parsed by hand (as weights.rs does) so a wrong file is named as such."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise WeightsError(f"{path}: {len(data)} bytes is too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n + 8 > len(data):
        raise WeightsError(f"{path}: header length {n} does not fit a {len(data)}-byte file")
    try:
        table = json.loads(data[8 : 8 + n])
    except ValueError as e:
        raise WeightsError(f"{path}: safetensors header is not JSON: {e}") from e
    meta = table.pop("__metadata__", None) or {}
    if METADATA_KEY not in meta:
        raise WeightsError(f"{path}: no `{METADATA_KEY}` entry in the metadata (not saved by yolo-basin)")
    try:
        header = json.loads(meta[METADATA_KEY])
    except ValueError as e:
        raise WeightsError(f"{path}: `{METADATA_KEY}` metadata is not JSON: {e}") from e
    if not isinstance(header, dict) or header.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path}: header is not a `{WEIGHTS_FORMAT}` header")
    if int(header.get("version", 0)) > WEIGHTS_VERSION:
        raise WeightsError(f"{path}: header version {header.get('version')} is newer than {WEIGHTS_VERSION}")
    tensors = {}
    for name, e in table.items():
        try:
            tensors[name] = (str(e["dtype"]), [int(d) for d in e["shape"]], [int(o) for o in e["data_offsets"]])
        except (KeyError, TypeError, ValueError) as err:
            raise WeightsError(f"{path}: tensor `{name}` has no valid dtype, shape or offsets ({err})") from err
    return header, tensors


def load_weights(path: str | Path) -> tuple[Detector, dict]:
    """Builds the network the header names and fills every tensor of it from the file, in
    eval mode. Refuses (listing every problem) a missing, unexpected, reshaped or non-F32
    tensor, and a file cut short."""
    path = Path(path)
    header, table = read_header(path)
    try:
        cfg = ModelConfig.from_json(header["config"])
    except (KeyError, ValueError) as e:
        raise WeightsError(f"{path}: header config: {e}") from e
    model = Detector(cfg)
    want = expected_tensors(model)
    problems = []
    for name, t in want.items():
        if name not in table:
            problems.append(f"tensor `{name}` is missing (expected shape {list(t.shape)})")
        elif table[name][1] != list(t.shape):
            problems.append(f"tensor `{name}` has shape {table[name][1]}, expected {list(t.shape)}")
        elif table[name][0] != "F32":
            problems.append(f"tensor `{name}` has dtype {table[name][0]}, expected F32")
    problems += [f"unexpected tensor `{k}`" for k in sorted(set(table) - set(want))]
    if problems:
        raise WeightsError(f"{path} ({cfg.name()}): " + "; ".join(problems))
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    base = 8 + n
    with torch.no_grad():
        for name, t in want.items():
            _, shape, (begin, end) = table[name]
            if end - begin != 4 * t.numel() or base + end > len(data):
                raise WeightsError(f"{path}: tensor `{name}` bytes {begin}..{end} are damaged or cut short")
            values = np.frombuffer(data, dtype="<f4", count=t.numel(), offset=base + begin)
            t.copy_(torch.from_numpy(values.reshape(shape).copy()))
    model.eval()
    return model, header


def weights_tensor_count(path: str | Path) -> int:
    return len(read_header(path)[1])


def config_json(cfg: ModelConfig) -> dict:
    """The header's config as serde writes it (YOLOv5 anchors always written out, as
    `save_weights` in weights.rs does)."""
    anchors = cfg.anchors_in_use() if not cfg.anchor_free else cfg.anchors
    return {
        "variant": cfg.variant,
        "scale": cfg.scale.upper(),
        "input": cfg.input,
        "tile": cfg.tile,
        "depthwise_neck": cfg.depthwise_neck,
        "anchors": None if anchors is None else [list(a) for a in anchors],
    }


def save_weights(model: Detector, path: str | Path, training=None) -> None:
    """Writes `model` as yolo-basin reads weights (burn names, our header), atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    header = {
        "format": WEIGHTS_FORMAT,
        "version": WEIGHTS_VERSION,
        "config": config_json(model.config),
        "training": training,
        "metrics": None,
    }
    tensors = {k: v.detach().contiguous().clone() for k, v in expected_tensors(model).items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(header)})
    tmp.replace(path)


def random_init(model: Detector, seed: int) -> Detector:
    """PyTorch's default init, then BatchNorm statistics and affine terms drawn away from
    the identity, so that a check on an untrained network also checks BN's arithmetic."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".bn." not in name:
                bound = 1.0 / math.sqrt(max(p[0].numel(), 1)) if p.dim() > 1 else 0.1
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * bound)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
    return model.eval()


# ---------------------------------------------------------------- decode.rs (host) + NMS


def sigmoid(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return (np.float32(1.0) / (np.float32(1.0) + np.exp(-x))).astype(np.float32)


def decode_host(levels: list[np.ndarray], cfg: ModelConfig, min_score: float) -> list[list[tuple]]:
    """decode.rs's `decode_host`: per image, (x1, y1, x2, y2, score) of every prediction
    scoring at least `min_score`, level by level, anchor-major (YOLOv5), row-major cells."""
    out = [[] for _ in range(levels[0].shape[0])]
    f32 = np.float32
    for li, raw in enumerate(levels):
        b, c, h, w = raw.shape
        s = f32(STRIDES[li])
        gy, gx = np.meshgrid(np.arange(h, dtype=f32), np.arange(w, dtype=f32), indexing="ij")
        gx, gy = gx.ravel(), gy.ravel()
        for bi in range(b):
            img = raw[bi].reshape(c, h * w).astype(f32)
            if cfg.anchor_free:
                groups = [(img, None)]
            else:
                groups = [
                    (img[a * YOLOV5_OUTPUTS : (a + 1) * YOLOV5_OUTPUTS], cfg.anchors_in_use()[li][2 * a : 2 * a + 2])
                    for a in range(ANCHORS_PER_LEVEL)
                ]
            for p, anchor in groups:
                if anchor is None:
                    score = sigmoid(p[4])
                    cx = (sigmoid(p[0]) + gx) * s
                    cy = (sigmoid(p[1]) + gy) * s
                    bw = np.exp(np.clip(p[2], f32(T_WH_MIN), f32(T_WH_MAX))) * s
                    bh = np.exp(np.clip(p[3], f32(T_WH_MIN), f32(T_WH_MAX))) * s
                else:
                    score = sigmoid(p[4]) * sigmoid(p[5])
                    cx = (f32(2.0) * sigmoid(p[0]) - f32(0.5) + gx) * s
                    cy = (f32(2.0) * sigmoid(p[1]) - f32(0.5) + gy) * s
                    bw = np.square(f32(2.0) * sigmoid(p[2])) * f32(anchor[0])
                    bh = np.square(f32(2.0) * sigmoid(p[3])) * f32(anchor[1])
                keep = np.nonzero(score >= f32(min_score))[0]
                for i in keep:
                    hw, hh = bw[i] / f32(2.0), bh[i] / f32(2.0)
                    out[bi].append((cx[i] - hw, cy[i] - hh, cx[i] + hw, cy[i] + hh, score[i]))
    return out


def iou(a, b) -> float:
    """detect-core's IoU: degenerate boxes have IoU 0 with everything."""

    def area(r) -> float:
        return max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)

    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    union = area(a) + area(b) - inter
    return 0.0 if union <= 0.0 else inter / union


def postprocess(preds, width: float, height: float, iou_thr: float, max_det: int) -> list[tuple]:
    """inference.rs's `postprocess`: boxes (f64) clipped to the input, empty ones dropped,
    greedy NMS by descending score (stable), at most `max_det`."""
    dets = []
    for x1, y1, x2, y2, s in preds:
        box = (
            min(max(float(x1), 0.0), width),
            min(max(float(y1), 0.0), height),
            min(max(float(x2), 0.0), width),
            min(max(float(y2), 0.0), height),
        )
        if box[2] - box[0] > 0.0 and box[3] - box[1] > 0.0:
            dets.append((*box, float(s)))
    order = sorted(range(len(dets)), key=lambda i: -dets[i][4])
    if iou_thr >= 1.0:  # IoU never exceeds 1: nothing is suppressed
        return [dets[i] for i in order[:max_det]]
    kept = []
    for i in order:
        if all(iou(dets[k], dets[i]) <= iou_thr for k in kept):
            kept.append(i)
    return [dets[i] for i in kept[:max_det]]


# ---------------------------------------------------------------- CLI


def layer_table(model: Detector) -> list[tuple[str, int, int, int, int, int, int]]:
    """(burn path, c_in, c_out, k, stride, groups, params) of every conv, in the order of
    module construction; params count BatchNorm's gamma and beta as `yolo-basin info` does."""
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            params = sum(p.numel() for p in m.parameters())
            parent = name.rsplit(".", 1)[0] if name.endswith(".conv") else name
            parent_mod = model.get_submodule(parent)
            if isinstance(parent_mod, Conv):
                params += 2 * m.out_channels  # BN gamma and beta, counted as burn does
            rows.append((name, m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.groups, params))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--weights", type=Path, help="a yolo-basin .safetensors file")
    g.add_argument("--config", help="variant-scale[+dwneck] (fresh init), e.g. light-yolo-basin-n")
    ap.add_argument("--layers", action="store_true", help="list every conv layer")
    ap.add_argument("--save", type=Path, help="with --config: write a random init (--seed) as yolo-basin weights")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.save and not args.config:
        ap.error("--save needs --config")
    if args.weights:
        model, _ = load_weights(args.weights)
        print(f"{args.weights}: {weights_tensor_count(args.weights)} tensors, all loaded")
    else:
        model = random_init(Detector(parse_config_name(args.config)), args.seed)
        if args.save:
            save_weights(model, args.save, training={"random_init_seed": args.seed, "by": "yolo_basin_torch.py"})
            print(f"wrote {args.save}")
    cfg = model.config
    params = sum(p.numel() for p in model.parameters())
    print(f"{cfg.name()}: input {cfg.input}, tile {cfg.tile}, {params} parameters")
    if args.layers:
        for row in layer_table(model):
            print("{:<50} {:>5} {:>5} {:>2} {:>2} {:>5} {:>9}".format(*row))
    return 0


def parse_config_name(name: str) -> ModelConfig:
    """`light-yolo-basin-n`, `yolov5-s`, `yolo-basin-n+dwneck` → a fresh config."""
    dw = name.endswith("+dwneck")
    base = name.removesuffix("+dwneck")
    variant, _, scale = base.rpartition("-")
    cfg = ModelConfig(variant=variant, scale=scale.lower(), depthwise_neck=dw)
    cfg.validate()
    return cfg


if __name__ == "__main__":
    sys.exit(main())
