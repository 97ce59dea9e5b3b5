"""yolo-basin from Python: find mining subsidence basins in InSAR interferograms.

    import yolo_basin
    basins = yolo_basin.detect("20201230_20210111.geo.diff_pha.tif")
    basins = yolo_basin.detect(unw, kind="unwrapped", geo=(transform, 4326))

`detect` takes a scene file (whatever the CLI reads: GeoTIFF, GAMMA, ISCE, SNAP, pictures)
or a 2-D NumPy array, and returns the basins as a list of dicts (or a GeoDataFrame). The
work is done by the same Rust code as the `yolo-basin` command line: options are given to
it as the CLI's own arguments and mean the same.

Arrays: float32 (phase in radians, or LOS displacement in metres with kind="los") and
complex64 (an interferogram) are read in place, without a copy. Other real dtypes (float64,
integers) are converted to float32 and complex128 to complex64 (one copy); booleans and
anything else are refused. NaN is no data (also a complex NaN or exactly 0+0j), as is
`nodata=` when given. While an array is read the GIL stays held (other Python threads could
otherwise change it under the reader); a scene read from a file releases the GIL.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import YoloBasinError

__all__ = [
    "YoloBasinError",
    "detect",
    "eval",
    "read_raster",
    "synth",
    "to_geodataframe",
]

Geo = Tuple[Sequence[float], Optional[int]]

_GEOPANDAS_HINT = "pip install geopandas shapely  (or: pip install 'yolo-basin[geo]')"


def _argv(command: str, positional: List[str], options: Dict[str, Any]) -> List[str]:
    """The CLI's argument list: `--name value` per option (None left out, True a flag)."""
    argv = ["yolo-basin " + command, *positional]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        else:
            argv += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return argv


def _geo(geo: Any, epsg: Optional[int]) -> Optional[Geo]:
    """`geo` as (geotransform, epsg): a 6-number GDAL geotransform (or an affine object
    with `to_gdal()`, as rasterio's), alone with `epsg=`, or paired with its EPSG code."""
    if geo is None:
        if epsg is not None:
            raise ValueError("epsg= needs geo= (the geotransform) too")
        return None
    if isinstance(geo, (tuple, list)) and len(geo) == 2:
        transform, code = geo
        if epsg is not None and code is not None and int(code) != int(epsg):
            raise ValueError(f"geo= says EPSG:{code} and epsg= says EPSG:{epsg}")
        epsg = code if code is not None else epsg
    else:
        transform = geo
    if hasattr(transform, "to_gdal"):
        transform = transform.to_gdal()
    try:
        t = [float(v) for v in transform]
    except TypeError as e:
        raise TypeError(f"geo: expected a GDAL geotransform of 6 numbers, got {transform!r}") from e
    if len(t) != 6:
        raise ValueError(f"geo: expected a GDAL geotransform of 6 numbers, got {len(t)}")
    if epsg is not None and (isinstance(epsg, bool) or int(epsg) != epsg or epsg <= 0):
        raise ValueError(f"epsg: expected a positive EPSG code, got {epsg!r}")
    return (t, None if epsg is None else int(epsg))


def _as_scene_array(a: np.ndarray) -> np.ndarray:
    """The array as C-contiguous float32 or complex64: as it is when it already is one."""
    if a.ndim != 2:
        raise ValueError(
            f"expected a 2-D array (rows, columns), got {a.ndim}-D of shape {a.shape}: "
            "pick one band or one date, e.g. stack[i]"
        )
    if a.dtype.kind == "c":
        return np.ascontiguousarray(a, dtype=np.complex64)
    if a.dtype.kind in "fiu":
        return np.ascontiguousarray(a, dtype=np.float32)
    raise TypeError(
        f"cannot read a {a.dtype} array as phase: give float (radians, or metres with "
        "kind='los') or complex (an interferogram) values"
    )


