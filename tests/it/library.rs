//! Scenes, playlists and power-on behaviour end to end: real daemon, real broker, LEDs through the
//! capture file, restarts on the same state directory.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Broker, Capture, Daemon, TestClient, wait_for};
use crate::testconfig::TestConfig;

const B: &str = "diuna/lb";

fn config(port: u16, extra: &str) -> String {
    TestConfig::new("lb")
        .mqtt(port)
        .set("render", "fade_out = \"100ms\"")
        .set("mqtt", "reconnect_max = \"1s\"")
        .set("state", "debounce = \"100ms\"")
        .set_all(
            "input",
            &["sim_socket = \"{dir}/input.sock\"", "keyboard = \"none\""],
        )
        .strip("a")
        .zone("floor", "a", 2, [255, 0, 0])
        .zone_with("desk", "a", 2, [0, 0, 255], &["on = false"])
        .raw(extra)
        .build()
}

/// A test client that remembers where it was before each command.
struct Client {
    c: TestClient,
}

impl Client {
    fn new(port: u16, id: &str) -> Client {
        let mut c = TestClient::connect(
            port,
            id,
            &[&format!("{B}/#"), "homeassistant/select/lb/+/config"],
        );
        c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
        Client { c }
    }

    fn send(&mut self, topic: &str, payload: &str) -> usize {
        self.c.drain(Duration::ZERO); // what has already arrived is before the mark
        let mark = self.c.seen.len();
        self.c.publish(&format!("{B}/{topic}"), payload);
        mark
    }

    /// The first message since `mark` on `topic` (full topic) satisfying `f`.
    fn expect(&mut self, mark: usize, topic: &str, f: impl Fn(&Value) -> bool) -> Value {
        if let Some(m) = self.c.seen[mark..]
            .iter()
            .find(|m| m.topic == topic && f(&m.json()))
        {
            return m.json();
        }
        self.c.wait_topic(topic, |m| f(&m.json())).json()
    }

    fn device(&mut self, mark: usize, f: impl Fn(&Value) -> bool) -> Value {
        self.expect(mark, &format!("{B}/state"), f)
    }

    fn error(&mut self, mark: usize, needle: &str) {
        let e = self.expect(mark, &format!("{B}/error"), |e| {
            e["reason"].as_str().is_some_and(|r| r.contains(needle))
        });
        assert_eq!(e["topic"], format!("{B}/set"));
    }
}

fn knob(d: &Daemon, line: &str) {
    let path = d.path("input.sock");
    let mut w = wait_for(Duration::from_secs(10), "input socket", || {
        UnixStream::connect(&path).ok()
    });
    writeln!(w, "{line}").unwrap();
    let mut reply = String::new();
    BufReader::new(w).read_line(&mut reply).unwrap();
    assert_eq!(reply.trim(), "ok");
}

