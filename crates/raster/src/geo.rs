//! Georeferencing: the GDAL-style affine geotransform and its GeoTIFF encodings
//! (ModelPixelScale + ModelTiepoint, ModelTransformation, GeoKeyDirectory).

/// GDAL order: `[x0, dx, rx, y0, ry, dy]`; `(x0, y0)` is the outer corner of pixel (0, 0),
/// so pixel (col c, row r) covers `x0 + c·dx + r·rx`, `y0 + c·ry + r·dy` at its corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTransform(pub [f64; 6]);

impl GeoTransform {
    /// North-up transform from the outer corner and pixel size (`dy` negative for north-up).
    pub fn north_up(x0: f64, y0: f64, dx: f64, dy: f64) -> Self {
        Self([x0, dx, 0.0, y0, 0.0, dy])
    }

    pub fn origin(&self) -> (f64, f64) {
        (self.0[0], self.0[3])
    }

    pub fn pixel_size(&self) -> (f64, f64) {
        (self.0[1], self.0[5])
    }

    /// Map coordinates of the point at fractional pixel position (col, row).
    pub fn apply(&self, col: f64, row: f64) -> (f64, f64) {
        let g = &self.0;
        (
            g[0] + col * g[1] + row * g[2],
            g[3] + col * g[4] + row * g[5],
        )
    }

    /// The transform of a window whose top-left pixel is (col, row) of this raster.
    pub fn shifted(&self, col: usize, row: usize) -> Self {
        let (x, y) = self.apply(col as f64, row as f64);
        let g = self.0;
        Self([x, g[1], g[2], y, g[4], g[5]])
    }

    pub fn is_rotated(&self) -> bool {
        self.0[2] != 0.0 || self.0[4] != 0.0
    }
}

/// Where a raster lies on Earth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoInfo {
    /// Always the pixel-corner transform (as GDAL reports it), whatever the raster type.
    pub transform: GeoTransform,
    pub epsg: Option<u32>,
    /// The file marks its tiepoints as pixel centres (GTRasterTypeGeoKey = 2). The transform
    /// above is already moved to the corner; this flag only makes a rewrite keep the type.
    pub pixel_is_point: bool,
}

impl GeoInfo {
    pub fn new(transform: GeoTransform, epsg: Option<u32>) -> Self {
        Self {
            transform,
            epsg,
            pixel_is_point: false,
        }
    }

    /// True when the CRS counts in degrees (see [`epsg_is_geographic`]); a raster without an
    /// EPSG code is taken as projected, in metres.
    pub fn is_geographic(&self) -> bool {
        self.epsg.is_some_and(epsg_is_geographic)
    }

    /// Map coordinates of the fractional pixel position (col, row), as an array.
    pub fn pixel_to_map(&self, col: f64, row: f64) -> [f64; 2] {
        let (x, y) = self.transform.apply(col, row);
        [x, y]
    }
}

/// Geographic CRSs outside EPSG's 4000–4999 block that InSAR products use (GDA2020).
const GEOGRAPHIC_OUTSIDE_BLOCK: [u32; 1] = [7844];
/// Codes inside the block that are not latitude/longitude: World Equidistant Cylindrical
/// (4087, 4088, projected in metres) and WGS84 geocentric (4978).
const NOT_GEOGRAPHIC_IN_BLOCK: [u32; 3] = [4087, 4088, 4978];

/// The one answer to "does this CRS count in degrees": EPSG's geographic 2-D codes live in
/// 4000–4999 (WGS84, ETRS89, NAD83, GDA94, CGCS2000, …), with the few exceptions listed
/// above. It decides which GeoKey carries the code and how areas are measured.
pub fn epsg_is_geographic(epsg: u32) -> bool {
    ((4000..5000).contains(&epsg) && !NOT_GEOGRAPHIC_IN_BLOCK.contains(&epsg))
        || GEOGRAPHIC_OUTSIDE_BLOCK.contains(&epsg)
}

