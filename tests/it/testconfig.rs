//! One builder for the daemon's configuration in the integration tests and the benches
//! (`benches/*.rs` include this file by path), instead of the same TOML pasted into each file.
//!
//! [`TestConfig::new`] starts from what almost every test wants: its own `device_id`, no fade-in and
//! no default transition, the state file in the test's directory (`{dir}`: the harness puts the
//! temporary directory there) and MQTT off; [`TestConfig::mqtt`] points it at a test broker.
//! [`TestConfig::strip`] adds a simulated strip with a capture file at `{dir}/<id>.jsonl`, colours
//! in RGB order and gamma 1 (so a command's colour is the wire's bytes); [`TestConfig::zone`] a static
//! zone at full brightness. Any key can be set or replaced in any section with [`TestConfig::set`].
#![allow(dead_code)]

/// A daemon configuration being built; [`TestConfig::build`] gives its TOML text.
#[derive(Clone, Debug)]
pub struct TestConfig {
    top: Vec<String>,
    sections: Vec<(String, Vec<String>)>,
    strips: Vec<Vec<String>>,
    zones: Vec<Vec<String>>,
    tail: Vec<String>,
}

/// The key of a `key = value` line.
fn key(line: &str) -> &str {
    line.split('=').next().unwrap_or_default().trim()
}

/// Puts `line` into `lines`, replacing a line with the same key.
fn put(lines: &mut Vec<String>, line: &str) {
    match lines.iter_mut().find(|l| key(l) == key(line)) {
        Some(l) => *l = line.to_string(),
        None => lines.push(line.to_string()),
    }
}

impl TestConfig {
    /// `device_id`, `[render]` without fade-in or transition, `[state]` in `{dir}`, MQTT off.
    pub fn new(device_id: &str) -> TestConfig {
        TestConfig {
            top: vec![format!("device_id = \"{device_id}\"")],
            sections: Vec::new(),
            strips: Vec::new(),
            zones: Vec::new(),
            tail: Vec::new(),
        }
        .set("render", "fade_in = \"0s\"")
        .set("render", "transition = \"0s\"")
        .set("mqtt", "enabled = false")
        .set("state", "path = \"{dir}/state.json\"")
    }

    /// MQTT on, to the broker on `port` at 127.0.0.1.
    pub fn mqtt(self, port: u16) -> TestConfig {
        let mut c = self
            .set("mqtt", "host = \"127.0.0.1\"")
            .set("mqtt", &format!("port = {port}"));
        if let Some((_, lines)) = c.sections.iter_mut().find(|(s, _)| s == "mqtt") {
            lines.retain(|l| key(l) != "enabled");
        }
        c
    }

    /// Sets a top-level key (`fps = 60`), replacing it if present.
    pub fn top(mut self, line: &str) -> TestConfig {
        put(&mut self.top, line);
        self
    }

    /// Sets a key in `[section]` (`set("render", "easing = \"linear\"")`), replacing it if present.
    pub fn set(mut self, section: &str, line: &str) -> TestConfig {
        match self.sections.iter_mut().find(|(s, _)| s == section) {
            Some((_, lines)) => put(lines, line),
            None => self.sections.push((section.into(), vec![line.into()])),
        }
        self
    }

    /// Sets several keys of `[section]` at once.
    pub fn set_all(self, section: &str, lines: &[&str]) -> TestConfig {
        lines.iter().fold(self, |c, l| c.set(section, l))
    }

    /// Appends `text` as it is to `[section]` (several lines, or further tables such as
    /// `[realtime.zones.desk]`, which then follow the section).
    pub fn extra(mut self, section: &str, text: &str) -> TestConfig {
        if text.is_empty() {
            return self;
        }
        match self.sections.iter_mut().find(|(s, _)| s == section) {
            Some((_, lines)) => lines.push(text.into()),
            None => self.sections.push((section.into(), vec![text.into()])),
        }
        self
    }

    /// A simulated strip captured to `{dir}/<id>.jsonl` (RGB order, gamma 1, its own GPIO).
    pub fn strip(self, id: &str) -> TestConfig {
        self.strip_with(id, &[])
    }

