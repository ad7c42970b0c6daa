//! Unit tests of the realtime layer's hand-over state machine and drawing.

use std::net::SocketAddr;

use super::*;
use crate::config::Config;
use crate::engine::stream_frame::{Protocol, Source};

fn setup(extra: &str) -> (Config, StreamLayer, Vec<ZoneState>) {
    let c = Config::from_toml(&format!(
        "[realtime]\nenabled = true\ntimeout = \"1s\"\n{extra}\n[[strips]]\nid=\"a\"\ngamma = 2.2\n[[zones]]\nid=\"one\"\nstrip=\"a\"\npixels=2\n[[zones]]\nid=\"two\"\nstrip=\"a\"\npixels=2\n"
    ))
    .unwrap();
    let mut layer = StreamLayer::new(&c.layout);
    layer.attach(c.realtime.clone(), Arc::new(StreamCounters::default()));
    let zones = vec![ZoneState::new(Rgb::new(9, 9, 9), 255, true, None); 2];
    (c, layer, zones)
}

fn frame(layer: &StreamLayer, feed: [Feed; 2], value: u8) -> Box<StreamFrame> {
    let mut f = StreamFrame::new(&layer.shape, None);
    f.channels.fill(value);
    f.feed.copy_from_slice(&feed);
    f.source = Some(Source {
        protocol: Protocol::Ddp,
        addr: SocketAddr::from(([127, 0, 0, 1], 9)),
    });
    f.fps = 60.0;
    f
}

#[test]
fn data_activates_only_the_zones_it_reaches_and_silence_hands_back() {
    let (_, mut layer, zones) = setup("gamma = \"strip\"");
    let t0 = Instant::now();
    let f = frame(&layer, [Feed::Data, Feed::None], 100);
    assert!(layer.on_frame(f, &zones, t0).is_empty());
    assert!(layer.shows(0) && !layer.shows(1));
    let mut out = [Rgb::BLACK; 2];
    assert!(layer.draw(0, 255, &mut out, &mut []));
    assert_eq!(out, [Rgb::new(100, 100, 100); 2]);
    assert!(
        layer.draw(0, 128, &mut out, &mut []),
        "brightness scales the stream"
    );
    assert_eq!(out[0], Rgb::new(100, 100, 100).scale8(128));
    assert!(!layer.draw(1, 255, &mut out, &mut []));
    assert_eq!(layer.next_deadline(), Some(t0 + Duration::from_secs(1)));
    assert!(layer.expire(t0 + Duration::from_millis(999)).is_empty());
    assert_eq!(layer.expire(t0 + Duration::from_secs(1)), vec![0]);
    assert!(!layer.shows(0));
    assert_eq!(layer.next_deadline(), None, "nothing left to wait for");
    assert_eq!(
        layer.status().source,
        None,
        "the source is gone with the stream"
    );
}

#[test]
fn an_ended_source_hands_back_at_once() {
    let (_, mut layer, zones) = setup("");
    let t0 = Instant::now();
    layer.on_frame(frame(&layer, [Feed::Data, Feed::Data], 1), &zones, t0);
    let fade = layer.on_frame(frame(&layer, [Feed::Ended, Feed::None], 1), &zones, t0);
    assert_eq!(fade, vec![0]);
    assert!(!layer.shows(0) && layer.shows(1));
}

#[test]
fn the_user_wins_until_allowed_or_the_stream_restarts() {
    let (_, mut layer, mut zones) = setup("");
    let t0 = Instant::now();
    layer.on_frame(frame(&layer, [Feed::Data, Feed::Data], 1), &zones, t0);
    zones[1].brightness = 10;
    assert!(
        layer.reconcile(&zones).is_empty(),
        "dimming keeps the stream"
    );
    zones[0].on = false;
    assert_eq!(layer.reconcile(&zones), vec![0], "off wins");
    assert!(!layer.shows(0));
    layer.on_frame(frame(&layer, [Feed::Data, Feed::Data], 1), &zones, t0);
    assert!(!layer.shows(0), "still held off while the stream runs");
    assert!(
        layer.status().feeding[0],
        "but still fed (effect list keeps realtime)"
    );
    layer.allow(0, &zones);
    assert!(layer.shows(0), "effect realtime lets it back");
    // Held off again; the stream stops and restarts: shown again.
    assert!(layer.suppress(0));
    let t1 = t0 + Duration::from_secs(2);
    layer.expire(t1);
    layer.on_frame(frame(&layer, [Feed::Data, Feed::None], 1), &zones, t1);
    assert!(layer.shows(0));
}

