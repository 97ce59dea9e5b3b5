//! Colour maps for wrapped phase, tabulated or defined as the software that draws the
//! pictures users bring defines them. All take `t ∈ [0, 1]` (−π ↦ 0, π ↦ 1).

use crate::error::InsarError;
use std::fmt;
use std::str::FromStr;

/// A palette for rendering wrapped phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Colormap {
    /// cmocean `phase` (Thyng et al. 2016): a perceptually uniform cyclic map of nearly
    /// constant lightness, as used for wrapped phase in MintPy/LiCSBAS-style figures.
    Cyclic,
    /// matplotlib `jet`, continuous: dark blue at −π to dark red at π (not cyclic).
    Jet,
    /// matplotlib `jet` quantised to 64 levels (`get_cmap('jet', 64)`, MATLAB's default size).
    Jet64,
    /// HSV hue wheel at full saturation and value: red → yellow → green → cyan → blue →
    /// magenta → red (close to matplotlib `hsv`).
    Hsv,
    /// The pastel colour wheel of GAMMA `rasmph`/`dismph` (and SNAP): pink → orange → yellow →
    /// green → cyan → blue → violet → magenta with increasing phase, piecewise linear through
    /// vertices measured from GAMMA's palette as transcribed by pygmtsar/MintPy (`dismph`).
    /// Both transcriptions found (pygmtsar/MintPy and dolphin) run the hue forwards with
    /// phase; dolphin's starts the wheel at cyan instead of pink, about half a cycle later:
    /// render with `offset = π` to match it.
    Gamma,
    /// Grey ramp, black at −π to white at π.
    Gray,
    /// matplotlib `twilight` (2018): cyclic, perceptually uniform, white at ±π and dark
    /// purple at 0, blue in one half and red in the other.
    Twilight,
    /// ISCE's `mdx` and MintPy's default for wrapped phase (`cmy`): a full-saturation wheel
    /// magenta → cyan → yellow → magenta, linear in RGB between the three.
    Cmy,
}

impl Colormap {
    /// Every colormap, e.g. for random draws in the simulator.
    pub const ALL: [Colormap; 8] = [
        Colormap::Cyclic,
        Colormap::Jet,
        Colormap::Jet64,
        Colormap::Hsv,
        Colormap::Gamma,
        Colormap::Gray,
        Colormap::Twilight,
        Colormap::Cmy,
    ];

    /// The name used on the command line and by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Cyclic => "cyclic",
            Colormap::Jet => "jet",
            Colormap::Jet64 => "jet64",
            Colormap::Hsv => "hsv",
            Colormap::Gamma => "gamma",
            Colormap::Gray => "gray",
            Colormap::Twilight => "twilight",
            Colormap::Cmy => "cmy",
        }
    }

    /// Whether the first and last colours meet (no seam at ±π).
    pub fn is_cyclic(self) -> bool {
        matches!(
            self,
            Colormap::Cyclic | Colormap::Hsv | Colormap::Gamma | Colormap::Twilight | Colormap::Cmy
        )
    }

    /// Number of distinct levels when the map is quantised (`Jet64`), `None` when continuous.
    pub fn levels(self) -> Option<usize> {
        match self {
            Colormap::Jet64 => Some(64),
            _ => None,
        }
    }

    /// Colour at `t`, clamped to [0, 1]; NaN gives black.
    pub fn color(self, t: f32) -> [u8; 3] {
        if t.is_nan() {
            return [0, 0, 0];
        }
        let t = t.clamp(0.0, 1.0);
        let rgb = match self {
            Colormap::Cyclic => interpolate(&CMOCEAN_PHASE, t),
            Colormap::Jet => jet(t),
            Colormap::Jet64 => {
                // matplotlib's N-colour lookup: bin ⌊t·N⌋ (t = 1 in the last), colour jet(i/(N−1)).
                let i = ((t * 64.0) as usize).min(63);
                jet(i as f32 / 63.0)
            }
            Colormap::Hsv => hsv_hue(t),
            Colormap::Gamma => interpolate(&GAMMA_WHEEL, t),
            Colormap::Gray => [t, t, t],
            Colormap::Twilight => interpolate(&TWILIGHT, t),
            Colormap::Cmy => interpolate(&CMY_WHEEL, t),
        };
        rgb.map(|c| (c * 255.0).round().clamp(0.0, 255.0) as u8)
    }
}

