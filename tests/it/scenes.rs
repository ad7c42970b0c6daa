//! The layer above effects, through a real broker: the master light, brightness after an
//! off-with-transition, scenes (save → restart → recall), playlists, sunrise/nightlight, palettes and
//! power-on behaviour, and their Home Assistant entities.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Broker, Capture, Daemon, TestClient};
use crate::testconfig::TestConfig;

const B: &str = "diuna/sc";

/// Three zones on one RGB strip with gamma 1, so wire bytes are the composed values.
fn config(port: u16, extra: &str) -> String {
    TestConfig::new("sc")
        .top("name = \"Diuna SC\"")
        .mqtt(port)
        .set("render", "fade_out = \"200ms\"")
        .set_all("mqtt", &["keep_alive = \"5s\"", "reconnect_max = \"1s\""])
        .set("state", "debounce = \"100ms\"")
        .set_all(
            "input",
            &["sim_socket = \"{dir}/input.sock\"", "keyboard = \"none\""],
        )
        .strip("a")
        .zone_with("floor", "a", 2, [255, 0, 0], &["name = \"Floor\""])
        .zone_with(
            "desk",
            "a",
            2,
            [0, 0, 255],
            &["name = \"Desk\"", "on = false"],
        )
        .zone_with(
            "shelf",
            "a",
            2,
            [255, 255, 255],
            &["name = \"Shelf\"", "brightness = 128"],
        )
        .raw(extra)
        .build()
}

fn online(c: &mut TestClient) {
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
}

/// Publishes `payload` on `B/<topic>`; returns the mark from which [`state`] looks for the answer.
fn send(c: &mut TestClient, topic: &str, payload: &str) -> usize {
    c.drain(Duration::ZERO); // what has already arrived is before the mark
    let mark = c.seen.len();
    c.publish(&format!("{B}/{topic}"), payload);
    mark
}

/// The first message on `B/<topic>` since `mark` (already seen or still to come) satisfying `f`.
fn state(c: &mut TestClient, mark: usize, topic: &str, f: impl Fn(&Value) -> bool) -> Value {
    let t = format!("{B}/{topic}");
    if let Some(m) = c.seen[mark.min(c.seen.len())..]
        .iter()
        .find(|m| m.topic == t && f(&m.json()))
    {
        return m.json();
    }
    c.wait_topic(&t, |m| f(&m.json())).json()
}

/// A retained discovery config: among those seen, or still to come.
fn latest(c: &mut TestClient, topic: &str) -> Value {
    c.seen_or_wait(topic).json()
}

fn start(extra: &str) -> (Broker, Daemon, Capture, TestClient) {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port, extra));
    let cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "sc-test", &[&format!("{B}/#")]);
    online(&mut c);
    (broker, d, cap, c)
}