def detect(
    scene: Union[str, "os.PathLike[str]", np.ndarray],
    weights: Union[str, "os.PathLike[str]", None] = None,
    score: Optional[float] = None,
    window: int = 2048,
    overlap: int = 160,
    kind: str = "auto",
    band: Union[int, str, None] = None,
    goldstein: float = 0.0,
    unwrapped: Union[str, "os.PathLike[str]", None] = None,
    geo: Any = None,
    *,
    epsg: Optional[int] = None,
    coherence: Union[str, "os.PathLike[str]", None] = None,
    iou: Optional[float] = None,
    batch: Optional[int] = None,
    nodata: Optional[float] = None,
    wavelength: Optional[float] = None,
    pixel_size: Optional[float] = None,
    device: Optional[str] = None,
    out_dir: Union[str, "os.PathLike[str]", None] = None,
    name: str = "array",
    as_geodataframe: bool = False,
):
    """Detects subsidence basins in a scene file or a 2-D array.

    scene: a path, or a 2-D array (see the module's notes on dtypes and no data).
    weights: model weights (default: the bundled model). score: keep basins scoring at
    least this (default: the threshold stored in the weights). window, overlap: network
    window side and overlap in pixels (the CLI's --window, --overlap). kind: "auto",
    "wrapped", "unwrapped", "los", "complex" (files also "vertical", "picture"). band:
    a file's band by number or name. goldstein: filter strength in [0, 1]. unwrapped: an
    unwrapped raster beside a scene *file*, for LOS figures. geo: for arrays, where it lies:
    a GDAL geotransform with `epsg=`, or `(geotransform, epsg)`; basins then get metres and
    longitude/latitude. out_dir: also write the CLI's layers there (GeoPackage, GeoJSON, CSV,
    COCO), named after the scene (or `name` for an array).

    Returns a list of dicts, one per basin: x1, y1, x2, y2 (pixels), score, width_m,
    height_m, area_m2 (None without a known CRS), polygon (the box's ring in the scene's
    CRS, or (column, -row) without georeferencing), crs, lonlat (WGS84 ring or None), and
    every attribute the CLI's layers carry. With as_geodataframe=True, a GeoDataFrame.
    Raises YoloBasinError for errors of reading, the model or writing; ValueError or
    TypeError for bad arguments.
    """
    options = {
        "weights": weights,
        "score": score,
        "window": window,
        "overlap": overlap,
        "kind": kind,
        "band": band,
        "goldstein": goldstein,
        "unwrapped": unwrapped,
        "coherence": coherence,
        "iou": iou,
        "batch": batch,
        "nodata": nodata,
        "wavelength": wavelength,
        "pixel_size": pixel_size,
        "device": device,
    }
    out = None if out_dir is None else os.fspath(out_dir)
    if isinstance(scene, np.ndarray):
        if band is not None:
            raise ValueError("band= picks a band of a file: index the array instead")
        array = _as_scene_array(scene)
        text = _native.detect_array(array, _argv("detect", [], options), _geo(geo, epsg), out, name)
    elif isinstance(scene, (str, os.PathLike)):
        if geo is not None or epsg is not None:
            raise ValueError("geo= and epsg= are for arrays: a file carries its own georeference")
        text = _native.detect_path(_argv("detect", [os.fspath(scene)], options), out)
    else:
        raise TypeError(
            f"scene: expected a path or a 2-D NumPy array, got {type(scene).__name__}"
        )
    basins = json.loads(text)
    if as_geodataframe:
        crs = _crs_of(basins, geo, epsg)
        return to_geodataframe(basins, crs)
    return basins


def _crs_of(basins: List[Dict[str, Any]], geo: Any, epsg: Optional[int]) -> Optional[str]:
    """The CRS the basins' polygons are in, as geopandas takes it ("EPSG:n"), or None."""
    if geo is not None:
        g = _geo(geo, epsg)
        return None if g is None or g[1] is None else f"EPSG:{g[1]}"
    label = basins[0].get("crs") if basins else None
    return label if isinstance(label, str) and label.upper().startswith("EPSG:") else None


def to_geodataframe(basins: List[Dict[str, Any]], crs: Any = None):
    """The basins as a geopandas GeoDataFrame of their box polygons in the scene's CRS
    (`crs`, e.g. "EPSG:32633"; None where unknown). Raises ImportError when geopandas or
    shapely is missing, saying what to install."""
    try:
        import geopandas
        from shapely.geometry import Polygon
    except ImportError as e:
        raise ImportError(f"to_geodataframe needs geopandas and shapely: {_GEOPANDAS_HINT}") from e
    rows = [{k: v for k, v in b.items() if k not in ("polygon", "lonlat")} for b in basins]
    geometry = [Polygon(b["polygon"]) for b in basins]
    return geopandas.GeoDataFrame(rows, geometry=geometry, crs=crs)


def read_raster(
    path: Union[str, "os.PathLike[str]"], band: Union[int, str, None] = None
) -> Tuple[np.ndarray, Optional[Geo]]:
    """One band of a raster file (every format the CLI reads) as (array, geo): float32 with
    the file's no-data as NaN, complex64 or uint8; geo is (GDAL geotransform, EPSG code or
    None), or None without georeferencing, ready for `detect(array, geo=geo)`."""
    array, geo = _native.read_raster(os.fspath(path), None if band is None else str(band))
    return array, None if geo is None else (tuple(geo[0]), geo[1])


def synth(
    out: Union[str, "os.PathLike[str]"],
    tiles: int = 0,
    scenes: int = 1,
    seed: int = 0,
    scene_size: int = 2048,
    *,
    force: bool = False,
    **options: Any,
) -> Path:
    """Simulates interferograms with exact labels into `out` (`yolo-basin synth`): `tiles`
    training tiles and `scenes` whole scenes of `scene_size` pixels; further options by
    the CLI's names (tile_size=416, weather="summer", no_mines=True, ...). Returns `out`;
    the scenes are `out/scenes/scene_<i>.tif` with their truth `scene_<i>.geojson`."""
    opts = {"out": out, "tiles": tiles, "scenes": scenes, "seed": seed,
            "scene_size": scene_size, "force": force, **options}
    _native.synth(_argv("synth", [], opts))
    return Path(out)


def eval(  # noqa: A001 - the CLI's name
    gt: Union[str, "os.PathLike[str]"],
    dets: Union[str, "os.PathLike[str]", List[Dict[str, Any]]],
    **options: Any,
) -> Dict[str, Any]:
    """Evaluates detections against ground truth (`yolo-basin eval`) and returns its JSON
    report as a dict. `gt`: a COCO JSON, or a scene's truth GeoJSON from `synth` (scene
    figures). `dets`: a COCO results JSON, a basins GeoJSON from `detect(out_dir=...)`, or
    the list `detect` returned. Further options by the CLI's names (score_threshold=0.3,
    max_dets=300, scene=True, ...)."""
    with tempfile.TemporaryDirectory(prefix="yolo-basin-eval-") as tmp:
        if isinstance(dets, list):
            path = Path(tmp, "dets.geojson")
            features = [{"type": "Feature", "properties": b} for b in dets]
            path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
            dets = path
        report = Path(tmp, "report.json")
        opts = {"gt": gt, "dets": dets, **options, "out": report}
        _native.eval(_argv("eval", [], opts))
        return json.loads(report.read_text())
