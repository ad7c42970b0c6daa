//! A broker whose `.local` name only mDNS knows (no DNS server, no `/etc/hosts` line, no nss-mdns
//! plugin: what the static Pi Zero build meets on Pi OS): the daemon finds it by asking mDNS itself and
//! connects. The responder is python-zeroconf, the mDNS library Home Assistant uses.
//!
//! Multicast needs an interface that carries it, so the test runs again inside a network namespace of
//! its own (`unshare -rn`, or `unshare -n` as root), where it turns multicast on for the loopback
//! interface: nothing leaves this machine and the host's network is not touched.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{Broker, Daemon, TestClient, wait_for};
use crate::testconfig::TestConfig;

/// Set for the run inside the namespace.
const INSIDE: &str = "DIUNA_IT_OWN_NETNS";
const INNER: &str = "mdns::in_its_own_network_namespace_a_broker_known_only_to_mdns_is_found";
const NAME: &str = "diuna-test-broker.local";

#[test]
fn a_broker_known_only_to_mdns_is_found_and_connected_to() {
    let exe = std::env::current_exe().expect("the test binary's path");
    // A user namespace too where the system allows it (any user), else a network namespace alone
    // (root).
    let user_ns = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    let out = Command::new("unshare")
        .arg(if user_ns { "-rn" } else { "-n" })
        .arg(exe)
        .args([INNER, "--exact", "--ignored", "--nocapture"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare (util-linux) runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the test in its own network namespace failed (it needs `unshare -rn`, or root):\n{text}"
    );
    assert!(
        text.contains("1 passed"),
        "the inner test did not run:\n{text}"
    );
}

#[test]
#[ignore = "run by a_broker_known_only_to_mdns_is_found_and_connected_to, in a network namespace"]
fn in_its_own_network_namespace_a_broker_known_only_to_mdns_is_found() {
    assert!(
        std::env::var_os(INSIDE).is_some(),
        "run only in a network namespace of its own: it reconfigures the loopback interface"
    );
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "set", "lo", "multicast", "on"],
        &["route", "add", "224.0.0.0/4", "dev", "lo"],
    ] {
        let ok = Command::new("ip")
            .args(args)
            .status()
            .expect("ip (iproute2) runs");
        assert!(ok.success(), "ip {args:?}");
    }
    // Root inside the namespace may be nobody outside it, so Mosquitto must not switch to its own
    // user (with `user root` it stays who it is).
    let port = crate::support::free_port();
    let conf = format!("listener {port} 127.0.0.1\nallow_anonymous true\nuser root\n");
    let broker = Broker::start_conf(tempfile::tempdir().unwrap(), port, &conf);
    let _responder = Responder::start(NAME, "127.0.0.1");
    let system = Command::new("getent")
        .args(["hosts", NAME])
        .output()
        .expect("getent runs");
    assert!(
        !system.status.success(),
        "the system resolver must not know {NAME} for this test to mean anything: {}",
        String::from_utf8_lossy(&system.stdout)
    );

    let config = TestConfig::new("it")
        .mqtt(broker.port)
        .set("mqtt", &format!("host = \"{NAME}\""))
        .strip("a")
        .zone("desk", "a", 2, [0, 0, 255])
        .build();
    let d = Daemon::start(&config);
    let mut c = TestClient::connect(broker.port, "t-mdns", &["diuna/it/availability"]);
    c.wait_topic("diuna/it/availability", |m| m.text() == "online");
    let log = d.wait_log("found the broker by mDNS");
    assert!(
        log.lines()
            .any(|l| l.contains("found the broker by mDNS") && l.contains("127.0.0.1")),
        "{log}"
    );
}

/// tests/it/mdns_responder.py announcing a name; killed when dropped.
struct Responder(Child);

impl Responder {
    fn start(name: &str, address: &str) -> Responder {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/mdns_responder.py");
        let mut child = Command::new("python3")
            .args([script, name, address])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let out = child.stdout.take().expect("its stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut responder = Responder(child);
        wait_for(
            Duration::from_secs(20),
            "the mDNS responder (pip install zeroconf)",
            || match rx.try_recv() {
                Ok(line) => (line == "ready").then_some(()),
                Err(_) => match responder.0.try_wait() {
                    Ok(Some(status)) => {
                        panic!("mdns_responder.py exited: {status} (pip install zeroconf)")
                    }
                    _ => None,
                },
            },
        );
        responder
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