impl fmt::Display for Colormap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Colormap {
    type Err = InsarError;

    /// Case-insensitive; also accepts the aliases `phase`, `cmocean`, `grey`, `dismph`,
    /// `rasmph`, `mdx` and `twilight_shifted` (half a cycle on: the same colours).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "phase" | "cmocean" => Some(Colormap::Cyclic),
            "grey" => Some(Colormap::Gray),
            "dismph" | "rasmph" => Some(Colormap::Gamma),
            "mdx" => Some(Colormap::Cmy),
            "twilight_shifted" => Some(Colormap::Twilight),
            _ => Colormap::ALL.into_iter().find(|c| c.name() == lower),
        };
        found.ok_or_else(|| InsarError::UnknownColormap(s.to_string()))
    }
}

/// matplotlib `jet` segment data (x, value) per channel.
const JET_R: [(f32, f32); 5] = [
    (0.0, 0.0),
    (0.35, 0.0),
    (0.66, 1.0),
    (0.89, 1.0),
    (1.0, 0.5),
];
const JET_G: [(f32, f32); 6] = [
    (0.0, 0.0),
    (0.125, 0.0),
    (0.375, 1.0),
    (0.64, 1.0),
    (0.91, 0.0),
    (1.0, 0.0),
];
const JET_B: [(f32, f32); 5] = [
    (0.0, 0.5),
    (0.11, 1.0),
    (0.34, 1.0),
    (0.65, 0.0),
    (1.0, 0.0),
];

fn jet(t: f32) -> [f32; 3] {
    [segment(&JET_R, t), segment(&JET_G, t), segment(&JET_B, t)]
}

