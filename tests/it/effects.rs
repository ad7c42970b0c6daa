//! Effects, transitions, flash and frame-step, observed on captured frames through a real broker.

use std::time::Duration;

use crate::support::{Broker, Capture, Daemon, TestClient};

fn config(port: u16) -> String {
    format!(
        r#"
device_id = "fx"
[render]
fade_in = "0s"
transition = "0s"
easing = "linear"
[mqtt]
host = "127.0.0.1"
port = {port}
[state]
path = "{{dir}}/state.json"
[[strips]]
id = "s"
gpio = 18
dma = 10
color_order = "RGB"
gamma = 1.0
capture = "{{dir}}/s.jsonl"
[[zones]]
id = "z"
strip = "s"
pixels = 8
color = [0, 0, 0]
brightness = 255
"#
    )
}

const B: &str = "diuna/fx";

fn setup() -> (Broker, Daemon, Capture, TestClient) {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let cap = Capture::new(&d.path("s.jsonl"));
    let mut c = TestClient::connect(broker.port, "fx", &[&format!("{B}/#")]);
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    (broker, d, cap, c)
}

#[test]
fn colour_transition_fades_over_the_requested_time() {
    let (_b, _d, mut cap, c) = setup();
    cap.wait_frame("s", "black start", |f| f.pixel(0) == [0, 0, 0]);
    let start = cap.frames.len();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"color":{"r":200,"g":0,"b":0},"transition":1}"#,
    );
    let end = cap.wait_frame("s", "fade finished", |f| f.pixel(0) == [200, 0, 0]);
    let frames: Vec<_> = cap.frames[start..]
        .iter()
        .filter(|f| f.t_us <= end.t_us)
        .cloned()
        .collect();
    let first = frames.first().unwrap();
    let took = (end.t_us - first.t_us) as f64 / 1e6;
    assert!((0.85..1.3).contains(&took), "fade took {took:.3} s");
    let reds: Vec<u8> = frames.iter().map(|f| f.pixel(0)[0]).collect();
    assert!(
        reds.len() >= 40,
        "about 60 frames for a 1 s fade at 60 FPS, got {}",
        reds.len()
    );
    assert!(reds.windows(2).all(|w| w[0] <= w[1]), "monotonic: {reds:?}");
    // Linear easing: half-way in time is about half-way in value.
    let mid = first.t_us + (end.t_us - first.t_us) / 2;
    let at_mid = frames
        .iter()
        .min_by_key(|f| f.t_us.abs_diff(mid))
        .unwrap()
        .pixel(0)[0];
    assert!((80..=120).contains(&at_mid), "midpoint {at_mid}");
}

#[test]
fn effect_switch_cross_fades_and_effects_animate() {
    let (_b, _d, mut cap, c) = setup();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"color":{"r":0,"g":0,"b":255},"transition":0}"#,
    );
    cap.wait_frame("s", "blue", |f| f.pixel(0) == [0, 0, 255]);
    let start = cap.frames.len();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"effect":"rainbow","transition":0.5}"#,
    );
    // Frames keep changing (the effect animates) and the first ones blend from blue.
    cap.wait_frame("s", "rainbow running", |f| {
        f.pixel(0) != [0, 0, 255] && f.pixel(0)[2] < 200
    });
    let n0 = cap.frames.len();
    std::thread::sleep(Duration::from_millis(400));
    cap.poll();
    assert!(cap.frames.len() - n0 >= 15, "animating at ~60 FPS");
    let blended = cap.frames[start..]
        .iter()
        .take(5)
        .any(|f| f.pixel(0)[2] > 100);
    assert!(blended, "cross-fade starts from the previous look");
}

#[test]
fn flash_blinks_then_restores() {
    let (_b, _d, mut cap, c) = setup();
    c.publish(&format!("{B}/z/set"), r#"{"color":{"r":0,"g":120,"b":0}}"#);
    cap.wait_frame("s", "green", |f| f.pixel(0) == [0, 120, 0]);
    c.publish(&format!("{B}/z/set"), r#"{"flash":"short"}"#);
    cap.wait_frame("s", "flash dark phase", |f| f.pixel(0) == [0, 0, 0]);
    let dark = cap.frames.last().unwrap().t_us;
    let back = cap.wait_frame("s", "restored", |f| {
        f.pixel(0) == [0, 120, 0] && f.t_us > dark + 1_200_000
    });
    assert!(back.t_us - dark < 2_500_000);
}

#[test]
fn frame_step_pauses_steps_and_resumes() {
    let (_b, _d, mut cap, mut c) = setup();
    c.publish(
        &format!("{B}/z/set"),
        r#"{"color":{"r":255,"g":0,"b":0},"effect":"snake"}"#,
    );
    cap.wait_frame("s", "snake", |f| f.pixel(1) != f.pixel(2));
    c.publish(&format!("{B}/set"), r#"{"frame_step":true}"#);
    c.wait_topic(&format!("{B}/state"), |m| m.json()["frame_step"] == true);
    std::thread::sleep(Duration::from_millis(100));
    let paused = cap.last("s").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        cap.last("s").unwrap().wire,
        paused.wire,
        "paused: the picture stands still"
    );
    // Step forward 6 frames (100 ms of a 55 ms-per-step snake): the head moves.
    c.publish(&format!("{B}/set"), r#"{"step":6}"#);
    let stepped = cap.wait_frame("s", "stepped frame", |f| f.wire != paused.wire);
    c.publish(&format!("{B}/set"), r#"{"step":-6}"#);
    cap.wait_frame("s", "stepped back", |f| f.wire == paused.wire);
    assert_ne!(stepped.wire, paused.wire);
    c.publish(&format!("{B}/set"), r#"{"frame_step":false}"#);
    let n = cap.frames.len();
    cap.wait_frame("s", "running again", |f| f.wire != paused.wire);
    assert!(cap.frames.len() > n);
}
