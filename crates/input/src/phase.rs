//! One band of a raster as masked wrapped phase: the single place where complex samples
//! become their argument, unwrapped phase and LOS displacement are wrapped, vertical
//! displacement becomes LOS through an incidence angle, and no-data becomes NaN (which the
//! encoder turns into "no direction, no coherence").

use std::path::Path;

use raster::{Pixels, Raster};

use crate::InputError;
use crate::spec::Kind;

/// How to read phase out of a raster's samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseReading {
    /// What the values are (not [`Kind::Auto`]: resolve it first; not [`Kind::Vertical`]:
    /// turn it into LOS first with [`los_factor`] and [`vertical_to_los`]).
    pub kind: Kind,
    /// Band of the raster given, from 1.
    pub band: usize,
    /// No-data value overriding the raster's own.
    pub nodata: Option<f64>,
    /// Radar wavelength in metres (LOS displacement only).
    pub wavelength: f64,
}

/// Wrapped phase in (−π, π] of one band of `r` (read from `path`), NaN where the sample is
/// no-data: NaN, the no-data value, or an exact complex zero.
pub fn masked_phase(r: &Raster, how: &PhaseReading, path: &Path) -> Result<Vec<f32>, InputError> {
    let bands = r.bands.max(1);
    if how.band == 0 || how.band > bands {
        return Err(InputError::invalid(
            path,
            format!("band {} asked for, the raster has {bands}", how.band),
        ));
    }
    let b = how.band - 1;
    let nodata = how.nodata.or(r.nodata);
    let is_nd = |v: f32| nodata.is_some_and(|nd| f64::from(v) == nd);
    match (&r.pixels, how.kind) {
        (Pixels::C32(v), _) => Ok(v
            .iter()
            .skip(b)
            .step_by(bands)
            .map(|z| {
                let zero = z.re == 0.0 && z.im == 0.0;
                let nd = is_nd(z.re) && z.im == 0.0;
                if zero || nd { f32::NAN } else { z.arg() }
            })
            .collect()),
        (Pixels::F32(v), Kind::Wrapped | Kind::Unwrapped | Kind::Los) => {
            let to_phase = float_to_phase(how.kind, how.wavelength);
            Ok(v.iter()
                .skip(b)
                .step_by(bands)
                .map(|&x| if is_nd(x) { f32::NAN } else { to_phase(x) })
                .collect())
        }
        (Pixels::U8(_), k) => Err(InputError::invalid(
            path,
            format!("holds 8-bit pixels, not phase: read it as a picture (was {k:?})"),
        )),
        (_, Kind::Vertical) => Err(vertical_needs_incidence(path)),
        (p, k) => Err(InputError::invalid(
            path,
            format!("cannot read {} data as {k:?}", p.type_name()),
        )),
    }
}

fn vertical_needs_incidence(path: &Path) -> InputError {
    InputError::invalid(
        path,
        "holds vertical displacement (HyP3 *_vert_disp.tif: up positive), not line-of-sight \
         displacement, and phase is measured along the line of sight: give the incidence \
         angle with --incidence DEG (LOS = vertical × cos(incidence), uplift towards the \
         satellite positive; HyP3's *_inc_map.tif holds it per pixel, its scene mean serves), \
         or read the product's *_los_disp.tif instead",
    )
}

/// The factor that turns samples of `kind` into LOS displacement before they become phase:
/// cos(incidence) for vertical displacement (which needs `incidence_deg`, in [0°, 90°)),
/// `None` for every other kind, which an incidence angle does not apply to.
pub fn los_factor(
    kind: Kind,
    incidence_deg: Option<f64>,
    path: &Path,
) -> Result<Option<f32>, InputError> {
    match (kind, incidence_deg) {
        (Kind::Vertical, None) => Err(vertical_needs_incidence(path)),
        (Kind::Vertical, Some(deg)) if deg.is_finite() && (0.0..90.0).contains(&deg) => {
            Ok(Some(deg.to_radians().cos() as f32))
        }
        (Kind::Vertical, Some(deg)) => Err(InputError::invalid(
            path,
            format!("--incidence {deg}: expected an angle from the vertical in [0, 90) degrees"),
        )),
        (_, None) => Ok(None),
        (k, Some(_)) => Err(InputError::invalid(
            path,
            format!(
                "--incidence turns vertical displacement into LOS, but this file reads as \
                 {k} (give --kind vertical if it holds vertical displacement)"
            ),
        )),
    }
}

/// Vertical displacement as LOS displacement: every sample times `factor` (cos(incidence)),
/// no-data samples kept as they are so they stay no-data.
pub fn vertical_to_los(mut r: Raster, factor: f32) -> Raster {
    let nodata = r.nodata;
    if let Pixels::F32(v) = &mut r.pixels {
        for x in v.iter_mut() {
            if !nodata.is_some_and(|nd| f64::from(*x) == nd) {
                *x *= factor;
            }
        }
    }
    r
}

