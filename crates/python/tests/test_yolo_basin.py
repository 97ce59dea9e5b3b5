"""The yolo_basin package as installed from its wheel (.ci/python-test.sh): detection on a
path and on the same values as arrays, the outputs, errors as exceptions, synth and eval."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import yolo_basin
from yolo_basin import YoloBasinError

SEED = 3
SIZE = 512


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A simulated 512-px scene (UTM, 4 basins, seed 3) and its truth."""
    out = yolo_basin.synth(tmp_path_factory.mktemp("sim") / "sim", tiles=0, scenes=1,
                           seed=SEED, scene_size=SIZE)
    tif, truth = out / "scenes" / "scene_0.tif", out / "scenes" / "scene_0.geojson"
    assert tif.is_file() and truth.is_file()
    return tif, truth


@pytest.fixture(scope="module")
def path_basins(scene):
    return yolo_basin.detect(scene[0])


def test_synth_scene_holds_its_truth(scene):
    truth = json.loads(scene[1].read_text())
    assert (truth["width"], truth["height"]) == (SIZE, SIZE)
    assert len(truth["features"]) == 4


def test_detect_on_a_path_gives_georeferenced_basins(scene, path_basins):
    assert path_basins, "the simulated scene's basins are found"
    array, geo = yolo_basin.read_raster(scene[0])
    assert array.shape == (SIZE, SIZE) and array.dtype == np.float32
    (t0, t1, t2, t3, t4, t5), epsg = geo
    assert epsg == 32650
    for b in path_basins:
        assert 0 <= b["x1"] < b["x2"] <= SIZE and 0 <= b["y1"] < b["y2"] <= SIZE
        assert b["pixel_box"] == [b["x1"], b["y1"], b["x2"], b["y2"]]
        assert 0.0 < b["score"] <= 1.0
        assert b["crs"] == "EPSG:32650"
        # The ring is the box's corners through the geotransform, closed.
        ring = b["polygon"]
        assert ring[0] == ring[-1] and len(ring) == 5
        corner = (t0 + b["x1"] * t1 + b["y1"] * t2, t3 + b["x1"] * t4 + b["y1"] * t5)
        assert any(math.isclose(x, corner[0]) and math.isclose(y, corner[1]) for x, y in ring)
        # Ground sizes near the pixel sizes times the box's (UTM is near-true scale).
        w = (b["x2"] - b["x1"]) * abs(t1)
        assert b["width_m"] == pytest.approx(w, rel=0.01)
        assert b["area_m2"] == pytest.approx(b["width_m"] * b["height_m"], rel=0.01)
        # Longitude/latitude: UTM zone 50 north lies between 114° and 120° E.
        assert all(114 <= lon <= 120 and 0 <= lat <= 84 for lon, lat in b["lonlat"])


def test_array_gives_the_same_basins_as_the_path(scene, path_basins):
    array, geo = yolo_basin.read_raster(scene[0])
    assert yolo_basin.detect(array, geo=geo) == path_basins
    # Another real dtype is converted to float32 (exactly, here), the same basins.
    assert yolo_basin.detect(array.astype(np.float64), geo=geo) == path_basins
    # The geotransform and EPSG code given apart mean the same.
    assert yolo_basin.detect(array, geo=geo[0], epsg=geo[1]) == path_basins


def test_array_without_georeference_is_in_pixels(scene, path_basins):
    array, _ = yolo_basin.read_raster(scene[0])
    basins = yolo_basin.detect(array)
    assert [b["pixel_box"] for b in basins] == [b["pixel_box"] for b in path_basins]
    for b in basins:
        assert b["width_m"] is None and b["lonlat"] is None
        # Pixel geometry: x = column, y = -row.
        assert [b["x1"], -b["y1"]] in b["polygon"]


def test_array_is_read_in_place_and_left_unchanged(scene):
    array, geo = yolo_basin.read_raster(scene[0])
    array.setflags(write=False)  # a read-only array is accepted: nothing writes to it
    before = array.copy()
    yolo_basin.detect(array, geo=geo)
    assert np.array_equal(array, before, equal_nan=True)


def test_no_data_array_has_no_basins():
    assert yolo_basin.detect(np.full((256, 256), np.nan, dtype=np.float32)) == []


def test_outputs_are_written_as_the_cli_writes_them(scene, path_basins, tmp_path):
    yolo_basin.detect(scene[0], out_dir=tmp_path)
    layer = json.loads((tmp_path / "scene_0.basins.geojson").read_text())
    assert len(layer["features"]) == len(path_basins)
    for ext in ("gpkg", "csv", "coco.json"):
        assert (tmp_path / f"scene_0.basins.{ext}").is_file()
    array, geo = yolo_basin.read_raster(scene[0])
    yolo_basin.detect(array, geo=geo, out_dir=tmp_path, name="mine")
    assert (tmp_path / "mine.basins.gpkg").is_file()