    /// [`TestConfig::strip`] with more (or replaced) keys: `led_type`, `color_order`, `emulate`, …
    pub fn strip_with(mut self, id: &str, extra: &[&str]) -> TestConfig {
        let n = self.strips.len();
        let mut lines = vec![
            format!("id = \"{id}\""),
            format!("gpio = {}", [18, 19, 21, 10].get(n).copied().unwrap_or(10)),
            "color_order = \"RGB\"".into(),
            "gamma = 1.0".into(),
            format!("capture = \"{{dir}}/{id}.jsonl\""),
        ];
        for l in extra {
            put(&mut lines, l);
        }
        self.strips.push(lines);
        self
    }

    /// A strip with only `id` and `keys`: the driver's own defaults (colour order, gamma), no capture.
    pub fn strip_keys(mut self, id: &str, keys: &[&str]) -> TestConfig {
        let mut lines = vec![format!("id = \"{id}\"")];
        for l in keys {
            put(&mut lines, l);
        }
        self.strips.push(lines);
        self
    }

    /// The benches' 1,000 pixels: strip `a` (GPIO 18) and strip `b` (GPIO 19), each with `a_keys` /
    /// `b_keys` added, and zones `z0`..`z7` of 125 pixels, four on each strip,
    /// the odd ones reversed; `zone_keys(i)` adds keys to zone `i`.
    pub fn bench_1000(
        self,
        a_keys: &[&str],
        b_keys: &[&str],
        zone_keys: impl Fn(usize) -> Vec<String>,
    ) -> TestConfig {
        let a: Vec<&str> = ["gpio = 18"]
            .into_iter()
            .chain(a_keys.iter().copied())
            .collect();
        let b: Vec<&str> = ["gpio = 19"]
            .into_iter()
            .chain(b_keys.iter().copied())
            .collect();
        (0..8).fold(self.strip_keys("a", &a).strip_keys("b", &b), |c, i| {
            let mut keys = vec![
                format!("id = \"z{i}\""),
                format!("strip = \"{}\"", if i < 4 { "a" } else { "b" }),
                "pixels = 125".into(),
                format!("reversed = {}", i % 2 == 1),
            ];
            for k in zone_keys(i) {
                put(&mut keys, &k);
            }
            c.zone_lines(keys)
        })
    }

    /// A zone given as its lines.
    fn zone_lines(mut self, lines: Vec<String>) -> TestConfig {
        self.zones.push(lines);
        self
    }

    /// A static zone of `pixels` on `strip` in `color` at full brightness.
    pub fn zone(self, id: &str, strip: &str, pixels: usize, color: [u8; 3]) -> TestConfig {
        self.zone_with(id, strip, pixels, color, &[])
    }

    /// [`TestConfig::zone`] with more (or replaced) keys: `name`, `on`, `effect`, `reversed`, …
    pub fn zone_with(
        self,
        id: &str,
        strip: &str,
        pixels: usize,
        color: [u8; 3],
        extra: &[&str],
    ) -> TestConfig {
        let [r, g, b] = color;
        let mut lines = vec![
            format!("id = \"{id}\""),
            format!("strip = \"{strip}\""),
            format!("pixels = {pixels}"),
            format!("color = [{r}, {g}, {b}]"),
            "brightness = 255".into(),
        ];
        for l in extra {
            put(&mut lines, l);
        }
        self.zone_lines(lines)
    }

    /// Text appended as it is after the strips and zones: further tables (`[[scenes]]`, …).
    pub fn raw(mut self, text: &str) -> TestConfig {
        self.tail.push(text.into());
        self
    }

    /// The TOML text (`{dir}` still in it, for the harness to fill in).
    pub fn build(&self) -> String {
        let mut out = self.top.join("\n");
        out.push('\n');
        for (name, lines) in &self.sections {
            out.push_str(&format!("[{name}]\n{}\n", lines.join("\n")));
        }
        for (table, items) in [("strips", &self.strips), ("zones", &self.zones)] {
            for lines in items {
                out.push_str(&format!("[[{table}]]\n{}\n", lines.join("\n")));
            }
        }
        for t in &self.tail {
            out.push_str(t);
            out.push('\n');
        }
        out
    }
}
