//! MQTT credentials and TLS against a real Mosquitto: the password comes from a file or an environment
//! variable and is never logged; TLS verifies the broker with a CA file; a refused login leaves the
//! daemon working locally.

use std::process::Command;
use std::time::Duration;

use crate::support::{Broker, Capture, Daemon, TestClient, free_port, wait_for};
use crate::testconfig::TestConfig;

const PASSWORD: &str = "s3cret-Pa55word";

fn daemon_config(port: u16, mqtt_extra: &str) -> String {
    TestConfig::new("sec")
        .mqtt(port)
        .set("mqtt", "reconnect_max = \"1s\"")
        .extra("mqtt", mqtt_extra)
        .strip("s")
        .zone("z", "s", 2, [7, 8, 9])
        .build()
}

/// A broker with an open listener for the test client and a second one that needs a login.
fn auth_broker() -> (Broker, u16) {
    let dir = tempfile::tempdir().unwrap();
    let pwfile = dir.path().join("passwd");
    let ok = Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&pwfile)
        .args(["diuna", PASSWORD])
        .status()
        .expect("mosquitto_passwd")
        .success();
    assert!(ok);
    let (open, secure) = (free_port(), free_port());
    let conf = format!(
        "per_listener_settings true\npersistence false\n\
         listener {open} 127.0.0.1\nallow_anonymous true\n\
         listener {secure} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
        pwfile.display()
    );
    (Broker::start_conf(dir, open, &conf), secure)
}

/// A daemon logging in on the `secure` listener with the right password, read from a file.
fn start_with_password_file(secure: u16) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
    Daemon::start_in(
        dir,
        &daemon_config(secure, "username = \"diuna\"\npassword_file = \"{dir}/pw\""),
    )
}

#[test]
fn password_from_file_or_env_connects_and_is_never_logged() {
    let (broker, secure) = auth_broker();
    let mut c = TestClient::connect(broker.port, "s-1", &["diuna/sec/#"]);
    // From a file.
    let d = start_with_password_file(secure);
    c.wait_topic("diuna/sec/availability", |m| m.text() == "online");
    let (status, _, _) = {
        let log = d.log();
        assert!(!log.contains(PASSWORD), "password leaked into the log");
        d.stop()
    };
    assert!(status.success());
    c.wait_topic("diuna/sec/availability", |m| m.text() == "offline");
    // From an environment variable.
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(
        dir,
        &daemon_config(
            secure,
            "username = \"diuna\"\npassword_env = \"DIUNA_TEST_PW\"",
        ),
        &[("DIUNA_TEST_PW", PASSWORD)],
    );
    c.wait_topic("diuna/sec/availability", |m| m.text() == "online");
    assert!(!d.log().contains(PASSWORD));
}

#[test]
fn a_refused_login_keeps_the_lights_working() {
    let (broker, secure) = auth_broker();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_in(
        dir,
        &daemon_config(secure, "username = \"diuna\"\npassword = \"wrong\""),
    );
    let mut cap = Capture::new(&d.path("s.jsonl"));
    cap.wait_frame("s", "lights on without MQTT", |f| f.pixel(0) == [7, 8, 9]);
    crate::support::wait_for(Duration::from_secs(10), "refusal logged", || {
        d.log()
            .contains("MQTT connection lost or refused")
            .then_some(())
    });
    assert!(!d.log().contains("wrong\""), "password not logged");
    drop(broker);
    let (status, _, _) = d.stop();
    assert!(status.success());
}

#[test]
#[cfg(feature = "tls")]
fn tls_with_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let sh = format!(
        "set -e\n\
         openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=diuna-test-ca -keyout {ca_key} -out {ca} 2>/dev/null\n\
         openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout {key} -out {csr} 2>/dev/null\n\
         printf 'subjectAltName=IP:127.0.0.1\\n' > {ext}\n\
         openssl x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 2 -extfile {ext} -out {crt} 2>/dev/null\n\
         # mosquitto started as root drops to its own user before reading these\n\
         chmod 755 {dir}\nchmod 644 {key} {crt} {ca}\n",
        dir = dir.path().display(),
        ca_key = p("ca.key"),
        ca = p("ca.crt"),
        key = p("server.key"),
        csr = p("server.csr"),
        ext = p("ext.cnf"),
        crt = p("server.crt"),
    );
    assert!(
        Command::new("sh")
            .arg("-c")
            .arg(&sh)
            .status()
            .unwrap()
            .success(),
        "openssl"
    );
    let (open, tls) = (free_port(), free_port());
    let conf = format!(
        "per_listener_settings true\npersistence false\n\
         listener {open} 127.0.0.1\nallow_anonymous true\n\
         listener {tls} 127.0.0.1\nallow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\n",
        p("ca.crt"),
        p("server.crt"),
        p("server.key")
    );
    let ca = p("ca.crt");
    let broker = Broker::start_conf(dir, open, &conf);
    let mut c = TestClient::connect(broker.port, "s-tls", &["diuna/sec/#"]);
    let d = Daemon::start(&daemon_config(tls, &format!("tls_ca = \"{ca}\"")));
    c.wait_topic("diuna/sec/availability", |m| m.text() == "online");
    c.publish("diuna/sec/z/set", r#"{"color":{"r":1,"g":2,"b":3}}"#);
    let mut cap = Capture::new(&d.path("s.jsonl"));
    cap.wait_frame("s", "command over TLS", |f| f.pixel(0) == [1, 2, 3]);
}