def test_eval_of_the_truth_itself_is_perfect(scene):
    truth = json.loads(scene[1].read_text())
    # The truth's boxes are [x, y, w, h] in pixels; detections [x1, y1, x2, y2].
    boxes = [f["properties"]["bbox_px"] for f in truth["features"]]
    dets = [{"pixel_box": [x, y, x + w, y + h], "score": 1.0} for x, y, w, h in boxes]
    report = yolo_basin.eval(scene[1], dets)
    count = report["overall"]["counts"][0]
    assert (count["iou"], count["tp"], count["fp"], count["fn"]) == (0.5, 4, 0, 0)


def test_eval_counts_the_detections(scene, path_basins):
    report = yolo_basin.eval(scene[1], path_basins)
    overall = report["overall"]
    assert (overall["basins"], overall["detections"]) == (4, len(path_basins))
    for c in overall["counts"]:
        assert c["tp"] + c["fn"] == 4 and c["tp"] + c["fp"] == len(path_basins)


def test_missing_file_is_a_yolo_basin_error(tmp_path):
    assert issubclass(YoloBasinError, RuntimeError)
    missing = tmp_path / "nowhere.tif"
    with pytest.raises(YoloBasinError, match="nowhere.tif"):
        yolo_basin.detect(missing)
    with pytest.raises(YoloBasinError, match="nowhere.tif"):
        yolo_basin.read_raster(missing)


def test_missing_weights_error_names_them(tmp_path):
    with pytest.raises(YoloBasinError, match="no.safetensors"):
        yolo_basin.detect(np.zeros((64, 64), np.float32), weights=tmp_path / "no.safetensors")


def test_bad_arrays_and_arguments_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        yolo_basin.detect(np.zeros((2, 64, 64), np.float32))
    with pytest.raises(TypeError, match="bool"):
        yolo_basin.detect(np.zeros((64, 64), bool))
    with pytest.raises(TypeError, match="path or a 2-D NumPy array"):
        yolo_basin.detect([[0.0]])
    with pytest.raises(ValueError, match="6 numbers"):
        yolo_basin.detect(np.zeros((64, 64), np.float32), geo=(0.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="complex"):
        yolo_basin.detect(np.zeros((64, 64), np.float32), kind="complex")
    # The CLI's own validation: an unknown kind, a Goldstein strength outside [0, 1].
    with pytest.raises(ValueError, match="sideways"):
        yolo_basin.detect(np.zeros((64, 64), np.float32), kind="sideways")
    with pytest.raises(ValueError, match="goldstein"):
        yolo_basin.detect(np.zeros((64, 64), np.float32), goldstein=2.0)


def test_geodataframe_without_geopandas_says_what_to_install(path_basins, monkeypatch):
    monkeypatch.setitem(sys.modules, "geopandas", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install geopandas"):
        yolo_basin.to_geodataframe(path_basins, "EPSG:32650")


def test_geodataframe_where_geopandas_is_installed(scene, path_basins):
    geopandas = pytest.importorskip("geopandas")
    gdf = yolo_basin.detect(scene[0], as_geodataframe=True)
    assert isinstance(gdf, geopandas.GeoDataFrame) and len(gdf) == len(path_basins)
    assert gdf.crs.to_epsg() == 32650
    assert list(gdf["score"]) == [b["score"] for b in path_basins]


def _boxes(basins):
    return np.array([b["pixel_box"] for b in basins])


def test_complex_and_unwrapped_arrays_read_as_their_phase(scene, path_basins):
    phase, geo = yolo_basin.read_raster(scene[0])
    want = _boxes(path_basins)
    # exp(iφ) has the argument φ, and φ + 4π wraps to φ (both to float rounding).
    ifg = np.exp(1j * phase.astype(np.float64)).astype(np.complex64)
    for array, kind in ((ifg, "auto"), (phase + np.float32(4 * np.pi), "unwrapped")):
        got = _boxes(yolo_basin.detect(array, geo=geo, kind=kind))
        assert got.shape == want.shape
        assert np.allclose(got, want, atol=1.0), (kind, got, want)
    # A complex array is an interferogram, never unwrapped phase.
    with pytest.raises(ValueError, match="complex"):
        yolo_basin.detect(ifg, kind="unwrapped")
