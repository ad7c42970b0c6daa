//! Realtime input and sync-group figures for docs/PERFORMANCE.md, measured on the release binary:
//!
//! 1. packet → frame on the wire latency (p50/p99/max) for DDP and E1.31: one datagram with a colour the
//!    strip has not shown, sent at a random phase; latency = the capture's frame start minus the wall
//!    time just before `send`;
//! 2. CPU of the daemon at 60 realtime frames/s of 1,000 pixels (DDP, 3 packets per frame, on two
//!    500-pixel strips), and the frames per second that reach the wire;
//! 3. effect-clock skew between two daemons in one sync group on this machine: for each frame of one,
//!    the frame of the other with the same picture, and the time between them (the second daemon starts
//!    507 ms after the first; for contrast, the same two daemons without a group).
//!
//! 4. a flood: 10⁵ bad or foreign datagrams per second from 16 sockets beside a 60 FPS stream of 1,000
//!    pixels — frames/s still on the wire, CPU, resident memory before and after.
//!
//! Run: `cargo bench --bench realtime` (needs mosquitto; about three minutes). Environment:
//! `DIUNA_RT_SAMPLES` (latency samples per protocol, default 1000), `DIUNA_RT_CPU_S` (default 20),
//! `DIUNA_RT_FLOOD_S` (default 10), `DIUNA_RT_SKEW_S` (default 10),
//! `DIUNA_RT_ONLY=latency,cpu,flood,skew`.

#[path = "../tests/it/support.rs"]
mod support;
#[path = "../tests/it/testconfig.rs"]
mod testconfig;

use std::net::UdpSocket;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use diuna::stream::{ddp, e131};
use support::{Broker, Capture, Daemon};
use testconfig::TestConfig;

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn wanted(part: &str) -> bool {
    std::env::var("DIUNA_RT_ONLY").map_or(true, |v| v.split(',').any(|p| p.trim() == part))
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Two different free UDP ports (DDP, E1.31): both sockets are held while the second is chosen, so
/// the kernel cannot hand out one port twice.
fn free_udp_ports() -> (u16, u16) {
    let bind = || UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a, b) = (bind(), bind());
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(name: &str, mut v: Vec<f64>, unit: &str) {
    v.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name:<48} n={:<5} p50 {:>8.3} {unit}  p99 {:>8.3} {unit}  max {:>8.3} {unit}",
        v.len(),
        pct(&v, 0.5),
        pct(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN)
    );
}

/// A daemon with realtime input on two ws2812 strips of `a_px` and `b_px` pixels (strip a captured).
fn realtime_daemon(mqtt: u16, ddp: u16, e131: u16, a_px: usize, b_px: usize) -> Daemon {
    let toml = TestConfig::new("rtbench")
        .mqtt(mqtt)
        .set_all(
            "realtime",
            &[
                "enabled = true",
                "bind = \"127.0.0.1\"",
                &format!("ddp_port = {ddp}"),
                &format!("e131_port = {e131}"),
            ],
        )
        .strip("a")
        .zone("za", "a", a_px, [0, 0, 0])
        .strip_keys("b", &["gpio = 19", "gamma = 1.0"])
        .zone("zb", "b", b_px, [0, 0, 0])
        .build();
    Daemon::start(&toml)
}

fn latency(broker: &Broker, samples: usize) {
    let (dport, eport) = free_udp_ports();
    let d = realtime_daemon(broker.port, dport, eport, 10, 10);
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "first frame", |_| true);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for protocol in ["DDP", "E1.31"] {
        // One protocol holds the stream until it has been silent for the timeout (2.5 s).
        std::thread::sleep(Duration::from_secs(3));
        let mut lat = Vec::with_capacity(samples);
        let mut buf = Vec::new();
        for i in 0..samples + 20 {
            let px = [
                (i % 250) as u8 + 1,
                (i / 250) as u8 + 1,
                if protocol == "DDP" { 1 } else { 2 },
            ];
            let data: Vec<u8> = px.repeat(10);
            let sent = now_us();
            if protocol == "DDP" {
                ddp::build(&mut buf, 0, &data, true, i as u8);
                sock.send_to(&buf, ("127.0.0.1", dport)).unwrap();
            } else {
                let opts = e131::BuildOptions::default();
                e131::build(&mut buf, [9; 16], 100, i as u8, 1, &data, opts);
                sock.send_to(&buf, ("127.0.0.1", eport)).unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            let t = loop {
                cap.poll();
                if let Some(f) = cap.frames.iter().rev().take(8).find(|f| f.pixel(0) == px) {
                    break f.t_us;
                }
                assert!(
                    Instant::now() < deadline,
                    "{protocol} frame {i} never shown:\n{}",
                    d.log()
                );
                std::thread::sleep(Duration::from_micros(100));
            };
            if i >= 20 {
                lat.push(t.saturating_sub(sent) as f64 / 1000.0);
            }
            if cap.frames.len() > 4096 {
                cap.frames.drain(..4000);
            }
            std::thread::sleep(
                Duration::from_millis(12) + Duration::from_micros((i as u64 * 7919) % 16_667),
            );
        }
        summary(
            &format!("latency {protocol} packet -> frame on the wire"),
            lat,
            "ms",
        );
    }
}

