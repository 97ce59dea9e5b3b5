//! Coordinate systems named in text, as raw-raster headers give them: EPSG codes out of
//! WKT (OGC with an AUTHORITY/ID, or ESRI's names for WGS 84 and its UTM zones), and the
//! georeferencing of an ENVI `map info` line.

use crate::geo::{GeoInfo, GeoTransform};

/// The EPSG code of a CRS given as `EPSG:n`, an OGC URN, or WKT: the root's own
/// `AUTHORITY["EPSG","n"]` (WKT1) or `ID["EPSG",n]` (WKT2), else, for ESRI WKT without
/// authorities, WGS 84 geographic (4326) or WGS 84 / UTM (326zz north, 327zz south) by name.
/// `None` when the text names something else.
pub fn epsg_of(text: &str) -> Option<u32> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    for prefix in ["EPSG:", "URN:OGC:DEF:CRS:EPSG::", "URN:OGC:DEF:CRS:EPSG:"] {
        if let Some(code) = upper.strip_prefix(prefix) {
            return code.trim().parse().ok();
        }
    }
    let root = WktNode::parse(t)?;
    root.authority_code().or_else(|| epsg_by_name(&root))
}

/// One `KEYWORD[...]` of a WKT text: its keyword, quoted name (first value) and, for the
/// root only, the text between its brackets.
struct WktNode<'a> {
    keyword: String,
    name: String,
    body: &'a str,
}

impl<'a> WktNode<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let open = text.find(['[', '('])?;
        let keyword = text[..open].trim().to_ascii_uppercase();
        if keyword.is_empty()
            || !keyword
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        let close = text.rfind([']', ')'])?;
        let body = text.get(open + 1..close)?;
        let name = first_quoted(body).unwrap_or_default();
        Some(Self {
            keyword,
            name,
            body,
        })
    }

    /// `AUTHORITY["EPSG","n"]` or `ID["EPSG",n]` directly inside the root (not inside a
    /// nested DATUM, SPHEROID… whose codes are not the CRS's).
    fn authority_code(&self) -> Option<u32> {
        let mut found = None;
        for (keyword, args) in top_level_items(self.body) {
            if keyword == "AUTHORITY" || keyword == "ID" {
                let mut parts = args.split(',').map(|s| s.trim().trim_matches('"'));
                if parts.next().is_some_and(|a| a.eq_ignore_ascii_case("EPSG")) {
                    found = parts.next().and_then(|c| c.parse().ok());
                }
            }
        }
        found
    }
}

/// `(KEYWORD, contents)` of the bracketed items at depth 0 of a WKT body, skipping quoted
/// text.
fn top_level_items(body: &str) -> Vec<(String, &str)> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut word_start, mut open_at) = (0usize, false, 0usize, 0usize);
    let mut keyword = String::new();
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '[' | '(' => {
                if depth == 0 {
                    keyword = body[word_start..i].trim().to_ascii_uppercase();
                    open_at = i + 1;
                }
                depth += 1;
            }
            ']' | ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    items.push((std::mem::take(&mut keyword), &body[open_at..i]));
                }
            }
            ',' if depth == 0 => word_start = i + 1,
            _ => {}
        }
    }
    items
}

fn first_quoted(s: &str) -> Option<String> {
    let start = s.find('"')? + 1;
    let len = s[start..].find('"')?;
    Some(s[start..start + len].to_string())
}

