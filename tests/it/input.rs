//! The local control surface end to end: simulated knob edges and buttons drive a full edit session,
//! observed on the LEDs (capture) and in Home Assistant (MQTT state and events).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::json;

use crate::support::{Broker, Capture, Daemon, TestClient, wait_for};
use crate::testconfig::TestConfig;

fn config(port: u16) -> String {
    TestConfig::new("kn")
        .mqtt(port)
        // The idle resend every 100 ms shows what stands once the indicator has stopped.
        .set("render", "refresh = \"100ms\"")
        .set("lamp", "zone = \"b\"")
        .set_all(
            "input",
            &[
                "sim_socket = \"{dir}/input.sock\"",
                "keyboard = \"none\"",
                "acceleration = false",
            ],
        )
        .strip("s")
        .zone("a", "s", 2, [255, 0, 0])
        .zone("b", "s", 2, [0, 0, 255])
        .build()
}

/// A connection to the simulated input socket.
struct Knob {
    w: UnixStream,
    r: BufReader<UnixStream>,
}

impl Knob {
    fn connect(d: &Daemon) -> Knob {
        let path = d.path("input.sock");
        let w = wait_for(Duration::from_secs(10), "input socket", || {
            UnixStream::connect(&path).ok()
        });
        let r = BufReader::new(w.try_clone().unwrap());
        Knob { w, r }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.w, "{line}").unwrap();
        let mut reply = String::new();
        self.r.read_line(&mut reply).unwrap();
        assert_eq!(reply.trim(), "ok", "{line}");
    }

    /// One clockwise detent with contact bounce on both lines.
    fn bouncy_cw(&mut self, knob: &str) {
        for (l, v) in [
            ("a", 0),
            ("a", 1),
            ("a", 0),
            ("b", 0),
            ("a", 1),
            ("b", 1),
            ("b", 0),
            ("b", 1),
        ] {
            self.send(&format!("edge {knob} {l} {v}"));
        }
    }
}

const B: &str = "diuna/kn";

