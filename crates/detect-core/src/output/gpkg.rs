//! The basins as an OGC GeoPackage 1.3 (the layer to open first in QGIS): one feature table
//! `basins` of POLYGONs in the scene's CRS with every attribute, written through SQLite
//! (compiled in: no system library).
//!
//! What the standard asks and this writes: `application_id` 'GPKG' and `user_version` 10300;
//! `gpkg_spatial_ref_sys` with its three required rows (EPSG:4326, −1 undefined Cartesian,
//! 0 undefined geographic) plus the scene's CRS with its WKT; `gpkg_contents` with the
//! layer's extent; `gpkg_geometry_columns`; geometries as GeoPackage binary (header with the
//! envelope, then little-endian WKB). A scene without an EPSG code, or without
//! georeferencing, uses srs_id −1 "undefined Cartesian": its coordinates are planar of
//! unknown meaning, and GDAL (so QGIS) reads −1 as an undefined Cartesian CRS instead of
//! guessing degrees, as it would for 0 (undefined geographic).

use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::Value as Sql;
use serde_json::Value;

use super::crs::{SceneCrs, wgs84_wkt};
use super::frame::Frame;
use super::measure::measure;
use super::{Basin, MEASURE_KEYS, OutputError, stat_keys};

/// The layer's table name.
pub const LAYER: &str = "basins";
/// `PRAGMA application_id`: "GPKG" in ASCII.
const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.3.x.
const USER_VERSION: i32 = 10_300;
/// srs_id of the standard's undefined Cartesian CRS.
const UNDEFINED_CARTESIAN: i32 = -1;

/// The standard's table definitions (GeoPackage 1.3, Annex C).
const SCHEMA: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
";

/// Writes the basins of the scene called `scene` to a GeoPackage at `path`, whole or not at
/// all (a temporary file beside it, renamed when complete).
pub fn write_gpkg(
    path: &Path,
    basins: &[Basin],
    frame: &Frame,
    scene: &str,
) -> Result<(), OutputError> {
    let mut pending = raster::atomic::Pending::new(path);
    let sql = |cause| OutputError::Gpkg {
        path: path.to_path_buf(),
        cause,
    };
    // A temporary left by a killed run of the same process id would be opened, not replaced.
    match std::fs::remove_file(pending.tmp()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(OutputError::Io {
                path: pending.tmp().to_path_buf(),
                cause: e,
            });
        }
        _ => {}
    }
    let mut conn = Connection::open(pending.tmp()).map_err(sql)?;
    fill(&mut conn, basins, frame, scene).map_err(|e| e.at(path))?;
    conn.close().map_err(|(_, cause)| sql(cause))?;
    pending.commit().map_err(|cause| OutputError::Io {
        path: path.to_path_buf(),
        cause,
    })
}

/// Why filling the database failed, before the file's name is known to the error.
enum FillError {
    Sql(rusqlite::Error),
    Output(OutputError),
    Column(String),
}

impl FillError {
    fn at(self, path: &Path) -> OutputError {
        match self {
            Self::Sql(cause) => OutputError::Gpkg {
                path: path.to_path_buf(),
                cause,
            },
            Self::Output(e) => e,
            Self::Column(what) => OutputError::Column {
                path: path.to_path_buf(),
                what,
            },
        }
    }
}

impl From<rusqlite::Error> for FillError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<OutputError> for FillError {
    fn from(e: OutputError) -> Self {
        Self::Output(e)
    }
}

/// A statistic's column: its name and SQL type.
struct Column {
    key: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    Integer,
    Real,
    Text,
}

impl Kind {
    fn sql(self) -> &'static str {
        match self {
            Kind::Boolean => "BOOLEAN",
            Kind::Integer => "INTEGER",
            Kind::Real => "REAL",
            Kind::Text => "TEXT",
        }
    }

    /// The narrowest type holding one JSON value (`None` for null: any type holds it).
    fn of(v: &Value) -> Option<Kind> {
        match v {
            Value::Null => None,
            Value::Bool(_) => Some(Kind::Boolean),
            Value::Number(n) if n.is_i64() => Some(Kind::Integer),
            Value::Number(_) => Some(Kind::Real),
            _ => Some(Kind::Text),
        }
    }

    /// The type holding both: integers widen to reals, anything else mixed to text.
    fn join(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Integer, Kind::Real) | (Kind::Real, Kind::Integer) => Kind::Real,
            _ => Kind::Text,
        }
    }

    fn value(self, v: Option<&Value>) -> Sql {
        match (self, v) {
            (_, None | Some(Value::Null)) => Sql::Null,
            (Kind::Boolean, Some(Value::Bool(b))) => Sql::Integer(i64::from(*b)),
            (Kind::Integer, Some(Value::Number(n))) => n.as_i64().map_or(Sql::Null, Sql::Integer),
            (Kind::Real, Some(Value::Number(n))) => n.as_f64().map_or(Sql::Null, Sql::Real),
            (_, Some(Value::String(s))) => Sql::Text(s.clone()),
            (_, Some(other)) => Sql::Text(other.to_string()),
        }
    }
}