/// Letters and digits of `s`, lower case: "WGS_1984_UTM_Zone_33N" → "wgs1984utmzone33n".
fn squashed(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_wgs84(name: &str) -> bool {
    let s = squashed(name);
    s.contains("wgs84") || s.contains("wgs1984") || s.contains("worldgeodeticsystem1984")
}

/// ESRI WKT names no authority: WGS 84 and its UTM zones are recognised by name.
fn epsg_by_name(root: &WktNode) -> Option<u32> {
    match root.keyword.as_str() {
        "GEOGCS" | "GEOGCRS" | "GEODCRS" if is_wgs84(&root.name) => Some(4326),
        "PROJCS" | "PROJCRS" if is_wgs84(&root.name) => {
            let s = squashed(&root.name);
            let rest = &s[s.find("utmzone")? + "utmzone".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            utm_epsg(digits.parse().ok()?, rest[digits.len()..].starts_with('n'))
        }
        _ => None,
    }
}

/// WGS 84 / UTM zone `zone` (1–60) → EPSG 326zz (north) or 327zz (south).
pub fn utm_epsg(zone: u32, north: bool) -> Option<u32> {
    (1..=60)
        .contains(&zone)
        .then_some(if north { 32600 } else { 32700 } + zone)
}

/// The fields of an ENVI list value (`{a, b, c}`), trimmed.
pub fn envi_list(value: &str) -> Vec<String> {
    let inner = value.trim().trim_start_matches('{').trim_end_matches('}');
    inner.split(',').map(|s| s.trim().to_string()).collect()
}

/// Georeferencing of an ENVI `map info` (`{projection, ref x, ref y, easting, northing,
/// dx, dy[, zone, North|South][, datum][, units=…][, rotation=…]}`), as GDAL reads it: the
/// reference pixel is 1-based with (1, 1) the outer corner of the first pixel, so (1.5,
/// 1.5) is its centre; `dy` is given positive for north-up. The EPSG code comes from the
/// `coordinate system string` when there is one, else from a WGS 84 geographic or UTM
/// projection name. Errors say which field is not a number.
pub fn envi_map_info(map_info: &str, css: Option<&str>) -> Result<GeoInfo, String> {
    let f = envi_list(map_info);
    if f.len() < 7 {
        return Err(format!(
            "`map info` has {} fields, expected at least 7 (projection, reference pixel x \
             and y, easting, northing, pixel size x and y)",
            f.len()
        ));
    }
    let num = |i: usize, what: &str| -> Result<f64, String> {
        f[i].parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "`map info` field {} ({what}) is {:?}, expected a number",
                    i + 1,
                    f[i]
                )
            })
    };
    let (xref, yref) = (num(1, "reference pixel x")?, num(2, "reference pixel y")?);
    let (east, north) = (num(3, "easting")?, num(4, "northing")?);
    let (dx, dy) = (num(5, "pixel size x")?, num(6, "pixel size y")?);
    let named = |key: &str| {
        f.iter()
            .find_map(|s| s.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let rotation = match named("rotation=") {
        Some(r) => r
            .parse::<f64>()
            .map_err(|_| format!("`map info` rotation={r}, expected a number"))?,
        None => 0.0,
    };
    let x0 = east - (xref - 1.0) * dx;
    let y0 = north + (yref - 1.0) * dy;
    let mut gt = if rotation == 0.0 {
        [x0, dx, 0.0, y0, 0.0, -dy]
    } else {
        // GDAL's reading: the angle turns the pixel axes counter-clockwise.
        let a = -rotation.to_radians();
        [
            x0,
            a.cos() * dx,
            -a.sin() * dx,
            y0,
            -a.sin() * dy,
            -a.cos() * dy,
        ]
    };
    let geographic = f[0].to_ascii_lowercase().starts_with("geographic lat");
    if geographic {
        let per_degree = match named("units=").map(|u| u.to_ascii_lowercase()).as_deref() {
            Some("minutes") => 60.0,
            Some("seconds") => 3600.0,
            _ => 1.0,
        };
        gt.iter_mut().for_each(|v| *v /= per_degree);
    }
    // The string comes in braces: `coordinate system string = {PROJCS[…]}`.
    let css = css.map(|c| c.trim().trim_start_matches('{').trim_end_matches('}'));
    let epsg = css.and_then(epsg_of).or_else(|| projection_epsg(&f));
    Ok(GeoInfo::new(GeoTransform(gt), epsg))
}

/// EPSG code of the `map info` projection fields: Geographic Lat/Lon on WGS 84 (the datum
/// field, or none: GDAL's default) → 4326; UTM zone + hemisphere on WGS 84 → 326zz / 327zz.
fn projection_epsg(f: &[String]) -> Option<u32> {
    let datum_at = |i: usize| f.get(i).filter(|s| !s.contains('='));
    let name = f[0].to_ascii_lowercase();
    if name.starts_with("geographic lat") {
        return datum_at(7).is_none_or(|d| is_wgs84(d)).then_some(4326);
    }
    if name.starts_with("utm") {
        let zone: u32 = f.get(7)?.parse().ok()?;
        let north = !f.get(8)?.eq_ignore_ascii_case("south");
        // Without a datum GDAL takes NAD27, which has no WGS 84 code.
        return datum_at(9)
            .filter(|d| is_wgs84(d))
            .and(utm_epsg(zone, north));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsg_from_codes_and_ogc_wkt() {
        assert_eq!(epsg_of("EPSG:4326"), Some(4326));
        assert_eq!(epsg_of(" epsg:32633 "), Some(32633));
        assert_eq!(epsg_of("urn:ogc:def:crs:EPSG::3857"), Some(3857));
        // The root's authority, not the datum's or the spheroid's.
        let wkt = r#"PROJCS["WGS 84 / UTM zone 34N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],UNIT["metre",1],AUTHORITY["EPSG","32634"]]"#;
        assert_eq!(epsg_of(wkt), Some(32634));
        let wkt2 = r#"GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563]],ID["EPSG",4326]]"#;
        assert_eq!(epsg_of(wkt2), Some(4326));
        // A CRS whose root has no authority and is not WGS 84: unknown.
        assert_eq!(
            epsg_of(r#"PROJCS["Local",GEOGCS["GRS 1980(IUGG, 1980)"],AUTHORITY["X","1"]]"#),
            None
        );
        assert_eq!(epsg_of("nonsense"), None);
    }

    #[test]
    fn epsg_from_esri_names() {
        let geog = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(epsg_of(geog), Some(4326));
        let utm = r#"PROJCS["WGS_1984_UTM_Zone_33S",GEOGCS["GCS_WGS_1984"],PROJECTION["Transverse_Mercator"]]"#;
        assert_eq!(epsg_of(utm), Some(32733));
        assert_eq!(epsg_of(r#"PROJCS["WGS 84 / UTM zone 61N"]"#), None);
    }

    #[test]
    fn map_info_reference_pixel_is_one_based_corner() {
        // Reference (1, 1) is the outer corner of the first pixel: the origin itself.
        let g = envi_map_info(
            "{Geographic Lat/Lon, 1.0, 1.0, 18.5, 50.25, 0.001, 0.002, WGS-84, units=Degrees}",
            None,
        )
        .unwrap();
        assert_eq!(g.transform.0, [18.5, 0.001, 0.0, 50.25, 0.0, -0.002]);
        assert_eq!(g.epsg, Some(4326));
        // Reference (1.5, 1.5) is the centre of the first pixel: half a pixel further in.
        let g = envi_map_info(
            "{UTM, 1.5, 1.5, 500010.0, 4000010.0, 20.0, 20.0, 33, North, WGS-84, units=Meters}",
            None,
        )
        .unwrap();
        assert_eq!(g.transform.0, [500000.0, 20.0, 0.0, 4000020.0, 0.0, -20.0]);
        assert_eq!(g.epsg, Some(32633));
        // A reference pixel deep inside the image: (11, 21) → 10 and 20 pixels back.
        let g = envi_map_info("{UTM, 11, 21, 1000, 2000, 2, 3, 10, South, WGS84}", None).unwrap();
        assert_eq!(g.transform.0, [980.0, 2.0, 0.0, 2060.0, 0.0, -3.0]);
        assert_eq!(g.epsg, Some(32710));
    }

    #[test]
    fn map_info_crs_and_errors() {
        // No datum on a UTM line: GDAL assumes NAD27, which is not WGS 84.
        let g = envi_map_info("{UTM, 1, 1, 0, 0, 1, 1, 33, North}", None).unwrap();
        assert_eq!(g.epsg, None);
        // The coordinate system string wins.
        let css = r#"{PROJCS["WGS_1984_UTM_Zone_34N",GEOGCS["GCS_WGS_1984"]]}"#;
        let g = envi_map_info("{Arbitrary, 1, 1, 0, 0, 1, 1}", Some(css)).unwrap();
        assert_eq!(g.epsg, Some(32634));
        let e = envi_map_info("{UTM, 1, 1, x, 0, 1, 1}", None).unwrap_err();
        assert!(e.contains("field 4") && e.contains("easting"), "{e}");
        let e = envi_map_info("{UTM, 1, 1}", None).unwrap_err();
        assert!(e.contains("3 fields"), "{e}");
        // Seconds of arc are turned into degrees.
        let g = envi_map_info(
            "{Geographic Lat/Lon, 1, 1, 3600, 7200, 1, 1, units=Seconds}",
            None,
        )
        .unwrap();
        let t = g.transform.0;
        assert!((t[0] - 1.0).abs() < 1e-12 && (t[3] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn map_info_rotation_as_gdal() {
        // rotation=90, turned as GDAL turns it: cos(−90°) = 0, −sin(−90°) = 1.
        let g = envi_map_info(
            "{UTM, 1, 1, 100, 200, 10, 10, 33, North, WGS-84, rotation=90}",
            None,
        )
        .unwrap();
        let t = g.transform.0;
        let want = [100.0, 0.0, 10.0, 200.0, 10.0, 0.0];
        for k in 0..6 {
            assert!((t[k] - want[k]).abs() < 1e-9, "{t:?}");
        }
    }
}