/// The map from a float sample to wrapped phase; NaN stays NaN.
fn float_to_phase(kind: Kind, wavelength: f64) -> impl Fn(f32) -> f32 {
    move |x| match kind {
        Kind::Unwrapped => insar::wrap(x),
        Kind::Los => insar::wrap(insar::los_to_phase(f64::from(x), wavelength) as f32),
        _ => x,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use raster::Complex32;

    /// Band 1, the raster's own no-data, Sentinel-1's wavelength (also the LOS rasters' tests).
    pub(crate) fn reading(kind: Kind) -> PhaseReading {
        PhaseReading {
            kind,
            band: 1,
            nodata: None,
            wavelength: insar::S1_WAVELENGTH,
        }
    }

    fn raster(pixels: Pixels, bands: usize, nodata: Option<f64>) -> Raster {
        let n = match &pixels {
            Pixels::F32(v) => v.len(),
            Pixels::C32(v) => v.len(),
            Pixels::U8(v) => v.len(),
        } / bands;
        Raster {
            width: n,
            height: 1,
            bands,
            pixels,
            geo: None,
            nodata,
        }
    }

    #[test]
    fn complex_float_and_no_data() {
        let p = Path::new("x.tif");
        let z = raster(
            Pixels::C32(vec![Complex32::new(0.0, 1.0), Complex32::new(0.0, 0.0)]),
            1,
            None,
        );
        let got = masked_phase(&z, &reading(Kind::Complex), p).expect("complex");
        assert!((got[0] - std::f32::consts::FRAC_PI_2).abs() < 1e-6 && got[1].is_nan());
        let f = raster(Pixels::F32(vec![7.0, -9999.0, f32::NAN]), 1, Some(-9999.0));
        let got = masked_phase(&f, &reading(Kind::Unwrapped), p).expect("unwrapped");
        assert!((got[0] - insar::wrap(7.0)).abs() < 1e-6);
        assert!(got[1].is_nan() && got[2].is_nan());
        // A user's no-data value overrides the file's.
        let how = PhaseReading {
            nodata: Some(7.0),
            ..reading(Kind::Wrapped)
        };
        assert!(masked_phase(&f, &how, p).expect("wrapped")[0].is_nan());
    }

    #[test]
    fn los_band_choice_and_refusals() {
        let p = Path::new("two.tif");
        let r = raster(Pixels::F32(vec![0.0, 0.01, 1.0, 0.02]), 2, None);
        let how = PhaseReading {
            band: 2,
            ..reading(Kind::Los)
        };
        let got = masked_phase(&r, &how, p).expect("band 2");
        let want = insar::wrap(insar::los_to_phase(0.01, insar::S1_WAVELENGTH) as f32);
        assert_eq!(got.len(), 2);
        assert!((got[0] - want).abs() < 1e-6);
        let how = PhaseReading {
            band: 3,
            ..reading(Kind::Wrapped)
        };
        let e = masked_phase(&r, &how, p).expect_err("no band 3");
        assert!(e.to_string().contains("two.tif") && e.to_string().contains("band 3"));
        let e = masked_phase(&r, &reading(Kind::Vertical), p).expect_err("vertical");
        assert!(e.to_string().contains("--incidence"), "{e}");
        let u8s = raster(Pixels::U8(vec![1, 2]), 1, None);
        let e = masked_phase(&u8s, &reading(Kind::Auto), p).expect_err("8-bit");
        assert!(e.to_string().contains("8-bit"), "{e}");
    }

    /// 10 mm of uplift seen at 60° incidence is 5 mm towards the satellite: the phase of
    /// 5 mm LOS; no-data stays no-data.
    #[test]
    fn vertical_displacement_through_the_incidence_angle() {
        let p = Path::new("S1_vert_disp.tif");
        let factor = los_factor(Kind::Vertical, Some(60.0), p)
            .expect("60°")
            .expect("a factor");
        assert!((factor - 0.5).abs() < 1e-7);
        let r = vertical_to_los(
            raster(Pixels::F32(vec![0.01, -9999.0]), 1, Some(-9999.0)),
            factor,
        );
        let got = masked_phase(&r, &reading(Kind::Los), p).expect("as LOS");
        let want = insar::wrap(insar::los_to_phase(0.005, insar::S1_WAVELENGTH) as f32);
        assert!((got[0] - want).abs() < 1e-6, "{} vs {want}", got[0]);
        assert!(got[1].is_nan());
        let e = los_factor(Kind::Vertical, None, p)
            .expect_err("no angle")
            .to_string();
        assert!(
            e.contains("S1_vert_disp.tif") && e.contains("--incidence") && e.contains("_los_disp"),
            "{e}"
        );
        for bad in [90.0, -1.0, f64::NAN] {
            assert!(los_factor(Kind::Vertical, Some(bad), p).is_err(), "{bad}");
        }
        assert_eq!(los_factor(Kind::Los, None, p).expect("los"), None);
        let e = los_factor(Kind::Los, Some(30.0), p)
            .expect_err("not vertical")
            .to_string();
        assert!(e.contains("reads as los"), "{e}");
    }
}
