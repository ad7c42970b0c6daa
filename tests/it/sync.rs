//! A sync group end to end: two real daemons in one group on one broker draw the same effect frame at
//! the same moment, and a group command (sent like Home Assistant's group light, without `at`) changes
//! both on the same frame.

use crate::support::{Broker, Capture, CapturedFrame, Daemon, TestClient};
use crate::testconfig::TestConfig;

/// Frame interval at 60 FPS, in µs.
const FRAME_US: u64 = 16_667;

fn config(mqtt: u16, id: &str) -> String {
    TestConfig::new(id)
        .top("fps = 60")
        .mqtt(mqtt)
        .set("render", "fade_out = \"0s\"")
        .set_all("sync", &["group = \"party\"", "lead = \"300ms\""])
        .strip("a")
        .zone("lamp", "a", 3, [255, 0, 0])
        .zone_with("fx", "a", 30, [255, 255, 255], &["effect = \"rainbow\""])
        .build()
}

fn pair() -> (Broker, Daemon, Daemon, TestClient) {
    let broker = Broker::start();
    let a = Daemon::start(&config(broker.port, "m1"));
    let b = Daemon::start(&config(broker.port, "m2"));
    let mut c = TestClient::connect(broker.port, "t-sync", &["diuna/#", "homeassistant/#"]);
    for (id, d) in [("m1", &a), ("m2", &b)] {
        let topic = format!("diuna/{id}/availability");
        // The other member's `online` may have arrived while waiting for this one.
        if !c
            .seen
            .iter()
            .any(|m| m.topic == topic && m.text() == "online")
        {
            let log = d.log();
            assert!(!log.contains("ERROR"), "{id}: {log}");
            c.wait_topic(&topic, |m| m.text() == "online");
        }
    }
    (broker, a, b, c)
}

fn fx(f: &CapturedFrame) -> &[u8] {
    &f.wire[9..]
}

#[test]
fn members_draw_the_same_effect_frame_at_the_same_moment() {
    let (_broker, a, b, _c) = pair();
    let (mut ca, mut cb) = (
        Capture::new(&a.path("a.jsonl")),
        Capture::new(&b.path("a.jsonl")),
    );
    // One second of both, after both have started.
    let start = cb.wait_frame("a", "member 2 running", |_| true).t_us;
    let end = start + 1_000_000;
    ca.wait_frame("a", "member 1 a second on", |f| f.t_us > end);
    cb.wait_frame("a", "member 2 a second on", |f| f.t_us > end);
    let window: Vec<&CapturedFrame> = ca
        .frames
        .iter()
        .filter(|f| f.t_us > start && f.t_us < end)
        .collect();
    assert!(
        window.len() > 30,
        "member 1 animates: {} frames",
        window.len()
    );
    let matched = window
        .iter()
        .filter(|fa| {
            cb.frames
                .iter()
                .any(|fb| fx(fb) == fx(fa) && fb.t_us.abs_diff(fa.t_us) < FRAME_US)
        })
        .count();
    assert!(
        matched * 10 >= window.len() * 9,
        "only {matched} of {} frames of member 1 have the same picture on member 2 within a frame",
        window.len()
    );
}

#[test]
fn a_group_command_changes_every_member_on_the_same_frame() {
    let (_broker, a, b, mut c) = pair();
    let disc = c.wait_topic("homeassistant/light/diuna_group_party/light/config", |m| {
        !m.payload.is_empty()
    });
    assert_eq!(disc.json()["command_topic"], "diuna/group/party/set");
    let (mut ca, mut cb) = (
        Capture::new(&a.path("a.jsonl")),
        Capture::new(&b.path("a.jsonl")),
    );
    ca.wait_frame("a", "member 1 red", |f| f.pixel(0) == [255, 0, 0]);
    cb.wait_frame("a", "member 2 red", |f| f.pixel(0) == [255, 0, 0]);
    // As Home Assistant's group light sends it: no "at". The members stamp it.
    c.publish(
        "diuna/group/party/set",
        r#"{"color":{"r":0,"g":255,"b":0}}"#,
    );
    let stamped = c.wait_topic("diuna/group/party/set", |m| m.json()["at"].is_number());
    let at_us = (stamped.json()["at"].as_f64().unwrap() * 1e6) as u64;
    let ga = ca.wait_frame("a", "member 1 green", |f| f.pixel(0) == [0, 255, 0]);
    let gb = cb.wait_frame("a", "member 2 green", |f| f.pixel(0) == [0, 255, 0]);
    assert!(
        ga.t_us + 2_000 >= at_us && gb.t_us + 2_000 >= at_us,
        "applied before its time"
    );
    assert!(
        ga.t_us.abs_diff(gb.t_us) < FRAME_US,
        "members changed {} µs apart",
        ga.t_us.abs_diff(gb.t_us)
    );
    c.wait_topic("diuna/group/party/state", |m| m.json()["color"]["g"] == 255);
    // A stamp far from the members' clocks is refused with a reason.
    c.publish("diuna/group/party/set", r#"{"state":"OFF","at":1000}"#);
    let e = c.wait_topic("diuna/m1/error", |m| m.text().contains("NTP"));
    assert!(
        e.json()["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("\"at\"")),
        "{}",
        e.text()
    );
}