/// On-CPU nanoseconds of every thread of `pid` (schedstat).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn cpu(broker: &Broker, secs: f64) {
    let (dport, eport) = free_udp_ports();
    let d = realtime_daemon(broker.port, dport, eport, 500, 500);
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "first frame", |_| true);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", dport)).unwrap();
    let frame: Vec<u8> = (0..3000).map(|i| (i % 251) as u8).collect();
    let mut buf = Vec::new();
    let interval = Duration::from_nanos(16_666_667);
    let send_frame = |n: u64, buf: &mut Vec<u8>| {
        let mut data = frame.clone();
        data[0] = (n % 256) as u8;
        data[1] = (n / 256 % 256) as u8;
        for (k, chunk) in data.chunks(ddp::MAX_DATA).enumerate() {
            let last = (k + 1) * ddp::MAX_DATA >= data.len();
            ddp::build(buf, (k * ddp::MAX_DATA) as u32, chunk, last, n as u8);
            sock.send(buf).unwrap();
        }
    };
    // Warm up one second, then measure.
    let start = Instant::now();
    let mut n = 0u64;
    let mut measure: Option<(Instant, u64, u64)> = None;
    loop {
        let due = start + interval * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        send_frame(n, &mut buf);
        n += 1;
        let el = start.elapsed().as_secs_f64();
        if measure.is_none() && el >= 1.0 {
            cap.poll();
            measure = Some((Instant::now(), cpu_ns(d.child.id()), now_us()));
        }
        if el >= 1.0 + secs {
            break;
        }
    }
    let (t0, c0, w0) = measure.unwrap();
    let cpu_pct = (cpu_ns(d.child.id()) - c0) as f64 / t0.elapsed().as_nanos() as f64 * 100.0;
    cap.poll();
    let shown =
        cap.frames.iter().filter(|f| f.t_us >= w0).count() as f64 / t0.elapsed().as_secs_f64();
    println!(
        "{:<48} {cpu_pct:.2} % of one core; {shown:.1} frames/s on the wire (sent 60)",
        "CPU at 60 realtime frames/s of 1,000 px (DDP)"
    );
}

