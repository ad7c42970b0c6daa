//! `B/set` scene keys, light-command palettes and the new entities.

use super::*;

fn lib() -> LibraryConfig {
    Config::from_toml("[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nstrip=\"a\"\npixels=3\n")
        .unwrap()
        .library
}

fn ids() -> Vec<String> {
    vec!["floor".into(), "desk".into()]
}

fn scenes(p: &str) -> Result<Vec<SceneCommand>, String> {
    match parse_set(p.as_bytes(), &ids(), false, &lib()) {
        Ok(Command::Scenes { scenes, .. }) => Ok(scenes),
        Ok(Command::Device(_)) => Ok(Vec::new()),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn parses_every_scene_key() {
    assert_eq!(
        scenes(r#"{"scene_save":"evening"}"#).unwrap(),
        vec![SceneCommand::Save(Some("evening".into()))]
    );
    assert_eq!(
        scenes(r#"{"scene":"evening","transition":2}"#).unwrap(),
        vec![SceneCommand::Recall {
            name: "evening".into(),
            transition: Some(2.0)
        }]
    );
    assert_eq!(
        scenes(r#"{"scene_delete":"evening"}"#).unwrap(),
        vec![SceneCommand::Delete("evening".into())]
    );
    assert_eq!(
        scenes(r#"{"scene_rename":{"from":"a","to":"b"}}"#).unwrap(),
        vec![SceneCommand::Rename {
            from: "a".into(),
            to: "b".into()
        }]
    );
    assert_eq!(
        scenes(r#"{"scene_name":"night","scene_save":true}"#).unwrap(),
        vec![
            SceneCommand::SetName("night".into()),
            SceneCommand::Save(None)
        ]
    );
    assert_eq!(
        scenes(r#"{"playlist":"loop"}"#).unwrap(),
        vec![SceneCommand::PlaylistStart("loop".into())]
    );
    assert_eq!(
        scenes(r#"{"playlist":null}"#).unwrap(),
        vec![SceneCommand::PlaylistStop]
    );
    assert_eq!(
        scenes(r#"{"playlist":"off"}"#).unwrap(),
        vec![SceneCommand::PlaylistStop]
    );
    let p = scenes(r#"{"playlist_save":{"name":"loop","repeat":2,"end":"night","entries":[{"scene":"a","duration":60,"transition":5}]}}"#).unwrap();
    assert!(
        matches!(&p[0], SceneCommand::PlaylistSave(n, pl) if n == "loop" && pl.repeat == 2 && pl.entries[0].duration == 60.0)
    );
    match &scenes(r#"{"sunrise":{"minutes":20,"color_temp":5000,"zones":["desk"]}}"#).unwrap()[0] {
        SceneCommand::Sunrise(s) => {
            assert_eq!(s.duration, Duration::from_secs(1200));
            assert_eq!(
                (s.kelvin, s.brightness, s.zones.clone()),
                (5000, 255, Some(vec![1]))
            );
        }
        other => panic!("{other:?}"),
    }
    match &scenes(r#"{"nightlight":true}"#).unwrap()[0] {
        SceneCommand::Nightlight { duration, zones } => {
            assert_eq!(
                (*duration, zones.clone()),
                (Duration::from_secs(1800), None),
                "config defaults"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        scenes(r#"{"edit_mode":true}"#).unwrap().is_empty(),
        "plain device commands stay device commands"
    );
}

#[test]
fn bad_scene_input_is_a_clear_error() {
    let year10 = 10.0 * 365.0 * 86_400.0;
    for (payload, needle) in [
        (r#"{"scene":7}"#.to_string(), "\"scene\""),
        (r#"{"scene":""}"#.into(), "1–64"),
        (format!(r#"{{"scene":"{}"}}"#, "x".repeat(65)), "1–64"),
        (r#"{"scene_save":"none"}"#.into(), "reserved"),
        (r#"{"scene":"a","transition":-1}"#.into(), "transition"),
        (
            format!(r#"{{"scene":"a","transition":{year10}}}"#),
            "out of range",
        ),
        (r#"{"transition":2}"#.into(), "scene recall"),
        (r#"{"scene_rename":"a"}"#.into(), "from"),
        (r#"{"sunrise":{"minutes":0}}"#.into(), "more than 0"),
        (
            format!(r#"{{"sunrise":{{"duration":{year10}}}}}"#),
            "out of range",
        ),
        (r#"{"sunrise":{"zones":["attic"]}}"#.into(), "unknown zone"),
        (r#"{"sunrise":{"color_temp":90}}"#.into(), "color_temp"),
        (r#"{"nightlight":"soon"}"#.into(), "expected true"),
        (
            r#"{"playlist_save":{"name":"p","entries":[]}}"#.into(),
            "1 to 100 entries",
        ),
        (
            r#"{"playlist_save":{"name":"p","entries":[{"scene":"a","duration":0}]}}"#.into(),
            "duration",
        ),
        (
            r#"{"playlist_save":{"name":"p","entries":[{"scene":"a"}]}}"#.into(),
            "entry",
        ),
        (r#"{"scene":"a","edit_mode":3}"#.into(), "edit_mode"),
    ] {
        let e = scenes(&payload).expect_err(&payload);
        assert!(e.contains(needle), "{payload}: {e}");
    }
}

#[test]
fn palette_in_light_commands_and_state() {
    let p = Palettes::default();
    let c = with_palette(LightCommand::default(), br#"{"palette":"fire"}"#, &p).unwrap();
    assert_eq!(c.palette, Some(p.find("fire")));
    let c = with_palette(LightCommand::default(), br#"{"palette":"zone colour"}"#, &p).unwrap();
    assert_eq!(c.palette, Some(None));
    let c = with_palette(LightCommand::default(), br#"{"state":"ON"}"#, &p).unwrap();
    assert_eq!(c.palette, None, "no key, no change");
    let e = with_palette(LightCommand::default(), br#"{"palette":"plaid"}"#, &p).unwrap_err();
    assert!(e.to_string().contains("unknown palette"));
    let mut z = ZoneState::new(crate::color::Rgb::WHITE, 9, true, None);
    let mut s = StateJson::of(&z);
    add_palette(&mut s, &z, &p);
    assert_eq!(s.to_value()["palette"], ZONE_COLOUR);
    z.palette = p.find("ocean");
    add_palette(&mut s, &z, &p);
    assert_eq!(s.to_value()["palette"], "ocean");
}

#[test]
fn entities_follow_the_config_and_the_library() {
    let c = Config::from_toml(
        "device_id=\"dev\"\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nname=\"Floor\"\nstrip=\"a\"\npixels=3\n",
    )
    .unwrap();
    let t = Topics::new("diuna", "dev", "homeassistant", &c.layout);
    let e = entities(&c, &t);
    let pal = e
        .iter()
        .find(|d| d.topic == "homeassistant/select/dev/floor_palette/config")
        .unwrap();
    assert_eq!(pal.payload["options"][0], ZONE_COLOUR);
    assert_eq!(
        pal.payload["options"].as_array().unwrap().len(),
        1 + c.library.palettes.len()
    );
    assert_eq!(pal.payload["default_entity_id"], "select.dev_floor_palette");
    assert!(
        e.iter()
            .any(|d| d.topic == "homeassistant/text/dev/scene_name/config")
    );
    for b in ["scene_save", "sunrise", "nightlight"] {
        assert!(
            e.iter()
                .any(|d| d.topic == format!("homeassistant/button/dev/{b}/config")),
            "{b}"
        );
    }
    let state = DeviceState {
        scenes: vec!["evening".into()],
        playlists: vec!["loop".into()],
        ..Default::default()
    };
    let l = library_entities(&c, &t, &state);
    assert_eq!(l[0].payload["options"], json!(["evening"]));
    assert_eq!(l[1].payload["options"], json!([NO_PLAYLIST, "loop"]));
    assert_eq!(
        library_topics(&t).to_vec(),
        l.iter().map(|d| d.topic.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn a_one_megabyte_playlist_is_refused_whole() {
    let entry = r#"{"scene":"a","duration":60,"transition":5},"#;
    let entries = entry.repeat(1_000_000 / entry.len());
    let payload = format!(
        r#"{{"playlist_save":{{"name":"huge","entries":[{}]}}}}"#,
        entries.trim_end_matches(',')
    );
    assert!(payload.len() > 1_000_000);
    let e = scenes(&payload).unwrap_err();
    assert!(e.contains("1 to 100 entries"), "{e}");
}
