//! MQTT and Home Assistant: discovery, commands → LEDs and state, bad input, last will, broker and
//! Home Assistant restarts. Real daemon, real Mosquitto.

use std::time::Duration;

use serde_json::json;

use crate::support::{Broker, Capture, Daemon, TestClient, wait_for};
use crate::testconfig::TestConfig;

fn config(port: u16) -> String {
    TestConfig::new("it")
        .top("name = \"Diuna IT\"")
        .mqtt(port)
        .set("render", "fade_out = \"200ms\"")
        .set_all("mqtt", &["keep_alive = \"5s\"", "reconnect_max = \"1s\""])
        .set("lamp", "zone = \"desk\"")
        .strip("a")
        .zone_with("floor", "a", 4, [255, 0, 0], &["name = \"Floor\""])
        .zone_with("desk", "a", 2, [0, 0, 255], &["name = \"Desk\""])
        .build()
}

const B: &str = "diuna/it";

fn online(c: &mut TestClient) {
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
}

fn state_of(
    c: &mut TestClient,
    zone: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    c.wait_topic(&format!("{B}/{zone}/state"), |m| f(&m.json()))
        .json()
}

#[test]
fn discovery_announces_every_entity_with_required_keys() {
    let broker = Broker::start();
    let _d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(
        broker.port,
        "t-disc",
        &["homeassistant/#", &format!("{B}/#")],
    );
    online(&mut c);
    // Every entity's discovery is waited for by topic (among what has arrived, or still to come).
    let mut find = |t: &str| c.seen_or_wait(t).json();
    for zone in ["floor", "desk"] {
        let l = find(&format!("homeassistant/light/it/{zone}/config"));
        assert_eq!(l["schema"], "json");
        assert_eq!(l["unique_id"], format!("it_{zone}"));
        assert_eq!(l["command_topic"], format!("{B}/{zone}/set"));
        assert_eq!(l["state_topic"], format!("{B}/{zone}/state"));
        assert_eq!(l["availability_topic"], format!("{B}/availability"));
        assert_eq!(l["brightness"], true);
        assert_eq!(l["effect"], true);
        assert_eq!(l["color_temp_kelvin"], true);
        assert_eq!(
            l["supported_color_modes"],
            json!(["hs", "rgb", "color_temp"])
        );
        assert!(l["effect_list"].as_array().unwrap().len() >= 21);
        assert_eq!(l["device"]["identifiers"][0], "diuna_it");
        assert_eq!(l["device"]["name"], "Diuna IT");
        assert!(l["origin"]["name"].is_string());
        assert_eq!(l["flash_time_short"], 2);
        assert_eq!(l["qos"], 1, "Home Assistant publishes commands at QoS 1");
        for deprecated in ["color_mode", "rgb", "hs", "xy", "object_id"] {
            assert!(l.get(deprecated).is_none(), "deprecated key {deprecated}");
        }
        let n = find(&format!("homeassistant/number/it/{zone}_speed/config"));
        assert_eq!(n["command_topic"], format!("{B}/{zone}/speed/set"));
        assert_eq!(n["entity_category"], "config");
        assert_eq!(
            (n["min"].as_f64(), n["max"].as_f64()),
            (Some(1.0), Some(100.0))
        );
    }
    assert_eq!(
        find("homeassistant/light/it/all/config")["command_topic"],
        format!("{B}/all/set")
    );
    assert_eq!(
        find("homeassistant/switch/it/edit_mode/config")["command_topic"],
        format!("{B}/set")
    );
    assert!(find("homeassistant/switch/it/lamp/config").is_object());
    let sel = find("homeassistant/select/it/selected_zone/config");
    assert_eq!(sel["options"], json!(["floor", "desk"]));
    assert_eq!(
        find("homeassistant/select/it/preset/config")["options"][0],
        "red"
    );
    for s in [
        "fps",
        "frame_time_p99",
        "uptime",
        "cpu_temperature",
        "current",
    ] {
        let p = find(&format!("homeassistant/sensor/it/{s}/config"));
        assert_eq!(p["entity_category"], "diagnostic");
        assert_eq!(p["state_topic"], format!("{B}/health"));
    }
    let ev = find("homeassistant/event/it/input/config");
    assert!(
        ev["event_types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "selector_cw")
    );
    assert_eq!(
        find("homeassistant/button/it/identify/config")["payload_press"],
        "{\"identify\":true}"
    );
    // Retained state for every zone, the master and the device, and health.
    let floor = c.seen_or_wait(&format!("{B}/floor/state")).json();
    assert_eq!(floor["color"], json!({"r":255,"g":0,"b":0}));
    assert_eq!(floor["color_mode"], "rgb");
    c.seen_or_wait(&format!("{B}/health"));
    // A late subscriber gets the retained device state and health.
    let mut late = TestClient::connect(
        broker.port,
        "t-disc-late",
        &[&format!("{B}/state"), &format!("{B}/health")],
    );
    let dev = late.wait_topic(&format!("{B}/state"), |m| m.retain).json();
    assert_eq!(dev["edit_mode"], false);
    assert_eq!(dev["selected_zone"], "floor");
    let h = late.wait_topic(&format!("{B}/health"), |m| m.retain).json();
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn command_changes_leds_and_retained_state() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "t-cmd", &[&format!("{B}/#")]);
    online(&mut c);
    c.publish(
        &format!("{B}/floor/set"),
        r#"{"state":"ON","color":{"r":0,"g":255,"b":0},"brightness":255}"#,
    );
    let f = cap.wait_frame("a", "floor green", |f| f.pixel(0) == [0, 255, 0]);
    assert_eq!(f.pixel(3), [0, 255, 0]);
    assert_eq!(f.pixel(4), [0, 0, 255], "desk untouched");
    let s = state_of(&mut c, "floor", |s| s["color"]["g"] == 255);
    assert_eq!(s["state"], "ON");
    assert_eq!(s["color_mode"], "rgb");
    // The preset select follows the selected zone (the floor) to its nearest preset.
    c.wait_topic(&format!("{B}/state"), |m| m.json()["preset"] == "green");

    // hs colour, colour temperature, brightness, effect and off, each reflected in state.
    c.publish(&format!("{B}/floor/set"), r#"{"color":{"h":240,"s":100}}"#);
    let s = state_of(&mut c, "floor", |s| s["color_mode"] == "hs");
    assert_eq!(s["color"], json!({"h":240.0,"s":100.0}));
    cap.wait_frame("a", "floor blue", |f| f.pixel(0) == [0, 0, 255]);
    c.wait_topic(&format!("{B}/state"), |m| m.json()["preset"] == "blue");
    c.publish(&format!("{B}/floor/set"), r#"{"color_temp":2700}"#);
    let s = state_of(&mut c, "floor", |s| s["color_mode"] == "color_temp");
    assert_eq!(s["color_temp"], 2700);
    assert!(s.get("color").is_none());
    c.publish(&format!("{B}/floor/set"), r#"{"brightness":0}"#);
    let s = state_of(&mut c, "floor", |s| s["state"] == "OFF");
    assert_ne!(s["brightness"], 0, "never reports brightness 0");
    cap.wait_frame("a", "floor dark", |f| f.pixel(0) == [0, 0, 0]);
    c.publish(&format!("{B}/floor/set"), r#"{"state":"ON"}"#);
    let s = state_of(&mut c, "floor", |s| s["state"] == "ON");
    assert_eq!(s["brightness"], 255, "ON restores the last brightness");
    c.publish(&format!("{B}/floor/set"), r#"{"effect":"rainbow"}"#);
    state_of(&mut c, "floor", |s| s["effect"] == "rainbow");
    c.publish(&format!("{B}/floor/speed/set"), "80");
    c.wait_topic(&format!("{B}/floor/speed/state"), |m| m.text() == "80");
    c.publish(&format!("{B}/floor/set"), r#"{"effect":"off"}"#);
    state_of(&mut c, "floor", |s| s["effect"] == "off");

    // The master scales every zone.
    c.publish(&format!("{B}/all/set"), r#"{"brightness":128}"#);
    c.wait_topic(&format!("{B}/all/state"), |m| m.json()["brightness"] == 128);
    cap.wait_frame("a", "desk at half", |f| f.pixel(4) == [0, 0, 128]);
    c.publish(&format!("{B}/all/set"), r#"{"state":"OFF"}"#);
    cap.wait_frame("a", "all dark", |f| f.wire.iter().all(|&b| b == 0));
    state_of(&mut c, "desk", |s| s["state"] == "OFF");
}

/// While commands stream in, the bridge holds the state updates they cause until the next command
/// (one wake-up per command, not two); the last of a stream still goes out on its own, and a lone
/// command after it is answered as before.
#[test]
fn a_stream_of_commands_ends_with_the_last_state_published() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "t-stream", &[&format!("{B}/#")]);
    online(&mut c);
    state_of(&mut c, "floor", |_| true);
    for b in 100..=140 {
        c.publish(
            &format!("{B}/floor/set"),
            format!(r#"{{"brightness":{b}}}"#),
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = state_of(&mut c, "floor", |s| s["brightness"] == 140);
    assert_eq!(s["state"], "ON");
    cap.wait_frame("a", "the last brightness", |f| f.pixel(0) == [140, 0, 0]);
    // And a lone command after the stream is answered as before.
    c.publish(&format!("{B}/floor/set"), r#"{"brightness":60}"#);
    state_of(&mut c, "floor", |s| s["brightness"] == 60);
}

#[test]
fn the_master_light_follows_its_zones_on_and_off() {
    let broker = Broker::start();
    let _d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "t-master", &[&format!("{B}/#")]);
    online(&mut c);
    let all = format!("{B}/all/state");
    c.seen_or_wait(&all);
    // Turning the zones off one by one: the master stays ON while one zone is on.
    c.publish(&format!("{B}/floor/set"), r#"{"state":"OFF"}"#);
    state_of(&mut c, "floor", |s| s["state"] == "OFF");
    c.publish(&format!("{B}/desk/set"), r#"{"brightness":90}"#);
    state_of(&mut c, "desk", |s| s["brightness"] == 90);
    assert_eq!(
        c.seen_or_wait(&all).json()["state"],
        "ON",
        "the desk is still on"
    );
    c.publish(&format!("{B}/desk/set"), r#"{"state":"OFF"}"#);
    c.wait_topic(&all, |m| m.json()["state"] == "OFF");
    // One zone back on turns the master ON again, and its brightness is untouched throughout.
    c.publish(&format!("{B}/floor/set"), r#"{"state":"ON"}"#);
    let m = c.wait_topic(&all, |m| m.json()["state"] == "ON").json();
    assert_eq!(m["brightness"], 255);
}

#[test]
fn bad_input_is_rejected_with_a_message_and_the_daemon_keeps_serving() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "t-bad", &[&format!("{B}/#")]);
    online(&mut c);
    cap.wait_frame("a", "initial red", |f| f.pixel(0) == [255, 0, 0]);
    let big = format!("{{\"state\":\"ON\",\"pad\":\"{}\"}}", "x".repeat(17 * 1024));
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (format!("{B}/floor/set"), b"{not json".to_vec(), "not valid"),
        (
            format!("{B}/floor/set"),
            br#"{"brightness":"full"}"#.to_vec(),
            "brightness",
        ),
        (
            format!("{B}/floor/set"),
            br#"{"brightness":999}"#.to_vec(),
            "out of range",
        ),
        (
            format!("{B}/floor/set"),
            br#"{"color":{"r":-1,"g":0,"b":0}}"#.to_vec(),
            "color",
        ),
        (
            format!("{B}/floor/set"),
            br#"{"effect":"disco"}"#.to_vec(),
            "unknown effect",
        ),
        (
            format!("{B}/attic/set"),
            br#"{"state":"ON"}"#.to_vec(),
            "unknown zone",
        ),
        (format!("{B}/floor/set"), big.into_bytes(), "limit"),
        (
            format!("{B}/floor/set"),
            vec![0xff, 0x00, 0xfe, 0x80],
            "UTF-8",
        ),
        (
            format!("{B}/floor/speed/set"),
            b"fast".to_vec(),
            "plain number",
        ),
        (format!("{B}/floor/speed/set"), b"1000".to_vec(), "between"),
        (
            format!("{B}/set"),
            br#"{"preset":"beige"}"#.to_vec(),
            "unknown preset",
        ),
        (
            format!("{B}/set"),
            br#"{"edit_mdoe":true}"#.to_vec(),
            "unknown key(s) edit_mdoe",
        ),
        (format!("{B}/set"), b"{}".to_vec(), "no device command"),
        (format!("{B}/desk/set"), Vec::new(), "empty payload"),
    ];
    for (topic, payload, needle) in &cases {
        c.publish(topic, payload.clone());
        let e = c
            .wait_topic(&format!("{B}/error"), |m| {
                m.json()["topic"] == topic.as_str()
            })
            .json();
        let reason = e["reason"].as_str().unwrap();
        assert!(reason.contains(needle), "{topic}: {reason}");
    }
    // Nothing changed: the zone is still red, its state was never republished.
    let last = cap.last("a").unwrap();
    assert_eq!(last.pixel(0), [255, 0, 0]);
    assert!(
        !c.seen
            .iter()
            .any(|m| m.topic == format!("{B}/floor/state") && m.json()["state"] == "OFF")
    );
    // Still serving.
    c.publish(
        &format!("{B}/floor/set"),
        r#"{"color":{"r":1,"g":2,"b":3}}"#,
    );
    cap.wait_frame("a", "good command after bad ones", |f| {
        f.pixel(0) == [1, 2, 3]
    });
    d.wait_log("rejected MQTT command");
}

#[test]
fn retained_commands_are_ignored() {
    let broker = Broker::start();
    let c = TestClient::connect(broker.port, "t-ret", &[]);
    c.publish_retained(&format!("{B}/floor/set"), r#"{"state":"OFF"}"#);
    let mut c = TestClient::connect(broker.port, "t-ret2", &[&format!("{B}/#")]);
    // Once the broker forwards it, it holds the retained copy (the forwarded one may come live, with
    // the retain flag clear, when this subscription was faster than the publisher).
    c.wait_topic(&format!("{B}/floor/set"), |_| true);
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    online(&mut c);
    cap.wait_frame("a", "red shown", |f| f.pixel(0) == [255, 0, 0]);
    // Give the retained command every chance to (wrongly) act: a later command is processed after it.
    c.publish(&format!("{B}/desk/set"), r#"{"color":{"r":9,"g":9,"b":9}}"#);
    let f = cap.wait_frame("a", "desk changed", |f| f.pixel(4) == [9, 9, 9]);
    assert_eq!(f.pixel(0), [255, 0, 0], "retained OFF must be ignored");
}

#[test]
fn sigkill_leaves_offline_via_last_will() {
    let broker = Broker::start();
    let mut d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "t-will", &[&format!("{B}/availability")]);
    online(&mut c);
    d.signal("KILL");
    d.wait_exit(Duration::from_secs(5));
    // Keep-alive is 5 s: the broker declares the client dead within 1.5 × keep-alive.
    c.wait_msg(Duration::from_secs(15), "offline will", |m| {
        m.text() == "offline"
    });
}

#[test]
fn sigterm_publishes_offline_and_exits_zero() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "t-term", &[&format!("{B}/availability")]);
    online(&mut c);
    let (status, _, _) = d.stop();
    assert!(status.success());
    c.wait_msg(Duration::from_secs(3), "clean offline", |m| {
        m.text() == "offline"
    });
}

#[test]
fn broker_restart_is_survived_and_state_republished() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "t-rs1", &[&format!("{B}/#")]);
    online(&mut c);
    c.publish(
        &format!("{B}/desk/set"),
        r#"{"color":{"r":0,"g":200,"b":0}}"#,
    );
    state_of(&mut c, "desk", |s| s["color"]["g"] == 200);
    drop(c);
    let broker = broker.restart(); // a fresh broker: no retained messages survive
    let mut c = TestClient::connect(broker.port, "t-rs2", &[&format!("{B}/#")]);
    // The daemon reconnects and re-publishes its current (not stale) state.
    c.wait_msg(Duration::from_secs(20), "online after restart", |m| {
        m.topic == format!("{B}/availability") && m.text() == "online"
    });
    let s = state_of(&mut c, "desk", |s| s["color"]["g"] == 200);
    assert_eq!(s["state"], "ON");
    // And takes commands again.
    c.publish(&format!("{B}/desk/set"), r#"{"color":{"r":5,"g":6,"b":7}}"#);
    cap.wait_frame("a", "command after reconnect", |f| f.pixel(4) == [5, 6, 7]);
    wait_for(Duration::from_secs(1), "reconnect logged", || {
        d.log().contains("MQTT connected").then_some(())
    });
}

#[test]
fn home_assistant_birth_message_republishes_discovery() {
    let broker = Broker::start();
    let _d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "t-birth", &[&format!("{B}/availability")]);
    online(&mut c);
    let mut watcher = TestClient::connect(
        broker.port,
        "t-birth2",
        &["homeassistant/light/it/+/config"],
    );
    for zone in ["floor", "desk"] {
        watcher.wait_topic(&format!("homeassistant/light/it/{zone}/config"), |m| {
            m.retain
        });
    }
    c.publish("homeassistant/status", "online");
    watcher.wait_msg(Duration::from_secs(10), "fresh discovery", |m| {
        !m.retain && m.topic.ends_with("/floor/config")
    });
}

#[test]
fn removed_zone_loses_its_entities_and_their_retained_state() {
    let broker = Broker::start();
    let c = TestClient::connect(broker.port, "t-rm", &[]);
    // Entities of a zone that a previous config had, and the state they left behind.
    let stale = [
        (
            "homeassistant/light/it/attic/config".to_string(),
            format!(r#"{{"schema":"json","name":"Attic","state_topic":"{B}/attic/state"}}"#),
        ),
        (format!("{B}/attic/state"), r#"{"state":"ON"}"#.to_string()),
        (
            "homeassistant/number/it/attic_speed/config".to_string(),
            format!(r#"{{"name":"Attic speed","state_topic":"{B}/attic/speed/state"}}"#),
        ),
        (format!("{B}/attic/speed/state"), "50".to_string()),
    ];
    for (topic, payload) in &stale {
        c.publish_retained(topic, payload.as_str());
    }
    let topics: Vec<&str> = stale.iter().map(|(t, _)| t.as_str()).collect();
    let mut w = TestClient::connect(broker.port, "t-rm2", &topics);
    for t in &topics {
        w.wait_msg(
            Duration::from_secs(5),
            "stale retained message present",
            |m| m.topic == *t && !m.payload.is_empty(),
        );
    }
    let _d = Daemon::start(&config(broker.port));
    for t in &topics {
        w.wait_msg(Duration::from_secs(15), &format!("{t} cleared"), |m| {
            m.topic == *t && m.payload.is_empty()
        });
    }
}
