//! Nothing lost, nothing stuck: state survives restarts and SIGKILL, bad state files never stop the
//! daemon, failed tasks are restarted, and SIGTERM stops in order.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Broker, Capture, Daemon, TestClient, wait_for};
use crate::testconfig::TestConfig;

fn config(port: u16) -> String {
    TestConfig::new("pt")
        .mqtt(port)
        .set("render", "fade_out = \"400ms\"")
        .set("mqtt", "reconnect_max = \"1s\"")
        .set("state", "debounce = \"200ms\"")
        .strip("a")
        .zone("one", "a", 3, [255, 0, 0])
        .zone("two", "a", 3, [0, 0, 255])
        .build()
}

const B: &str = "diuna/pt";

fn read_state(d: &Daemon) -> Option<Value> {
    let text = std::fs::read(d.path("state.json")).ok()?;
    Some(serde_json::from_slice(&text).expect("state file is always valid JSON"))
}

#[test]
fn state_survives_a_restart() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "p-1", &[&format!("{B}/#")]);
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    c.publish(
        &format!("{B}/one/set"),
        r#"{"color":{"r":10,"g":20,"b":30},"brightness":255}"#,
    );
    c.publish(&format!("{B}/two/set"), r#"{"effect":"snake"}"#);
    c.publish(&format!("{B}/two/speed/set"), "90");
    c.wait_topic(&format!("{B}/two/speed/state"), |m| m.text() == "90");
    let (status, _, dir) = d.stop();
    assert!(status.success());
    // Restart on the same directory.
    let d = Daemon::start_in(dir, &config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "restored colour", |f| f.pixel(0) == [10, 20, 30]);
    let mut c = TestClient::connect(broker.port, "p-2", &[&format!("{B}/#")]);
    c.wait_topic(&format!("{B}/two/state"), |m| m.json()["effect"] == "snake");
    c.wait_topic(&format!("{B}/two/speed/state"), |m| m.text() == "90");
}

#[test]
fn sigkill_in_a_burst_leaves_a_valid_file_with_an_acknowledged_state() {
    let broker = Broker::start();
    let mut d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "p-k", &[&format!("{B}/one/state")]);
    c.wait_topic(&format!("{B}/one/state"), |_| true);
    // First burst; its last value is acknowledged (published) and, after the debounce, persisted.
    for r in 1..=50u8 {
        c.publish(
            &format!("{B}/one/set"),
            format!(r#"{{"color":{{"r":{r},"g":0,"b":0}}}}"#),
        );
    }
    c.wait_topic(&format!("{B}/one/state"), |m| m.json()["color"]["r"] == 50);
    wait_for(
        Duration::from_secs(5),
        "state file has the last acknowledged colour",
        || read_state(&d).filter(|s| s["zones"]["one"]["color"][0] == 50),
    );
    // Second burst, killed in the middle.
    for r in 101..=150u8 {
        c.publish(
            &format!("{B}/one/set"),
            format!(r#"{{"color":{{"r":{r},"g":0,"b":0}}}}"#),
        );
        if r == 125 {
            d.signal("KILL");
        }
    }
    d.wait_exit(Duration::from_secs(5));
    let state = read_state(&d).expect("state file present");
    let r = state["zones"]["one"]["color"][0].as_u64().unwrap();
    assert!(
        r == 50 || (101..=125).contains(&r),
        "restored r={r} was never acknowledged"
    );
    assert!(!d.path("state.json.bad").exists());
    // And it comes back with exactly that.
    let dir = std::mem::replace(&mut d.dir, tempfile::tempdir().unwrap());
    drop(d);
    let d = Daemon::start_in(dir, &config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "restored after SIGKILL", |f| {
        f.pixel(0) == [r as u8, 0, 0]
    });
}

#[test]
fn corrupt_and_foreign_state_files_never_stop_the_daemon() {
    let broker = Broker::start();
    for (content, bad) in [
        (&b"{\"zones\": {\"one\": {\"on\": tr"[..], true),
        (b"\x00\xff\xfe garbage", true),
        (
            br#"{"version": 99, "gadgets": [1,2], "zones": {"ghost": {"x": 1}}}"#,
            false,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), content).unwrap();
        let d = Daemon::start_in(dir, &config(broker.port));
        let mut cap = Capture::new(&d.path("a.jsonl"));
        cap.wait_frame("a", "defaults from the config", |f| {
            f.pixel(0) == [255, 0, 0] && f.pixel(3) == [0, 0, 255]
        });
        assert_eq!(
            d.path("state.json.bad").exists(),
            bad,
            "{:?}",
            String::from_utf8_lossy(content)
        );
        if bad {
            wait_for(Duration::from_secs(5), "the corruption logged", || {
                d.log().contains("corrupt").then_some(())
            });
        }
        let (status, _, dir) = d.stop();
        assert!(status.success());
        // A corrupt file was replaced by a valid one at the shutdown flush; a foreign one is left as is.
        let text = std::fs::read(dir.path().join("state.json")).unwrap();
        let v: Value = serde_json::from_slice(&text).unwrap();
        if bad {
            assert_eq!(v["zones"]["one"]["color"][0], 255);
        }
    }
}

