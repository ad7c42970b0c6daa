//! The cost of a frame on the smallest Pi (issue 16): the seed configuration (`config/diuna.toml`, five
//! zones on two strips, 140 pixels) with every zone animated at 60 FPS, measured per thread.
//!
//! 1. `floor`: a bare thread of this bench sleeping to 60 Hz deadlines — what one timer wake-up per
//!    frame costs on this machine, whatever the program does; a bare MQTT client answering the
//!    `commands` part's 50 commands/s (`common/floor_client.rs`) — what the socket work alone costs;
//!    and the daemon's own client crate and runtime doing only that (`common/floor_stack.rs`) — what
//!    rumqttc on tokio costs before Diuna does anything with a command;
//! 2. `seed`: the daemon animating the five seed zones (breathe, color_fade, snake, breathe,
//!    color_snake), no capture, MQTT connected: CPU per thread (schedstat), µs per frame, wake-ups
//!    (context switches) per thread per frame;
//! 3. `commands`: the same while a client publishes 50 commands/s (brightness and speed, round robin);
//! 4. `idle`: the seed zones static: CPU and wake-ups per second;
//! 5. peak RSS (VmHWM, and its anonymous and file-backed parts) of those daemons: two strips, MQTT
//!    connected; where the resident memory of the largest is at the end of its window (the executable's
//!    own pages, the shared libraries', anonymous memory) and its PSS; and the size of the binary.
//!
//! The daemon measured is the one users run: this tree built as the packages link it
//! (`deploy/build-release.sh`, into `target/hot-first`; a plain build links its code in another order
//! and keeps 1.4–1.9 MiB more of it resident), unless `DIUNA_FC_BIN` names another binary.
//!
//! Run: `cargo bench --bench frame_cost` (needs mosquitto; about 2 minutes, plus the release build the
//! first time). Environment: `DIUNA_FC_SECS` (window per part, default 20),
//! `DIUNA_FC_ONLY=floor,seed,commands,idle`, `DIUNA_FC_BIN` (measure another binary, e.g. the plain
//! `target/release/diuna`), `DIUNA_FC_RATE` (commands/s, default 50),
//! `DIUNA_FC_ROUNDS` (default 1: the parts run this many times in turn, and each verdict takes the
//! median, since host noise moves one run of the same binary by a third).

#[path = "../tests/it/support.rs"]
mod support;
#[path = "../tests/it/testconfig.rs"]
mod testconfig;

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::daemon::{BenchDaemon as Daemon, Memory, env_num, packaged_bin, status_field};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use support::Broker;

const FPS: f64 = 60.0;
/// The effects the five seed zones run, in the config's zone order: the four of the original system.
const SEED_EFFECTS: [(&str, &str); 5] = [
    ("floor", "breathe"),
    ("desk", "color_fade"),
    ("top", "snake"),
    ("middle", "breathe"),
    ("bottom", "color_snake"),
];

fn wants(part: &str) -> bool {
    std::env::var("DIUNA_FC_ONLY").map_or(true, |v| v.split(',').any(|p| p.trim() == part))
}

/// The daemon under measurement and how it was built: the binary as the packages link it, or
/// `DIUNA_FC_BIN` (`common::daemon::packaged_bin`); built on first use.
fn measured_bin() -> &'static (PathBuf, String) {
    static BIN: OnceLock<(PathBuf, String)> = OnceLock::new();
    BIN.get_or_init(|| packaged_bin("DIUNA_FC_BIN"))
}

/// Starts the daemon under measurement.
fn start_daemon(toml: &str) -> Daemon {
    let bin = &measured_bin().0;
    // Peak RSS as after a boot, whatever happened to the file before (`read_from_disk_next_time`).
    common::daemon::read_from_disk_next_time(bin);
    Daemon::start(bin, toml)
}

/// One thread's counters: on-CPU ns (schedstat) and context switches (voluntary + involuntary).
#[derive(Clone, Debug, Default)]
struct TaskSample {
    name: String,
    run_ns: u64,
    /// Voluntary context switches: the thread slept and was woken (wake-ups).
    woken: u64,
    /// Involuntary ones: the thread was runnable and something else was given its CPU.
    preempted: u64,
}