/// Names of the fixed columns besides the sizes ([`MEASURE_KEYS`]).
const FIXED: [&str; 8] = ["fid", "geom", "id", "score", "x1", "y1", "x2", "y2"];

fn columns(basins: &[Basin]) -> Result<Vec<Column>, FillError> {
    let mut cols: Vec<Column> = Vec::new();
    for key in stat_keys(basins) {
        // SQLite names are case-insensitive: a statistic must not take a fixed column's
        // name, nor another statistic's.
        let taken = FIXED
            .iter()
            .chain(&MEASURE_KEYS)
            .any(|f| f.eq_ignore_ascii_case(&key))
            || cols.iter().any(|c| c.key.eq_ignore_ascii_case(&key));
        if taken {
            return Err(FillError::Column(format!(
                "statistic `{key}` has the name of another column (names are case-insensitive)"
            )));
        }
        let kind = basins
            .iter()
            .filter_map(|b| b.stats.get(&key).and_then(Kind::of))
            .reduce(Kind::join)
            .unwrap_or(Kind::Text);
        cols.push(Column { key, kind });
    }
    Ok(cols)
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn fill(
    conn: &mut Connection,
    basins: &[Basin],
    frame: &Frame,
    scene: &str,
) -> Result<(), FillError> {
    let stats = columns(basins)?;
    let crs = frame.crs();
    let srs_id = srs_id(crs);
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.pragma_update(None, "user_version", USER_VERSION)?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    insert_srs(&tx, crs)?;

    let mut create = format!(
        "CREATE TABLE {LAYER} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom POLYGON, \
         id INTEGER NOT NULL, score REAL NOT NULL, x1 REAL, y1 REAL, x2 REAL, y2 REAL, \
         width_m REAL, height_m REAL, area_m2 REAL"
    );
    for c in &stats {
        create.push_str(&format!(", {} {}", ident(&c.key), c.kind.sql()));
    }
    create.push(')');
    tx.execute(&create, [])?;

    // fid (NULL: numbered by SQLite), geom, the nine fixed attributes, the statistics.
    let placeholders = vec!["?"; 10 + stats.len()].join(", ");
    let mut extent: Option<[f64; 4]> = None;
    {
        let mut insert = tx.prepare(&format!(
            "INSERT INTO {LAYER} VALUES (NULL, {placeholders})"
        ))?;
        for (i, b) in basins.iter().enumerate() {
            let bb = &b.det.bbox;
            let ring = frame.native_ring(bb);
            let env = envelope(&ring);
            extent = Some(extent.map_or(env, |e| union(e, env)));
            let m = measure(bb, frame)?;
            let size = |f: fn(&super::measure::Measures) -> f64| {
                m.as_ref().map_or(Sql::Null, |m| Sql::Real(f(m)))
            };
            let id = i64::try_from(i + 1).unwrap_or(i64::MAX);
            let mut row = vec![
                Sql::Blob(geometry_blob(srs_id, &ring)),
                Sql::Integer(id),
                Sql::Real(b.det.score),
                Sql::Real(bb.x1),
                Sql::Real(bb.y1),
                Sql::Real(bb.x2),
                Sql::Real(bb.y2),
                size(|m| m.width_m),
                size(|m| m.height_m),
                size(|m| m.area_m2),
            ];
            row.extend(stats.iter().map(|c| c.kind.value(b.stats.get(&c.key))));
            insert.execute(rusqlite::params_from_iter(row))?;
        }
    }
    let [min_x, min_y, max_x, max_y] = extent.map_or([None; 4], |e| e.map(Some));
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, \
         min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'features', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            LAYER,
            format!("{scene} basins"),
            format!(
                "Subsidence basins detected by yolo-basin in {scene}; coordinates: {}",
                crs.note()
            ),
            min_x,
            min_y,
            max_x,
            max_y,
            srs_id
        ],
    )?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', 'POLYGON', ?2, 0, 0)",
        rusqlite::params![LAYER, srs_id],
    )?;
    tx.commit()?;
    Ok(())
}

