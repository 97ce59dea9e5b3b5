//! What a scene's map coordinates mean: an EPSG CRS with its definition, an unknown CRS
//! (a geotransform without a code), or no georeferencing at all (radar geometry).
//!
//! Definitions (PROJ.4 strings and OGC WKT 1) come from the EPSG tables of the
//! `crs-definitions` crate; reprojection is `proj4rs` (pure Rust). Whether a code counts in
//! degrees is the definition's own answer (`+proj=longlat`), the data raster's
//! [`raster::geo::epsg_is_geographic`] is generated from and checked against (see the tests).

use proj4rs::Proj;
use proj4rs::adaptors::transform_vertex_2d;

/// RFC 7946's CRS: WGS 84 longitude, latitude in degrees (EPSG:4326 with lon, lat order).
const WGS84_PROJ4: &str = "+proj=longlat +datum=WGS84 +no_defs";

/// A failed reprojection: which CRS, which point, why.
#[derive(Debug, thiserror::Error)]
#[error("EPSG:{code}: cannot reproject ({x}, {y}) {direction}: {cause}")]
pub struct ReprojectError {
    pub code: u32,
    pub x: f64,
    pub y: f64,
    pub direction: &'static str,
    pub cause: String,
}

/// The scene's CRS as the outputs need it.
#[derive(Debug, Clone)]
pub enum SceneCrs {
    /// An EPSG CRS whose definition reprojects: WGS84 outputs and ground sizes work.
    Epsg(Box<Epsg>),
    /// An EPSG code that cannot be used here (not in the definitions table, or a definition
    /// proj4rs does not handle): native coordinates only, no sizes in metres.
    EpsgOnly { code: u32, why: String },
    /// A geotransform without an EPSG code: native coordinates of unknown meaning.
    Unknown,
    /// No georeferencing: pixel coordinates (radar geometry).
    Pixel,
}

/// The note every output carries for a scene in pixel coordinates. The y axis points up
/// (y = −row) because that is where QGIS draws a raster without georeferencing, so the
/// layer lies over the radar-geometry raster.
pub const PIXEL_NOTE: &str = "pixel coordinates (radar geometry): x = column, y = -row (as QGIS places a raster without georeferencing)";
/// The note for a scene georeferenced without an EPSG code.
pub const UNKNOWN_NOTE: &str =
    "native coordinates of the scene's geotransform; CRS unknown (the scene has no EPSG code)";

impl SceneCrs {
    /// The CRS of a scene with georeferencing `geo` (none: pixel geometry).
    pub fn of(geo: Option<&raster::GeoInfo>) -> Self {
        match geo {
            None => Self::Pixel,
            Some(g) => match g.epsg {
                None => Self::Unknown,
                Some(code) => match Epsg::new(code) {
                    Ok(e) => Self::Epsg(Box::new(e)),
                    Err(why) => Self::EpsgOnly { code, why },
                },
            },
        }
    }

    /// The EPSG code, where there is one.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Epsg(e) => Some(e.code),
            Self::EpsgOnly { code, .. } => Some(*code),
            Self::Unknown | Self::Pixel => None,
        }
    }

    /// Short machine-readable name: `EPSG:32650`, `unknown` or `pixel`.
    pub fn label(&self) -> String {
        match self.code() {
            Some(code) => format!("EPSG:{code}"),
            None if matches!(self, Self::Pixel) => "pixel".into(),
            None => "unknown".into(),
        }
    }

    /// What the native coordinates are, in a sentence for people.
    pub fn note(&self) -> String {
        match self {
            Self::Epsg(e) => format!("EPSG:{} ({})", e.code, e.name()),
            Self::EpsgOnly { code, .. } => format!("EPSG:{code}"),
            Self::Unknown => UNKNOWN_NOTE.into(),
            Self::Pixel => PIXEL_NOTE.into(),
        }
    }

    /// What a user should be told on stderr, where the outputs lack something.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Epsg(_) => None,
            Self::EpsgOnly { code, why } => Some(format!(
                "EPSG:{code} cannot be used here ({why}): the outputs keep the scene's coordinates \
                 (the GeoJSON too, with a `crs` member) and give no sizes in metres"
            )),
            Self::Unknown => Some(
                "the scene has a geotransform but no EPSG code: the outputs keep its coordinates \
                 with the CRS marked unknown and give no sizes in metres; set the CRS in QGIS \
                 (Layer ▸ Set CRS) if you know it"
                    .into(),
            ),
            Self::Pixel => Some(
                "the scene has no georeferencing (radar geometry): the outputs are in pixel \
                 coordinates (x = column, y = -row) and give no sizes in metres"
                    .into(),
            ),
        }
    }

    /// The usable EPSG CRS, where there is one.
    pub fn epsg(&self) -> Option<&Epsg> {
        match self {
            Self::Epsg(e) => Some(e),
            _ => None,
        }
    }
}

