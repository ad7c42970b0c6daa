//! No client can knock Diuna off MQTT, on a stock Mosquitto: a 50,000-command burst on one socket,
//! retained and live messages over 1 MiB, payloads that try to forge log lines, commands sent while
//! Diuna is away (persistent session across a broker restart), and a second daemon with the same
//! `device_id`.

use std::time::{Duration, Instant};

use crate::support::{Broker, Capture, Daemon, TestClient, paho_publish, raw, wait_for};
use crate::testconfig::TestConfig;

const B: &str = "diuna/rb";

/// Zones `z0`..`z{n-1}` of 2 pixels on captured strip `a`, starting dark blue.
fn config(port: u16, zones: usize, extra_mqtt: &str) -> String {
    let c = TestConfig::new("rb")
        .mqtt(port)
        .set("render", "fade_out = \"0s\"")
        .set_all("mqtt", &["keep_alive = \"5s\"", "reconnect_max = \"1s\""])
        .extra("mqtt", extra_mqtt)
        .strip("a");
    (0..zones)
        .fold(c, |c, z| c.zone(&format!("z{z}"), "a", 2, [0, 0, 9]))
        .build()
}

fn colour(r: u8, g: u8, b: u8) -> String {
    format!(r#"{{"color":{{"r":{r},"g":{g},"b":{b}}}}}"#)
}

fn online(c: &mut TestClient) {
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
}

/// Sends a colour to `zone` and waits until both the LEDs and the retained state show it.
fn command_lands(c: &mut TestClient, cap: &mut Capture, zone: usize, rgb: [u8; 3]) {
    c.publish(&format!("{B}/z{zone}/set"), colour(rgb[0], rgb[1], rgb[2]));
    cap.wait_frame("a", &format!("z{zone} shows {rgb:?}"), |f| {
        f.pixel(zone * 2) == rgb
    });
    c.wait_topic(&format!("{B}/z{zone}/state"), |m| {
        m.json()["color"] == serde_json::json!({"r": rgb[0], "g": rgb[1], "b": rgb[2]})
    });
}

fn connects(d: &Daemon) -> usize {
    d.log().matches("MQTT connected").count()
}

#[test]
fn a_burst_of_50k_commands_on_one_socket_does_not_cut_diuna_off() {
    let broker = Broker::start();
    // The default keep-alive: rumqttc declares the connection dead when a PINGRESP is not back by the
    // next ping, and during the burst the broker's PINGRESP queues behind the commands still on their
    // way to us (seconds, in a debug build on a loaded machine).
    let toml = config(broker.port, 2, "").replace("keep_alive = \"5s\"", "keep_alive = \"30s\"");
    let d = Daemon::start(&toml);
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "rb-burst", &[&format!("{B}/#")]);
    online(&mut c);
    // 50,000 QoS 0 commands to z0 written in one go: every tenth is broken JSON (a flood of
    // rejections), the others are colours; the very last one is a colour of its own.
    let mut packets = Vec::new();
    for i in 0..50_000u32 {
        let payload = match i {
            49_999 => colour(1, 2, 3),
            i if i % 10 == 9 => "{broken".to_string(),
            i => colour((i % 250) as u8 + 5, (i / 250 % 250) as u8, 200),
        };
        packets.extend(raw::publish(&format!("{B}/z0/set"), payload.as_bytes()));
    }
    let took = raw::burst(broker.port, "rb-flooder", &packets);
    eprintln!("burst written in {took:?}");
    let t_burst = Instant::now();
    // The burst is carried out to its end: the last command reaches the LEDs and the state.
    wait_for(
        Duration::from_secs(60),
        "the burst's last command on the LEDs",
        || {
            cap.poll();
            cap.last("a").filter(|f| f.pixel(0) == [1, 2, 3])
        },
    );
    eprintln!("burst landed after {:?}", t_burst.elapsed());
    c.wait_msg(Duration::from_secs(30), "the burst's last state", |m| {
        m.topic == format!("{B}/z0/state") && m.json()["color"]["r"] == 1
    });
    // Rejections are reported one by one up to the rate limit (REJECTION_BURST a window), then as a
    // count once each window is over. However long this machine takes over the flood (one window or
    // several), no window reports more than its share and the counts carry most of the 5,000.
    let error = format!("{B}/error");
    let counted = |c: &TestClient| -> (u64, usize) {
        c.seen
            .iter()
            .filter(|m| m.topic == error)
            .filter_map(|m| m.json()["unreported"].as_u64())
            .fold((0, 0), |(sum, n), u| (sum + u, n + 1))
    };
    while counted(&c).0 <= 4_000 {
        c.wait_msg(Duration::from_secs(30), "counts of the rejections", |m| {
            m.topic == error && m.json()["unreported"].as_u64().is_some()
        });
    }
    let (unreported, summaries) = counted(&c);
    // (Overload reports, the other kind of message on B/error, carry no excerpt.)
    let one_by_one = c
        .seen
        .iter()
        .filter(|m| m.topic == error && m.json().get("excerpt").is_some())
        .count();
    let burst = diuna::mqtt::report::REJECTION_BURST as usize;
    assert!(
        one_by_one <= burst * (summaries + 1),
        "{one_by_one} rejections reported one by one beside {summaries} counts ({unreported})"
    );
    assert!(
        unreported <= 5_000,
        "{unreported} unreported of 5,000 rejections"
    );
    // Then ~90 s of ordinary commands: every one lands, on the same connection.
    let t0 = Instant::now();
    for i in 0..30u8 {
        command_lands(&mut c, &mut cap, 1, [i + 1, 100, 50]);
        let next = t0 + Duration::from_secs(3) * (i as u32 + 1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    assert!(
        !c.seen
            .iter()
            .any(|m| m.topic == format!("{B}/availability") && m.text() != "online"),
        "availability stayed online"
    );
    let mut late = TestClient::connect(broker.port, "rb-late", &[&format!("{B}/availability")]);
    online(&mut late);
    let log = d.log();
    assert_eq!(connects(&d), 1, "never reconnected:\n{log}");
    assert!(
        !log.contains("Collision") && !log.contains("connection lost"),
        "{log}"
    );
}

#[test]
fn messages_over_1_mib_never_disconnect_diuna() {
    let broker = Broker::start();
    // Retained on Home Assistant's status topic and on a command topic before Diuna starts.
    for topic in ["homeassistant/status".to_string(), format!("{B}/z0/set")] {
        paho_publish(
            broker.port,
            &topic,
            &["--retain", "--qos", "1", "--size", "1100000"],
        );
    }
    let d = Daemon::start(&config(broker.port, 2, ""));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(
        broker.port,
        "rb-big",
        &[
            &format!("{B}/availability"),
            &format!("{B}/+/state"),
            &format!("{B}/error"),
        ],
    );
    online(&mut c);
    command_lands(&mut c, &mut cap, 0, [10, 20, 30]);
    // Live, while connected: 1.1 MB at QoS 0 and 1, then 100 kB (under our declared maximum: read
    // and rejected with a message).
    for qos in ["0", "1"] {
        paho_publish(
            broker.port,
            &format!("{B}/z1/set"),
            &["--qos", qos, "--size", "1100000"],
        );
    }
    paho_publish(broker.port, &format!("{B}/z1/set"), &["--size", "100000"]);
    let e = c.wait_topic(&format!("{B}/error"), |m| {
        m.json()["topic"] == format!("{B}/z1/set")
    });
    assert!(
        e.json()["reason"]
            .as_str()
            .unwrap()
            .contains("over the 16384 byte limit")
    );
    command_lands(&mut c, &mut cap, 1, [40, 50, 60]);
    let log = d.log();
    assert_eq!(connects(&d), 1, "one connection throughout:\n{log}");
    assert!(!log.contains("connection lost"), "{log}");
}

#[test]
fn payloads_cannot_forge_log_lines_or_flood_the_error_topic() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port, 1, ""));
    let mut c = TestClient::connect(broker.port, "rb-esc", &[&format!("{B}/#")]);
    online(&mut c);
    let forged = "2026-01-01T00:00:00.000000Z  INFO diuna: FORGED";
    c.publish(
        &format!("{B}/z0/set"),
        format!("{{\"state\":\"x\n{forged}\u{1b}[2J\"}}"),
    );
    let e = c.wait_topic(&format!("{B}/error"), |_| true).json();
    let excerpt = e["excerpt"].as_str().unwrap();
    assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
    assert!(
        excerpt.contains("\\n2026") && excerpt.contains("\\u{1b}[2J"),
        "{excerpt}"
    );
    // A 309-digit number is not echoed whole.
    c.publish(
        &format!("{B}/z0/set"),
        format!("{{\"brightness\":1{}}}", "0".repeat(308)),
    );
    let e = c
        .wait_topic(&format!("{B}/error"), |m| {
            m.json()["reason"]
                .as_str()
                .is_some_and(|r| r.contains("brightness"))
        })
        .json();
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.chars().count() <= 161,
        "{} chars: {reason}",
        reason.chars().count()
    );
    wait_for(Duration::from_secs(5), "the rejections logged", || {
        (d.log().matches("rejected MQTT command").count() >= 2).then_some(())
    });
    let log = d.plain_log();
    assert!(
        !log.lines().any(|l| l.starts_with(forged)),
        "forged line in:\n{log}"
    );
    assert!(!log.contains("\u{1b}[2J"), "raw escape sequence in the log");
}

