//! Unit tests of the receiver's frame assembly, without sockets: packets in, commands out.

use std::sync::atomic::Ordering;

use super::*;
use crate::config::Config;
use crate::engine::Command;
use crate::stream::e131::BuildOptions;

fn setup() -> (Receiver, crate::engine::queue::QueueRx) {
    let c = Config::from_toml(
        "[realtime]\nenabled = true\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"one\"\nstrip=\"a\"\npixels=100\n[[zones]]\nid=\"two\"\nstrip=\"a\"\npixels=100\n",
    )
    .unwrap();
    let (events, _) = tokio::sync::broadcast::channel(16);
    let (engine, commands) = EngineHandle::new(events);
    (Receiver::new(c.realtime, &c.layout, engine), commands)
}

#[allow(clippy::vec_box)] // the frames are the boxes the render loop would recycle
fn frames(commands: &crate::engine::queue::QueueRx) -> Vec<Box<StreamFrame>> {
    commands
        .try_iter()
        .filter_map(|c| match c {
            Command::Stream(StreamCommand::Frame(f)) => Some(f),
            _ => None,
        })
        .collect()
}

const A: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 4048);
const B: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 4048);

#[test]
fn ddp_push_shows_what_was_received() {
    let (mut rx, commands) = setup();
    let now = Instant::now();
    let mut buf = Vec::new();
    ddp::build(&mut buf, 0, &[1, 2, 3], false, 1);
    rx.on_ddp(&buf, A, now).unwrap();
    assert!(frames(&commands).is_empty(), "no push, no frame");
    ddp::build(&mut buf, 300, &[4, 5, 6], true, 2);
    rx.on_ddp(&buf, A, now).unwrap();
    let f = frames(&commands);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0].channels[..3], &[1, 2, 3]);
    assert_eq!(
        &f[0].channels[300..303],
        &[4, 5, 6],
        "zone two starts at pixel 100"
    );
    assert_eq!(f[0].feed, vec![Feed::Data, Feed::Data]);
    assert_eq!(f[0].source.map(|s| s.addr), Some(A));
    // A second sender is refused while the first holds the stream.
    rx.on_ddp(&buf, B, now).unwrap();
    assert_eq!(rx.counters.other_source.load(Ordering::Relaxed), 1);
}

#[test]
fn a_flood_is_dropped_and_counted_with_a_fixed_pool() {
    let (mut rx, commands) = setup();
    let now = Instant::now();
    let mut buf = Vec::new();
    ddp::build(&mut buf, 0, &[9; 600], true, 1);
    for _ in 0..100_000 {
        rx.on_ddp(&buf, A, now).unwrap();
    }
    let c = rx.counters.snapshot();
    assert_eq!(c.packets, 100_000);
    assert_eq!(
        c.frames, POOL as u64,
        "only as many frames as buffers while nobody recycles"
    );
    assert_eq!(c.frames_dropped, 100_000 - POOL as u64);
    // The render loop hands buffers back: frames flow again.
    for f in frames(&commands) {
        f.recycle();
    }
    rx.on_ddp(&buf, A, now).unwrap();
    assert_eq!(frames(&commands).len(), 1);
    // Garbage of every length is counted, never a panic.
    for n in 0..1500 {
        rx.on_ddp(&vec![0x41; n], A, now).unwrap();
    }
    let c = rx.counters.snapshot();
    assert_eq!(c.malformed + c.unsupported, 1500);
    assert!(c.malformed >= 10, "short ones are malformed");
}

#[test]
fn e131_frame_completes_when_every_live_universe_arrived() {
    let (mut rx, commands) = setup();
    let t = Instant::now();
    let mut buf = Vec::new();
    let send = |rx: &mut Receiver, buf: &mut Vec<u8>, u: u16, seq: u8, v: u8, opts| {
        e131::build(buf, [1; 16], 100, seq, u, &[v; 510], opts);
        rx.on_e131(buf, A, t).unwrap();
    };
    // 200 pixels = universes 1 and 2.
    send(&mut rx, &mut buf, 1, 1, 10, BuildOptions::default());
    assert_eq!(
        frames(&commands).len(),
        1,
        "only universe 1 is live yet: complete"
    );
    send(&mut rx, &mut buf, 2, 1, 20, BuildOptions::default());
    assert_eq!(
        frames(&commands).len(),
        1,
        "universe 2 is the highest: complete"
    );
    send(&mut rx, &mut buf, 1, 2, 11, BuildOptions::default());
    assert!(frames(&commands).is_empty(), "waits for universe 2");
    send(&mut rx, &mut buf, 2, 2, 21, BuildOptions::default());
    let f = frames(&commands);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].channels[0], f[0].channels[510]), (11, 21));
    // Out of sequence: dropped.
    send(&mut rx, &mut buf, 1, 1, 99, BuildOptions::default());
    assert_eq!(rx.counters.out_of_sequence.load(Ordering::Relaxed), 1);
    // Terminated: the zones it fed end at once.
    let term = BuildOptions {
        terminated: true,
        ..Default::default()
    };
    send(&mut rx, &mut buf, 2, 3, 0, term);
    let f = frames(&commands);
    assert_eq!(
        f.last().map(|f| f.feed.clone()),
        Some(vec![Feed::None, Feed::Ended])
    );
    // Preview data and other start codes are not pixels.
    let preview = BuildOptions {
        preview: true,
        ..Default::default()
    };
    send(&mut rx, &mut buf, 1, 4, 0, preview);
    assert_eq!(rx.counters.unsupported.load(Ordering::Relaxed), 1);
}