/// The definition of an EPSG CRS, set up to reproject to and from WGS84 longitude/latitude.
#[derive(Debug, Clone)]
pub struct Epsg {
    pub code: u32,
    def: crs_definitions::Def,
    proj: Proj,
    wgs84: Proj,
}

impl Epsg {
    /// The CRS of `code`, or why it cannot be used.
    pub fn new(code: u32) -> Result<Self, String> {
        let def = definition(code).ok_or_else(|| "no definition in the EPSG table".to_string())?;
        let proj = Proj::from_proj_string(def.proj4)
            .map_err(|e| format!("definition `{}`: {e}", def.proj4))?;
        let wgs84 = Proj::from_proj_string(WGS84_PROJ4).map_err(|e| e.to_string())?;
        if proj.is_geocent() {
            return Err("a geocentric CRS is not a map".into());
        }
        Ok(Self {
            code,
            def,
            proj,
            wgs84,
        })
    }

    /// The OGC WKT 1 definition (as GeoPackage's `gpkg_spatial_ref_sys.definition` holds).
    pub fn wkt(&self) -> &'static str {
        self.def.wkt
    }

    /// The CRS's name, as its WKT gives it (`WGS 84 / UTM zone 50N`).
    pub fn name(&self) -> &'static str {
        wkt_name(self.def.wkt).unwrap_or("unnamed")
    }

    /// True when the definition counts in degrees of longitude and latitude.
    pub fn is_geographic(&self) -> bool {
        self.proj.is_latlong()
    }

    /// WGS84 longitude, latitude in degrees of the native point (x, y).
    pub fn to_lonlat(&self, x: f64, y: f64) -> Result<[f64; 2], ReprojectError> {
        let input = if self.is_geographic() {
            (x.to_radians(), y.to_radians())
        } else {
            (x, y)
        };
        let (lon, lat) = self.run(&self.proj, &self.wgs84, input, (x, y), "to WGS84")?;
        let (lon, lat) = (lon.to_degrees(), lat.to_degrees());
        // A geographic CRS on WGS84 passes any number through: a latitude past a pole is
        // a broken geotransform, not a place.
        if lat.abs() > 90.0 {
            return Err(ReprojectError {
                code: self.code,
                x,
                y,
                direction: "to WGS84",
                cause: format!("latitude {lat}° is beyond a pole"),
            });
        }
        Ok([lon, lat])
    }

    /// The native point at WGS84 longitude, latitude (degrees).
    pub fn from_lonlat(&self, lon: f64, lat: f64) -> Result<[f64; 2], ReprojectError> {
        let input = (lon.to_radians(), lat.to_radians());
        let (x, y) = self.run(&self.wgs84, &self.proj, input, (lon, lat), "from WGS84")?;
        Ok(if self.is_geographic() {
            [x.to_degrees(), y.to_degrees()]
        } else {
            [x, y]
        })
    }

    fn run(
        &self,
        from: &Proj,
        to: &Proj,
        input: (f64, f64),
        shown: (f64, f64),
        direction: &'static str,
    ) -> Result<(f64, f64), ReprojectError> {
        let fail = |cause: String| ReprojectError {
            code: self.code,
            x: shown.0,
            y: shown.1,
            direction,
            cause,
        };
        // proj4rs returns NaN rather than an error for some points outside a projection's
        // domain: a non-finite result is a failure too.
        let out = transform_vertex_2d(from, to, input).map_err(|e| fail(e.to_string()))?;
        if out.0.is_finite() && out.1.is_finite() {
            Ok(out)
        } else {
            Err(fail("outside the projection's domain".into()))
        }
    }
}

/// The EPSG table's definition of `code`.
pub fn definition(code: u32) -> Option<crs_definitions::Def> {
    u16::try_from(code)
        .ok()
        .and_then(crs_definitions::from_code)
}

/// The WKT 1 definition of WGS 84 (EPSG:4326), a row every GeoPackage holds.
pub fn wgs84_wkt() -> &'static str {
    crs_definitions::EPSG_4326.wkt
}