fn task_sample(dir: &std::path::Path) -> Option<TaskSample> {
    let name = std::fs::read_to_string(dir.join("comm")).ok()?;
    let run_ns = std::fs::read_to_string(dir.join("schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let status = dir.join("status").display().to_string();
    Some(TaskSample {
        name: name.trim().to_string(),
        run_ns,
        woken: status_field(&status, "voluntary_ctxt_switches:")?,
        preempted: status_field(&status, "nonvoluntary_ctxt_switches:")?,
    })
}

fn task_samples(pid: u32) -> HashMap<u32, TaskSample> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let tid = e.file_name().to_str()?.parse().ok()?;
            Some((tid, task_sample(&e.path())?))
        })
        .collect()
}

/// One thread's share of a window.
struct ThreadCost {
    name: String,
    cpu_ms: f64,
    woken: u64,
    preempted: u64,
}

/// CPU and context switches of a process over a window, per thread name.
struct Window {
    secs: f64,
    per_thread: Vec<ThreadCost>,
}

impl Window {
    fn measure(pid: u32, secs: f64) -> Window {
        let t0 = Instant::now();
        let first = task_samples(pid);
        let mut last = first.clone();
        while t0.elapsed().as_secs_f64() < secs {
            let left = secs - t0.elapsed().as_secs_f64();
            std::thread::sleep(Duration::from_secs_f64(left.clamp(0.0, 1.0)));
            last.extend(task_samples(pid));
        }
        let secs = t0.elapsed().as_secs_f64();
        let mut per: HashMap<String, ThreadCost> = HashMap::new();
        for (tid, s) in &last {
            let f = first.get(tid).cloned().unwrap_or_default();
            let e = per.entry(s.name.clone()).or_insert_with(|| ThreadCost {
                name: s.name.clone(),
                cpu_ms: 0.0,
                woken: 0,
                preempted: 0,
            });
            e.cpu_ms += s.run_ns.saturating_sub(f.run_ns) as f64 / 1e6;
            e.woken += s.woken.saturating_sub(f.woken);
            e.preempted += s.preempted.saturating_sub(f.preempted);
        }
        let mut per_thread: Vec<ThreadCost> = per.into_values().collect();
        per_thread.sort_by(|a, b| b.cpu_ms.total_cmp(&a.cpu_ms));
        Window { secs, per_thread }
    }

    fn cpu_pct(&self) -> f64 {
        self.per_thread.iter().map(|t| t.cpu_ms).sum::<f64>() / 10.0 / self.secs
    }

    /// Wake-ups (voluntary switches) per second, all threads.
    fn wakeups_per_s(&self) -> f64 {
        self.per_thread.iter().map(|t| t.woken).sum::<u64>() as f64 / self.secs
    }

    /// Preemptions (involuntary switches) per second, all threads.
    fn preemptions_per_s(&self) -> f64 {
        self.per_thread.iter().map(|t| t.preempted).sum::<u64>() as f64 / self.secs
    }

    /// The thread with the most of `count` per frame.
    fn max_per_frame(&self, count: impl Fn(&ThreadCost) -> u64) -> (String, f64) {
        self.per_thread
            .iter()
            .map(|t| (t.name.clone(), count(t) as f64 / self.secs / FPS))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or_default()
    }