pub(crate) const TAG_MODEL_PIXEL_SCALE: u16 = 33550;
pub(crate) const TAG_MODEL_TIEPOINT: u16 = 33922;
pub(crate) const TAG_MODEL_TRANSFORMATION: u16 = 34264;
pub(crate) const TAG_GEO_KEY_DIRECTORY: u16 = 34735;
pub(crate) const TAG_GDAL_NODATA: u16 = 42113;

const KEY_MODEL_TYPE: u16 = 1024;
const KEY_RASTER_TYPE: u16 = 1025;
const KEY_GEOGRAPHIC_TYPE: u16 = 2048;
const KEY_GEOG_ANGULAR_UNITS: u16 = 2054;
const KEY_PROJECTED_CS_TYPE: u16 = 3072;
const KEY_PROJ_LINEAR_UNITS: u16 = 3076;
const MODEL_TYPE_PROJECTED: u16 = 1;
const MODEL_TYPE_GEOGRAPHIC: u16 = 2;
const RASTER_PIXEL_IS_AREA: u16 = 1;
const RASTER_PIXEL_IS_POINT: u16 = 2;
/// GeoTIFF's marker for "user-defined", i.e. no EPSG code.
const USER_DEFINED: u16 = 32767;

/// The keys we read from a GeoKeyDirectory.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct GeoKeys {
    pub raster_type: Option<u16>,
    pub epsg: Option<u32>,
}

/// Decodes a GeoKeyDirectory (header `[1, 1, minor, n]` then `n` × `[key, location, count,
/// value]`); only keys stored inline (location 0) matter here.
pub(crate) fn parse_geokeys(dir: &[u16]) -> Result<GeoKeys, String> {
    if dir.len() < 4 {
        return Err(format!(
            "GeoKeyDirectory has {} values, expected at least the 4 of its header",
            dir.len()
        ));
    }
    let n = usize::from(dir[3]);
    if dir.len() < 4 + 4 * n {
        return Err(format!(
            "GeoKeyDirectory declares {n} keys ({} values) but holds {} values",
            4 + 4 * n,
            dir.len()
        ));
    }
    let mut keys = GeoKeys::default();
    let mut geographic = None;
    let mut projected = None;
    for entry in dir[4..4 + 4 * n].chunks_exact(4) {
        let (key, location, value) = (entry[0], entry[1], entry[3]);
        if location != 0 {
            continue;
        }
        match key {
            KEY_RASTER_TYPE => keys.raster_type = Some(value),
            KEY_GEOGRAPHIC_TYPE => geographic = Some(value),
            KEY_PROJECTED_CS_TYPE => projected = Some(value),
            _ => {}
        }
    }
    // A projected CRS names its own geographic base, so it is the more specific of the two.
    keys.epsg = projected
        .or(geographic)
        .filter(|&code| code != USER_DEFINED && code != 0)
        .map(u32::from);
    Ok(keys)
}

/// Builds the GeoKeyDirectory for an EPSG code (or none: raster type only).
pub(crate) fn build_geokeys(epsg: Option<u32>, pixel_is_point: bool) -> Vec<u16> {
    let raster_type = if pixel_is_point {
        RASTER_PIXEL_IS_POINT
    } else {
        RASTER_PIXEL_IS_AREA
    };
    let mut keys: Vec<[u16; 4]> = Vec::new();
    match epsg.and_then(|e| u16::try_from(e).ok()) {
        Some(code) if epsg_is_geographic(u32::from(code)) => {
            keys.push([KEY_MODEL_TYPE, 0, 1, MODEL_TYPE_GEOGRAPHIC]);
            keys.push([KEY_RASTER_TYPE, 0, 1, raster_type]);
            keys.push([KEY_GEOGRAPHIC_TYPE, 0, 1, code]);
            // 9102 = angular degree.
            keys.push([KEY_GEOG_ANGULAR_UNITS, 0, 1, 9102]);
        }
        Some(code) => {
            keys.push([KEY_MODEL_TYPE, 0, 1, MODEL_TYPE_PROJECTED]);
            keys.push([KEY_RASTER_TYPE, 0, 1, raster_type]);
            keys.push([KEY_PROJECTED_CS_TYPE, 0, 1, code]);
            // 9001 = metre.
            keys.push([KEY_PROJ_LINEAR_UNITS, 0, 1, 9001]);
        }
        None => keys.push([KEY_RASTER_TYPE, 0, 1, raster_type]),
    }
    let mut dir = vec![1, 1, 0, keys.len() as u16];
    dir.extend(keys.iter().flatten());
    dir
}