/// `VmRSS` / `VmHWM` of `pid` in KiB.
fn mem_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// A legitimate 60 FPS stream of 1,000 px while 10⁵ bad or foreign datagrams per second arrive from 16
/// sockets: frames/s still reaching the wire, CPU, and memory before and after.
fn flood(broker: &Broker, secs: f64) {
    let (dport, eport) = free_udp_ports();
    let d = realtime_daemon(broker.port, dport, eport, 500, 500);
    let pid = d.child.id();
    let mut cap = Capture::new(&d.path("a.jsonl"));
    cap.wait_frame("a", "first frame", |_| true);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let flooder = std::thread::spawn(move || {
        let socks: Vec<UdpSocket> = (0..16)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut buf = Vec::new();
        let start = Instant::now();
        let mut sent = 0u64;
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            // 100,000 per second on an absolute schedule, in bursts of 100.
            let due = start + Duration::from_micros(sent * 10);
            if let Some(w) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(w);
            }
            for k in 0..100u64 {
                let i = sent + k;
                let sock = &socks[(i % 16) as usize];
                let port = if i % 2 == 0 { dport } else { eport };
                if i % 2 == 0 {
                    ddp::build(&mut buf, (i % 3000) as u32, &[0, 255, 0], true, 1);
                    if i % 4 == 0 {
                        buf[9] = 250;
                    }
                } else {
                    e131::build(
                        &mut buf,
                        [(i % 200) as u8; 16],
                        200,
                        i as u8,
                        1,
                        &[0, 255, 0],
                        Default::default(),
                    );
                    buf[4] = b'X';
                }
                let _ = sock.send_to(&buf, ("127.0.0.1", port));
            }
            sent += 100;
        }
        sent
    });
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", dport)).unwrap();
    let frame: Vec<u8> = (0..3000).map(|i| (i % 199) as u8 + 1).collect();
    let mut buf = Vec::new();
    let (rss0, c0, w0, t0) = (
        mem_kib(pid, "VmRSS:"),
        cpu_ns(pid),
        now_us(),
        Instant::now(),
    );
    let mut n = 0u32;
    while t0.elapsed().as_secs_f64() < secs {
        let due = t0 + Duration::from_nanos(16_666_667) * n;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let mut data = frame.clone();
        data[0] = (n % 200) as u8 + 1;
        for (k, chunk) in data.chunks(ddp::MAX_DATA).enumerate() {
            let last = (k + 1) * ddp::MAX_DATA >= data.len();
            ddp::build(&mut buf, (k * ddp::MAX_DATA) as u32, chunk, last, n as u8);
            sock.send(&buf).unwrap();
        }
        n += 1;
    }
    let el = t0.elapsed().as_secs_f64();
    let cpu_pct = (cpu_ns(pid) - c0) as f64 / (el * 1e9) * 100.0;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = flooder.join().unwrap();
    cap.poll();
    let shown = cap.frames.iter().filter(|f| f.t_us >= w0).count() as f64 / el;
    let leaked = cap.frames.iter().any(|f| f.pixel(0) == [0, 255, 0]);
    println!(
        "{:<48} {:.0} bad datagrams/s; {shown:.1} frames/s on the wire (sent 60); CPU {cpu_pct:.1} %; \
         RSS {rss0} → {} KiB (peak {} KiB); flood shown: {leaked}",
        "flood: 60 FPS stream of 1,000 px + bad datagrams",
        sent as f64 / el,
        mem_kib(pid, "VmRSS:"),
        mem_kib(pid, "VmHWM:"),
    );
}

fn sync_pair(broker: &Broker, group: bool) -> (Daemon, Daemon) {
    let conf = |id: &str| {
        let c = TestConfig::new(id)
            .mqtt(broker.port)
            .strip_keys("a", &["gpio = 18", "capture = \"{dir}/a.jsonl\""])
            .zone_with("fx", "a", 60, [255, 255, 255], &["effect = \"rainbow\""]);
        match group {
            true => c.set("sync", "group = \"bench\""),
            false => c,
        }
        .build()
    };
    // The second starts half a second later: a late joiner must still be in step.
    let first = Daemon::start(&conf("s1"));
    std::thread::sleep(Duration::from_millis(507));
    (first, Daemon::start(&conf("s2")))
}

fn skew(broker: &Broker, secs: f64) {
    for group in [true, false] {
        let (a, b) = sync_pair(broker, group);
        let (mut ca, mut cb) = (
            Capture::new(&a.path("a.jsonl")),
            Capture::new(&b.path("a.jsonl")),
        );
        let from = cb.wait_frame("a", "both running", |_| true).t_us + 500_000;
        let to = from + (secs * 1e6) as u64;
        std::thread::sleep(Duration::from_micros(
            (to + 200_000).saturating_sub(now_us()),
        ));
        ca.poll();
        cb.poll();
        let mut skews = Vec::new();
        let mut total = 0;
        for fa in ca.frames.iter().filter(|f| f.t_us >= from && f.t_us < to) {
            total += 1;
            let best = cb
                .frames
                .iter()
                .filter(|fb| fb.wire == fa.wire)
                .map(|fb| fb.t_us.abs_diff(fa.t_us))
                .min();
            if let Some(d) = best.filter(|d| *d < 100_000) {
                skews.push(d as f64 / 1000.0);
            }
        }
        let label = if group {
            "sync group"
        } else {
            "no group (contrast)"
        };
        println!(
            "{:<48} {} of {total} frames of daemon 1 drawn identically by daemon 2",
            format!("skew, two daemons, {label}"),
            skews.len()
        );
        if !skews.is_empty() {
            summary(
                &format!("  |t2 - t1| for identical frames, {label}"),
                skews,
                "ms",
            );
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let broker = Broker::start();
    if wanted("latency") {
        latency(&broker, env_num("DIUNA_RT_SAMPLES", 1000));
    }
    if wanted("cpu") {
        cpu(&broker, env_num("DIUNA_RT_CPU_S", 20.0));
    }
    if wanted("flood") {
        flood(&broker, env_num("DIUNA_RT_FLOOD_S", 10.0));
    }
    if wanted("skew") {
        skew(&broker, env_num("DIUNA_RT_SKEW_S", 10.0));
    }
}