#[test]
fn sighup_with_a_missing_password_file_keeps_the_working_connection() {
    let (broker, secure) = auth_broker();
    let mut c = TestClient::connect(broker.port, "s-hup", &["diuna/sec/#"]);
    let d = start_with_password_file(secure);
    c.wait_topic("diuna/sec/availability", |m| m.text() == "online");
    // Settings that would only fail at connect time: a password file that is not there.
    let text = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(&d.config, text.replace("/pw\"", "/missing-pw\"")).unwrap();
    d.signal("HUP");
    crate::support::wait_for(Duration::from_secs(10), "the refusal logged", || {
        let log = d.log();
        (log.contains("SIGHUP: [mqtt] settings not applied") && log.contains("missing-pw"))
            .then_some(())
    });
    // Still connected on the old settings: commands work and availability never left `online`.
    c.publish("diuna/sec/z/set", r#"{"color":{"r":4,"g":5,"b":6}}"#);
    let mut cap = Capture::new(&d.path("s.jsonl"));
    cap.wait_frame("s", "a command after the refused reload", |f| {
        f.pixel(0) == [4, 5, 6]
    });
    c.wait_topic("diuna/sec/z/state", |m| m.json()["color"]["r"] == 4);
    let offline = c
        .seen
        .iter()
        .any(|m| m.topic == "diuna/sec/availability" && m.text() == "offline");
    assert!(!offline, "the working connection was dropped");
    assert!(!d.log().contains(PASSWORD));
}

#[test]
fn sighup_with_new_mqtt_settings_says_goodbye_before_hello() {
    let broker = crate::support::Broker::start();
    let mut c = TestClient::connect(broker.port, "s-swap", &["diuna/sec/availability"]);
    let d = Daemon::start(&daemon_config(broker.port, "keep_alive = \"5s\""));
    c.wait_topic("diuna/sec/availability", |m| m.text() == "online");
    // An unchanged [mqtt] section (only the render settings change) keeps the connection.
    let text = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(
        &d.config,
        text.replace("fade_in = \"0s\"", "fade_in = \"1s\""),
    )
    .unwrap();
    d.signal("HUP");
    crate::support::wait_for(Duration::from_secs(10), "the reload logged", || {
        d.log().contains("SIGHUP: reloaded").then_some(())
    });
    // Each change of [mqtt] replaces the connection: `offline` from the old one, then `online`.
    for keep_alive in ["6s", "7s", "8s"] {
        let text = std::fs::read_to_string(&d.config).unwrap();
        let next = text
            .lines()
            .map(|l| match l.starts_with("keep_alive") {
                true => format!("keep_alive = \"{keep_alive}\""),
                false => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&d.config, next).unwrap();
        d.signal("HUP");
        c.wait_topic("diuna/sec/availability", |m| m.text() == "offline");
        c.wait_topic("diuna/sec/availability", |m| m.text() == "online");
    }
    let swaps = c.seen.iter().filter(|m| m.text() == "offline").count();
    assert_eq!(swaps, 3, "the render-only reload did not reconnect");
    // The retained value a newcomer (Home Assistant after a restart) reads is `online`.
    let mut late = TestClient::connect(broker.port, "s-swap2", &["diuna/sec/availability"]);
    let m = late.wait_topic("diuna/sec/availability", |m| m.retain);
    assert_eq!(m.text(), "online");
    let connected = || d.log().matches("MQTT connected").count();
    wait_for(Duration::from_secs(10), "four connections logged", || {
        (connected() >= 4).then_some(())
    });
    assert_eq!(connected(), 4);
}
