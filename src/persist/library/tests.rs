//! Scenes and palettes through the state file, the clean-shutdown marker and power-on behaviour.

use super::*;
use crate::color::Rgb;
use crate::engine::Snapshot;

fn config(dir: &Path, extra: &str) -> Config {
    let text = format!(
        "[state]\npath=\"{}/state.json\"\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nstrip=\"a\"\npixels=3\ncolor=[255,0,0]\n[[zones]]\nid=\"desk\"\nstrip=\"a\"\npixels=3\non=false\n{extra}",
        dir.display()
    );
    Config::from_toml(&text).unwrap()
}

fn zones(c: &Config) -> Vec<ZoneState> {
    c.zone_init
        .iter()
        .map(|z| ZoneState::new(z.color, z.brightness, z.on, z.effect))
        .collect()
}

/// Saves a snapshot of `zs` plus `lib` as a running daemon would; `clean` as a clean stop would.
fn save(c: &Config, zs: &[ZoneState], lib: &Library, clean: bool) {
    let snap = Snapshot {
        zones: zs.to_vec(),
        master: MasterState::default(),
        device: DeviceState::default(),
        preset: "red",
        library: lib.snapshot(
            zs.iter()
                .map(|z| {
                    z.palette
                        .and_then(|p| c.library.palettes.get(p))
                        .map(|p| p.name.clone())
                })
                .collect(),
        ),
    };
    file::save(
        &c.state_path,
        &file::StateFile::from_snapshot(&snap, &c.layout),
    )
    .unwrap();
    if clean {
        mark_clean(&c.state_path);
    }
}

fn boot_fresh(c: &Config) -> (Vec<ZoneState>, Library) {
    let mut zs = zones(c);
    let lib = boot(
        c,
        &mut zs,
        &mut MasterState::default(),
        &mut DeviceState::default(),
    );
    (zs, lib)
}

#[test]
fn scenes_and_palettes_round_trip_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "");
    let mut zs = zones(&c);
    zs[0].palette = c.library.palettes.find("lava");
    let ids: Vec<String> = c.layout.zones.iter().map(|z| z.id.clone()).collect();
    let scene = Scene::capture(&zs, &ids, &MasterState::default(), &c.library.palettes);
    let mut lib = Library::default();
    lib.save_scene("evening", scene.clone()).unwrap();
    save(&c, &zs, &lib, false);
    let (restored, lib2) = boot_fresh(&c);
    assert_eq!(restored[0].palette, c.library.palettes.find("lava"));
    assert_eq!(lib2.scene("evening").unwrap(), &scene);
}

#[test]
fn a_malformed_scene_is_dropped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "");
    let text = r#"{"version":1,"scenes":{
        "good":{"zones":{"floor":{"on":true,"brightness":10,"color":[1,2,3],"color_mode":{"mode":"rgb"}}}},
        "bad":{"zones":{"floor":{"on":"yes"}}},
        "":{"zones":{}},
        "big":{"zones":{"floor":{"on":true,"brightness":0,"color":[1,2,3],"color_mode":{"mode":"rgb"},"params":{"speed":1e30}}}}},
        "playlists":{"p":{"entries":[{"scene":"good","duration":0}]}, "q":{"entries":[{"scene":"good","duration":5}]}}}"#;
    std::fs::write(&c.state_path, text).unwrap();
    let (_, lib) = boot_fresh(&c);
    assert_eq!(lib.scene_names(), vec!["big".to_string(), "good".into()]);
    assert_eq!(
        lib.scene("big").unwrap().zones["floor"].brightness,
        1,
        "validated"
    );
    assert_eq!(lib.playlist_names(), vec!["q".to_string()]);
}

#[test]
fn the_marker_tells_a_restart_from_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[power_on]\nafter_restart = \"previous\"\nafter_power_loss = \"off\"\n[power_on.zones.desk]\nafter_restart = \"on\"\n";
    let c = config(dir.path(), extra);
    let zs = zones(&c);
    // A clean stop: restart rules; the marker is cleared on disk at once.
    save(&c, &zs, &Library::default(), true);
    let (restarted, _) = boot_fresh(&c);
    assert_eq!(
        (restarted[0].on, restarted[1].on),
        (true, true),
        "previous / on"
    );
    assert_eq!(
        crate::persist::load::load_object(&c.state_path).unwrap()["clean_shutdown"],
        false
    );
    // Booting again without a clean stop in between: a power cut.
    let (cut, _) = boot_fresh(&c);
    assert_eq!((cut[0].on, cut[1].on), (false, false));
}

#[test]
fn a_power_on_scene_sets_that_zone_only() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[power_on]\nafter_power_loss = \"night\"\n[[scenes]]\nname = \"night\"\n[scenes.zones.floor]\nbrightness = 20\ncolor = [255, 80, 0]\n";
    let c = config(dir.path(), extra);
    save(&c, &zones(&c), &Library::default(), false);
    let (zs, mut lib) = boot_fresh(&c);
    assert_eq!((zs[0].brightness, zs[0].color), (20, Rgb::new(255, 80, 0)));
    assert!(!zs[1].on, "desk is not in the scene: previous state kept");
    assert!(
        lib.save_scene("night", Scene::default()).is_err(),
        "declared: read-only"
    );
}

#[test]
fn a_full_library_keeps_the_state_file_far_below_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "");
    let mut zs = zones(&c);
    let snake = crate::effects::find("matrix").unwrap();
    zs[0].effect = Some(snake);
    // Scenes as large as a scene can get per zone id, until the library refuses more.
    let mut lib = Library::default();
    let mut scene = Scene::default();
    for i in 0..40 {
        let id = format!("zone_with_a_long_identifier_{i:02}_and_more_text_to_make_it_long");
        scene.zones.insert(
            id,
            crate::engine::scene::SceneZone::capture(&zs[0], &c.library.palettes),
        );
    }
    let mut i = 0;
    while lib
        .save_scene(&format!("scene number {i:03}"), scene.clone())
        .is_ok()
    {
        i += 1;
    }
    save(&c, &zs, &lib, false);
    let size = std::fs::metadata(&c.state_path).unwrap().len();
    assert!(
        size < 3 * 1024 * 1024,
        "state file of {size} bytes with {i} scenes"
    );
    let (_, back) = boot_fresh(&c);
    assert_eq!(back.scene_names().len(), i);
}