#[test]
fn commands_sent_while_diuna_is_away_are_kept_by_the_broker_across_its_restart() {
    // Persistence on, as Debian ships Mosquitto.
    let broker = Broker::start_persistent();
    let d = Daemon::start(&config(broker.port, 4, ""));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "rb-away", &[&format!("{B}/availability")]);
    online(&mut c);
    drop(c);
    // Frozen, Diuna cannot reconnect while the broker restarts (saving and restoring its session).
    d.signal("STOP");
    let broker = broker.restart();
    for z in 0..4 {
        paho_publish(
            broker.port,
            &format!("{B}/z{z}/set"),
            &["--qos", "1", "--message", &colour(z as u8 + 1, 77, 77)],
        );
    }
    d.signal("CONT");
    wait_for(
        Duration::from_secs(20),
        "every queued command carried out",
        || {
            cap.poll();
            cap.last("a")
                .filter(|f| (0..4).all(|z| f.pixel(z * 2) == [z as u8 + 1, 77, 77]))
        },
    );
    wait_for(Duration::from_secs(5), "the session resumed", || {
        let log = d.plain_log();
        let again = log.lines().find(|l| l.contains("MQTT connected again"));
        again.map(|l| assert!(l.contains("session_present=true"), "{log}"))
    });
}

#[test]
fn two_daemons_with_one_device_id_are_detected_and_do_not_delete_each_others_entities() {
    let broker = Broker::start();
    let first = Daemon::start(&config(broker.port, 2, ""));
    let mut c = TestClient::connect(broker.port, "rb-dup", &[&format!("{B}/availability")]);
    online(&mut c);
    // Another machine with the same device_id but one zone fewer: z1 looks stale to it.
    let second = Daemon::start(&config(broker.port, 1, "client_id = \"diuna-rb-other\""));
    for d in [&first, &second] {
        wait_for(Duration::from_secs(15), "the duplicate named", || {
            d.log()
                .contains("two devices use device_id \"rb\"")
                .then_some(())
        });
    }
    wait_for(Duration::from_secs(15), "the cleanup held back", || {
        second
            .log()
            .contains("not removing entities that look stale")
            .then_some(())
    });
    let mut w = TestClient::connect(
        broker.port,
        "rb-dup2",
        &["homeassistant/light/rb/z1/config"],
    );
    w.wait_msg(Duration::from_secs(5), "z1 still announced", |m| {
        !m.payload.is_empty()
    });
    for d in [&first, &second] {
        assert_eq!(
            d.log().matches("two devices use device_id").count(),
            1,
            "one error"
        );
    }
}

#[test]
fn a_second_daemon_with_our_client_id_does_not_start_a_knock_off_loop() {
    let broker = Broker::start();
    let first = Daemon::start(&config(broker.port, 1, ""));
    let mut c = TestClient::connect(broker.port, "rb-kick", &[&format!("{B}/availability")]);
    online(&mut c);
    // Same machine, same config: the same client id. The broker hands the session back and forth.
    let second = Daemon::start(&config(broker.port, 1, ""));
    let named = |d: &Daemon| d.log().contains("another client with our client id");
    wait_for(Duration::from_secs(15), "the takeover named", || {
        (named(&first) || named(&second)).then_some(())
    });
    // An observation window for something that must *not* happen: before, the two knocked each other
    // off every ~250 ms for ever; now whoever noticed waits minutes before it tries again.
    let before = connects(&first) + connects(&second);
    std::thread::sleep(Duration::from_secs(5));
    let after = connects(&first) + connects(&second);
    assert!(
        after <= before + 1,
        "{before} → {after} connections: still a loop"
    );
    for d in [&first, &second] {
        assert!(
            d.log().matches("two devices use device_id").count() <= 1,
            "one error"
        );
    }
}
