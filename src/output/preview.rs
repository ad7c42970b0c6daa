//! Live terminal preview of the simulated strips: one line of true-colour blocks per strip with a ruler
//! under it naming its zones at their boundaries, redrawn in place at most ~30 times a second. Under
//! the strips the app keeps the control status and the key legend ([`Screen`]).
//!
//! It shows what the LEDs emit: wire bytes mapped back to logical order and un-gamma'd for the terminal's
//! sRGB, and long strips are downsampled to fit the terminal width. On an RGBW strip the W byte is drawn
//! as the light it adds: the white LED's colour (`white_kelvin`) at that level, mixed with R, G and B.
//!
//! The picture is composed as text ([`Preview::picture`], tested as a string) and handed to the
//! [`Screen`], which owns the terminal and keeps log lines out of it.

mod screen;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::Command;
use crossterm::style::{Color, ResetColor, SetForegroundColor};

use super::OutFrame;
use crate::layout::{ColorOrder, Layout};
pub use screen::{LogWriter, Screen};

const MIN_INTERVAL: Duration = Duration::from_millis(33);

struct StripView {
    id: String,
    /// The strip's zones as (first pixel, pixels, id), in strip order.
    zones: Vec<(usize, usize, String)>,
    order: ColorOrder,
    /// RGBW strips: the white LED's colour in duty terms.
    white: [u8; 3],
    /// Inverse gamma: wire value → terminal value.
    ungamma: [u8; 256],
    last: Vec<u8>,
}

/// The preview state, owned by the output thread (the preview always puts the device there).
pub struct Preview {
    screen: Arc<Screen>,
    strips: Vec<StripView>,
    drawn_at: Option<Instant>,
    dirty: bool,
    /// The picture being composed (reused).
    text: String,
}

impl Preview {
    pub fn new(layout: &Layout, screen: Arc<Screen>) -> Self {
        let strips = layout
            .strips
            .iter()
            .map(|s| {
                let mut ungamma = [0u8; 256];
                for (i, v) in ungamma.iter_mut().enumerate() {
                    *v = (libm::powf(i as f32 / 255.0, 1.0 / s.gamma) * 255.0 + 0.5) as u8;
                }
                let mut zones: Vec<(usize, usize, String)> = layout
                    .zones
                    .iter()
                    .filter(|z| layout.strips.get(z.strip).is_some_and(|st| st.id == s.id))
                    .map(|z| (z.start, z.len, z.id.clone()))
                    .collect();
                zones.sort();
                StripView {
                    id: s.id.clone(),
                    zones,
                    order: s.color_order,
                    white: super::pipeline::white_point(s),
                    ungamma,
                    last: vec![0; s.len * s.bytes_per_pixel()],
                }
            })
            .collect();
        Preview {
            screen,
            strips,
            drawn_at: None,
            dirty: false,
            text: String::new(),
        }
    }

    /// Takes a new frame; draws it now unless the last draw was under ~33 ms ago.
    pub fn update(&mut self, frame: &OutFrame) {
        for (i, s) in self.strips.iter_mut().enumerate() {
            if frame.dirty[i] {
                s.last.copy_from_slice(&frame.strips[i]);
                self.dirty = true;
            }
        }
        if self.pending().is_none() && self.dirty {
            self.redraw();
        }
    }

    /// Time until a rate-limited redraw is due, when one is waiting.
    pub fn pending(&self) -> Option<Duration> {
        if !self.dirty {
            return None;
        }
        let since = self.drawn_at.map(|t| t.elapsed()).unwrap_or(MIN_INTERVAL);
        MIN_INTERVAL.checked_sub(since).filter(|d| !d.is_zero())
    }

    /// Draws every strip on the screen; when a log line holds the screen, the frame waits for the
    /// next try ([`Preview::pending`]).
    pub fn redraw(&mut self) {
        let width = self.screen.width().max(20) - 12;
        let mut text = std::mem::take(&mut self.text);
        self.picture(&mut text, width);
        if self.screen.try_picture(&text) {
            self.dirty = false;
        }
        self.text = text;
        self.drawn_at = Some(Instant::now());
    }