#[test]
fn a_failed_task_is_restarted_and_shows_in_health() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir, &config(broker.port), &[("DIUNA_FAIL_ONCE", "mqtt")]);
    let mut c = TestClient::connect(broker.port, "p-f", &[&format!("{B}/health")]);
    let h = c
        .wait_msg(Duration::from_secs(15), "health after the restart", |m| {
            m.topic.ends_with("/health")
        })
        .json();
    assert_eq!(h["task_restarts"]["mqtt"], 1, "{h}");
    d.wait_log("task failed; restarting");
}

#[test]
fn sigterm_stops_in_order() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(
        broker.port,
        "p-t",
        &[&format!("{B}/availability"), &format!("{B}/one/state")],
    );
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    // A change right before the stop must be flushed even though the debounce has not elapsed.
    c.publish(
        &format!("{B}/one/set"),
        r#"{"color":{"r":0,"g":250,"b":0}}"#,
    );
    c.wait_topic(&format!("{B}/one/state"), |m| m.json()["color"]["g"] == 250);
    cap.wait_frame("a", "green", |f| f.pixel(0) == [0, 250, 0]);
    let seen = cap.frames.len();
    let (status, _, dir) = d.stop();
    assert!(status.success(), "{status:?}");
    // Fade-out frames: decreasing to black.
    cap.poll();
    let fade: Vec<u8> = cap.frames[seen..].iter().map(|f| f.pixel(0)[1]).collect();
    assert!(fade.len() >= 5, "fade-out frames captured: {fade:?}");
    assert!(
        fade.windows(2).all(|w| w[0] >= w[1]),
        "monotonic fade {fade:?}"
    );
    assert_eq!(*fade.last().unwrap(), 0);
    // offline published, state flushed.
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "offline");
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
    assert_eq!(v["zones"]["one"]["color"], serde_json::json!([0, 250, 0]));
}

fn mkfifo(path: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn a_fifo_at_the_state_path_neither_hangs_start_nor_stop() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("state.json"));
    // A FIFO at the writer's temp path too: the shutdown flush must not open it.
    mkfifo(&dir.path().join("state.json.tmp"));
    let d = Daemon::start_in(dir, &config(broker.port));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "defaults from the config", |f| {
        f.pixel(0) == [255, 0, 0] && f.pixel(3) == [0, 0, 255]
    });
    let mut c = TestClient::connect(broker.port, "p-fifo", &[&format!("{B}/availability")]);
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    d.wait_log("FIFO"); // the FIFO is named in the log
    let (status, _, dir) = d.stop();
    assert!(status.success(), "{status:?}");
    // The FIFO was moved aside and a real state file written in its place.
    let bad = std::fs::metadata(dir.path().join("state.json.bad")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&bad.file_type()));
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
    assert_eq!(v["zones"]["one"]["color"], serde_json::json!([255, 0, 0]));
}

#[test]
fn restored_values_are_validated_like_commands() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let rec = |mode: Value| {
        serde_json::json!({"on": true, "brightness": 255, "color": [10, 20, 30], "color_mode": mode,
            "effect": null, "last_effect": null})
    };
    let file = serde_json::json!({"version": 1, "zones": {
        "one": rec(serde_json::json!({"mode": "hs", "h": 1e30, "s": 50})),
        "two": rec(serde_json::json!({"mode": "rgb"})),
    }});
    std::fs::write(dir.path().join("state.json"), file.to_string()).unwrap();
    let d = Daemon::start_in(dir, &config(broker.port));
    let mut c = TestClient::connect(broker.port, "p-v", &[&format!("{B}/+/state")]);
    // "one" falls back to its config colour; "two" keeps what it saved.
    let one = c.wait_topic(&format!("{B}/one/state"), |_| true).json();
    assert_eq!(one["color_mode"], "rgb", "{one}");
    assert_eq!(one["color"], serde_json::json!({"r": 255, "g": 0, "b": 0}));
    let two = c.wait_topic(&format!("{B}/two/state"), |_| true).json();
    assert_eq!(two["color"], serde_json::json!({"r": 10, "g": 20, "b": 30}));
    d.wait_log("invalid zone record");
    assert!(
        !d.path("state.json.bad").exists(),
        "one bad record is not a corrupt file"
    );
}
