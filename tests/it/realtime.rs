//! Realtime input end to end: real DDP and E1.31 datagrams over UDP to the running daemon (ports from
//! the `[realtime]` keys), LEDs read from the capture, Home Assistant entities and commands through a
//! real Mosquitto. E1.31 also comes from the `sacn` Python package, a sender we did not write.

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diuna::stream::{ddp, e131};

use crate::support::{Broker, Capture, CapturedFrame, Daemon, Msg, TestClient};
use crate::testconfig::TestConfig;

pub(crate) const B: &str = "diuna/rt";
pub(crate) const RED: [u8; 3] = [255, 0, 0];
pub(crate) const BLUE: [u8; 3] = [0, 0, 255];

/// Two different UDP ports nobody uses right now: both sockets are held while the second is chosen,
/// so the kernel cannot hand out the same port twice (the daemon refuses a DDP port equal to its E1.31
/// port).
fn free_udp_ports() -> Ports {
    let bind = || UdpSocket::bind("127.0.0.1:0").expect("no free UDP port");
    let (ddp, e131) = (bind(), bind());
    let port = |s: &UdpSocket| s.local_addr().expect("bound socket").port();
    Ports {
        ddp: port(&ddp),
        e131: port(&e131),
    }
}

pub(crate) struct Ports {
    pub ddp: u16,
    pub e131: u16,
}

/// Zone `floor` (4 px, red) then `desk` (2 px, blue, reversed) on one RGB strip with gamma 1.
fn config(mqtt: u16, ports: &Ports, bind: &str, timeout: &str, extra: &str) -> String {
    TestConfig::new("rt")
        .mqtt(mqtt)
        .set("render", "fade_out = \"0s\"")
        .set_all("mqtt", &["keep_alive = \"5s\"", "reconnect_max = \"1s\""])
        .set_all(
            "realtime",
            &[
                "enabled = true",
                &format!("bind = \"{bind}\""),
                &format!("ddp_port = {}", ports.ddp),
                &format!("e131_port = {}", ports.e131),
                &format!("timeout = \"{timeout}\""),
                "fade_back = \"300ms\"",
            ],
        )
        .extra("realtime", extra)
        .strip("a")
        .zone_with("floor", "a", 4, [255, 0, 0], &["name = \"Floor\""])
        .zone_with(
            "desk",
            "a",
            2,
            [0, 0, 255],
            &["name = \"Desk\"", "reversed = true"],
        )
        .build()
}

pub(crate) struct Rig {
    _broker: Broker,
    pub daemon: Daemon,
    pub client: TestClient,
    pub cap: Capture,
    pub ports: Ports,
}

pub(crate) fn start(timeout: &str, extra: &str) -> Rig {
    start_on("127.0.0.1", timeout, extra)
}

pub(crate) fn start_on(bind: &str, timeout: &str, extra: &str) -> Rig {
    start_gamma(bind, timeout, extra, "1.0")
}

/// Like [`start_on`] with the strip's gamma (red and blue stay exact at any gamma).
pub(crate) fn start_gamma(bind: &str, timeout: &str, extra: &str, gamma: &str) -> Rig {
    let broker = Broker::start();
    let ports = free_udp_ports();
    let text = config(broker.port, &ports, bind, timeout, extra)
        .replace("gamma = 1.0", &format!("gamma = {gamma}"));
    let daemon = Daemon::start(&text);
    let mut client =
        TestClient::connect(broker.port, "t-rt", &[&format!("{B}/#"), "homeassistant/#"]);
    client.wait_topic(&format!("{B}/realtime/state"), |m| {
        m.json()["active"] == false
    });
    let mut cap = Capture::new(&daemon.path("a.jsonl"));
    cap.wait_frame("a", "the zones' own light", |f| {
        f.pixel(0) == RED && f.pixel(5) == BLUE
    });
    Rig {
        _broker: broker,
        daemon,
        client,
        cap,
        ports,
    }
}