    /// The picture as text, each strip at most `width` cells: its id and a row of coloured blocks,
    /// then its ruler; every row ends with `\n`.
    pub fn picture(&self, out: &mut String, width: usize) {
        out.clear();
        for s in &self.strips {
            let ch = s.order.channels();
            let n = s.last.len() / ch;
            let cells = n.min(width).max(1);
            let _ = write!(out, "{:<10} ", s.id);
            for c in 0..cells {
                let i = (c * n / cells) * ch;
                let Some(wire) = s.last.get(i..i + ch) else {
                    break;
                };
                let [r, g, b] = s.emitted(s.order.from_wire(wire));
                let _ = SetForegroundColor(Color::Rgb { r, g, b }).write_ansi(out);
                out.push('█');
            }
            let _ = ResetColor.write_ansi(out);
            let _ = writeln!(out, "\n{:<10} {}", "", ruler(&s.zones, n, cells));
        }
    }
}

/// The line under a strip drawn as `cells` cells for `pixels` pixels: `|` where each zone starts, then
/// as much of its id as fits before the next zone (pure, so it is tested as a string).
pub fn ruler(zones: &[(usize, usize, String)], pixels: usize, cells: usize) -> String {
    let mut line = vec![' '; cells];
    let cell = |px: usize| (px * cells).checked_div(pixels).unwrap_or(0).min(cells);
    for (k, (start, len, id)) in zones.iter().enumerate() {
        let (from, to) = (cell(*start), cell(start + len).max(cell(*start) + 1));
        let to = zones.get(k + 1).map_or(to, |next| to.min(cell(next.0)));
        if from >= cells {
            break;
        }
        line[from] = '|';
        for (slot, c) in line[from + 1..to.min(cells)].iter_mut().zip(id.chars()) {
            *slot = c;
        }
    }
    line.into_iter().collect::<String>().trim_end().to_string()
}