    fn print_threads(&self) {
        println!(
            "    {:<16} {:>8} {:>10} {:>12} {:>16} {:>8}",
            "thread", "CPU %", "µs/frame", "wakes/frame", "preempted/frame", "wakes/s"
        );
        for t in &self.per_thread {
            println!(
                "    {:<16} {:>8.3} {:>10.1} {:>12.2} {:>16.2} {:>8.2}",
                t.name,
                t.cpu_ms / 10.0 / self.secs,
                t.cpu_ms * 1000.0 / self.secs / FPS,
                t.woken as f64 / self.secs / FPS,
                t.preempted as f64 / self.secs / FPS,
                t.woken as f64 / self.secs
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The seed configuration
// ---------------------------------------------------------------------------------------------------

/// `config/diuna.toml` with the broker's port, a private state file, device id `seed`, and each zone
/// running `effects` (static when `None`), switched on.
fn seed_config(port: u16, animated: bool) -> String {
    let seed = include_str!("../config/diuna.toml");
    let must = |s: String, from: &str, to: &str| {
        assert!(s.contains(from), "config/diuna.toml no longer has `{from}`");
        s.replacen(from, to, 1)
    };
    let s = must(seed.to_string(), "port = 1883", &format!("port = {port}"));
    let s = must(s, "host = \"localhost\"", "host = \"127.0.0.1\"");
    let s = must(
        s,
        "path = \"/tmp/diuna-state.json\"",
        "path = \"{dir}/state.json\"",
    );
    let mut out = String::from("device_id = \"seed\"\n");
    let mut zone = None;
    let mut seen = 0;
    for line in s.lines() {
        if line.starts_with("effect = ") || line.starts_with("on = ") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if let Some(id) = line
            .strip_prefix("id = \"")
            .and_then(|r| r.strip_suffix('"'))
        {
            zone = SEED_EFFECTS.iter().find(|z| z.0 == id).map(|z| z.1);
        }
        if line.starts_with("pixels = ")
            && let Some(effect) = zone.take()
        {
            seen += 1;
            out.push_str("on = true\n");
            if animated {
                out.push_str(&format!("effect = \"{effect}\"\n"));
            }
        }
    }
    assert_eq!(
        seen,
        SEED_EFFECTS.len(),
        "config/diuna.toml no longer has the five seed zones"
    );
    out
}

/// Waits until the daemon's retained `online` reaches a client.
fn wait_online(port: u16) {
    let mut opts = MqttOptions::new("frame-cost-observer", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut conn) = Client::new(opts, 16);
    client
        .subscribe("diuna/seed/availability", QoS::AtMostOnce)
        .expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(20);
    for ev in conn.iter() {
        if let Ok(Event::Incoming(Packet::Publish(p))) = &ev
            && &p.payload[..] == b"online"
        {
            break;
        }
        assert!(Instant::now() < deadline, "the daemon never came online");
    }
    let _ = client.disconnect();
}

/// Publishes `rate` commands/s until `stop` is set: alternately a brightness and a speed, round robin
/// over the five zones.
fn commands(port: u16, rate: f64, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> u64 {
    use std::sync::atomic::Ordering;
    let mut opts = MqttOptions::new("frame-cost-commands", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut conn) = Client::new(opts, 256);
    let pump = std::thread::spawn(move || {
        for ev in conn.iter() {
            if matches!(
                ev,
                Err(_) | Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))
            ) {
                break;
            }
        }
    });
    let t0 = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let at = t0 + Duration::from_secs_f64(sent as f64 / rate);
        if let Some(w) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let zone = SEED_EFFECTS[sent as usize % 5].0;
        let round = sent / 5;
        let (topic, payload) = if round % 2 == 0 {
            (
                format!("diuna/seed/{zone}/set"),
                format!(r#"{{"brightness":{}}}"#, 100 + round % 150),
            )
        } else {
            (
                format!("diuna/seed/{zone}/speed/set"),
                format!("{}", 20 + round % 60),
            )
        };
        client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .expect("publish");
        sent += 1;
    }
    let _ = client.disconnect();
    let _ = pump.join();
    sent
}

// ---------------------------------------------------------------------------------------------------
// The parts
// ---------------------------------------------------------------------------------------------------

/// What a bare 60 Hz timer loop costs here: the floor under any program that wakes once per frame.
fn floor(secs: f64) -> f64 {
    let t = std::thread::spawn(move || {
        let read = || {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let period = Duration::from_secs_f64(1.0 / FPS);
        let (t0, ns0) = (Instant::now(), read());
        let mut next = t0;
        while t0.elapsed().as_secs_f64() < secs {
            next += period;
            if let Some(w) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(w);
            }
        }
        (read() - ns0) as f64 / 1e7 / t0.elapsed().as_secs_f64()
    });
    t.join().expect("floor thread")
}

/// A client answering commands: subscribes to a filter at QoS 1, says so, answers until told to stop.
type Serve = fn(
    u16,
    &str,
    std::sync::mpsc::Sender<()>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> common::floor_client::Served;

/// What `serve` spends answering `rate` QoS 1 commands/s (the same publisher as the `commands` part).
fn command_floor(serve: Serve, rate: f64, secs: f64) -> common::floor_client::Served {
    let broker = Broker::start();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (port, stop2) = (broker.port, stop.clone());
    let client = std::thread::spawn(move || serve(port, "diuna/seed/#", ready_tx, stop2));
    ready
        .recv_timeout(Duration::from_secs(10))
        .expect("the floor client never subscribed");
    let (port, stop3) = (broker.port, stop.clone());
    let sender = std::thread::spawn(move || commands(port, rate, stop3));
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().expect("command thread");
    let served = client.join().expect("floor client");
    assert!(served.answered > 0, "the floor client answered no command");
    served
}

/// One client floor of the command path, and its figures over the rounds.
struct ClientFloor {
    /// What it is, in the lines printed per round.
    what: &'static str,
    /// Its name in the summary table.
    label: &'static str,
    serve: Serve,
    pct: Rounds,
    us: Rounds,
}

impl ClientFloor {
    fn new(what: &'static str, label: &'static str, serve: Serve) -> Self {
        let (pct, us) = (Rounds::default(), Rounds::default());
        Self {
            what,
            label,
            serve,
            pct,
            us,
        }
    }
}

struct Run {
    window: Window,
    hwm_kib: u64,
    anon_kib: u64,
    file_kib: u64,
    /// Where the resident memory was at the end of the window.
    memory: Option<Memory>,
}

/// Starts the broker and the daemon on the seed config, lets it settle, measures `secs`.
fn run(animated: bool, rate: f64, secs: f64) -> Run {
    let broker = Broker::start();
    let d = start_daemon(&seed_config(broker.port, animated));
    wait_online(broker.port);
    std::thread::sleep(Duration::from_secs(3));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = (rate > 0.0).then(|| {
        let (port, stop) = (broker.port, stop.clone());
        std::thread::spawn(move || commands(port, rate, stop))
    });
    if sender.is_some() {
        std::thread::sleep(Duration::from_secs(1));
    }
    let window = Window::measure(d.pid(), secs);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(s) = sender {
        let sent = s.join().expect("command thread");
        assert!(sent > 0, "no command sent");
    }
    assert!(
        window.per_thread.iter().any(|t| t.name == "diuna-render"),
        "no render thread; log:\n{}",
        d.log()
    );
    let r = Run {
        window,
        hwm_kib: d.status_kib("VmHWM:"),
        anon_kib: d.status_kib("RssAnon:"),
        file_kib: d.status_kib("RssFile:"),
        memory: d.memory(),
    };
    d.stop();
    r
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// One figure over the rounds; a verdict takes the median, as host noise moves single runs by a third.
#[derive(Default)]
struct Rounds(Vec<f64>);

impl Rounds {
    fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NAN, f64::max)
    }

    /// The median, with the range when there were several rounds: `0.339 % (3 rounds: 0.30–0.41)`.
    fn show(&self, unit: &str) -> String {
        let m = self.median();
        if self.0.len() < 2 {
            return format!("{m:.3}{unit}");
        }
        let min = self.0.iter().copied().fold(f64::NAN, f64::min);
        format!(
            "{m:.3}{unit} ({} rounds: {min:.3}–{:.3})",
            self.0.len(),
            self.max()
        )
    }
}

/// Keeps the larger of `part`'s figure so far and this round's `(thread, figure)`.
fn keep_worst<'a>(
    worst: &mut HashMap<&'a str, (f64, String)>,
    part: &'a str,
    (name, v): (String, f64),
) {
    let slot = worst.entry(part).or_insert((f64::MIN, String::new()));
    if v > slot.0 {
        *slot = (v, name);
    }
}

/// The parts measured in each round: name, animated, under commands (at `DIUNA_FC_RATE`), target %.
const PARTS: [(&str, bool, bool, f64); 3] = [
    ("seed", true, false, 0.25),
    ("commands", true, true, 0.8),
    ("idle", false, false, 0.1),
];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: f64 = env_num("DIUNA_FC_SECS").unwrap_or(20.0);
    let rate: f64 = env_num("DIUNA_FC_RATE").unwrap_or(50.0);
    let rounds: usize = env_num("DIUNA_FC_ROUNDS").unwrap_or(1).max(1);
    let (bin, built) = measured_bin();
    println!("frame cost (issue 16) — binary {}, {built}", bin.display());
    let mut floor_pct = Rounds::default();
    let mut clients = [
        ClientFloor::new(
            "a bare MQTT client",
            "bare MQTT client",
            common::floor_client::serve,
        ),
        ClientFloor::new(
            "rumqttc on a current-thread tokio runtime",
            "rumqttc + tokio alone",
            common::floor_stack::serve,
        ),
    ];
    let mut cpu: HashMap<&str, Rounds> = HashMap::new();
    // Worst round of each: (figure, thread).
    let mut wakes: HashMap<&str, (f64, String)> = HashMap::new();
    let mut preempts: HashMap<&str, (f64, String)> = HashMap::new();
    let (mut idle_wakes, mut idle_preempts) = (Rounds::default(), Rounds::default());
    let mut hwm: Option<(String, Run)> = None;

    for round in 1..=rounds {
        if rounds > 1 {
            println!("\n=== round {round} of {rounds}");
        }
        if wants("floor") {
            let pct = floor(secs);
            println!("\n[floor] a bare thread waking at 60 Hz: {pct:.3} % of a core");
            floor_pct.push(pct);
            for f in clients.iter_mut() {
                let served = command_floor(f.serve, rate, secs);
                let cmd_pct = served.cpu_ns as f64 / 1e7 / served.over.as_secs_f64();
                let per_cmd = served.cpu_ns as f64 / 1e3 / served.answered as f64;
                println!(
                    "[floor] {} answering {rate:.0} QoS 1 commands/s (PUBACK + a state publish \
                     each): {cmd_pct:.3} % of a core, {per_cmd:.1} µs per command, {:.2} wake-ups \
                     and {:.2} preemptions per command",
                    f.what,
                    served.woken as f64 / served.answered as f64,
                    served.preempted as f64 / served.answered as f64
                );
                f.pct.push(cmd_pct);
                f.us.push(per_cmd);
            }
        }
        for (part, animated, commanded, _) in PARTS {
            if !wants(part) {
                continue;
            }
            let r = if commanded { rate } else { 0.0 };
            let run = run(animated, r, secs);
            let w = &run.window;
            println!(
                "\n[{part}] {} {}, {:.0} s: {:.3} % of a core, {:.1} wake-ups/s, {:.1} preemptions/s",
                if animated {
                    "five seed zones animated at 60 FPS"
                } else {
                    "five seed zones static"
                },
                if r > 0.0 {
                    format!("+ {r:.0} commands/s")
                } else {
                    "no commands".into()
                },
                w.secs,
                w.cpu_pct(),
                w.wakeups_per_s(),
                w.preemptions_per_s()
            );
            w.print_threads();
            cpu.entry(part).or_default().push(w.cpu_pct());
            if animated {
                keep_worst(&mut wakes, part, w.max_per_frame(|t| t.woken));
                keep_worst(&mut preempts, part, w.max_per_frame(|t| t.preempted));
            } else {
                idle_wakes.push(w.wakeups_per_s());
                idle_preempts.push(w.preemptions_per_s());
            }
            if hwm.as_ref().is_none_or(|(_, h)| run.hwm_kib > h.hwm_kib) {
                hwm = Some((part.to_string(), run));
            }
        }
    }

    let mut rows: Vec<(String, String, String, &str)> = Vec::new();
    if !floor_pct.0.is_empty() {
        rows.push((
            "floor: bare 60 Hz timer thread".into(),
            floor_pct.show(" %"),
            "—".into(),
            "info",
        ));
        for f in &clients {
            rows.push((
                format!("floor: {}, {rate:.0} commands/s", f.label),
                format!("{} ({:.0} µs per command)", f.pct.show(" %"), f.us.median()),
                "—".into(),
                "info",
            ));
        }
    }
    for (part, animated, commanded, target) in PARTS {
        let Some(c) = cpu.get(part) else {
            continue;
        };
        let m = c.median();
        // The floor under a part: the timer thread's wake-ups, plus under commands the bare client's
        // socket work, or what rumqttc on tokio spends on the same (the floor of Diuna's own stack).
        let floor = |client: &ClientFloor| {
            floor_pct.median() + if commanded { client.pct.median() } else { 0.0 }
        };
        let over_floor = match (floor_pct.0.is_empty() || !animated, commanded) {
            (true, _) => String::new(),
            (false, false) => format!(", {:.1} × floor", m / floor(&clients[0])),
            (false, true) => format!(
                ", {:.1} × floor; stack floor {:.3} %",
                m / floor(&clients[0]),
                floor(&clients[1])
            ),
        };
        rows.push((
            format!("CPU, {part} (median)"),
            format!("{}{over_floor}", c.show(" %")),
            format!("≤ {target} %"),
            verdict(m <= target),
        ));
        if animated {
            let (per_frame, name) = &wakes[part];
            rows.push((
                format!("wake-ups per thread per frame, {part}"),
                format!("{per_frame:.2} ({name}, worst round)"),
                "≤ 1".into(),
                verdict(*per_frame <= 1.0),
            ));
            let (per_frame, name) = &preempts[part];
            rows.push((
                format!("  preemptions per thread per frame, {part}"),
                format!("{per_frame:.2} ({name}, worst round)"),
                "—".into(),
                "info",
            ));
        } else {
            rows.push((
                "idle wake-ups (worst round)".into(),
                format!(
                    "{:.2} /s (+ {:.2} /s preempted)",
                    idle_wakes.max(),
                    idle_preempts.max()
                ),
                "≤ 1 /s".into(),
                verdict(idle_wakes.max() <= 1.0),
            ));
        }
    }
    if let Some((part, run)) = &hwm {
        let mib = run.hwm_kib as f64 / 1024.0;
        rows.push((
            "peak RSS (VmHWM), two strips, MQTT connected".into(),
            format!(
                "{mib:.2} MiB ({part}: anon {:.2}, file {:.2})",
                run.anon_kib as f64 / 1024.0,
                run.file_kib as f64 / 1024.0
            ),
            "≤ 5 MiB".into(),
            verdict(mib <= 5.0),
        ));
        if let Some(m) = run.memory {
            let mib = |kib: u64| kib as f64 / 1024.0;
            rows.push((
                "  resident now: executable, shared libs, anon".into(),
                format!(
                    "{:.2} + {:.2} + {:.2} MiB",
                    mib(m.executable),
                    mib(m.libraries),
                    mib(m.anon)
                ),
                "—".into(),
                "info",
            ));
            rows.push((
                "  PSS now (shared pages divided by sharers)".into(),
                format!("{:.2} MiB", mib(m.pss)),
                "—".into(),
                "info",
            ));
        }
    }
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    rows.push((
        "binary size".into(),
        format!("{:.2} MiB ({size} bytes)", size as f64 / 1048576.0),
        "—".into(),
        "info",
    ));
    let line = "-".repeat(126);
    println!("\n{line}");
    for (name, value, target, v) in &rows {
        println!("{name:<48} {value:<56} {target:<10} {v}");
    }
    println!("{line}");
}