/// The latest message already seen on `topic` if it satisfies `f`, else the next one that does.
pub(crate) fn latest(c: &mut TestClient, topic: &str, f: impl Fn(&Msg) -> bool) -> Msg {
    match c.seen.iter().rev().find(|m| m.topic == topic) {
        Some(m) if f(m) => m.clone(),
        _ => c.wait_topic(topic, f),
    }
}

pub(crate) fn own_light(f: &CapturedFrame) -> bool {
    (0..4).all(|i| f.pixel(i) == RED) && (4..6).all(|i| f.pixel(i) == BLUE)
}

/// Sends DDP to the daemon.
pub(crate) struct DdpSender {
    sock: UdpSocket,
    buf: Vec<u8>,
    seq: u8,
}

impl DdpSender {
    pub(crate) fn new(port: u16) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(("127.0.0.1", port)).unwrap();
        DdpSender {
            sock,
            buf: Vec::new(),
            seq: 0,
        }
    }

    pub(crate) fn send(&mut self, byte_offset: u32, data: &[u8], push: bool) {
        self.seq = self.seq % 15 + 1;
        ddp::build(&mut self.buf, byte_offset, data, push, self.seq);
        self.sock.send(&self.buf).unwrap();
    }
}

/// A sender thread repeating one DDP frame every 20 ms (a 50 FPS stream) until dropped.
struct DdpStream {
    run: Arc<AtomicBool>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl DdpStream {
    fn start(port: u16, pixels: Vec<u8>) -> Self {
        let run = Arc::new(AtomicBool::new(true));
        let r = run.clone();
        let join = std::thread::spawn(move || {
            let mut s = DdpSender::new(port);
            while r.load(Ordering::Relaxed) {
                s.send(0, &pixels, true);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        DdpStream {
            run,
            join: Some(join),
        }
    }
}

impl Drop for DdpStream {
    fn drop(&mut self) {
        self.run.store(false, Ordering::Relaxed);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn rgb(px: &[[u8; 3]]) -> Vec<u8> {
    px.iter().flatten().copied().collect()
}

#[test]
fn ddp_pixels_land_at_their_offsets_and_push_shows_the_frame() {
    let mut r = start("2.5s", "");
    let mut s = DdpSender::new(r.ports.ddp);
    // Pixels 0-1 without push, then pixel 4 (the desk's first physical pixel) with push.
    s.send(0, &rgb(&[[1, 2, 3], [4, 5, 6]]), false);
    s.send(12, &[7, 8, 9], true);
    let f = r
        .cap
        .wait_frame("a", "the pushed frame", |f| f.pixel(4) == [7, 8, 9]);
    assert_eq!(
        f.pixel(0),
        [1, 2, 3],
        "data before the push is in the same frame"
    );
    assert_eq!(f.pixel(1), [4, 5, 6]);
    assert_eq!(
        f.pixel(2),
        [0, 0, 0],
        "a streamed zone's pixels without data are dark"
    );
    assert_eq!(f.pixel(5), [0, 0, 0]);
    // Nothing was shown before the push.
    assert!(
        r.cap
            .frames
            .iter()
            .all(|fr| fr.pixel(0) != [1, 2, 3] || fr.pixel(4) == [7, 8, 9]),
        "a frame showed data before its push"
    );
    // A zone the stream does not reach keeps its own light.
    s.send(0, &rgb(&[[10, 20, 30]; 4]), true);
    let f = r
        .cap
        .wait_frame("a", "floor only", |f| f.pixel(3) == [10, 20, 30]);
    assert_eq!(f.pixel(4), [7, 8, 9], "desk still streamed from before");
    // Home Assistant sees it.
    let st = latest(&mut r.client, &format!("{B}/realtime/state"), |m| {
        m.json()["active"] == true
    });
    assert!(
        st.json()["source"].as_str().unwrap_or("").contains("DDP"),
        "{}",
        st.text()
    );
    latest(&mut r.client, &format!("{B}/floor/state"), |m| {
        m.json()["effect"] == "realtime" && m.json()["state"] == "ON"
    });
    latest(&mut r.client, "homeassistant/light/rt/floor/config", |m| {
        m.json()["effect_list"]
            .as_array()
            .is_some_and(|l| l.contains(&"realtime".into()))
    });

    // Out-of-range offsets and garbage change nothing and break nothing.
    s.send(4_000_000_000, &[1; 30], true);
    s.sock.send(&[0x41, 0, 0, 1, 0, 0]).unwrap();
    s.send(0, &rgb(&[[11, 22, 33]]), true);
    r.cap.wait_frame("a", "the daemon still takes frames", |f| {
        f.pixel(0) == [11, 22, 33]
    });
}

#[test]
fn silence_fades_back_to_exactly_the_previous_state() {
    let mut r = start("600ms", "");
    let stream = DdpStream::start(r.ports.ddp, rgb(&[[0, 200, 0]; 6]));
    r.cap.wait_frame("a", "the stream", |f| {
        f.pixel(0) == [0, 200, 0] && f.pixel(5) == [0, 200, 0]
    });
    latest(&mut r.client, &format!("{B}/floor/state"), |m| {
        m.json()["effect"] == "realtime"
    });
    drop(stream);
    let back = r
        .cap
        .wait_frame("a", "the zones' own light again", own_light);
    let frames = &r.cap.frames;
    let last_streamed = frames
        .iter()
        .rposition(|f| f.pixel(0) == [0, 200, 0])
        .expect("streamed frames");
    let faded: Vec<_> = frames[last_streamed + 1..]
        .iter()
        .take_while(|f| !own_light(f))
        .collect();
    assert!(!faded.is_empty(), "the hand-back fades, it does not jump");
    let mid = faded[faded.len() / 2].pixel(0);
    assert!(
        mid[0] > 0 && mid[1] > 0 && mid[1] < 200,
        "a blend of green and red: {mid:?}"
    );
    let quiet_us = faded[0].t_us - frames[last_streamed].t_us;
    assert!(
        quiet_us >= 550_000,
        "held the last frame for the timeout, got {quiet_us} µs"
    );
    assert!(back.t_us > faded[0].t_us);
    r.client
        .wait_topic(&format!("{B}/floor/state"), |m| m.json()["effect"] == "off");
    latest(&mut r.client, &format!("{B}/realtime/state"), |m| {
        m.json()["active"] == false
    });
}

#[test]
fn turning_a_zone_off_wins_until_the_user_allows_it_again() {
    let mut r = start("2.5s", "");
    let _stream = DdpStream::start(r.ports.ddp, rgb(&[[0, 0, 99]; 6]));
    r.cap
        .wait_frame("a", "the stream", |f| f.pixel(0) == [0, 0, 99]);
    r.client
        .publish(&format!("{B}/floor/set"), r#"{"state":"OFF"}"#);
    r.cap
        .wait_frame("a", "floor off while the stream runs", |f| {
            (0..4).all(|i| f.pixel(i) == [0, 0, 0]) && f.pixel(4) == [0, 0, 99]
        });
    latest(&mut r.client, &format!("{B}/floor/state"), |m| {
        m.json()["state"] == "OFF"
    });
    // Dimming the desk dims the stream; it stays streamed.
    r.client
        .publish(&format!("{B}/desk/set"), r#"{"brightness":128}"#);
    r.cap
        .wait_frame("a", "desk dimmed", |f| f.pixel(4) == [0, 0, 50]);
    // The realtime effect lets the stream back.
    r.client.publish(
        &format!("{B}/floor/set"),
        r#"{"state":"ON","effect":"realtime"}"#,
    );
    r.cap
        .wait_frame("a", "floor streamed again", |f| f.pixel(0) == [0, 0, 99]);
    latest(&mut r.client, &format!("{B}/floor/state"), |m| {
        m.json()["effect"] == "realtime"
    });
}

#[test]
fn the_knob_power_button_wins_over_the_stream() {
    let extra = "[input]\nkeyboard = \"none\"\nsim_socket = \"{dir}/input.sock\"";
    let mut r = start("2.5s", extra);
    let _stream = DdpStream::start(r.ports.ddp, rgb(&[[0, 99, 0]; 6]));
    r.cap.wait_frame("a", "the stream", |f| {
        f.pixel(0) == [0, 99, 0] && f.pixel(5) == [0, 99, 0]
    });
    let path = r.daemon.path("input.sock");
    let mut w = crate::support::wait_for(Duration::from_secs(10), "input socket", || {
        std::os::unix::net::UnixStream::connect(&path).ok()
    });
    let mut reply = BufReader::new(w.try_clone().unwrap());
    writeln!(w, "press 3").unwrap();
    let mut ok = String::new();
    reply.read_line(&mut ok).unwrap();
    assert_eq!(ok.trim(), "ok");
    // BTN3 powers every zone off (with its fade): the stream keeps coming, the LEDs go dark.
    r.cap.wait_frame("a", "dark while the stream runs", |f| {
        (0..6).all(|i| f.pixel(i) == [0, 0, 0])
    });
    latest(&mut r.client, &format!("{B}/floor/state"), |m| {
        m.json()["state"] == "OFF"
    });
}

#[test]
fn the_override_select_ignores_and_allows() {
    let mut r = start("700ms", "");
    let set = format!("{B}/realtime/set");
    let state = format!("{B}/realtime/state");
    let stream = DdpStream::start(r.ports.ddp, rgb(&[[5, 5, 5]; 6]));
    r.cap
        .wait_frame("a", "the stream", |f| f.pixel(0) == [5, 5, 5]);
    r.client.publish(&set, "ignore now");
    r.cap.wait_frame("a", "own light while ignoring", own_light);
    latest(&mut r.client, &state, |m| {
        m.json()["override"] == "ignore now" && m.json()["active"] == false
    });
    drop(stream);
    // The ignored stream stopped: the select returns to allow by itself, and the next stream shows.
    latest(&mut r.client, &state, |m| m.json()["override"] == "allow");
    let stream = DdpStream::start(r.ports.ddp, rgb(&[[6, 6, 6]; 6]));
    r.cap
        .wait_frame("a", "a new stream shows", |f| f.pixel(0) == [6, 6, 6]);
    r.client.publish(&set, "ignore until restart");
    r.cap.wait_frame("a", "own light", own_light);
    drop(stream);
    latest(&mut r.client, &state, |m| {
        m.json()["override"] == "ignore until restart"
    });
    let _stream = DdpStream::start(r.ports.ddp, rgb(&[[7, 7, 7]; 6]));
    latest(&mut r.client, &state, |m| {
        m.json()["source"]
            .as_str()
            .is_some_and(|s| s.contains("DDP"))
    });
    r.client.publish(&set, "allow");
    r.cap
        .wait_frame("a", "allowed again", |f| f.pixel(0) == [7, 7, 7]);
    // Anything else is rejected on B/error.
    r.client.publish(&set, "sometimes");
    latest(&mut r.client, &format!("{B}/error"), |m| {
        m.text().contains("realtime")
    });
}

#[test]
fn e131_universes_priority_and_sequence_from_raw_packets() {
    // Universe 3, address 4 is pixel 0: 170 pixels per universe, pixel 0-3 floor, 4-5 desk.
    let mut r = start("30s", "e131_universe = 3\ne131_address = 4");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", r.ports.e131)).unwrap();
    let mut buf = Vec::new();
    let mut send = |cid: u8, prio: u8, seq: u8, px: [u8; 3], opts: e131::BuildOptions| {
        let mut slots = vec![0u8; 3];
        slots.extend(std::iter::repeat_n(px, 6).flatten());
        e131::build(&mut buf, [cid; 16], prio, seq, 3, &slots, opts);
        sock.send(&buf).unwrap();
    };
    let plain = e131::BuildOptions::default();
    send(1, 100, 10, [1, 1, 1], plain);
    r.cap.wait_frame("a", "source 1", |f| {
        f.pixel(0) == [1, 1, 1] && f.pixel(5) == [1, 1, 1]
    });
    // Out of sequence (9 after 10): dropped. Then 11 shows.
    send(1, 100, 9, [2, 2, 2], plain);
    send(1, 100, 11, [3, 3, 3], plain);
    r.cap
        .wait_frame("a", "sequence 11", |f| f.pixel(0) == [3, 3, 3]);
    assert!(
        r.cap.frames.iter().all(|f| f.pixel(0) != [2, 2, 2]),
        "an out-of-sequence packet was shown"
    );
    // Preview data and a non-zero start code are not shown either.
    send(
        1,
        100,
        12,
        [4, 4, 4],
        e131::BuildOptions {
            preview: true,
            ..plain
        },
    );
    send(
        1,
        100,
        13,
        [4, 4, 4],
        e131::BuildOptions {
            start_code: 0xDD,
            ..plain
        },
    );
    // A lower priority source is ignored, a higher one takes over.
    send(2, 50, 1, [5, 5, 5], plain);
    send(3, 150, 1, [6, 6, 6], plain);
    r.cap
        .wait_frame("a", "priority 150", |f| f.pixel(0) == [6, 6, 6]);
    assert!(
        r.cap
            .frames
            .iter()
            .all(|f| f.pixel(0) != [4, 4, 4] && f.pixel(0) != [5, 5, 5])
    );
    // The winner terminates; the first source holds again; when it terminates too, the zones fade back
    // at once (the 30 s timeout would not have run out).
    send(
        3,
        150,
        2,
        [0, 0, 0],
        e131::BuildOptions {
            terminated: true,
            ..plain
        },
    );
    send(1, 100, 14, [7, 7, 7], plain);
    r.cap
        .wait_frame("a", "back to source 1", |f| f.pixel(0) == [7, 7, 7]);
    // Source 1 leaves too: source 2 (priority 50, still live) holds the universe from its next packet;
    // when it leaves as the last one, the zones fade back at once.
    send(
        1,
        100,
        15,
        [0, 0, 0],
        e131::BuildOptions {
            terminated: true,
            ..plain
        },
    );
    send(2, 50, 2, [8, 8, 8], plain);
    r.cap
        .wait_frame("a", "source 2", |f| f.pixel(0) == [8, 8, 8]);
    send(
        2,
        50,
        3,
        [0, 0, 0],
        e131::BuildOptions {
            terminated: true,
            ..plain
        },
    );
    r.cap
        .wait_frame("a", "own light after termination", own_light);
}

#[test]
fn discovery_announces_the_realtime_entities() {
    let mut r = start("2.5s", "");
    let want = [
        "homeassistant/binary_sensor/rt/realtime_active/config",
        "homeassistant/sensor/rt/realtime_source/config",
        "homeassistant/select/rt/realtime_override/config",
    ];
    for topic in want {
        let d = latest(&mut r.client, topic, |m| !m.payload.is_empty()).json();
        assert_eq!(d["state_topic"], format!("{B}/realtime/state"), "{topic}");
        assert_eq!(d["device"]["identifiers"][0], "diuna_rt");
        assert!(
            d["unique_id"]
                .as_str()
                .is_some_and(|u| u.starts_with("rt_realtime"))
        );
    }
    let select = latest(
        &mut r.client,
        "homeassistant/select/rt/realtime_override/config",
        |_| true,
    )
    .json();
    assert_eq!(
        select["options"],
        serde_json::json!(["allow", "ignore until restart", "ignore now"])
    );
    assert_eq!(select["command_topic"], format!("{B}/realtime/set"));
    // The receiver's counters are in B/health.
    let h = latest(&mut r.client, &format!("{B}/health"), |m| {
        m.json()["realtime"].is_object()
    })
    .json();
    for k in [
        "packets",
        "frames",
        "frames_dropped",
        "malformed",
        "other_source",
        "out_of_sequence",
    ] {
        assert!(h["realtime"][k].is_u64(), "health.realtime.{k}: {h}");
    }
    // The light does not offer realtime while nothing streams.
    let light = latest(&mut r.client, "homeassistant/light/rt/floor/config", |_| {
        true
    })
    .json();
    assert!(
        !light["effect_list"]
            .as_array()
            .unwrap()
            .contains(&"realtime".into())
    );
    let _ = r.daemon.log();
}