impl StripView {
    /// The terminal colour of one pixel's duty `[r, g, b, w]`: the W LED's light added to R, G and B.
    fn emitted(&self, [r, g, b, w]: [u8; 4]) -> [u8; 3] {
        let mut px = [r, g, b];
        for (c, white) in px.iter_mut().zip(self.white) {
            let lit = *c as u16 + (w as u16 * white as u16 + 127) / 255;
            *c = self.ungamma[lit.min(255) as usize];
        }
        px
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_ruler_names_each_zone_at_its_boundary() {
        let zones = |v: &[(usize, usize, &str)]| -> Vec<(usize, usize, String)> {
            v.iter().map(|&(a, b, c)| (a, b, c.to_string())).collect()
        };
        // One cell a pixel: names in full, each after its bar.
        let z = zones(&[(0, 10, "floor"), (10, 6, "desk"), (16, 4, "tv")]);
        assert_eq!(ruler(&z, 20, 20), "|floor    |desk |tv");
        // Downsampled 1,000 pixels to 20 cells: names cut at the next zone.
        let z = zones(&[(0, 100, "kitchen"), (100, 900, "hall")]);
        assert_eq!(ruler(&z, 1000, 20), "|k|hall");
        // A gap without a zone stays blank; an empty strip gives an empty line.
        let z = zones(&[(5, 5, "end")]);
        assert_eq!(ruler(&z, 10, 10), "     |end");
        assert_eq!(ruler(&[], 0, 1), "");
    }

    #[test]
    fn the_preview_knows_each_strips_zones_in_order() {
        let cfg = Config::from_toml(
            "[[strips]]\nid=\"a\"\n[[zones]]\nid=\"y\"\nstrip=\"a\"\npixels=3\n[[zones]]\nid=\"x\"\nstrip=\"a\"\npixels=2\n",
        )
        .unwrap();
        let p = Preview::new(
            &cfg.layout,
            Screen::new(Box::new(std::io::sink()), Some(80)),
        );
        let names: Vec<_> = p.strips[0]
            .zones
            .iter()
            .map(|z| (z.0, z.2.as_str()))
            .collect();
        assert_eq!(names, [(0, "y"), (3, "x")]);
        assert_eq!(ruler(&p.strips[0].zones, 5, 5), "|y |x");
    }

    /// The picture with its colour codes taken out.
    fn plain(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('\x1b') {
            out.push_str(&rest[..i]);
            let code = &rest[i + 2..];
            let end = code
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or(rest.len(), |e| i + 2 + e + 1);
            rest = &rest[end..];
        }
        out + rest
    }

    #[test]
    fn the_picture_is_each_strips_blocks_over_its_ruler() {
        let cfg = Config::from_toml(
            "[[strips]]\nid=\"main\"\ngamma=1.0\ncolor_order=\"RGB\"\n[[zones]]\nid=\"floor\"\nstrip=\"main\"\npixels=6\n\
             [[zones]]\nid=\"desk\"\nstrip=\"main\"\npixels=4\n\
             [[strips]]\nid=\"shelf\"\ngpio=19\ndma=11\n[[zones]]\nid=\"tv\"\nstrip=\"shelf\"\npixels=30\n",
        )
        .unwrap();
        let mut p = Preview::new(
            &cfg.layout,
            Screen::new(Box::new(std::io::sink()), Some(80)),
        );
        let mut frame = OutFrame::new(&cfg.layout);
        frame.strips[0][..3].copy_from_slice(&[255, 0, 0]);
        frame.dirty.fill(true);
        p.update(&frame);
        let mut text = String::new();
        p.picture(&mut text, 20);
        assert_eq!(
            plain(&text),
            "main       ██████████\n           |floor|des\n\
             shelf      ████████████████████\n           |tv\n",
            "one cell a pixel up to the width, then downsampled"
        );
        assert!(
            text.starts_with("main       \x1b[38;2;255;0;0m█\x1b[38;2;0;0;0m█"),
            "each block in the colour the LED emits: {text:?}"
        );
    }

    #[test]
    fn a_frame_reaches_the_screen_with_the_status_under_it() {
        #[derive(Clone, Default)]
        struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Capture {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let cfg =
            Config::from_toml("[[strips]]\nid=\"a\"\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=3\n")
                .unwrap();
        let cap = Capture::default();
        let screen = Screen::new(Box::new(cap.clone()), Some(40));
        screen.set_status("edit off");
        let mut p = Preview::new(&cfg.layout, screen);
        let mut frame = OutFrame::new(&cfg.layout);
        frame.dirty.fill(true);
        p.update(&frame);
        let out = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
        let last = out.rsplit("\x1b[1A").next().unwrap();
        assert_eq!(
            plain(last),
            "\ra          ███\n\r           |z\n\redit off\n"
        );
        assert!(p.pending().is_none(), "drawn, nothing waiting");
    }

    #[test]
    fn white_byte_shows_as_the_white_leds_light() {
        let cfg = Config::from_toml(
            "[[strips]]\nid=\"w\"\nled_type=\"sk6812\"\ncolor_order=\"GRBW\"\ngamma=1.0\nwhite_kelvin=6600\n[[zones]]\nid=\"z\"\nstrip=\"w\"\npixels=2\n",
        )
        .unwrap();
        let p = Preview::new(
            &cfg.layout,
            Screen::new(Box::new(std::io::sink()), Some(80)),
        );
        let s = &p.strips[0];
        assert_eq!(s.last.len(), 8, "4 bytes a pixel");
        assert_eq!(
            s.emitted(s.order.from_wire(&[0, 0, 0, 200])),
            [200, 200, 200]
        );
        assert_eq!(
            s.emitted(s.order.from_wire(&[10, 100, 0, 200])),
            [255, 210, 200]
        );
        assert_eq!(s.emitted([5, 6, 7, 0]), [5, 6, 7]);
    }
}
