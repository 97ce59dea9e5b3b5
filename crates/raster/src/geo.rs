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

/// The EPSG codes whose definition is geographic (`+proj=longlat`: 2-D and 3-D latitude/
/// longitude CRSs), as sorted inclusive ranges; a range may span codes that name no CRS.
/// Generated from the EPSG definitions (the `crs-definitions` tables) that detect-core
/// reprojects with, and checked against them: detect-core's test
/// `raster_geographic_answer_is_the_definitions` names any code where the two part.
/// Not "the 4000–4999 block": that block holds geocentric (4000, 4978), UTM (4037) and
/// transverse Mercator (4026) CRSs, and hundreds of geographic ones live outside it
/// (NAD83(2011) 6318, GDA2020 7844, …).
#[rustfmt::skip]
const GEOGRAPHIC_EPSG: [(u16, u16); 221] = [
    (3819, 3821), (3823, 3824), (3888, 3889), (3906, 3906), (4001, 4025), (4027, 4036),
    (4040, 4047), (4052, 4055), (4074, 4075), (4080, 4081), (4120, 4216), (4218, 4327),
    (4329, 4329), (4339, 4339), (4341, 4341), (4343, 4343), (4345, 4345), (4347, 4347),
    (4349, 4349), (4351, 4351), (4353, 4353), (4355, 4355), (4357, 4357), (4359, 4359),
    (4361, 4361), (4363, 4363), (4365, 4365), (4367, 4367), (4369, 4369), (4371, 4371),
    (4373, 4373), (4375, 4375), (4377, 4377), (4379, 4379), (4381, 4381), (4383, 4383),
    (4386, 4386), (4388, 4388), (4463, 4463), (4466, 4466), (4469, 4470), (4472, 4472),
    (4475, 4475), (4480, 4480), (4482, 4483), (4490, 4490), (4555, 4555), (4557, 4558),
    (4600, 4646), (4657, 4765), (4801, 4811), (4813, 4821), (4823, 4824), (4883, 4883),
    (4885, 4885), (4887, 4887), (4889, 4889), (4891, 4891), (4893, 4893), (4895, 4895),
    (4898, 4898), (4900, 4904), (4907, 4907), (4909, 4909), (4921, 4921), (4923, 4923),
    (4925, 4925), (4927, 4927), (4929, 4929), (4931, 4931), (4933, 4933), (4935, 4935),
    (4937, 4937), (4939, 4939), (4941, 4941), (4943, 4943), (4945, 4945), (4947, 4947),
    (4949, 4949), (4951, 4951), (4953, 4953), (4955, 4955), (4957, 4957), (4959, 4959),
    (4961, 4961), (4963, 4963), (4965, 4965), (4967, 4967), (4969, 4969), (4971, 4971),
    (4973, 4973), (4975, 4975), (4977, 4977), (4979, 4979), (4981, 4981), (4983, 4983),
    (4985, 4985), (4987, 4987), (4989, 4989), (4991, 4991), (4993, 4993), (4995, 4995),
    (4997, 4997), (4999, 4999), (5012, 5013), (5132, 5132), (5228, 5233), (5245, 5246),
    (5251, 5252), (5263, 5264), (5323, 5324), (5340, 5340), (5342, 5342), (5353, 5354),
    (5359, 5360), (5364, 5365), (5370, 5373), (5380, 5381), (5392, 5393), (5451, 5451),
    (5464, 5464), (5467, 5467), (5488, 5489), (5498, 5500), (5524, 5527), (5545, 5546),
    (5560, 5561), (5592, 5593), (5628, 5628), (5681, 5681), (5830, 5830), (5885, 5886),
    (5942, 5942), (6134, 6135), (6144, 6144), (6207, 6207), (6310, 6311), (6318, 6319),
    (6321, 6322), (6324, 6325), (6349, 6349), (6364, 6365), (6649, 6649), (6667, 6668),
    (6696, 6700), (6705, 6706), (6782, 6783), (6881, 6883), (6892, 6892), (6894, 6894),
    (6917, 6917), (6979, 6980), (6982, 6983), (6986, 6987), (6989, 6990), (7034, 7042),
    (7072, 7073), (7084, 7088), (7133, 7133), (7135, 7136), (7138, 7139), (7372, 7373),
    (7400, 7400), (7404, 7404), (7406, 7406), (7408, 7410), (7414, 7414), (7423, 7423),
    (7657, 7657), (7659, 7659), (7661, 7661), (7663, 7663), (7665, 7665), (7678, 7678),
    (7680, 7680), (7682, 7683), (7685, 7686), (7797, 7798), (7816, 7816), (7843, 7844),
    (7880, 7881), (7885, 7886), (7900, 7912), (7915, 7915), (7917, 7917), (7919, 7919),
    (7921, 7921), (7923, 7923), (7925, 7925), (7927, 7927), (7929, 7929), (7931, 7931),
    (8042, 8043), (8085, 8086), (8231, 8232), (8235, 8237), (8239, 8240), (8244, 8246),
    (8248, 8249), (8251, 8252), (8254, 8255), (8349, 8351), (8360, 8360), (8399, 8399),
    (8403, 8403), (8426, 8428), (8430, 8431), (8449, 8449), (8542, 8542), (8544, 8545),
    (8684, 8685), (8817, 8818), (8860, 8860), (8899, 8902), (8906, 8907), (8988, 9000),
    (9002, 9003), (9005, 9006), (9008, 9009), (9011, 9014), (9016, 9019),
];

/// The one answer to "does this CRS count in degrees", from the EPSG definitions (see
/// [`GEOGRAPHIC_EPSG`]). It decides which GeoKey carries the code.
pub fn epsg_is_geographic(epsg: u32) -> bool {
    let Ok(code) = u16::try_from(epsg) else {
        return false;
    };
    GEOGRAPHIC_EPSG
        .binary_search_by(|&(lo, hi)| {
            if hi < code {
                std::cmp::Ordering::Less
            } else if lo > code {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
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
            4326, 4258, 4269, 4283, 7844, 4490, 4214, 4610, 4167, 4284, 4230, 4019, 4979, 6318,
            9000,
        ] {
            assert!(epsg_is_geographic(code), "EPSG:{code}");
        }
        // Projected, geocentric (4000, 4978) and UTM / transverse Mercator codes inside the
        // 4000 block (4037, 4026); codes beyond u16 are no EPSG CRS.
        for code in [32650, 3857, 2180, 4087, 4978, 4000, 4037, 4026, 1, 70_000] {
            assert!(!epsg_is_geographic(code), "EPSG:{code}");
        }
        assert!(
            GEOGRAPHIC_EPSG
                .windows(2)
                .all(|w| w[0].0 <= w[0].1 && w[0].1 < w[1].0),
            "sorted, disjoint ranges (binary search)"
        );
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
