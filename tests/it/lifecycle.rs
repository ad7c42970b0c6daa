//! The daemon boots on a config, shows the configured colours on the right pixels, and stops cleanly.

use std::time::{Duration, Instant};

use crate::support::{Broker, Capture, Daemon};
use crate::testconfig::TestConfig;

/// Two strips, one reversed zone, known colours; no broker (MQTT disabled) so this test needs nothing
/// else. The idle resend (`render.refresh`) is 1 s so that the test can see it.
pub fn two_strips() -> String {
    TestConfig::new("it")
        .top("fps = 60")
        .set_all(
            "render",
            &[
                "fade_in = \"200ms\"",
                "fade_out = \"300ms\"",
                "refresh = \"1s\"",
            ],
        )
        .strip_with("a", &["color_order = \"GRB\""])
        .strip_with("b", &["color_order = \"BRG\"", "led_type = \"ws2811\""])
        .zone("red", "a", 3, [255, 0, 0])
        .zone_with("ramp", "a", 4, [0, 0, 200], &["reversed = true"])
        .zone_with("off", "b", 2, [0, 255, 0], &["on = false"])
        .zone("green", "b", 5, [10, 20, 30])
        .build()
}

#[test]
fn boots_shows_configured_colours_and_stops_on_sigterm() {
    let d = Daemon::start(&two_strips());
    let mut a = Capture::new(&d.path("a.jsonl"));
    let mut b = Capture::new(&d.path("b.jsonl"));
    // After the fade-in, strip a (GRB): 3 red pixels then 4 blue ones.
    let fa = a.wait_frame("a", "strip a at full colour", |f| f.pixel(0) == [0, 255, 0]);
    assert_eq!(fa.wire.len(), 7 * 3);
    for i in 0..3 {
        assert_eq!(fa.pixel(i), [0, 255, 0], "red zone pixel {i} in GRB");
    }
    for i in 3..7 {
        assert_eq!(fa.pixel(i), [0, 0, 200], "reversed blue zone pixel {i}");
    }
    // Strip b (BRG): the off zone is dark, the next zone is (10,20,30) → wire (30,10,20).
    let fb = b.wait_frame("b", "strip b at full colour", |f| {
        f.pixel(2) == [30, 10, 20]
    });
    assert_eq!(fb.pixel(0), [0, 0, 0]);
    assert_eq!(fb.pixel(1), [0, 0, 0]);
    assert_eq!(fb.pixel(6), [30, 10, 20]);

    // The fade-in rose from black: the first frame of strip a is dimmer than the settled one.
    let first = a.frames.iter().find(|f| f.strip == "a").unwrap().clone();
    assert!(
        first.pixel(0)[1] < 255,
        "first frame {:?} should be part of the fade-in",
        first.pixel(0)
    );

    // Idle: once settled, nothing goes out until the periodic resend 1 s after the last frame (an
    // animating or busy loop would send the next frame one interval later).
    let resend = a.wait_frame("a", "the idle resend", |_| true);
    assert_eq!(
        resend.wire, fa.wire,
        "the resend repeats the settled picture"
    );
    assert!(
        resend.t_us >= fa.t_us + 900_000,
        "a frame {} ms after the settled one: not idle",
        (resend.t_us - fa.t_us) / 1000
    );

    let (status, _, dir) = d.stop();
    assert!(status.success(), "exit status {status:?}");
    // It faded out: the last frame of each strip is black.
    let mut a = Capture::new(&dir.path().join("a.jsonl"));
    let last = a.last("a").unwrap();
    assert!(
        last.wire.iter().all(|&x| x == 0),
        "last frame not dark: {:?}",
        last.wire
    );
}

/// A SIGTERM the moment the daemon says it started (a `systemctl stop` or `restart` right after a
/// start) stops it cleanly, as any other: the SIGTERM and SIGINT handlers are installed before
/// anything starts. They were installed by a spawned task, which first ran only after start-up had
/// logged this line and started every task; a SIGTERM in between killed the daemon (19 of 20 times
/// with the signal sent as the line was read, and in most runs of this test).
#[test]
fn sigterm_as_soon_as_started_stops_cleanly() {
    let broker = Broker::start();
    let toml = TestConfig::new("st")
        .mqtt(broker.port)
        .strip("a")
        .zone("one", "a", 3, [255, 0, 0])
        .zone("two", "a", 3, [0, 0, 255])
        .build();
    for round in 1..=3 {
        let mut d = Daemon::start(&toml);
        let deadline = Instant::now() + Duration::from_secs(10);
        // Not `wait_log` and `stop`: one polls, the other runs `kill`, and the window closes within
        // a millisecond.
        let started = |log: &String| log.contains("diuna started");
        while !d.stderr.lock().is_ok_and(|log| started(&log)) {
            assert!(Instant::now() < deadline, "no start-up line: {}", d.log());
            std::thread::yield_now();
        }
        let pid = libc::pid_t::try_from(d.child.id()).expect("a pid");
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child's, not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let (status, _) = d.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "round {round}: exit status {status:?}");
    }
}

#[test]
fn check_config_prints_map_or_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, two_strips().replace("{dir}", "/tmp")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diuna"))
        .arg("--check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("zone ramp") && text.contains("reversed"),
        "{text}"
    );
    assert!(
        text.contains("3..6"),
        "pixel range of the reversed zone: {text}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        two_strips()
            .replace("{dir}", "/tmp")
            .replace("gpio = 19", "gpio = 18"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diuna"))
        .arg("--check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("strips[1].gpio"));

    // Running (not checking) a bad config also exits 2.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diuna"))
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sighup_reloads_what_is_safe_and_explains_what_is_not() {
    let d = Daemon::start(&two_strips());
    let mut a = Capture::new(&d.path("a.jsonl"));
    a.wait_frame("a", "settled", |f| f.pixel(0) == [0, 255, 0]);
    // A safe change: a power budget on strip a, applied live.
    let text = std::fs::read_to_string(&d.config).unwrap();
    let limited = text.replacen(
        "gamma = 1.0\ncapture",
        "gamma = 1.0\nmax_current_ma = 60\ncapture",
        1,
    );
    assert_ne!(limited, text);
    std::fs::write(&d.config, &limited).unwrap();
    d.signal("HUP");
    let f = a.wait_frame("a", "power limit applied", |f| f.pixel(0)[1] < 255);
    let sum: u32 = f.wire.iter().map(|&b| b as u32).sum();
    assert!(sum as f32 / 255.0 * 20.0 <= 60.0, "within the new budget");
    crate::support::wait_for(Duration::from_secs(10), "reload logged", || {
        d.log().contains("SIGHUP: reloaded").then_some(())
    });
    // An unsafe change (a zone resized) is refused with the reason.
    std::fs::write(&d.config, limited.replace("pixels = 3", "pixels = 4")).unwrap();
    d.signal("HUP");
    crate::support::wait_for(Duration::from_secs(10), "refusal logged", || {
        d.log().contains("needs a restart").then_some(())
    });
    // A broken file is refused and the daemon keeps running.
    std::fs::write(&d.config, "fps = \"fast\"").unwrap();
    d.signal("HUP");
    crate::support::wait_for(Duration::from_secs(10), "bad config logged", || {
        d.log().contains("config not reloaded").then_some(())
    });
    let (status, _, _) = d.stop();
    assert!(status.success());
}
