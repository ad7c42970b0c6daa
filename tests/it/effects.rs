//! Effects, transitions, flash and frame-step, commanded through a real broker and observed on the
//! frames of an in-process daemon ([`crate::inproc`]): every wait is for a frame, every timing check is
//! on the frames' own timestamps.

use crate::inproc::{InProc, start_app};
use crate::support::{Broker, TestClient};
use crate::testconfig::TestConfig;

fn config(port: u16) -> String {
    TestConfig::new("fx")
        .mqtt(port)
        .set("render", "easing = \"linear\"")
        // While frame-step pauses the picture, the periodic resend still shows what stands.
        .set("render", "refresh = \"50ms\"")
        .strip("s")
        .zone("z", "s", 8, [0, 0, 0])
        .build()
}

const B: &str = "diuna/fx";

fn setup() -> (Broker, InProc, TestClient) {
    let broker = Broker::start();
    let app = start_app(&config(broker.port));
    let mut c = TestClient::connect(broker.port, "fx", &[&format!("{B}/#")]);
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    (broker, app, c)
}

#[test]
fn colour_transition_fades_over_the_requested_time() {
    let (_b, mut app, c) = setup();
    app.wait_frame("s", "black start", |f| f.pixel(0) == [0, 0, 0]);
    let start = app.seen.len();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"color":{"r":200,"g":0,"b":0},"transition":1}"#,
    );
    let end = app.wait_frame("s", "fade finished", |f| f.pixel(0) == [200, 0, 0]);
    let frames: Vec<_> = app.seen[start..]
        .iter()
        .filter(|f| f.t_us <= end.t_us && f.pixel(0) != [0, 0, 0])
        .cloned()
        .collect();
    let first = frames.first().unwrap().clone();
    // The fade cannot finish early; however late a loaded machine shows its frames, each one shows
    // the value its own time calls for (linear easing from the command to 1 s later).
    let took = (end.t_us - first.t_us) as f64 / 1e6;
    assert!(took > 0.9, "fade took {took:.3} s");
    assert!(
        frames.len() >= 10,
        "a fade, not a jump: {} frames",
        frames.len()
    );
    let reds: Vec<u8> = frames.iter().map(|f| f.pixel(0)[0]).collect();
    assert!(reds.windows(2).all(|w| w[0] <= w[1]), "monotonic: {reds:?}");
    for f in &frames[..frames.len() - 1] {
        let want = 200.0 * ((f.t_us - first.t_us) as f64 / 1e6).min(1.0);
        let got = f.pixel(0)[0] as f64;
        assert!(
            (got - want).abs() <= 25.0,
            "at {} µs: red {got}, linear easing wants {want:.0}",
            f.t_us - first.t_us
        );
    }
}

#[test]
fn effect_switch_cross_fades_and_effects_animate() {
    let (_b, mut app, c) = setup();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"color":{"r":0,"g":0,"b":255},"transition":0}"#,
    );
    app.wait_frame("s", "blue", |f| f.pixel(0) == [0, 0, 255]);
    let start = app.seen.len();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"effect":"rainbow","transition":0.5}"#,
    );
    app.wait_frame("s", "rainbow running", |f| {
        f.pixel(0) != [0, 0, 255] && f.pixel(0)[2] < 200
    });
    // The effect animates: frames keep coming (a static zone would only be resent) and they differ.
    let frames = app.frames("s", 30);
    let distinct = frames.windows(2).filter(|w| w[0].wire != w[1].wire).count();
    assert!(distinct >= 25, "{distinct} of 29 frames changed");
    let blended = app.seen[start..]
        .iter()
        .take(5)
        .any(|f| f.pixel(0)[2] > 100);
    assert!(blended, "cross-fade starts from the previous look");
}

#[test]
fn flash_blinks_then_restores() {
    let (_b, mut app, c) = setup();
    c.publish(&format!("{B}/z/set"), r#"{"color":{"r":0,"g":120,"b":0}}"#);
    app.wait_frame("s", "green", |f| f.pixel(0) == [0, 120, 0]);
    c.publish(&format!("{B}/z/set"), r#"{"flash":"short"}"#);
    let dark = app.wait_frame("s", "flash dark phase", |f| f.pixel(0) == [0, 0, 0]);
    let back = app.wait_frame("s", "restored", |f| {
        f.pixel(0) == [0, 120, 0] && f.t_us > dark.t_us + 1_200_000
    });
    assert!(back.t_us - dark.t_us < 2_500_000);
}

#[test]
fn frame_step_pauses_steps_and_resumes() {
    let (_b, mut app, mut c) = setup();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"color":{"r":255,"g":0,"b":0},"effect":"snake"}"#,
    );
    app.wait_frame("s", "snake", |f| f.pixel(1) != f.pixel(2));
    c.publish(&format!("{B}/set"), r#"{"frame_step":true}"#);
    c.wait_topic(&format!("{B}/state"), |m| m.json()["frame_step"] == true);
    // Once the render loop has handled the pause, at most the two frames in flight still move;
    // every later frame (the 50 ms resend) shows the same picture.
    app.settle();
    let frames = app.frames("s", 6);
    let paused = frames.last().unwrap().clone();
    assert!(
        frames[2..].iter().all(|f| f.wire == paused.wire),
        "paused: the picture stands still"
    );
    // Step forward 6 frames (100 ms of a 55 ms-per-step snake): the head moves.
    c.publish(&format!("{B}/set"), r#"{"step":6}"#);
    let stepped = app.wait_frame("s", "stepped frame", |f| f.wire != paused.wire);
    c.publish(&format!("{B}/set"), r#"{"step":-6}"#);
    app.wait_frame("s", "stepped back", |f| f.wire == paused.wire);
    assert_ne!(stepped.wire, paused.wire);
    c.publish(&format!("{B}/set"), r#"{"frame_step":false}"#);
    let a = app.wait_frame("s", "running again", |f| f.wire != paused.wire);
    app.wait_frame("s", "and moving on", |f| {
        f.wire != a.wire && f.wire != paused.wire
    });
}
