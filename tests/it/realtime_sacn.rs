//! E1.31 from the `sacn` Python package (a sender we did not write, `tests/it/sacn_send.py`): priority,
//! stream termination and multicast, against the running daemon.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::realtime::{B, latest, own_light, start, start_on};

/// One `sacn` sender process.
struct Sacn {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sacn {
    fn start(port: u16, universe: u16, priority: u8, name: &str) -> Sacn {
        Self::start_with(port, universe, priority, name, &[])
    }

    fn start_with(port: u16, universe: u16, priority: u8, name: &str, extra: &[&str]) -> Sacn {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/sacn_send.py");
        let mut child = Command::new("python3")
            .args([
                script,
                &port.to_string(),
                &universe.to_string(),
                &priority.to_string(),
                name,
            ])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with the sacn package (pip install sacn)");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Sacn {
            child,
            stdin,
            stdout,
        }
    }

    fn cmd(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        let mut ok = String::new();
        self.stdout.read_line(&mut ok).unwrap();
        assert_eq!(ok.trim(), "ok", "sacn sender: {line}");
    }
}

impl Drop for Sacn {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

#[test]
fn sacn_senders_priority_and_termination() {
    let mut r = start("30s", "");
    let mut low = Sacn::start(r.ports.e131, 1, 50, "low");
    low.cmd("rgb 0 90 0 6");
    r.cap.wait_frame("a", "the low priority source", |f| {
        f.pixel(0) == [0, 90, 0] && f.pixel(5) == [0, 90, 0]
    });
    let mut high = Sacn::start(r.ports.e131, 1, 150, "high");
    high.cmd("rgb 90 90 90 6");
    r.cap.wait_frame("a", "the high priority source", |f| {
        f.pixel(0) == [90, 90, 90]
    });
    let st = latest(&mut r.client, &format!("{B}/realtime/state"), |m| {
        m.json()["protocol"] == "e131"
    });
    assert!(st.json()["source"].as_str().unwrap_or("").contains("E1.31"));
    // The low one changes colour, but it is not shown while the high one holds the universe.
    low.cmd("rgb 0 80 0 6");
    high.cmd("terminate");
    r.cap
        .wait_frame("a", "the low one again (its keep-alive)", |f| {
            f.pixel(0) == [0, 80, 0]
        });
    low.cmd("terminate");
    r.cap
        .wait_frame("a", "own light after the last source terminated", own_light);
    latest(&mut r.client, &format!("{B}/realtime/state"), |m| {
        m.json()["active"] == false
    });
}

#[test]
fn sacn_multicast_reaches_the_joined_universe() {
    // Bound to every interface, the daemon joins 239.255.0.2, the group of universe 2.
    let mut r = start_on("0.0.0.0", "30s", "e131_universe = 2");
    let mut s = Sacn::start_with(r.ports.e131, 2, 100, "multicast", &["--multicast"]);
    s.cmd("rgb 0 0 77 6");
    r.cap.wait_frame("a", "the multicast stream", |f| {
        f.pixel(0) == [0, 0, 77] && f.pixel(5) == [0, 0, 77]
    });
    s.cmd("terminate");
    r.cap
        .wait_frame("a", "own light after termination", own_light);
}
