//! Palettes: named colour gradients that effects draw from instead of the single zone colour.
//!
//! A palette is a list of stops (position 0–255 → colour), linearly interpolated. It is turned into a
//! 256-entry table once, when the daemon starts, so a lookup in the per-frame path is one index and never
//! allocates. [`BUILTIN`] holds the palettes designed for Diuna (each one line: its stops); users add
//! their own in the config file (`[[palettes]]`). A zone without a palette uses its own colour, which is
//! the default, so effects look as they always did until a palette is chosen.

use crate::color::Rgb;

/// What the zone-palette select and state show when a zone uses its own colour.
pub const ZONE_COLOUR: &str = "zone colour";
/// Most stops a user palette may have.
pub const MAX_STOPS: usize = 32;
/// Most user palettes in one config.
pub const MAX_USER: usize = 64;

/// A palette, ready for lookups.
#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    pub name: String,
    table: Box<[Rgb; 256]>,
}

/// Why a palette definition is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PaletteError {
    #[error("a palette needs 2 to {MAX_STOPS} stops, got {0}")]
    StopCount(usize),
    #[error("stop positions must not decrease (stop {0})")]
    Order(usize),
}

impl Palette {
    /// Builds the table from stops `(position, colour)`; before the first stop and after the last the
    /// palette holds their colours.
    pub fn from_stops(name: &str, stops: &[(u8, Rgb)]) -> Result<Palette, PaletteError> {
        if !(2..=MAX_STOPS).contains(&stops.len()) {
            return Err(PaletteError::StopCount(stops.len()));
        }
        if let Some(i) = stops.windows(2).position(|w| w[1].0 < w[0].0) {
            return Err(PaletteError::Order(i + 1));
        }
        let mut table = Box::new([Rgb::BLACK; 256]);
        for (i, out) in table.iter_mut().enumerate() {
            let i = i as u8;
            let next = stops.iter().position(|s| s.0 >= i).unwrap_or(stops.len());
            *out = match next {
                0 => stops[0].1,
                n if n == stops.len() => stops[n - 1].1,
                n => {
                    let (a, b) = (stops[n - 1], stops[n]);
                    let span = (b.0 - a.0).max(1) as f32;
                    a.1.lerp(b.1, (i - a.0) as f32 / span)
                }
            };
        }
        Ok(Palette {
            name: name.to_string(),
            table,
        })
    }

    /// The colour at index `i` (0 = start, 255 = end).
    #[inline]
    pub fn at(&self, i: u8) -> Rgb {
        self.table[i as usize]
    }

    /// The colour at `x` in 0–1 (clamped; NaN gives the start).
    #[inline]
    pub fn at01(&self, x: f32) -> Rgb {
        self.table[(x.clamp(0.0, 1.0) * 255.0 + 0.5) as usize]
    }

    /// The colour at the fractional part of `x`, for effects that scroll through a palette in cycles
    /// (the table is read as a ring of 256 entries).
    #[inline]
    pub fn wrap(&self, x: f32) -> Rgb {
        let f = x - x.floor();
        self.table[((f * 256.0) as u32 & 0xFF) as usize]
    }

    /// Every entry, start to end (swatches, tests).
    pub fn table(&self) -> &[Rgb; 256] {
        &self.table
    }
}

/// Every palette the daemon knows: the built-in ones, then the user's, addressed by index. Built once
/// and shared: a clone (the render loop's, the MQTT bridge's, each reload's) is a reference, not
/// another 768 bytes per palette.
#[derive(Clone, Debug, PartialEq)]
pub struct Palettes {
    list: std::sync::Arc<[Palette]>,
}

impl Default for Palettes {
    fn default() -> Self {
        Palettes::new(Vec::new())
    }
}

impl Palettes {
    /// The built-in palettes followed by `user`. Without user palettes this is the one shared table
    /// of built-in palettes, built on first use.
    pub fn new(user: Vec<Palette>) -> Palettes {
        static BUILTIN_TABLES: std::sync::OnceLock<Palettes> = std::sync::OnceLock::new();
        let builtin = BUILTIN_TABLES.get_or_init(|| Palettes {
            list: BUILTIN
                .iter()
                .map(|(name, stops)| {
                    let stops: Vec<(u8, Rgb)> = stops
                        .iter()
                        .map(|&(p, [r, g, b])| (p, Rgb::new(r, g, b)))
                        .collect();
                    Palette::from_stops(name, &stops).expect("built-in palettes are valid")
                })
                .collect(),
        });
        if user.is_empty() {
            return builtin.clone();
        }
        let list: Vec<Palette> = builtin.list.iter().cloned().chain(user).collect();
        Palettes { list: list.into() }
    }

    pub fn get(&self, i: usize) -> Option<&Palette> {
        self.list.get(i)
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|p| p.name == name)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Palette> {
        self.list.iter()
    }