#[test]
fn a_saved_scene_survives_a_restart_and_recalls_the_same_capture() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port, ""));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = Client::new(broker.port, "lb-1");
    c.send(
        "floor/set",
        r#"{"color":{"r":10,"g":20,"b":30},"palette":"ocean"}"#,
    );
    c.send(
        "desk/set",
        r#"{"state":"ON","color":{"r":0,"g":90,"b":0},"brightness":128}"#,
    );
    let saved = cap.wait_frame("a", "the look to save", |f| {
        f.pixel(0) == [10, 20, 30] && f.pixel(2) == [0, 45, 0]
    });
    let k = c.send("set", r#"{"scene_save":"evening"}"#);
    let s = c.device(k, |s| s["scenes"] == json!(["evening"]));
    assert_eq!(s["scene"], "evening");
    // The Home Assistant select now offers it.
    c.expect(k, "homeassistant/select/lb/scene/config", |p| {
        p["options"] == json!(["evening"])
    });
    // Change everything, restart, recall.
    c.send(
        "floor/set",
        r#"{"color":{"r":200,"g":0,"b":0},"palette":"zone colour"}"#,
    );
    c.send("desk/set", r#"{"state":"OFF"}"#);
    cap.wait_frame("a", "changed", |f| {
        f.pixel(0) == [200, 0, 0] && f.pixel(2) == [0, 0, 0]
    });
    let (status, _, dir) = d.stop();
    assert!(status.success());
    let d = Daemon::start_in(dir, &config(broker.port, ""));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = Client::new(broker.port, "lb-2");
    let k = c.send("set", r#"{"scene":"evening","transition":0}"#);
    let f = cap.wait_frame("a", "the saved look", |f| f.wire == saved.wire);
    assert_eq!(f.wire, saved.wire);
    c.device(k, |s| s["scene"] == "evening");
    let floor = c.expect(k, &format!("{B}/floor/state"), |s| s["palette"] == "ocean");
    assert_eq!(floor["color"], json!({"r":10,"g":20,"b":30}));
    // Rename and delete; the select follows.
    let k = c.send("set", r#"{"scene_rename":{"from":"evening","to":"late"}}"#);
    c.expect(k, "homeassistant/select/lb/scene/config", |p| {
        p["options"] == json!(["late"])
    });
    let k = c.send("set", r#"{"scene_delete":"late"}"#);
    let s = c.device(k, |s| s["scenes"] == json!([]));
    assert_eq!(s["scene"], Value::Null);
}

#[test]
fn scene_mistakes_are_reported_and_change_nothing() {
    let broker = Broker::start();
    let extra = "[[scenes]]\nname = \"fixed\"\n[scenes.zones.floor]\ncolor = [0, 0, 50]\n";
    let d = Daemon::start(&config(broker.port, extra));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = Client::new(broker.port, "lb-3");
    cap.wait_frame("a", "start", |f| f.pixel(0) == [255, 0, 0]);
    let k = c.send("set", r#"{"scene":"nope"}"#);
    c.error(k, "unknown scene \"nope\"");
    let k = c.send("set", r#"{"scene_save":"fixed"}"#);
    c.error(k, "config file");
    let k = c.send("set", r#"{"scene_delete":"fixed"}"#);
    c.error(k, "config file");
    let k = c.send("set", r#"{"scene_save":true}"#);
    c.error(k, "no scene name");
    let k = c.send("set", r#"{"scene":"x","transition":315360000}"#);
    c.error(k, "transition");
    let k = c.send("set", r#"{"sunrise":{"minutes":0}}"#);
    c.error(k, "more than 0");
    let k = c.send("floor/set", r#"{"palette":"plaid"}"#);
    c.expect(k, &format!("{B}/error"), |e| {
        e["reason"]
            .as_str()
            .is_some_and(|r| r.contains("unknown palette"))
    });
    assert_eq!(
        cap.last("a").unwrap().pixel(0),
        [255, 0, 0],
        "nothing changed"
    );
    // The text + button path: name, then save.
    let k = c.send("set", r#"{"scene_name":"mine"}"#);
    c.device(k, |s| s["scene_name"] == "mine");
    let k = c.send("set", r#"{"scene_save":true}"#);
    let s = c.device(k, |s| s["scenes"] == json!(["fixed", "mine"]));
    assert_eq!(s["scene"], "mine", "a saved scene is the current one");
    // The knob: a long press of BTN4 cycles the scenes in name order (wrapping).
    let k = c.c.seen.len();
    knob(&d, "long 4");
    c.device(k, |s| s["scene"] == "fixed");
    cap.wait_frame("a", "the declared scene", |f| f.pixel(0) == [0, 0, 50]);
}

#[test]
fn a_playlist_advances_and_a_manual_change_stops_it() {
    let broker = Broker::start();
    let extra = r#"
[[scenes]]
name = "red"
[scenes.zones.floor]
color = [100, 0, 0]
[[scenes]]
name = "green"
[scenes.zones.floor]
color = [0, 100, 0]
[[playlists]]
name = "loop"
entries = [{ scene = "red", duration = "1s", transition = "0s" }, { scene = "green", duration = "1s", transition = "0s" }]
"#;
    let d = Daemon::start(&config(broker.port, extra));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = Client::new(broker.port, "lb-4");
    let k = c.send("set", r#"{"playlist":"loop"}"#);
    c.device(k, |s| s["playlist"] == "loop");
    // Config-declared playlists are in the select from the start (retained, maybe seen before `k`).
    c.expect(0, "homeassistant/select/lb/playlist/config", |p| {
        p["options"] == json!(["off", "loop"])
    });
    let red = cap.wait_frame("a", "first entry", |f| f.pixel(0) == [100, 0, 0]);
    let green = cap.wait_frame("a", "second entry", |f| f.pixel(0) == [0, 100, 0]);
    cap.wait_frame("a", "round two", |f| f.pixel(0) == [100, 0, 0]);
    let step_ms = (green.t_us - red.t_us) / 1000;
    assert!(
        (700..3000).contains(&step_ms),
        "an entry lasted {step_ms} ms"
    );
    // A manual change stops it.
    let k = c.send("floor/set", r#"{"color":{"r":1,"g":2,"b":3}}"#);
    c.device(k, |s| s["playlist"] == "off");
    cap.wait_frame("a", "manual colour", |f| f.pixel(0) == [1, 2, 3]);
    let k = c.send("set", r#"{"playlist":"nope"}"#);
    c.error(k, "unknown playlist");
    // Saved over MQTT, then started from the select's stop option.
    let k = c.send("set", r#"{"playlist_save":{"name":"mine","repeat":1,"end":"red","entries":[{"scene":"green","duration":1}]}}"#);
    c.device(k, |s| s["playlists"] == json!(["loop", "mine"]));
    let k = c.send("set", r#"{"playlist":"mine"}"#);
    cap.wait_frame("a", "mine: green", |f| f.pixel(0) == [0, 100, 0]);
    cap.wait_frame("a", "mine ends on red", |f| f.pixel(0) == [100, 0, 0]);
    c.device(k, |s| s["playlist"] == "off");
}

#[test]
fn power_loss_and_restart_are_told_apart() {
    let broker = Broker::start();
    let extra = "[power_on]\nafter_restart = \"previous\"\nafter_power_loss = \"off\"\n[power_on.zones.desk]\nafter_restart = \"on\"\n";
    let d = Daemon::start(&config(broker.port, extra));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "floor lit, desk off", |f| {
        f.pixel(0) == [255, 0, 0] && f.pixel(2) == [0, 0, 0]
    });
    // A clean stop: after_restart (floor previous = on, desk forced on).
    let (status, _, dir) = d.stop();
    assert!(status.success());
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
    assert_eq!(state["clean_shutdown"], true);
    let mut d = Daemon::start_in(dir, &config(broker.port, extra));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "restart: both lit", |f| {
        f.pixel(0) == [255, 0, 0] && f.pixel(2) == [0, 0, 255]
    });
    // The marker is cleared at once, so a power cut now is seen as one.
    wait_for(Duration::from_secs(5), "marker cleared", || {
        let v: Value = serde_json::from_slice(&std::fs::read(d.path("state.json")).ok()?).ok()?;
        (v["clean_shutdown"] == false).then_some(())
    });
    d.signal("KILL");
    d.wait_exit(Duration::from_secs(5));
    let dir = std::mem::replace(&mut d.dir, tempfile::tempdir().unwrap());
    drop(d);
    let d = Daemon::start_in(dir, &config(broker.port, extra));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "power loss: all off", |f| {
        f.wire.iter().all(|&b| b == 0)
    });
    let mut c = Client::new(broker.port, "lb-5");
    let floor = c.expect(0, &format!("{B}/floor/state"), |s| s["state"] == "OFF");
    assert_eq!(
        floor["brightness"], 255,
        "off keeps the brightness for the next ON"
    );
}

#[test]
fn a_scene_naming_a_removed_zone_is_applied_to_the_zones_that_remain() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port, ""));
    let mut c = Client::new(broker.port, "lb-6");
    c.send("floor/set", r#"{"color":{"r":0,"g":0,"b":77}}"#);
    c.send("desk/set", r#"{"state":"ON","color":{"r":9,"g":9,"b":9}}"#);
    let k = c.send("set", r#"{"scene_save":"both"}"#);
    c.device(k, |s| s["scenes"] == json!(["both"]));
    let (status, _, dir) = d.stop();
    assert!(status.success());
    // The desk is gone from the config.
    let desk = "[[zones]]\nid = \"desk\"\nstrip = \"a\"\npixels = 2\ncolor = [0, 0, 255]\nbrightness = 255\non = false\n";
    let smaller = config(broker.port, "").replace(desk, "");
    assert!(!smaller.contains("\"desk\""));
    let d = Daemon::start_in(dir, &smaller);
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = Client::new(broker.port, "lb-7");
    c.send("floor/set", r#"{"color":{"r":1,"g":1,"b":1}}"#);
    cap.wait_frame("a", "changed", |f| f.pixel(0) == [1, 1, 1]);
    let k = c.send("set", r#"{"scene":"both","transition":0}"#);
    cap.wait_frame("a", "the floor from the scene", |f| {
        f.pixel(0) == [0, 0, 77]
    });
    c.device(k, |s| s["scene"] == "both");
    wait_for(
        Duration::from_secs(5),
        "a warning naming the missing zone",
        || {
            let log = d.log();
            (log.contains("no longer exist") && log.contains("desk")).then_some(())
        },
    );
}
