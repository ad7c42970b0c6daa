//! Config sections for palettes, scenes, playlists, wake-up and power-on: valid files and every error.

use crate::config::Config;
use crate::config::library::PowerOn;

const BASE: &str = "[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nstrip=\"a\"\npixels=3\n";

fn load(extra: &str) -> Result<Config, String> {
    Config::from_toml(&format!("{BASE}{extra}")).map_err(|e| e.to_string())
}

#[test]
fn a_full_library_section_loads() {
    let c = load(
        r#"
[[palettes]]
name = "sunset_strip"
stops = [[0, 255, 100, 0], [255, 40, 0, 120]]
[[palettes]]
name = "duo"
colors = [[255, 0, 0], [0, 0, 255]]
[[scenes]]
name = "Evening"
master_brightness = 200
[scenes.zones.floor]
color_temp = 2700
brightness = 120
effect = "breathe"
palette = "duo"
params = { speed = 20 }
[[playlists]]
name = "loop"
repeat = 3
end = "Evening"
entries = [{ scene = "Evening", duration = "10m", transition = "30s" }]
[sunrise]
duration = "20m"
color_temp = 5000
zones = ["floor"]
[nightlight]
duration = "45m"
[power_on]
after_power_loss = "off"
[power_on.zones.floor]
after_restart = "Evening"
"#,
    )
    .unwrap();
    let l = &c.library;
    assert!(l.palettes.find("sunset_strip").is_some() && l.palettes.find("duo").is_some());
    assert_eq!(l.scenes[0].0, "Evening");
    let z = &l.scenes[0].1.zones["floor"];
    assert_eq!(
        (z.brightness, z.effect.as_deref(), z.palette.as_deref()),
        (120, Some("breathe"), Some("duo"))
    );
    assert_eq!(z.params["speed"], 20.0);
    assert_eq!(l.playlists[0].1.entries[0].duration, 600.0);
    assert_eq!(l.sunrise.duration.as_secs(), 1200);
    assert_eq!(l.nightlight.duration.as_secs(), 2700);
    assert_eq!(
        l.power_on[0].after_restart,
        PowerOn::Scene("Evening".into())
    );
    assert_eq!(l.power_on[0].after_power_loss, PowerOn::Off);
}

#[test]
fn every_bad_value_names_its_key() {
    let many: String = (0..101)
        .map(|i| format!("[[scenes]]\nname = \"s{i}\"\n"))
        .collect();
    let long_list: String = format!(
        "[[playlists]]\nname = \"p\"\nentries = [{}]\n",
        vec!["{ scene = \"a\", duration = \"1s\" }"; 101].join(",")
    );
    for (extra, needle) in [
        (
            "[[palettes]]\nname = \"fire\"\ncolors = [[1,2,3],[4,5,6]]\n",
            "palettes[0].name",
        ),
        (
            "[[palettes]]\nname = \"x\"\ncolors = [[1,2,3]]\n",
            "palettes[0]",
        ),
        (
            "[[palettes]]\nname = \"x\"\nstops = [[9,1,2,3],[2,1,2,3]]\n",
            "palettes[0].stops",
        ),
        ("[[scenes]]\nname = \"\"\n", "scenes[0].name"),
        (
            "[[scenes]]\nname = \"a\"\n[scenes.zones.attic]\non = true\n",
            "scenes[0].zones.attic",
        ),
        (
            "[[scenes]]\nname = \"a\"\n[scenes.zones.floor]\neffect = \"warp\"\n",
            "effect",
        ),
        (
            "[[scenes]]\nname = \"a\"\n[scenes.zones.floor]\npalette = \"plaid\"\n",
            "palette",
        ),
        (
            "[[scenes]]\nname = \"a\"\n[scenes.zones.floor]\neffect = \"snake\"\nparams = { speed = 500 }\n",
            "params.speed",
        ),
        (
            "[[scenes]]\nname = \"a\"\n[scenes.zones.floor]\ncolor = [1,2,3]\ncolor_temp = 3000\n",
            "not both",
        ),
        (many.as_str(), "at most 100"),
        (long_list.as_str(), "1 to 100 entries"),
        (
            "[[playlists]]\nname = \"p\"\nentries = [{ scene = \"a\", duration = \"0s\" }]\n",
            "duration",
        ),
        (
            "[[playlists]]\nname = \"p\"\nentries = [{ scene = \"a\", duration = \"3650days\" }]\n",
            "24 h",
        ),
        ("[sunrise]\nduration = \"0s\"\n", "sunrise.duration"),
        ("[sunrise]\nduration = \"3650days\"\n", "sunrise.duration"),
        ("[nightlight]\nzones = [\"attic\"]\n", "nightlight.zones"),
        (
            "[power_on]\nafter_restart = \"\"\n",
            "power_on.after_restart",
        ),
        (
            "[power_on.zones.attic]\nafter_restart = \"on\"\n",
            "power_on.zones.attic",
        ),
    ] {
        let e = load(extra).expect_err(extra);
        assert!(e.contains(needle), "{extra}\n→ {e}");
    }
}