#[test]
fn master_colour_and_effect_reach_every_zone_that_is_on() {
    let (_b, _d, mut cap, mut c) = start("");
    cap.wait_frame("a", "initial", |f| f.pixel(0) == [255, 0, 0]);
    let k = send(
        &mut c,
        "all/set",
        r#"{"state":"ON","color":{"r":0,"g":200,"b":0}}"#,
    );
    let f = cap.wait_frame("a", "master green", |f| {
        f.pixel(0) == [0, 200, 0] && f.pixel(5) == [0, 100, 0]
    });
    assert_eq!(f.pixel(2), [0, 0, 0], "the desk was off and stays off");
    let m = state(&mut c, k, "all/state", |s| s["color"]["g"] == 200);
    assert_eq!(
        (&m["color_mode"], &m["state"]),
        (&json!("rgb"), &json!("ON"))
    );
    state(&mut c, k, "floor/state", |s| s["color"]["g"] == 200);
    // Colour temperature: the master reports the mode of its last command.
    let k = send(&mut c, "all/set", r#"{"color_temp":2700}"#);
    let m = state(&mut c, k, "all/state", |s| s["color_mode"] == "color_temp");
    assert_eq!(m["color_temp"], 2700);
    // An effect, then off and on: the zones that were on come back, the desk stays off.
    let k = send(&mut c, "all/set", r#"{"effect":"breathe"}"#);
    state(&mut c, k, "shelf/state", |s| s["effect"] == "breathe");
    state(&mut c, k, "all/state", |s| s["effect"] == "breathe");
    let k = send(&mut c, "all/set", r#"{"state":"OFF"}"#);
    cap.wait_frame("a", "all dark", |f| f.wire.iter().all(|&b| b == 0));
    state(&mut c, k, "all/state", |s| s["state"] == "OFF");
    let k = send(&mut c, "all/set", r#"{"state":"ON","effect":"off"}"#);
    state(&mut c, k, "floor/state", |s| s["state"] == "ON");
    state(&mut c, k, "shelf/state", |s| s["state"] == "ON");
    let f = cap.wait_frame("a", "back on", |f| f.pixel(0) != [0, 0, 0]);
    assert_eq!(f.pixel(2), [0, 0, 0], "desk still off");
    // The master's state follows the zones' (the render loop announces the zones first).
    state(&mut c, k, "all/state", |s| s["state"] == "ON");
    c.drain(Duration::ZERO);
    let desk_on = c.seen[k..]
        .iter()
        .any(|m| m.topic == format!("{B}/desk/state") && m.json()["state"] == "ON");
    assert!(!desk_on, "desk reported ON");
}

#[test]
fn brightness_comes_back_after_off_with_transition() {
    let (_b, _d, mut cap, mut c) = start("");
    send(&mut c, "floor/set", r#"{"brightness":180}"#);
    cap.wait_frame("a", "floor at 180", |f| f.pixel(0) == [180, 0, 0]);
    // Off with a transition: the fade passes through low levels...
    let k = send(&mut c, "floor/set", r#"{"state":"OFF","transition":0.6}"#);
    cap.wait_frame("a", "mid-fade", |f| (1..170).contains(&f.pixel(0)[0]));
    cap.wait_frame("a", "floor dark", |f| f.pixel(0) == [0, 0, 0]);
    let s = state(&mut c, k, "floor/state", |s| s["state"] == "OFF");
    assert_eq!(
        s["brightness"], 180,
        "off keeps (and reports) the brightness"
    );
    // ...but ON comes back at the previous brightness, never at a level the fade passed through.
    let k = send(&mut c, "floor/set", r#"{"state":"ON"}"#);
    let s = state(&mut c, k, "floor/state", |s| s["state"] == "ON");
    assert_eq!(s["brightness"], 180);
    cap.wait_frame("a", "floor back at 180", |f| f.pixel(0) == [180, 0, 0]);
    // Also when ON arrives in the middle of a slow fade-out.
    send(&mut c, "floor/set", r#"{"state":"OFF","transition":20}"#);
    cap.wait_frame("a", "fading", |f| (1..179).contains(&f.pixel(0)[0]));
    let k = send(&mut c, "floor/set", r#"{"state":"ON","transition":0}"#);
    cap.wait_frame("a", "floor at 180 again", |f| f.pixel(0) == [180, 0, 0]);
    let s = state(&mut c, k, "floor/state", |s| s["state"] == "ON");
    assert_eq!(s["brightness"], 180);
    // And through the master.
    send(&mut c, "all/set", r#"{"state":"OFF","transition":0.4}"#);
    cap.wait_frame("a", "all dark", |f| f.wire.iter().all(|&b| b == 0));
    send(&mut c, "all/set", r#"{"state":"ON"}"#);
    cap.wait_frame("a", "all back", |f| {
        f.pixel(0) == [180, 0, 0] && f.pixel(4) == [128, 128, 128]
    });
}

#[test]
fn discovery_has_stable_entity_ids_and_a_colour_master() {
    let (b, _d, _cap, _c) = start("");
    let mut disc = TestClient::connect(b.port, "sc-disc", &["homeassistant/#"]);
    let light = latest(&mut disc, "homeassistant/light/sc/all/config");
    assert_eq!(light["default_entity_id"], "light.sc_all");
    assert_eq!(
        light["supported_color_modes"],
        json!(["hs", "rgb", "color_temp"])
    );
    assert_eq!(light["effect"], true);
    let floor = latest(&mut disc, "homeassistant/light/sc/floor/config");
    assert_eq!(floor["default_entity_id"], "light.sc_floor");
    assert!(floor.get("object_id").is_none());
    let speed = latest(&mut disc, "homeassistant/number/sc/floor_speed/config");
    assert_eq!(speed["default_entity_id"], "number.sc_floor_speed");
}

#[test]
fn a_zone_palette_reaches_the_leds_and_its_state() {
    let (_b, _d, mut cap, mut c) = start("");
    let k = send(&mut c, "floor/set", r#"{"effect":"fire","palette":"ice"}"#);
    let s = state(&mut c, k, "floor/state", |s| s["palette"] == "ice");
    assert_eq!(s["effect"], "fire");
    // The fire palette never has blue above 38; ice is blue to white.
    cap.wait_frame("a", "icy flames", |f| (0..2).any(|p| f.pixel(p)[2] > 100));
    let k = send(&mut c, "floor/set", r#"{"palette":"zone colour"}"#);
    state(&mut c, k, "floor/state", |s| s["palette"] == "zone colour");
    let k = send(&mut c, "floor/set", r#"{"palette":"tartan"}"#);
    let e = state(&mut c, k, "error", |_| true);
    assert!(
        e["reason"].as_str().unwrap().contains("unknown palette"),
        "{e}"
    );
}

#[test]
fn sunrise_warms_up_from_dark_and_nightlight_fades_out_keeping_brightness() {
    let (_b, _d, mut cap, mut c) = start("");
    let k = send(&mut c, "floor/set", r#"{"state":"OFF"}"#);
    cap.wait_frame("a", "floor off", |f| f.pixel(0) == [0, 0, 0]);
    state(&mut c, k, "floor/state", |s| s["state"] == "OFF");
    let k = send(
        &mut c,
        "set",
        r#"{"sunrise":{"duration":2,"color_temp":5000,"brightness":200,"zones":["floor"]}}"#,
    );
    // The zone reports its end state at once (like any transition)...
    let s = state(&mut c, k, "floor/state", |s| s["state"] == "ON");
    assert_eq!(
        (s["color_mode"].as_str(), s["color_temp"].as_u64()),
        (Some("color_temp"), Some(5000))
    );
    assert_eq!(s["brightness"], 200);
    // ...and the LEDs climb from a dim, warm glow (red well above blue) to the target.
    let warm = cap.wait_frame("a", "a warm glow", |f| {
        let [r, _, b] = f.pixel(0);
        r > 20 && r < 120 && (b as u32) * 2 < r as u32
    });
    let end = cap.wait_frame("a", "5000 K at 200", |f| f.pixel(0)[0] == 200);
    assert!(end.t_us > warm.t_us);
    assert!(end.pixel(0)[2] > 150, "cool at the end: {:?}", end.pixel(0));
    // Nightlight: every zone that is on fades to off; brightness is kept for the next ON.
    let k = send(&mut c, "set", r#"{"nightlight":{"duration":1}}"#);
    cap.wait_frame("a", "dimming", |f| (1..150).contains(&f.pixel(0)[0]));
    cap.wait_frame("a", "all dark", |f| f.wire.iter().all(|&b| b == 0));
    let s = state(&mut c, k, "floor/state", |s| s["state"] == "OFF");
    assert_eq!(s["brightness"], 200);
    state(&mut c, k, "shelf/state", |s| s["state"] == "OFF");
}
