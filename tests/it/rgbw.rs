//! RGBW strips end to end: a simulated SK6812 RGBW strip captures 4 bytes a pixel in its wire order, Home
//! Assistant commands in `rgb`, `rgbw`, `white` and `color_temp` reach the W byte as the strip's white
//! mode says, and the zone's state and discovery speak `rgbw`. Real daemon, real Mosquitto.

use serde_json::json;

use crate::support::{Broker, Capture, CapturedFrame, Daemon, TestClient};
use crate::testconfig::TestConfig;

fn config(port: u16) -> String {
    TestConfig::new("rgbw")
        .mqtt(port)
        .set("render", "fade_out = \"0s\"")
        .set_all("mqtt", &["keep_alive = \"5s\"", "reconnect_max = \"1s\""])
        .strip_with(
            "w",
            &[
                "led_type = \"sk6812\"",
                "color_order = \"BRGW\"",
                "white = \"accurate\"",
                "white_kelvin = 6600",
            ],
        )
        .strip_with("rgb", &["color_order = \"GRB\""])
        .zone("shelf", "w", 3, [255, 0, 0])
        .zone("desk", "rgb", 2, [255, 0, 0])
        .build()
}

const B: &str = "diuna/rgbw";

/// Every pixel of `f` is `want` (wire order).
fn all_pixels(f: &CapturedFrame, want: &[u8]) -> bool {
    f.wire.len() % want.len() == 0 && f.wire.chunks(want.len()).all(|p| p == want)
}

#[test]
fn rgbw_strip_captures_four_bytes_in_wire_order_with_the_expected_white() {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port));
    let mut c = TestClient::connect(
        broker.port,
        "t-rgbw",
        &[&format!("{B}/#"), "homeassistant/#"],
    );
    c.wait_topic(&format!("{B}/availability"), |m| m.text() == "online");
    let mut cap = Capture::new(&d.path("w.jsonl"));
    let mut rgb_cap = Capture::new(&d.path("rgb.jsonl"));
    // First boot: red, no white share. BRGW: blue, red, green, white.
    let f = cap.wait_frame("w", "red on the RGBW strip", |f| {
        all_pixels(f, &[0, 255, 0, 0])
    });
    assert_eq!((f.channels, f.wire.len()), (4, 12));
    let f = rgb_cap.wait_frame("rgb", "red on the RGB strip", |f| {
        all_pixels(f, &[0, 255, 0])
    });
    assert_eq!(f.channels, 3, "RGB strips keep 3-byte captures");

    // Accurate white: the white share of an RGB colour moves to W.
    c.publish(
        &format!("{B}/shelf/set"),
        r#"{"color":{"r":200,"g":120,"b":50}}"#,
    );
    cap.wait_frame("w", "W = min(R, G, B)", |f| {
        all_pixels(f, &[0, 150, 70, 50])
    });
    let s = c.wait_topic(&format!("{B}/shelf/state"), |m| {
        m.json()["color"] == json!({"r": 200, "g": 120, "b": 50})
    });
    assert_eq!(s.json()["color_mode"], "rgb");

    // An RGBW colour: the explicit white adds to the extracted share; state reports it back as sent.
    c.publish(
        &format!("{B}/shelf/set"),
        r#"{"color":{"r":0,"g":40,"b":80,"w":100}}"#,
    );
    cap.wait_frame("w", "explicit white", |f| all_pixels(f, &[80, 0, 40, 100]));
    let s = c.wait_topic(&format!("{B}/shelf/state"), |m| {
        m.json()["color"] == json!({"r": 0, "g": 40, "b": 80, "w": 100})
    });
    assert_eq!(s.json()["color_mode"], "rgbw");

    // Home Assistant's white mode: the W LED alone at the given brightness.
    c.publish(&format!("{B}/shelf/set"), r#"{"state":"ON","white":128}"#);
    cap.wait_frame("w", "white mode", |f| all_pixels(f, &[0, 0, 0, 128]));
    let s = c.wait_topic(&format!("{B}/shelf/state"), |m| {
        m.json()["color_mode"] == "white"
    });
    assert_eq!(s.json()["brightness"], 128);
    assert!(s.json().get("color").is_none());

    // Colour temperature at the white LED's own temperature: all W.
    c.publish(
        &format!("{B}/shelf/set"),
        r#"{"color_temp":6600,"brightness":255}"#,
    );
    cap.wait_frame("w", "kelvin on the white LED", |f| {
        all_pixels(f, &[0, 0, 0, 255])
    });

    // The RGB zone is unchanged by RGBW: the w of a colour is ignored, as before.
    c.publish(
        &format!("{B}/desk/set"),
        r#"{"color":{"r":1,"g":2,"b":3,"w":200}}"#,
    );
    rgb_cap.wait_frame("rgb", "RGB part only", |f| all_pixels(f, &[2, 1, 3]));
    let s = c.wait_topic(&format!("{B}/desk/state"), |m| m.json()["color"]["r"] == 1);
    assert_eq!(s.json()["color_mode"], "rgb");

    // The master light with an RGBW colour: the RGBW zone takes it whole (gamma 1, accurate: W 10
    // extracted + 40 explicit), the RGB zone its RGB part; the master reports it back in rgbw.
    c.publish(
        &format!("{B}/all/set"),
        r#"{"color":{"r":10,"g":20,"b":30,"w":40}}"#,
    );
    cap.wait_frame("w", "master rgbw on the RGBW zone", |f| {
        all_pixels(f, &[20, 0, 10, 50])
    });
    rgb_cap.wait_frame("rgb", "master rgbw on the RGB zone", |f| {
        all_pixels(f, &[20, 10, 30])
    });
    let s = c.wait_topic(&format!("{B}/all/state"), |m| {
        m.json()["color_mode"] == "rgbw"
    });
    assert_eq!(
        s.json()["color"],
        json!({"r": 10, "g": 20, "b": 30, "w": 40})
    );

    // Discovery (retained, so already among the messages seen): the RGBW zone offers rgbw and white,
    // the RGB zone does not, the master does (some zone has a white LED).
    let modes = |c: &mut TestClient, zone: &str| {
        let topic = format!("homeassistant/light/rgbw/{zone}/config");
        let seen = c.seen.iter().find(|m| m.topic == topic).cloned();
        seen.unwrap_or_else(|| c.wait_topic(&topic, |_| true))
            .json()["supported_color_modes"]
            .clone()
    };
    assert_eq!(
        modes(&mut c, "shelf"),
        json!(["hs", "rgb", "rgbw", "color_temp", "white"])
    );
    assert_eq!(modes(&mut c, "desk"), json!(["hs", "rgb", "color_temp"]));
    assert_eq!(
        modes(&mut c, "all"),
        json!(["hs", "rgb", "rgbw", "color_temp", "white"])
    );
}
