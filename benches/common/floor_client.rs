//! The least any MQTT client spends on a command here: a bare client on a blocking socket, written by
//! hand (MQTT 3.1.1), that takes each QoS 1 command, acknowledges it and publishes a retained state of
//! a zone's size. No runtime, no JSON, no allocation per command: one wake-up, one read, two writes.
//! `benches/frame_cost.rs` measures its CPU (the floor of the command path on this machine) beside the
//! daemon's, as the bare timer thread is the floor of the frame path.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::daemon::status_field;
use crate::support::raw::{connect, packet, string};

/// What the client spent from the first command on.
pub struct Served {
    /// On-CPU time (schedstat), ns.
    pub cpu_ns: u64,
    pub answered: u64,
    pub over: Duration,
    /// Voluntary context switches (wake-ups).
    pub woken: u64,
    /// Involuntary ones (preemptions).
    pub preempted: u64,
}

/// When this thread answered its first command: its [`usage`] then, and the time.
pub type Start = Option<((u64, u64, u64), Instant)>;

impl Served {
    /// What this thread spent since `start` (nothing, if it never answered), answering `answered`.
    pub fn since(start: Start, answered: u64) -> Served {
        let ((ns0, woken0, preempted0), t0) = start.unwrap_or((usage(), Instant::now()));
        let (ns, woken, preempted) = usage();
        Served {
            cpu_ns: ns - ns0,
            answered,
            over: t0.elapsed(),
            woken: woken - woken0,
            preempted: preempted - preempted0,
        }
    }
}

/// This thread's (on-CPU ns, voluntary switches, involuntary switches) so far.
pub fn usage() -> (u64, u64, u64) {
    let status = "/proc/thread-self/status";
    (
        run_ns(),
        status_field(status, "voluntary_ctxt_switches:").unwrap_or(0),
        status_field(status, "nonvoluntary_ctxt_switches:").unwrap_or(0),
    )
}

/// A zone state as large as Diuna's (`{"brightness":…,"color":…,"palette":…}`, about 140 bytes).
pub const STATE: &[u8] = br#"{"brightness":180,"color":{"b":200,"g":120,"r":255},"color_mode":"rgb","effect":"color_snake","palette":"zone colour","state":"ON"}"#;

/// Reads one packet into `buf`; returns its first byte.
fn read_packet(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u8> {
    let mut head = [0u8; 1];
    s.read_exact(&mut head)?;
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        len |= ((b[0] & 0x7f) as usize) << shift;
        shift += 7;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    buf.resize(len, 0);
    s.read_exact(buf)?;
    Ok(head[0])
}

/// Subscribes to `filter` at QoS 1, says so on `ready`, and answers every command until `stop`;
/// returns what it spent from the first command on.
pub fn serve(
    port: u16,
    filter: &str,
    ready: std::sync::mpsc::Sender<()>,
    stop: Arc<AtomicBool>,
) -> Served {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the broker");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.write_all(&connect("frame-cost-floor", 0)).unwrap();
    let mut sub = vec![0, 1];
    string(filter.as_bytes(), &mut sub);
    sub.push(1);
    s.write_all(&packet(0x82, &sub)).unwrap();
    let mut state = Vec::new();
    string(b"diuna/floor/zone/state", &mut state);
    state.extend_from_slice(STATE);
    let state = packet(0x31, &state);
    let mut buf = Vec::with_capacity(1024);
    let mut start: Start = None;
    let mut answered = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let kind = match read_packet(&mut s, &mut buf) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) => panic!("floor client: {e}"),
        };
        if kind == 0x90 {
            let _ = ready.send(());
        }
        if kind & 0xf0 != 0x30 {
            continue;
        }
        start.get_or_insert_with(|| (usage(), Instant::now()));
        if kind & 0x06 != 0 && buf.len() >= 2 {
            let topic_len = u16::from_be_bytes([buf[0], buf[1]]) as usize;
            if let Some(id) = buf.get(2 + topic_len..4 + topic_len) {
                s.write_all(&[0x40, 2, id[0], id[1]]).unwrap();
            }
        }
        s.write_all(&state).unwrap();
        answered += 1;
    }
    Served::since(start, answered)
}

/// This thread's on-CPU time so far (ns).
fn run_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