/// The srs_id of the layer: the EPSG code, or −1 (undefined Cartesian).
fn srs_id(crs: &SceneCrs) -> i32 {
    crs.code()
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(UNDEFINED_CARTESIAN)
}

/// The standard's three rows, and the scene's CRS where it is another.
fn insert_srs(tx: &rusqlite::Transaction<'_>, crs: &SceneCrs) -> Result<(), FillError> {
    let add = |name: &str, id: i32, org: &str, def: &str, desc: &str| {
        tx.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![name, id, org, id, def, desc],
        )
    };
    add(
        "Undefined Cartesian SRS",
        UNDEFINED_CARTESIAN,
        "NONE",
        "undefined",
        "undefined Cartesian coordinate reference system",
    )?;
    add(
        "Undefined geographic SRS",
        0,
        "NONE",
        "undefined",
        "undefined geographic coordinate reference system",
    )?;
    add(
        "WGS 84 geodetic",
        4326,
        "EPSG",
        wgs84_wkt(),
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    )?;
    let id = srs_id(crs);
    if id > 0 && id != 4326 {
        let (name, def) = match crs.epsg() {
            Some(e) => (e.name().to_string(), e.wkt()),
            // An EPSG code without a definition here: GDAL looks the code up itself.
            None => (format!("EPSG:{id}"), "undefined"),
        };
        add(&name, id, "EPSG", def, "the scene's CRS")?;
    }
    Ok(())
}

/// `[min_x, min_y, max_x, max_y]` of a ring.
fn envelope(ring: &[[f64; 2]]) -> [f64; 4] {
    ring.iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |e, p| {
            [
                e[0].min(p[0]),
                e[1].min(p[1]),
                e[2].max(p[0]),
                e[3].max(p[1]),
            ]
        },
    )
}