    /// The name a zone's palette choice is reported as.
    pub fn name_of(&self, choice: Option<usize>) -> &str {
        choice
            .and_then(|i| self.get(i))
            .map(|p| p.name.as_str())
            .unwrap_or(ZONE_COLOUR)
    }

    /// Parses a palette choice: a palette name, or "zone colour" (also "none", "off") for the zone colour.
    pub fn parse(&self, name: &str) -> Option<Option<usize>> {
        match name {
            ZONE_COLOUR | "zone_colour" | "zone color" | "none" | "off" => Some(None),
            other => self.find(other).map(Some),
        }
    }
}

type Stops = &'static [(u8, [u8; 3])];

/// The built-in palettes: name and stops. Colours are before gamma, like every colour in Diuna.
#[rustfmt::skip]
pub static BUILTIN: &[(&str, Stops)] = &[
    ("rainbow", &[(0, [255, 0, 0]), (42, [255, 255, 0]), (85, [0, 255, 0]), (128, [0, 255, 255]), (170, [0, 0, 255]), (213, [255, 0, 255]), (255, [255, 0, 0])]),
    ("fire", &[(0, [0, 0, 0]), (90, [200, 20, 0]), (160, [255, 110, 0]), (220, [255, 200, 40]), (255, [255, 240, 180])]),
    ("lava", &[(0, [20, 0, 0]), (70, [140, 0, 0]), (130, [255, 40, 0]), (190, [255, 120, 0]), (230, [140, 10, 0]), (255, [20, 0, 0])]),
    ("ocean", &[(0, [0, 10, 60]), (80, [0, 60, 160]), (150, [0, 140, 200]), (210, [40, 200, 210]), (255, [0, 10, 60])]),
    ("forest", &[(0, [0, 40, 0]), (70, [20, 110, 10]), (130, [90, 160, 20]), (190, [30, 90, 20]), (255, [0, 40, 0])]),
    ("party", &[(0, [90, 0, 255]), (50, [255, 0, 140]), (100, [255, 60, 0]), (150, [255, 200, 0]), (200, [0, 200, 255]), (255, [90, 0, 255])]),
    ("sunset", &[(0, [40, 0, 90]), (70, [180, 0, 110]), (130, [255, 60, 40]), (190, [255, 140, 0]), (255, [255, 210, 90])]),
    ("pastel", &[(0, [255, 170, 190]), (64, [255, 220, 160]), (128, [170, 240, 190]), (192, [160, 200, 255]), (255, [255, 170, 190])]),
    ("ice", &[(0, [0, 20, 80]), (90, [60, 140, 255]), (170, [170, 220, 255]), (255, [255, 255, 255])]),
    ("aurora", &[(0, [0, 30, 10]), (60, [0, 200, 80]), (120, [0, 255, 160]), (180, [60, 80, 220]), (230, [150, 0, 200]), (255, [0, 30, 10])]),
    ("heat", &[(0, [0, 0, 0]), (85, [255, 0, 0]), (170, [255, 255, 0]), (255, [255, 255, 255])]),
    ("cloud", &[(0, [0, 0, 255]), (80, [120, 170, 255]), (128, [255, 255, 255]), (180, [120, 170, 255]), (255, [0, 0, 255])]),
    ("candy", &[(0, [255, 40, 120]), (85, [255, 255, 255]), (170, [80, 200, 255]), (255, [255, 40, 120])]),
    ("autumn", &[(0, [90, 20, 0]), (70, [200, 60, 0]), (140, [230, 140, 10]), (200, [150, 40, 0]), (255, [90, 20, 0])]),
    ("spring", &[(0, [120, 220, 60]), (85, [255, 170, 200]), (170, [255, 240, 120]), (255, [120, 220, 60])]),
    ("summer", &[(0, [0, 170, 255]), (85, [255, 230, 0]), (170, [255, 90, 40]), (255, [0, 170, 255])]),
    ("winter", &[(0, [200, 230, 255]), (100, [60, 100, 200]), (180, [10, 20, 90]), (255, [200, 230, 255])]),
    ("neon", &[(0, [255, 0, 200]), (64, [0, 255, 255]), (128, [180, 255, 0]), (192, [255, 60, 0]), (255, [255, 0, 200])]),
    ("retro", &[(0, [255, 110, 0]), (85, [230, 0, 90]), (170, [0, 130, 160]), (255, [255, 110, 0])]),
    ("tropical", &[(0, [0, 200, 150]), (85, [255, 200, 0]), (170, [255, 60, 110]), (255, [0, 200, 150])]),
    ("deep_sea", &[(0, [0, 0, 20]), (100, [0, 20, 90]), (180, [0, 90, 120]), (255, [0, 0, 20])]),
    ("sakura", &[(0, [255, 190, 210]), (128, [255, 90, 150]), (255, [255, 190, 210])]),
    ("emerald", &[(0, [0, 60, 20]), (128, [0, 230, 110]), (255, [0, 60, 20])]),
    ("gold", &[(0, [90, 50, 0]), (110, [255, 170, 20]), (170, [255, 230, 140]), (255, [90, 50, 0])]),
    ("copper", &[(0, [60, 15, 0]), (128, [220, 100, 40]), (255, [60, 15, 0])]),
    ("twilight", &[(0, [10, 0, 50]), (90, [80, 0, 130]), (170, [220, 60, 120]), (255, [10, 0, 50])]),
    ("dawn", &[(0, [30, 0, 40]), (80, [160, 30, 60]), (150, [255, 120, 40]), (220, [255, 200, 120]), (255, [255, 235, 200])]),
    ("christmas", &[(0, [255, 0, 0]), (60, [255, 0, 0]), (64, [0, 200, 0]), (124, [0, 200, 0]), (128, [255, 255, 255]), (188, [255, 255, 255]), (192, [255, 0, 0]), (255, [255, 0, 0])]),
    ("halloween", &[(0, [255, 80, 0]), (100, [255, 80, 0]), (128, [110, 0, 170]), (200, [60, 0, 100]), (255, [255, 80, 0])]),
    ("mint", &[(0, [0, 120, 90]), (128, [170, 255, 210]), (255, [0, 120, 90])]),
    ("berry", &[(0, [80, 0, 60]), (90, [200, 0, 80]), (170, [120, 0, 200]), (255, [80, 0, 60])]),
    ("peacock", &[(0, [0, 60, 120]), (85, [0, 160, 140]), (170, [40, 0, 160]), (255, [0, 60, 120])]),
    ("lagoon", &[(0, [0, 90, 120]), (128, [60, 255, 220]), (255, [0, 90, 120])]),
    ("desert", &[(0, [120, 50, 10]), (100, [230, 150, 60]), (170, [255, 210, 130]), (255, [120, 50, 10])]),
    ("galaxy", &[(0, [5, 0, 30]), (70, [60, 0, 140]), (120, [200, 60, 255]), (150, [255, 255, 255]), (190, [40, 0, 120]), (255, [5, 0, 30])]),
    ("embers", &[(0, [10, 0, 0]), (150, [140, 10, 0]), (220, [255, 60, 0]), (255, [255, 140, 20])]),
    ("citrus", &[(0, [255, 220, 0]), (85, [120, 230, 0]), (170, [255, 130, 0]), (255, [255, 220, 0])]),
    ("lavender", &[(0, [90, 40, 160]), (128, [200, 160, 255]), (255, [90, 40, 160])]),
    ("warm_white", &[(0, [255, 150, 60]), (128, [255, 200, 140]), (255, [255, 150, 60])]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_stops_and_holds_the_ends() {
        let red = Rgb::new(255, 0, 0);
        let blue = Rgb::new(0, 0, 255);
        let p = Palette::from_stops("t", &[(64, red), (192, blue)]).unwrap();
        assert_eq!(p.at(0), red, "held before the first stop");
        assert_eq!(p.at(64), red);
        assert_eq!(p.at(128), red.lerp(blue, 0.5));
        assert_eq!(p.at(192), blue);
        assert_eq!(p.at(255), blue, "held after the last stop");
        assert_eq!(p.at01(0.5), p.at(128));
        assert_eq!(p.at01(f32::NAN), p.at(0));
        assert_eq!(p.wrap(1.25), p.at(64));
        assert_eq!(p.wrap(-0.75), p.at(64), "wrap reads a ring");
        // A hard edge: two stops at one position.
        let e =
            Palette::from_stops("e", &[(0, red), (100, red), (100, blue), (255, blue)]).unwrap();
        assert_eq!((e.at(99), e.at(100), e.at(101)), (red, red, blue));
    }

    #[test]
    fn rejects_bad_definitions() {
        let c = Rgb::WHITE;
        assert_eq!(
            Palette::from_stops("x", &[(0, c)]),
            Err(PaletteError::StopCount(1))
        );
        assert_eq!(
            Palette::from_stops("x", &[(10, c), (5, c)]),
            Err(PaletteError::Order(1))
        );
        assert!(Palette::from_stops("x", &[(0, c); MAX_STOPS + 1]).is_err());
    }

    #[test]
    fn builtins_are_many_distinct_and_named_like_slugs() {
        let all = Palettes::default();
        assert!(all.len() >= 30, "{} built-in palettes", all.len());
        let mut names = std::collections::HashSet::new();
        for p in all.iter() {
            assert!(names.insert(p.name.clone()), "duplicate {}", p.name);
            assert!(crate::config::is_slug(&p.name), "{}", p.name);
            let distinct: std::collections::HashSet<_> = p.table().iter().collect();
            assert!(distinct.len() > 8, "{} is nearly flat", p.name);
        }
        assert_eq!(all.parse("fire"), Some(all.find("fire")));
        assert_eq!(all.parse(ZONE_COLOUR), Some(None));
        assert_eq!(all.parse("nope"), None);
        assert_eq!(all.name_of(None), ZONE_COLOUR);
        assert_eq!(all.name_of(all.find("ocean")), "ocean");
    }
}