/// The pixel-corner transform from ModelPixelScale + ModelTiepoint or ModelTransformation,
/// moved by half a pixel when the raster type is PixelIsPoint (as GDAL does).
pub(crate) fn transform_from_tags(
    scale: Option<&[f64]>,
    tiepoint: Option<&[f64]>,
    matrix: Option<&[f64]>,
    pixel_is_point: bool,
) -> Result<Option<GeoTransform>, String> {
    let mut gt = if let Some(m) = matrix {
        if m.len() < 16 {
            return Err(format!(
                "ModelTransformation has {} values, expected 16",
                m.len()
            ));
        }
        [m[3], m[0], m[1], m[7], m[4], m[5]]
    } else if let (Some(s), Some(t)) = (scale, tiepoint) {
        if s.len() < 2 {
            return Err(format!(
                "ModelPixelScale has {} values, expected 3",
                s.len()
            ));
        }
        if t.len() < 6 {
            return Err(format!(
                "ModelTiepoint has {} values, expected 6 per tiepoint",
                t.len()
            ));
        }
        // Tiepoint (i, j, k, x, y, z): raster point (i, j) sits at map (x, y); the scale's
        // y is positive for north-up, so dy = −sy.
        let (i, j, x, y) = (t[0], t[1], t[3], t[4]);
        [x - i * s[0], s[0], 0.0, y + j * s[1], 0.0, -s[1]]
    } else {
        return Ok(None);
    };
    if pixel_is_point {
        gt[0] -= 0.5 * (gt[1] + gt[2]);
        gt[3] -= 0.5 * (gt[4] + gt[5]);
    }
    Ok(Some(GeoTransform(gt)))
}

/// The GeoTIFF tags for a transform: scale + tiepoint when north-up, else the 4×4 matrix.
pub(crate) enum GeoTags {
    ScaleTiepoint { scale: [f64; 3], tiepoint: [f64; 6] },
    Matrix([f64; 16]),
}

pub(crate) fn tags_from_transform(gt: &GeoTransform, pixel_is_point: bool) -> GeoTags {
    let mut g = gt.0;
    if pixel_is_point {
        g[0] += 0.5 * (g[1] + g[2]);
        g[3] += 0.5 * (g[4] + g[5]);
    }
    if gt.is_rotated() {
        GeoTags::Matrix([
            g[1], g[2], 0.0, g[0], //
            g[4], g[5], 0.0, g[3], //
            0.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 0.0, 1.0,
        ])
    } else {
        GeoTags::ScaleTiepoint {
            scale: [g[1], -g[5], 0.0],
            tiepoint: [0.0, 0.0, 0.0, g[0], g[3], 0.0],
        }
    }
}