fn union(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

/// A one-ring polygon as GeoPackage binary: the "GP" header (version 0; flags: little
/// endian, envelope [minx, maxx, miny, maxy]; srs_id) then little-endian WKB.
pub fn geometry_blob(srs_id: i32, ring: &[[f64; 2]]) -> Vec<u8> {
    let [min_x, min_y, max_x, max_y] = envelope(ring);
    let mut b = Vec::with_capacity(8 + 32 + 13 + 16 * ring.len());
    b.extend_from_slice(b"GP");
    b.push(0); // version 1.0
    b.push(0b0000_0011); // standard binary, not empty, envelope type 1, little endian
    b.extend_from_slice(&srs_id.to_le_bytes());
    for v in [min_x, max_x, min_y, max_y] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.push(1); // WKB little endian
    b.extend_from_slice(&3u32.to_le_bytes()); // Polygon
    b.extend_from_slice(&1u32.to_le_bytes()); // one ring
    let points = u32::try_from(ring.len()).unwrap_or(u32::MAX);
    b.extend_from_slice(&points.to_le_bytes());
    for p in ring.iter().take(points as usize) {
        b.extend_from_slice(&p[0].to_le_bytes());
        b.extend_from_slice(&p[1].to_le_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbox::{BBox, Detection};
    use raster::{GeoInfo, GeoTransform};
    use serde_json::json;

    #[test]
    fn geometry_blob_bytes() {
        let ring = [[1.0, 2.0], [3.0, 2.0], [3.0, 5.0], [1.0, 2.0]];
        let blob = geometry_blob(32650, &ring);
        // "GP", version 0, flags 0b011 (envelope [minx, maxx, miny, maxy], little endian),
        // srs_id 32650 = 0x7F8A little endian.
        let mut want: Vec<u8> = vec![0x47, 0x50, 0x00, 0x03, 0x8A, 0x7F, 0x00, 0x00];
        // Envelope minx 1, maxx 3, miny 2, maxy 5 (IEEE doubles, little endian).
        for v in [1.0f64, 3.0, 2.0, 5.0] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        want.extend_from_slice(&[0x01, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0]);
        for p in ring {
            want.extend_from_slice(&p[0].to_le_bytes());
            want.extend_from_slice(&p[1].to_le_bytes());
        }
        assert_eq!(blob, want);
        // 1.0 as a little-endian double: the envelope's min x.
        assert_eq!(&blob[8..16], &[0, 0, 0, 0, 0, 0, 0xF0, 0x3F]);
        assert_eq!(blob.len(), 8 + 32 + 13 + 16 * 4);
    }

    fn basin(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Basin {
        Basin::from(Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
        })
    }

    #[test]
    fn writes_the_standard_tables_and_every_attribute() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.basins.gpkg");
        let geo = GeoInfo::new(
            GeoTransform::north_up(500_000.0, 4_000_000.0, 20.0, -20.0),
            Some(32650),
        );
        let mut a = basin(10.0, 20.0, 60.0, 45.0, 0.8);
        a.stats.insert("fringes".into(), json!(3));
        a.stats.insert("note".into(), json!("deep"));
        let mut b = basin(100.0, 100.0, 110.0, 120.0, 0.4);
        b.stats.insert("fringes".into(), json!(2.5));
        b.stats.insert("decorrelated".into(), json!(true));
        write_gpkg(&path, &[a, b], &Frame::new(Some(&geo)), "s").expect("written");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["s.basins.gpkg"], "no temporary left");

        let c = Connection::open(&path).expect("opens");
        let pragma = |p: &str| -> i64 {
            c.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
                .expect("pragma")
        };
        assert_eq!(pragma("application_id"), 0x4750_4B47);
        assert_eq!(pragma("user_version"), 10_300);
        assert_eq!(
            c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
                .expect("check"),
            "ok"
        );
        let srs: Vec<(i64, String)> = c
            .prepare("SELECT srs_id, definition FROM gpkg_spatial_ref_sys ORDER BY srs_id")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("srs rows");
        let ids: Vec<i64> = srs.iter().map(|r| r.0).collect();
        assert_eq!(ids, [-1, 0, 4326, 32650]);
        assert!(srs[3].1.starts_with("PROJCS[\"WGS 84 / UTM zone 50N\""));
        let (srs_id, min_x, max_y): (i64, f64, f64) = c
            .query_row(
                "SELECT srs_id, min_x, max_y FROM gpkg_contents WHERE table_name = 'basins'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("contents");
        assert_eq!((srs_id, min_x, max_y), (32650, 500_200.0, 3_999_600.0));
        let gtype: String = c
            .query_row(
                "SELECT geometry_type_name FROM gpkg_geometry_columns",
                [],
                |r| r.get(0),
            )
            .expect("geometry column");
        assert_eq!(gtype, "POLYGON");
        let types: Vec<(String, String)> = c
            .prepare("SELECT name, type FROM pragma_table_info('basins')")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("columns");
        let of = |n: &str| types.iter().find(|t| t.0 == n).map(|t| t.1.as_str());
        assert_eq!(of("fringes"), Some("REAL"), "3 and 2.5: reals");
        assert_eq!(of("decorrelated"), Some("BOOLEAN"));
        assert_eq!(of("note"), Some("TEXT"));
        let (id, score, x2, fringes, note, blob): (i64, f64, f64, f64, Option<String>, Vec<u8>) = c
            .query_row(
                "SELECT id, score, x2, fringes, note, geom FROM basins WHERE fid = 2",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .expect("second row");
        assert_eq!((id, score, x2, fringes, note), (2, 0.4, 110.0, 2.5, None));
        let ring = Frame::new(Some(&geo)).native_ring(&BBox::new(100.0, 100.0, 110.0, 120.0));
        assert_eq!(blob, geometry_blob(32650, &ring));
    }

    #[test]
    fn undefined_cartesian_for_pixels_and_clashing_names_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.gpkg");
        write_gpkg(
            &path,
            &[basin(0.0, 0.0, 4.0, 4.0, 0.5)],
            &Frame::new(None),
            "p",
        )
        .expect("written");
        let c = Connection::open(&path).expect("opens");
        let (srs, desc): (i64, String) = c
            .query_row("SELECT srs_id, description FROM gpkg_contents", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("contents");
        assert_eq!(srs, -1);
        assert!(
            desc.contains("pixel coordinates (radar geometry)"),
            "{desc}"
        );
        let area: Option<f64> = c
            .query_row("SELECT area_m2 FROM basins", [], |r| r.get(0))
            .expect("row");
        assert_eq!(area, None, "no metres in pixel geometry");

        let mut bad = basin(0.0, 0.0, 4.0, 4.0, 0.5);
        bad.stats.insert("Score".into(), json!(1));
        let err = write_gpkg(&path, &[bad], &Frame::new(None), "p").expect_err("clash");
        assert!(err.to_string().contains("Score"), "{err}");
    }
}