/// Piecewise-linear value of sorted (x, y) breakpoints at t ∈ [0, 1].
fn segment(points: &[(f32, f32)], t: f32) -> f32 {
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        if t <= x1 {
            return y0 + (y1 - y0) * (t - x0) / (x1 - x0);
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

/// Piecewise-linear colour between (position, rgb) anchors spanning [0, 1].
fn interpolate(anchors: &[(f32, [f32; 3])], t: f32) -> [f32; 3] {
    for pair in anchors.windows(2) {
        let ((x0, c0), (x1, c1)) = (pair[0], pair[1]);
        if t <= x1 {
            let f = (t - x0) / (x1 - x0);
            return [0, 1, 2].map(|i| c0[i] + (c1[i] - c0[i]) * f);
        }
    }
    anchors.last().map_or([0.0; 3], |a| a.1)
}

fn hsv_hue(t: f32) -> [f32; 3] {
    let h = (t * 6.0) % 6.0;
    let f = h - h.floor();
    match h as usize {
        0 => [1.0, f, 0.0],
        1 => [1.0 - f, 1.0, 0.0],
        2 => [0.0, 1.0, f],
        3 => [0.0, 1.0 - f, 1.0],
        4 => [f, 0.0, 1.0],
        _ => [1.0, 0.0, 1.0 - f],
    }
}

/// GAMMA's wrapped-phase wheel: vertices at k/64 of its 64-colour palette, in 0..255 units
/// scaled to [0, 1]. Between vertices the palette is linear to within one level; the last
/// vertex repeats the first so the wheel closes.
const GAMMA_WHEEL: [(f32, [f32; 3]); 7] = [
    (0.0 / 64.0, [246.0 / 255.0, 121.0 / 255.0, 205.0 / 255.0]),
    (17.0 / 64.0, [246.0 / 255.0, 227.0 / 255.0, 99.0 / 255.0]),
    (22.0 / 64.0, [200.0 / 255.0, 246.0 / 255.0, 125.0 / 255.0]),
    (39.0 / 64.0, [94.0 / 255.0, 246.0 / 255.0, 231.0 / 255.0]),
    (43.0 / 64.0, [123.0 / 255.0, 204.0 / 255.0, 246.0 / 255.0]),
    (60.0 / 64.0, [229.0 / 255.0, 97.0 / 255.0, 246.0 / 255.0]),
    (1.0, [246.0 / 255.0, 121.0 / 255.0, 205.0 / 255.0]),
];

/// cmocean `phase`, every 4th entry of its 256-entry table (rows 0, 4, …, 252 and 255 at
/// position row/255; row 255 equals row 0). The map is smooth, so linear interpolation
/// between these anchors stays within one 8-bit level of the full table.
const CMOCEAN_PHASE: [(f32, [f32; 3]); 65] = [
    (0.0 / 255.0, [0.6583, 0.4699, 0.0494]),
    (4.0 / 255.0, [0.6818, 0.4549, 0.0798]),
    (8.0 / 255.0, [0.7038, 0.4395, 0.1064]),
    (12.0 / 255.0, [0.7246, 0.4235, 0.1316]),
    (16.0 / 255.0, [0.7440, 0.4072, 0.1565]),
    (20.0 / 255.0, [0.7623, 0.3903, 0.1818]),
    (24.0 / 255.0, [0.7795, 0.3728, 0.2077]),
    (28.0 / 255.0, [0.7955, 0.3547, 0.2346]),
    (32.0 / 255.0, [0.8104, 0.3359, 0.2631]),
    (36.0 / 255.0, [0.8242, 0.3162, 0.2933]),
    (40.0 / 255.0, [0.8368, 0.2957, 0.3257]),
    (44.0 / 255.0, [0.8479, 0.2743, 0.3606]),
    (48.0 / 255.0, [0.8575, 0.2521, 0.3984]),
    (52.0 / 255.0, [0.8651, 0.2294, 0.4393]),
    (56.0 / 255.0, [0.8704, 0.2067, 0.4832]),
    (60.0 / 255.0, [0.8730, 0.1851, 0.5297]),
    (64.0 / 255.0, [0.8726, 0.1662, 0.5783]),
    (68.0 / 255.0, [0.8688, 0.1524, 0.6278]),
    (72.0 / 255.0, [0.8616, 0.1462, 0.6768]),
    (76.0 / 255.0, [0.8509, 0.1492, 0.7240]),
    (80.0 / 255.0, [0.8369, 0.1611, 0.7680]),
    (84.0 / 255.0, [0.8199, 0.1798, 0.8080]),
    (88.0 / 255.0, [0.8001, 0.2030, 0.8434]),
    (92.0 / 255.0, [0.7779, 0.2287, 0.8738]),
    (96.0 / 255.0, [0.7534, 0.2554, 0.8992]),
    (100.0 / 255.0, [0.7270, 0.2822, 0.9197]),
    (104.0 / 255.0, [0.6987, 0.3088, 0.9355]),
    (108.0 / 255.0, [0.6686, 0.3346, 0.9469]),
    (112.0 / 255.0, [0.6369, 0.3596, 0.9541]),
    (116.0 / 255.0, [0.6034, 0.3836, 0.9571]),
    (120.0 / 255.0, [0.5681, 0.4066, 0.9561]),
    (124.0 / 255.0, [0.5310, 0.4287, 0.9510]),
    (128.0 / 255.0, [0.4920, 0.4497, 0.9418]),
    (132.0 / 255.0, [0.4512, 0.4696, 0.9283]),
    (136.0 / 255.0, [0.4088, 0.4882, 0.9105]),
    (140.0 / 255.0, [0.3655, 0.5053, 0.8886]),
    (144.0 / 255.0, [0.3219, 0.5207, 0.8628]),
    (148.0 / 255.0, [0.2794, 0.5342, 0.8339]),
    (152.0 / 255.0, [0.2393, 0.5458, 0.8027]),
    (156.0 / 255.0, [0.2031, 0.5555, 0.7703]),
    (160.0 / 255.0, [0.1719, 0.5635, 0.7375]),
    (164.0 / 255.0, [0.1464, 0.5701, 0.7051]),
    (168.0 / 255.0, [0.1262, 0.5755, 0.6733]),
    (172.0 / 255.0, [0.1102, 0.5801, 0.6423]),
    (176.0 / 255.0, [0.0966, 0.5842, 0.6118]),
    (180.0 / 255.0, [0.0834, 0.5880, 0.5814]),
    (184.0 / 255.0, [0.0696, 0.5915, 0.5506]),
    (188.0 / 255.0, [0.0558, 0.5949, 0.5187]),
    (192.0 / 255.0, [0.0456, 0.5980, 0.4851]),
    (196.0 / 255.0, [0.0469, 0.6007, 0.4492]),
    (200.0 / 255.0, [0.0656, 0.6028, 0.4104]),
    (204.0 / 255.0, [0.0991, 0.6040, 0.3686]),
    (208.0 / 255.0, [0.1424, 0.6038, 0.3233]),
    (212.0 / 255.0, [0.1928, 0.6018, 0.2745]),
    (216.0 / 255.0, [0.2490, 0.5973, 0.2231]),
    (220.0 / 255.0, [0.3091, 0.5896, 0.1716]),
    (224.0 / 255.0, [0.3682, 0.5790, 0.1258]),
    (228.0 / 255.0, [0.4215, 0.5665, 0.0910]),
    (232.0 / 255.0, [0.4677, 0.5534, 0.0688]),
    (236.0 / 255.0, [0.5079, 0.5399, 0.0571]),
    (240.0 / 255.0, [0.5438, 0.5262, 0.0528]),
    (244.0 / 255.0, [0.5767, 0.5121, 0.0521]),
    (248.0 / 255.0, [0.6075, 0.4975, 0.0524]),
    (252.0 / 255.0, [0.6369, 0.4821, 0.0517]),
    (1.0, [0.6583, 0.4699, 0.0494]),
];

/// matplotlib `twilight` sampled at k/64 (k = 0…64) of its 510-entry table; linear
/// interpolation between these anchors stays within 1.5 8-bit levels of the full table.
const TWILIGHT: [(f32, [f32; 3]); 65] = [
    (0.0 / 64.0, [0.8858, 0.8500, 0.8880]),
    (1.0 / 64.0, [0.8697, 0.8515, 0.8805]),
    (2.0 / 64.0, [0.8441, 0.8441, 0.8672]),
    (3.0 / 64.0, [0.8096, 0.8293, 0.8506]),
    (4.0 / 64.0, [0.7675, 0.8098, 0.8325]),
    (5.0 / 64.0, [0.7210, 0.7872, 0.8151]),
    (6.0 / 64.0, [0.6731, 0.7627, 0.8003]),
    (7.0 / 64.0, [0.6266, 0.7367, 0.7885]),
    (8.0 / 64.0, [0.5830, 0.7096, 0.7793]),
    (9.0 / 64.0, [0.5431, 0.6815, 0.7719]),
    (10.0 / 64.0, [0.5071, 0.6526, 0.7659]),
    (11.0 / 64.0, [0.4753, 0.6229, 0.7607]),
    (12.0 / 64.0, [0.4480, 0.5924, 0.7557]),
    (13.0 / 64.0, [0.4253, 0.5610, 0.7508]),
    (14.0 / 64.0, [0.4073, 0.5287, 0.7452]),
    (15.0 / 64.0, [0.3937, 0.4955, 0.7388]),
    (16.0 / 64.0, [0.3841, 0.4614, 0.7309]),
    (17.0 / 64.0, [0.3778, 0.4264, 0.7213]),
    (18.0 / 64.0, [0.3739, 0.3905, 0.7094]),
    (19.0 / 64.0, [0.3716, 0.3538, 0.6948]),
    (20.0 / 64.0, [0.3699, 0.3164, 0.6770]),
    (21.0 / 64.0, [0.3678, 0.2784, 0.6556]),
    (22.0 / 64.0, [0.3646, 0.2401, 0.6298]),
    (23.0 / 64.0, [0.3592, 0.2023, 0.5987]),
    (24.0 / 64.0, [0.3506, 0.1660, 0.5615]),
    (25.0 / 64.0, [0.3376, 0.1332, 0.5174]),
    (26.0 / 64.0, [0.3195, 0.1067, 0.4671]),
    (27.0 / 64.0, [0.2963, 0.0877, 0.4135]),
    (28.0 / 64.0, [0.2701, 0.0755, 0.3606]),
    (29.0 / 64.0, [0.2437, 0.0684, 0.3122]),
    (30.0 / 64.0, [0.2200, 0.0659, 0.2709]),
    (31.0 / 64.0, [0.2016, 0.0680, 0.2385]),
    (32.0 / 64.0, [0.1849, 0.0794, 0.2131]),
    (33.0 / 64.0, [0.2029, 0.0694, 0.2183]),
    (34.0 / 64.0, [0.2258, 0.0674, 0.2273]),
    (35.0 / 64.0, [0.2558, 0.0695, 0.2411]),
    (36.0 / 64.0, [0.2913, 0.0749, 0.2576]),
    (37.0 / 64.0, [0.3303, 0.0825, 0.2743]),
    (38.0 / 64.0, [0.3712, 0.0917, 0.2895]),
    (39.0 / 64.0, [0.4128, 0.1027, 0.3015]),
    (40.0 / 64.0, [0.4538, 0.1162, 0.3097]),
    (41.0 / 64.0, [0.4934, 0.1333, 0.3139]),
    (42.0 / 64.0, [0.5305, 0.1544, 0.3148]),
    (43.0 / 64.0, [0.5650, 0.1792, 0.3139]),
    (44.0 / 64.0, [0.5966, 0.2072, 0.3126]),
    (45.0 / 64.0, [0.6256, 0.2376, 0.3120]),
    (46.0 / 64.0, [0.6521, 0.2697, 0.3129]),
    (47.0 / 64.0, [0.6762, 0.3034, 0.3161]),
    (48.0 / 64.0, [0.6981, 0.3383, 0.3221]),
    (49.0 / 64.0, [0.7176, 0.3743, 0.3315]),
    (50.0 / 64.0, [0.7348, 0.4112, 0.3450]),
    (51.0 / 64.0, [0.7498, 0.4489, 0.3633]),
    (52.0 / 64.0, [0.7626, 0.4872, 0.3868]),
    (53.0 / 64.0, [0.7734, 0.5259, 0.4159]),
    (54.0 / 64.0, [0.7829, 0.5646, 0.4509]),
    (55.0 / 64.0, [0.7915, 0.6031, 0.4916]),
    (56.0 / 64.0, [0.8003, 0.6410, 0.5373]),
    (57.0 / 64.0, [0.8100, 0.6780, 0.5871]),
    (58.0 / 64.0, [0.8214, 0.7139, 0.6397]),
    (59.0 / 64.0, [0.8346, 0.7481, 0.6936]),
    (60.0 / 64.0, [0.8489, 0.7799, 0.7466]),
    (61.0 / 64.0, [0.8627, 0.8081, 0.7963]),
    (62.0 / 64.0, [0.8734, 0.8310, 0.8375]),
    (63.0 / 64.0, [0.8821, 0.8456, 0.8667]),
    (1.0, [0.8857, 0.8500, 0.8857]),
];

/// MintPy's `cmy` (after its roll and flip): magenta at 0, cyan at 1/3, yellow at 2/3.
const CMY_WHEEL: [(f32, [f32; 3]); 4] = [
    (0.0, [1.0, 0.0, 1.0]),
    (1.0 / 3.0, [0.0, 1.0, 1.0]),
    (2.0 / 3.0, [1.0, 1.0, 0.0]),
    (1.0, [1.0, 0.0, 1.0]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
        a.iter()
            .zip(&b)
            .all(|(&x, &y)| (i32::from(x) - i32::from(y)).abs() <= tol)
    }

    #[test]
    fn cyclic_maps_close_and_are_continuous() {
        for cmap in Colormap::ALL.into_iter().filter(|c| c.is_cyclic()) {
            assert!(
                close(cmap.color(0.0), cmap.color(1.0), 1),
                "{cmap}: seam at ±π"
            );
            // No jump between neighbouring samples of a fine sweep (hsv, the steepest, moves
            // 6·255/2048 ≈ 0.75 levels per sample).
            let n = 2048;
            for i in 0..n {
                let (a, b) = (
                    cmap.color(i as f32 / n as f32),
                    cmap.color((i + 1) as f32 / n as f32),
                );
                assert!(close(a, b, 2), "{cmap}: jump at {i}: {a:?} -> {b:?}");
            }
        }
        assert!(!close(
            Colormap::Jet.color(0.0),
            Colormap::Jet.color(1.0),
            10
        ));
        assert!(!Colormap::Gray.is_cyclic());
    }

    #[test]
    fn jet_endpoints_and_middle() {
        // matplotlib: jet(0) = (0, 0, 0.5), jet(1) = (0.5, 0, 0), jet(0.5) ≈ (0.49, 1, 0.48).
        assert_eq!(Colormap::Jet.color(0.0), [0, 0, 128]);
        assert_eq!(Colormap::Jet.color(1.0), [128, 0, 0]);
        assert!(close(Colormap::Jet.color(0.5), [124, 255, 122], 1));
        assert_eq!(Colormap::Jet64.color(0.0), [0, 0, 128]);
        assert_eq!(Colormap::Jet64.color(1.0), [128, 0, 0]);
    }

    #[test]
    fn jet64_has_exactly_64_colours() {
        let colours: HashSet<[u8; 3]> = (0..=10_000)
            .map(|i| Colormap::Jet64.color(i as f32 / 10_000.0))
            .collect();
        assert_eq!(colours.len(), 64);
        // Each level is one of jet's colours at i/63.
        for i in 0..64 {
            let t = (i as f32 + 0.5) / 64.0;
            assert_eq!(
                Colormap::Jet64.color(t),
                Colormap::Jet.color(i as f32 / 63.0)
            );
        }
    }

    #[test]
    fn hsv_primaries() {
        let c = |t: f32| Colormap::Hsv.color(t);
        assert_eq!(c(0.0), [255, 0, 0]);
        assert_eq!(c(1.0 / 6.0), [255, 255, 0]);
        assert_eq!(c(2.0 / 6.0), [0, 255, 0]);
        assert_eq!(c(0.5), [0, 255, 255]);
        assert_eq!(c(4.0 / 6.0), [0, 0, 255]);
        assert_eq!(c(5.0 / 6.0), [255, 0, 255]);
    }

    #[test]
    fn cyclic_matches_cmocean_table_between_anchors() {
        // Rows of cmocean's 256-entry `phase` table that are not anchors here.
        let rows: [(f32, [f32; 3]); 5] = [
            (2.0, [0.670209, 0.462480, 0.065346]),
            (62.0, [0.873201, 0.175149, 0.553849]),
            (130.0, [0.471810, 0.459788, 0.935589]),
            (213.0, [0.206345, 0.600945, 0.261879]),
            (254.0, [0.651213, 0.474062, 0.050444]),
        ];
        for (row, rgb) in rows {
            let want = rgb.map(|v| (v * 255.0).round() as u8);
            let got = Colormap::Cyclic.color(row / 255.0);
            assert!(close(got, want, 1), "row {row}: {got:?} vs {want:?}");
        }
    }

    #[test]
    fn gamma_matches_palette_between_vertices() {
        // Entries i of GAMMA's 64-colour dismph palette (pygmtsar/MintPy) off the vertices.
        let entries: [(f32, [u8; 3]); 5] = [
            (8.0, [246, 171, 154]),
            (20.0, [219, 240, 113]),
            (30.0, [150, 246, 175]),
            (51.0, [173, 152, 246]),
            (62.0, [237, 109, 226]),
        ];
        for (i, want) in entries {
            let got = Colormap::Gamma.color(i / 64.0);
            assert!(close(got, want, 3), "entry {i}: {got:?} vs {want:?}");
        }
    }

    #[test]
    fn twilight_matches_matplotlib_between_anchors() {
        // Entries i of matplotlib's 510-entry `twilight`, read at their bin centres.
        let entries: [(f32, [u8; 3]); 5] = [
            (7.0, [222, 217, 225]),
            (100.0, [110, 146, 192]),
            (255.0, [47, 20, 54]),
            (333.0, [134, 39, 80]),
            (480.0, [217, 201, 194]),
        ];
        for (i, want) in entries {
            let got = Colormap::Twilight.color((i + 0.5) / 510.0);
            assert!(close(got, want, 2), "entry {i}: {got:?} vs {want:?}");
        }
    }

    #[test]
    fn cmy_vertices() {
        let c = |t: f32| Colormap::Cmy.color(t);
        assert_eq!(c(0.0), [255, 0, 255]);
        assert_eq!(c(1.0 / 3.0), [0, 255, 255]);
        assert_eq!(c(2.0 / 3.0), [255, 255, 0]);
        assert_eq!(c(1.0 / 6.0), [128, 128, 255]);
    }

    #[test]
    fn names_round_trip_and_unknown_fails() {
        for c in Colormap::ALL {
            assert_eq!(c.name().parse::<Colormap>(), Ok(c));
            assert_eq!(c.to_string().to_uppercase().parse::<Colormap>(), Ok(c));
        }
        assert_eq!("grey".parse::<Colormap>(), Ok(Colormap::Gray));
        assert_eq!("dismph".parse::<Colormap>(), Ok(Colormap::Gamma));
        assert_eq!(
            "viridis".parse::<Colormap>(),
            Err(InsarError::UnknownColormap("viridis".into()))
        );
        let names: HashSet<&str> = Colormap::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), Colormap::ALL.len());
    }

    #[test]
    fn nan_and_out_of_range() {
        assert_eq!(Colormap::Jet.color(f32::NAN), [0, 0, 0]);
        assert_eq!(Colormap::Gray.color(-1.0), [0, 0, 0]);
        assert_eq!(Colormap::Gray.color(2.0), [255, 255, 255]);
    }
}