/// GDAL_NODATA is ASCII: "0", "-9999", "nan", "-3.4028234663852886e+38".
pub(crate) fn parse_nodata(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    match t.to_ascii_lowercase().as_str() {
        "nan" | "-nan" | "+nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

pub(crate) fn format_nodata(v: f64) -> String {
    if v.is_nan() {
        "nan".to_string()
    } else {
        // Rust's shortest round-trip form: "0", "-9999", "1e-5"; GDAL parses all of them.
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiepoint_and_scale_give_corner_origin() {
        // Tiepoint at raster (2, 3) → map (102, 47) with 1 m pixels: corner is 2 px left,
        // 3 px up.
        let gt = transform_from_tags(
            Some(&[1.0, 1.0, 0.0]),
            Some(&[2.0, 3.0, 0.0, 102.0, 47.0, 0.0]),
            None,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(gt.0, [100.0, 1.0, 0.0, 50.0, 0.0, -1.0]);
    }

    #[test]
    // The digits are GDAL's, as printed.
    #[allow(clippy::excessive_precision)]
    fn pixel_is_point_moves_half_a_pixel_up_left() {
        // The PyRate 16×20 file: GDAL reports this exact origin.
        let s = 0.000069444446125999;
        let gt = transform_from_tags(
            Some(&[s, s, 0.0]),
            Some(&[0.0, 0.0, 0.0, 150.3870849609375, -33.38319396972656, 0.0]),
            None,
            true,
        )
        .unwrap()
        .unwrap();
        assert!((gt.0[0] - 150.387050238714437).abs() < 1e-12);
        assert!((gt.0[3] - -33.383159247503500).abs() < 1e-12);
    }

    #[test]
    fn transform_round_trips_through_tags() {
        for &point in &[false, true] {
            for gt in [
                GeoTransform([500000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0]),
                GeoTransform([10.0, 2.0, 0.5, 20.0, -0.25, -2.0]),
            ] {
                let back = match tags_from_transform(&gt, point) {
                    GeoTags::ScaleTiepoint { scale, tiepoint } => {
                        transform_from_tags(Some(&scale), Some(&tiepoint), None, point)
                    }
                    GeoTags::Matrix(m) => transform_from_tags(None, None, Some(&m), point),
                }
                .unwrap()
                .unwrap();
                for k in 0..6 {
                    assert!((back.0[k] - gt.0[k]).abs() < 1e-9, "{back:?} vs {gt:?}");
                }
            }
        }
    }

    #[test]
    fn geokeys_round_trip() {
        for (epsg, point) in [(Some(4326), false), (Some(32633), true), (None, false)] {
            let keys = parse_geokeys(&build_geokeys(epsg, point)).unwrap();
            assert_eq!(keys.epsg, epsg);
            assert_eq!(keys.raster_type, Some(if point { 2 } else { 1 }));
        }
    }

    #[test]
    fn geokeys_user_defined_is_no_epsg_and_short_directory_is_error() {
        let dir = [1, 1, 0, 1, KEY_GEOGRAPHIC_TYPE, 0, 1, USER_DEFINED];
        assert_eq!(parse_geokeys(&dir).unwrap().epsg, None);
        assert!(parse_geokeys(&[1, 1, 0, 2, 1024, 0, 1, 2]).is_err());
    }

    #[test]
    fn geographic_crs_is_one_answer() {
        for code in [
            4326, 4258, 4269, 4283, 7844, 4490, 4214, 4610, 4167, 4284, 4230, 4019,
        ] {
            assert!(epsg_is_geographic(code), "EPSG:{code}");
        }
        for code in [32650, 3857, 2180, 4087, 4978] {
            assert!(!epsg_is_geographic(code), "EPSG:{code}");
        }
        let t = GeoTransform::north_up(500_000.0, 4_000_000.0, 20.0, -20.0);
        assert!(!GeoInfo::new(t, None).is_geographic());
        assert!(GeoInfo::new(t, Some(4326)).is_geographic());
        assert_eq!(
            GeoInfo::new(t, None).pixel_to_map(1.0, 2.0),
            [500_020.0, 3_999_960.0]
        );
    }

    #[test]
    fn nodata_text() {
        assert_eq!(parse_nodata("0\0"), Some(0.0));
        assert_eq!(parse_nodata("-9999"), Some(-9999.0));
        assert!(parse_nodata("nan").unwrap().is_nan());
        assert_eq!(parse_nodata("garbage"), None);
        assert_eq!(format_nodata(0.0), "0");
        assert_eq!(format_nodata(-9999.0), "-9999");
        assert_eq!(parse_nodata(&format_nodata(1.5e-7)), Some(1.5e-7));
    }
}
