//! SIGHUP with a changed `[mqtt]` section, against a real Mosquitto: the old bridge says `offline` and
//! leaves before the new one says `online`, so the retained availability Home Assistant reads ends
//! `online`; moving to another broker leaves `offline` on the old one and `online` on the new one.

use crate::support::{Broker, Capture, Daemon, TestClient};

fn config(port: u16, client_id: &str) -> String {
    format!(
        r#"
device_id = "hup"
[render]
fade_in = "0s"
[mqtt]
host = "127.0.0.1"
port = {port}
client_id = "{client_id}"
reconnect_max = "1s"
[state]
path = "{{dir}}/state.json"
[[strips]]
id = "s"
gpio = 18
dma = 10
color_order = "RGB"
gamma = 1.0
capture = "{{dir}}/s.jsonl"
[[zones]]
id = "z"
strip = "s"
pixels = 2
color = [7, 8, 9]
brightness = 255
"#
    )
}

const AVAILABILITY: &str = "diuna/hup/availability";

/// Rewrites the daemon's config file with `text` and sends SIGHUP.
fn reload(d: &Daemon, text: &str) {
    let keep = std::fs::read_to_string(&d.config).unwrap();
    // `{dir}` was filled in at start: fill it in the same way.
    let text = text.replace("{dir}", &d.dir.path().display().to_string());
    assert_ne!(keep, text, "the reload must change the config");
    std::fs::write(&d.config, text).unwrap();
    d.signal("HUP");
}

/// The availability payloads `c` has seen, in order.
fn availability(c: &TestClient) -> Vec<String> {
    c.seen
        .iter()
        .filter(|m| m.topic == AVAILABILITY)
        .map(|m| m.text())
        .collect()
}

#[test]
fn a_changed_client_id_says_goodbye_before_hello_and_ends_online() {
    let broker = Broker::start();
    let mut c = TestClient::connect(broker.port, "hup-watch", &[AVAILABILITY]);
    let d = Daemon::start(&config(broker.port, "diuna-hup-a"));
    c.wait_topic(AVAILABILITY, |m| m.text() == "online");
    // A new client id is a new session: nothing on the broker's side orders the two bridges' messages,
    // only the daemon stopping the old one first does.
    reload(&d, &config(broker.port, "diuna-hup-b"));
    c.wait_topic(AVAILABILITY, |m| m.text() == "offline");
    c.wait_topic(AVAILABILITY, |m| m.text() == "online");
    assert_eq!(availability(&c), ["online", "offline", "online"]);
    // The new bridge is subscribed: a command works.
    c.publish("diuna/hup/z/set", r#"{"color":{"r":4,"g":5,"b":6}}"#);
    let mut cap = Capture::new(&d.path("s.jsonl"));
    cap.wait_frame("s", "a command after the reconnect", |f| {
        f.pixel(0) == [4, 5, 6]
    });
    // What a newcomer (Home Assistant after a restart) reads is `online`, and the old bridge never
    // sent anything after it.
    let mut late = TestClient::connect(broker.port, "hup-late", &[AVAILABILITY]);
    let m = late.wait_topic(AVAILABILITY, |m| m.retain);
    assert_eq!(m.text(), "online");
    assert_eq!(availability(&c), ["online", "offline", "online"]);
    assert_eq!(d.log().matches("MQTT connected").count(), 2);
}

#[test]
fn moving_to_another_broker_leaves_offline_behind() {
    let (old, new) = (Broker::start(), Broker::start());
    let mut a = TestClient::connect(old.port, "hup-old", &[AVAILABILITY]);
    let mut b = TestClient::connect(new.port, "hup-new", &[AVAILABILITY]);
    let d = Daemon::start(&config(old.port, "diuna-hup"));
    a.wait_topic(AVAILABILITY, |m| m.text() == "online");
    reload(&d, &config(new.port, "diuna-hup"));
    a.wait_topic(AVAILABILITY, |m| m.text() == "offline");
    b.wait_topic(AVAILABILITY, |m| m.text() == "online");
    // Retained on each: the old broker says the device left, the new one that it is here.
    let mut late_old = TestClient::connect(old.port, "hup-old2", &[AVAILABILITY]);
    assert_eq!(
        late_old.wait_topic(AVAILABILITY, |m| m.retain).text(),
        "offline"
    );
    let mut late_new = TestClient::connect(new.port, "hup-new2", &[AVAILABILITY]);
    assert_eq!(
        late_new.wait_topic(AVAILABILITY, |m| m.retain).text(),
        "online"
    );
}