#[test]
fn override_modes() {
    let (_, mut layer, zones) = setup("");
    let t0 = Instant::now();
    layer.on_frame(frame(&layer, [Feed::Data, Feed::Data], 1), &zones, t0);
    assert_eq!(layer.set_mode(Override::IgnoreNow, &zones), vec![0, 1]);
    layer.on_frame(frame(&layer, [Feed::Data, Feed::Data], 1), &zones, t0);
    assert!(!layer.shows(0), "ignored");
    assert_eq!(layer.status().mode, Override::IgnoreNow);
    // The stream stops: "ignore now" ends by itself.
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(layer.next_deadline(), Some(t1));
    layer.expire(t1);
    assert_eq!(layer.status().mode, Override::Allow);
    layer.on_frame(frame(&layer, [Feed::Data, Feed::None], 1), &zones, t1);
    assert!(layer.shows(0), "the next stream shows");
    layer.set_mode(Override::IgnoreUntilRestart, &zones);
    let t2 = t1 + Duration::from_secs(5);
    layer.expire(t2);
    layer.on_frame(frame(&layer, [Feed::Data, Feed::None], 1), &zones, t2);
    assert!(!layer.shows(0), "ignored until restart, across streams");
    layer.set_mode(Override::Allow, &zones);
    layer.on_frame(frame(&layer, [Feed::Data, Feed::None], 1), &zones, t2);
    assert!(layer.shows(0));
}

#[test]
fn sender_gamma_reaches_the_wire_unchanged() {
    let (c, mut layer, zones) = setup("");
    let table = GammaTable::new(c.layout.strips[0].gamma);
    let t0 = Instant::now();
    for v in [0u8, 1, 7, 64, 128, 200, 254, 255] {
        layer.on_frame(frame(&layer, [Feed::Data, Feed::None], v), &zones, t0);
        let mut out = [Rgb::BLACK; 2];
        layer.draw(0, 255, &mut out, &mut []);
        let wire = table.apply(out[0]).r;
        assert!((wire as i32 - v as i32).abs() <= 1, "{v} → {wire}");
    }
    // Exact wherever the gamma table can produce the value.
    let inv = inverse_gamma(2.2);
    for v in 0..=255u8 {
        if table.0.contains(&v) {
            assert_eq!(table.0[inv[v as usize] as usize], v);
        }
    }
}

#[test]
fn announces_changes_not_every_frame() {
    let (_, mut layer, zones) = setup("");
    let t0 = Instant::now();
    assert!(layer.announce(t0).is_none(), "idle at start");
    layer.on_frame(frame(&layer, [Feed::Data, Feed::None], 1), &zones, t0);
    let s = layer.announce(t0).expect("became active");
    assert!(s.active[0] && s.any_active());
    assert_eq!(s.source.map(|s| s.protocol), Some(Protocol::Ddp));
    layer.on_frame(frame(&layer, [Feed::Data, Feed::None], 2), &zones, t0);
    assert!(layer.announce(t0).is_none(), "same status");
}

#[test]
fn brightness_can_be_left_to_the_sender() {
    let (_, mut layer, zones) = setup("brightness = false\ngamma = \"strip\"");
    layer.on_frame(
        frame(&layer, [Feed::Data, Feed::None], 200),
        &zones,
        Instant::now(),
    );
    let mut out = [Rgb::BLACK; 2];
    assert!(layer.draw(0, 40, &mut out, &mut []));
    assert_eq!(
        out[0],
        Rgb::new(200, 200, 200),
        "zone brightness not applied"
    );
}

#[test]
fn an_rgbw_stream_lights_the_white_plane_or_folds_into_rgb() {
    let c = Config::from_toml(
        "[realtime]\nenabled = true\ngamma = \"strip\"\n[[strips]]\nid=\"a\"\nled_type=\"sk6812\"\ncolor_order=\"GRBW\"\n[[zones]]\nid=\"one\"\nstrip=\"a\"\npixels=2\n",
    )
    .unwrap();
    let mut layer = StreamLayer::new(&c.layout);
    layer.attach(c.realtime.clone(), Arc::new(StreamCounters::default()));
    let zones = vec![ZoneState::new(Rgb::new(9, 9, 9), 255, true, None)];
    let mut f = StreamFrame::new(&layer.shape, None);
    assert_eq!(f.channels.len(), 8, "4 channels a pixel on an RGBW strip");
    f.channels.copy_from_slice(&[10, 20, 30, 40, 1, 2, 3, 4]);
    f.feed[0] = Feed::Data;
    layer.on_frame(f, &zones, Instant::now());
    let (mut out, mut w) = ([Rgb::BLACK; 2], [0u8; 2]);
    assert!(layer.draw(0, 255, &mut out, &mut w));
    assert_eq!(
        (out, w),
        ([Rgb::new(10, 20, 30), Rgb::new(1, 2, 3)], [40, 4])
    );
    // A zone without a white plane: the fourth channel is folded into RGB.
    assert!(layer.draw(0, 255, &mut out, &mut []));
    assert_eq!(out[0], Rgb::new(50, 60, 70));
}