#[test]
fn a_full_edit_session_from_the_knobs() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("s.jsonl"));
    let mut c = TestClient::connect(broker.port, "k-1", &[&format!("{B}/#")]);
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    let mut k = Knob::connect(&d);
    cap.wait_frame("s", "initial", |f| {
        f.pixel(0) == [255, 0, 0] && f.pixel(2) == [0, 0, 255]
    });

    // Edit mode off: the selector does nothing to zones, but the event is published.
    k.send("turn selector 1");
    let ev = c.wait_topic(&format!("{B}/event"), |_| true).json();
    assert_eq!(ev["event_type"], "selector_cw");
    // BTN1 (debounced raw edges with chatter) enters edit mode.
    for line in [
        "button 1 down",
        "button 1 up",
        "button 1 down",
        "button 1 up",
    ] {
        k.send(line);
    }
    let st = c
        .wait_topic(&format!("{B}/state"), |m| m.json()["edit_mode"] == true)
        .json();
    assert_eq!(st["selected_zone"], "a");
    c.wait_topic(&format!("{B}/event"), |m| {
        m.json()["event_type"] == "button_release"
    });
    let presses = c
        .seen
        .iter()
        .filter(|m| m.topic.ends_with("/event") && m.json()["event_type"] == "button_press")
        .count();
    assert_eq!(presses, 1, "chatter gave one press");
    // The indicator pulses zone a (static): a frame below full red appears.
    cap.wait_frame("s", "indicator pulse", |f| {
        f.pixel(0)[0] < 100 && f.pixel(2) == [0, 0, 255]
    });
    // One bouncy clockwise detent on the selector: exactly one step, to zone b.
    k.bouncy_cw("selector");
    c.wait_topic(&format!("{B}/state"), |m| m.json()["selected_zone"] == "b");
    // Hue +30° on zone b (blue 240° → 270°), reported to Home Assistant in hs mode.
    k.send("turn modulator 3");
    let s = c
        .wait_topic(&format!("{B}/b/state"), |m| m.json()["color_mode"] == "hs")
        .json();
    assert_eq!(s["color"], json!({"h": 270.0, "s": 100.0}));
    // Preset target, one step: from violet-ish to the next preset.
    k.send("click modulator");
    c.wait_topic(&format!("{B}/state"), |m| {
        m.json()["edit_target"] == "preset"
    });
    k.send("turn modulator 1");
    c.wait_topic(&format!("{B}/b/state"), |m| m.json()["color_mode"] == "rgb");
    // Brightness target, down 50 %.
    k.send("click modulator");
    k.send("turn modulator -50");
    let s = c
        .wait_topic(&format!("{B}/b/state"), |m| m.json()["brightness"] == 128)
        .json();
    let col = s["color"].clone();
    let want = |v: &serde_json::Value| ((v.as_u64().unwrap() * 128 + 127) / 255) as u8;
    let (r, g, b) = (want(&col["r"]), want(&col["g"]), want(&col["b"]));
    // Leaving edit mode restores zone b exactly to its (new) state; zone a untouched.
    k.send("press 1");
    c.wait_topic(&format!("{B}/state"), |m| m.json()["edit_mode"] == false);
    let f = cap.wait_frame("s", "restored after edit mode", |f| f.pixel(2) == [r, g, b]);
    assert_eq!(f.pixel(0), [255, 0, 0]);
    // Nothing left stuck: the idle resends that follow show the same.
    for _ in 0..3 {
        let next = cap.wait_frame("s", "a later frame", |_| true);
        assert_eq!(
            (next.pixel(0), next.pixel(3)),
            ([255, 0, 0], [r, g, b]),
            "nothing left stuck"
        );
    }

    // BTN3: power off with a fade, then on again, restoring both zones.
    k.send("press 3");
    cap.wait_frame("s", "all dark", |f| f.wire.iter().all(|&x| x == 0));
    c.wait_topic(&format!("{B}/a/state"), |m| m.json()["state"] == "OFF");
    k.send("press 3");
    cap.wait_frame("s", "power restored", |f| {
        f.pixel(0) == [255, 0, 0] && f.pixel(2) == [r, g, b]
    });
    // BTN2: lamp mode on zone b (warm white, full), then back.
    k.send("press 2");
    cap.wait_frame("s", "lamp", |f| f.pixel(2) == [255, 200, 150]);
    c.wait_topic(&format!("{B}/state"), |m| m.json()["lamp"] == true);
    k.send("press 2");
    cap.wait_frame("s", "lamp off restores", |f| f.pixel(2) == [r, g, b]);
    // A long press is an event for automations.
    k.send("button 4 down");
    c.wait_msg(Duration::from_secs(5), "long press event", |m| {
        m.topic.ends_with("/event") && m.json()["event_type"] == "button_long_press"
    });
    k.send("button 4 up");

    // Stopping while in edit mode (the indicator keeps animating) still fades out and exits promptly.
    k.send("press 1");
    c.wait_topic(&format!("{B}/state"), |m| m.json()["edit_mode"] == true);
    let (status, _, dir) = d.stop();
    assert!(status.success());
    let last = Capture::new(&dir.path().join("s.jsonl")).last("s").unwrap();
    assert!(
        last.wire.iter().all(|&x| x == 0),
        "faded out: {:?}",
        last.wire
    );
}

#[test]
fn edges_reported_twice_still_give_exactly_one_detent() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let topics = [format!("{B}/event"), format!("{B}/availability")];
    let mut c = TestClient::connect(broker.port, "k-dup", &[&topics[0], &topics[1]]);
    // Events are published only while connected: turn the knob once Diuna is online.
    c.wait_topic(&topics[1], |m| m.text() == "online");
    let mut k = Knob::connect(&d);
    // Each edge twice, as a line chattering faster than the interrupt can read it reports it.
    let twice = |k: &mut Knob, knob: &str, edges: [(&str, u8); 4]| {
        for (line, level) in edges {
            k.send(&format!("edge {knob} {line} {level}"));
            k.send(&format!("edge {knob} {line} {level}"));
        }
    };
    twice(&mut k, "selector", [("a", 0), ("b", 0), ("a", 1), ("b", 1)]);
    c.wait_topic(&format!("{B}/event"), |m| {
        m.json()["event_type"] == "selector_cw"
    });
    twice(
        &mut k,
        "modulator",
        [("b", 0), ("a", 0), ("b", 1), ("a", 1)],
    );
    c.wait_topic(&format!("{B}/event"), |m| {
        m.json()["event_type"] == "modulator_ccw"
    });
    k.send("click selector");
    c.wait_topic(&format!("{B}/event"), |m| {
        m.json()["event_type"] == "selector_click"
    });
    let turns: Vec<String> = c
        .seen
        .iter()
        .map(|m| {
            m.json()["event_type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .filter(|t| t.ends_with("_cw") || t.ends_with("_ccw"))
        .collect();
    assert_eq!(turns, ["selector_cw", "modulator_ccw"], "one detent each");
}
