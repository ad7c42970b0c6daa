//! Where and how stream values land: per-zone windows, and gamma applied exactly once.

use crate::realtime::{DdpSender, RED, start, start_gamma};

#[test]
fn per_zone_windows_map_zones_one_by_one() {
    // Only the desk is mapped, from stream pixel 0, in its logical order (it is reversed on the wire).
    let mut r = start("2.5s", "[realtime.zones.desk]\nstart = 0");
    let mut s = DdpSender::new(r.ports.ddp);
    s.send(0, &[1, 1, 1, 2, 2, 2, 3, 3, 3], true);
    let f = r
        .cap
        .wait_frame("a", "the desk streamed", |f| f.pixel(5) == [1, 1, 1]);
    assert_eq!(f.pixel(4), [2, 2, 2], "logical pixel 1 is physical pixel 4");
    assert!(
        (0..4).all(|i| f.pixel(i) == RED),
        "the floor is not mapped: own light"
    );
}

#[test]
fn gamma_is_applied_once() {
    // Default gamma = "sender": the wire carries what the sender sent, whatever the strip's gamma.
    let mut r = start_gamma("127.0.0.1", "2.5s", "", "2.2");
    let mut s = DdpSender::new(r.ports.ddp);
    s.send(0, &[128, 64, 200], true);
    let f = r
        .cap
        .wait_frame("a", "the streamed pixel", |f| f.pixel(1) == [0, 0, 0]);
    let got = f.pixel(0);
    for (g, want) in got.iter().zip([128u8, 64, 200]) {
        assert!(
            g.abs_diff(want) <= 1,
            "sender values reach the wire: {got:?}"
        );
    }
    // gamma = "strip": the strip's gamma applies, as to any colour: round((v/255)^2.2 × 255).
    let mut r = start_gamma("127.0.0.1", "2.5s", "gamma = \"strip\"", "2.2");
    let mut s = DdpSender::new(r.ports.ddp);
    s.send(0, &[128, 64, 200], true);
    r.cap.wait_frame("a", "the gamma-corrected pixel", |f| {
        f.pixel(0) == [56, 12, 149]
    });
}