/// The first quoted name of a WKT definition: `PROJCS["WGS 84 / UTM zone 50N",…` → the name.
fn wkt_name(wkt: &str) -> Option<&str> {
    let start = wkt.find('"')? + 1;
    let len = wkt.get(start..)?.find('"')?;
    wkt.get(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_kinds_and_notes() {
        let utm = Epsg::new(32650).expect("UTM 50N is defined");
        assert_eq!(utm.name(), "WGS 84 / UTM zone 50N");
        assert!(!utm.is_geographic());
        assert!(utm.wkt().starts_with("PROJCS["));
        assert!(Epsg::new(4326).expect("WGS84").is_geographic());
        // Geocentric WGS84 and a code no table has are refused, saying why.
        assert!(Epsg::new(4978).unwrap_err().contains("geocentric"));
        assert!(Epsg::new(1).unwrap_err().contains("no definition"));
        let t = raster::GeoTransform::north_up(0.0, 0.0, 1.0, -1.0);
        let of = |epsg| SceneCrs::of(Some(&raster::GeoInfo::new(t, epsg)));
        assert_eq!(of(Some(32650)).label(), "EPSG:32650");
        assert!(of(Some(32650)).warning().is_none());
        assert_eq!(of(None).label(), "unknown");
        assert!(
            of(None)
                .warning()
                .is_some_and(|w| w.contains("no EPSG code"))
        );
        assert!(matches!(of(Some(1)), SceneCrs::EpsgOnly { code: 1, .. }));
        assert_eq!(SceneCrs::of(None).label(), "pixel");
        assert_eq!(SceneCrs::of(None).note(), PIXEL_NOTE);
    }

    /// The length of the WGS84 meridian arc from the equator to latitude φ (radians), from
    /// Helmert's series in n = f / (2 − f), good to well under a millimetre.
    fn meridian_arc(phi: f64) -> f64 {
        let a = 6_378_137.0;
        let f = 1.0 / 298.257_223_563;
        let n = f / (2.0 - f);
        let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
        a / (1.0 + n)
            * ((1.0 + n2 / 4.0 + n4 / 64.0) * phi - 1.5 * (n - n3 / 8.0) * (2.0 * phi).sin()
                + 15.0 / 16.0 * (n2 - n4 / 4.0) * (4.0 * phi).sin()
                - 35.0 / 48.0 * n3 * (6.0 * phi).sin()
                + 315.0 / 512.0 * n4 * (8.0 * phi).sin())
    }

    #[test]
    fn utm_point_on_the_central_meridian_matches_the_meridian_arc() {
        // On UTM 50N's central meridian (117° E, easting 500 000 m) the northing is
        // k0 · (meridian arc to the latitude), k0 = 0.9996: the latitude proj4rs returns
        // must give back the northing to a centimetre.
        let utm = Epsg::new(32650).expect("UTM 50N");
        let [lon, lat] = utm.to_lonlat(500_000.0, 4_000_000.0).expect("in the zone");
        assert!((lon - 117.0).abs() < 1e-12, "{lon}");
        let northing = 0.9996 * meridian_arc(lat.to_radians());
        assert!((northing - 4_000_000.0).abs() < 0.01, "{northing}");
        // 36.14° N: 4,001,600.6 m of meridian at 111 km per degree.
        assert!((lat - 36.1447).abs() < 1e-3, "{lat}");
        // East and west of the meridian by the same distance: mirror longitudes, same latitude.
        let [le, ae] = utm.to_lonlat(530_000.0, 4_000_000.0).expect("east");
        let [lw, aw] = utm.to_lonlat(470_000.0, 4_000_000.0).expect("west");
        assert!(((le - 117.0) + (lw - 117.0)).abs() < 1e-12 && le > 117.0);
        assert!((ae - aw).abs() < 1e-12 && ae < lat, "{ae} {aw} {lat}");
        // And back: to a millimetre.
        let [x, y] = utm.from_lonlat(le, ae).expect("inverse");
        assert!((x - 530_000.0).abs() < 1e-3 && (y - 4_000_000.0).abs() < 1e-3);
    }

    #[test]
    fn geographic_crs_reprojects_in_degrees() {
        let wgs = Epsg::new(4326).expect("WGS84");
        let p = wgs.to_lonlat(18.5, 50.25).expect("identity");
        assert!((p[0] - 18.5).abs() < 1e-12 && (p[1] - 50.25).abs() < 1e-12);
        let back = wgs.from_lonlat(18.5, 50.25).expect("identity");
        assert!((back[0] - 18.5).abs() < 1e-12 && (back[1] - 50.25).abs() < 1e-12);
        let err = wgs.to_lonlat(18.5, 95.0).expect_err("past the pole");
        assert!(err.to_string().contains("EPSG:4326"), "{err}");
        // Another datum (Pulkovo 1942, Krassowsky ellipsoid with +towgs84) moves the point
        // by its datum shift: about a hundred metres, far less than a kilometre.
        let pulkovo = Epsg::new(4284).expect("Pulkovo 1942");
        assert!(pulkovo.is_geographic());
        let q = pulkovo.to_lonlat(18.5, 50.25).expect("shift");
        let moved = ((q[0] - 18.5) * 71_000.0).hypot((q[1] - 50.25) * 111_000.0);
        assert!((10.0..1000.0).contains(&moved), "{moved} m");
    }

    /// raster's answer to "does this CRS count in degrees" is a table generated from these
    /// definitions: it must say exactly what each definition says.
    #[test]
    fn raster_geographic_answer_is_the_definitions() {
        let mut wrong = Vec::new();
        for code in 0..=u16::MAX {
            if let Some(def) = crs_definitions::from_code(code) {
                let longlat = def.proj4.starts_with("+proj=longlat");
                if raster::geo::epsg_is_geographic(u32::from(code)) != longlat {
                    wrong.push(code);
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "raster::epsg_is_geographic disagrees with the EPSG definitions for {wrong:?}; \
             regenerate raster's GEOGRAPHIC_EPSG from the `+proj=longlat` codes"
        );
    }
}
