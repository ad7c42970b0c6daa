//! Property-based fuzzing of both parsers and the whole receive path (parse → judge → map → frame):
//! random datagrams and mutated valid packets must never panic, and whatever parses obeys the protocol's
//! limits. CI runs a short pass; `DIUNA_FUZZ_CASES=1000000 cargo test --release --lib fuzz` runs 10⁶
//! inputs per property.

use proptest::prelude::*;

use super::*;
use crate::config::Config;
use crate::stream::e131::BuildOptions;

fn cases() -> u32 {
    std::env::var("DIUNA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn receiver() -> (Receiver, crate::engine::queue::QueueRx) {
    let c = Config::from_toml(
        "[realtime]\nenabled = true\ne131_address = 7\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"one\"\nstrip=\"a\"\npixels=200\nreversed=true\n[[zones]]\nid=\"two\"\nstrip=\"a\"\npixels=50\n",
    )
    .unwrap();
    let (events, _) = tokio::sync::broadcast::channel(4);
    let (engine, commands) = EngineHandle::new(events);
    (Receiver::new(c.realtime, &c.layout, engine), commands)
}

/// A valid packet of either protocol from a few parameters, then mutated: bytes overwritten, cut short.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..1500),
        prop::collection::vec((any::<u16>(), any::<u8>()), 0..6),
        any::<u16>(),
        any::<(u8, u8, u16, bool, bool)>(),
    )
        .prop_map(
            |(is_ddp, offset, data, flips, cut, (prio, seq, universe, term, preview))| {
                let mut p = Vec::new();
                if is_ddp {
                    ddp::build(
                        &mut p,
                        offset % 2000,
                        &data[..data.len().min(1440)],
                        seq & 1 == 1,
                        seq,
                    );
                } else {
                    let opts = BuildOptions {
                        terminated: term,
                        preview,
                        start_code: 0,
                    };
                    e131::build(
                        &mut p,
                        [seq; 16],
                        prio % 201,
                        seq,
                        universe % 5 + 1,
                        &data,
                        opts,
                    );
                }
                for (at, v) in flips {
                    if !p.is_empty() {
                        let i = at as usize % p.len();
                        p[i] = v;
                    }
                }
                let keep = p.len().saturating_sub(cut as usize % 4);
                p.truncate(keep);
                p
            },
        )
}

fn check_parsers(buf: &[u8]) {
    if let Ok(d) = ddp::parse(buf) {
        assert!(d.data.len() <= ddp::MAX_DATA);
        assert!(d.data.len() + ddp::HEADER <= buf.len());
    }
    if let Ok(e) = e131::parse(buf) {
        assert!(e.slots.len() <= e131::MAX_SLOTS);
        assert!(e.priority <= e131::MAX_PRIORITY);
        assert!((1..=63999).contains(&e.universe));
        assert_eq!(e.slots.len() + e131::DATA_OFFSET, buf.len());
    }
}

fn feed(buf: &[u8]) {
    let (mut rx, commands) = receiver();
    let a = SocketAddr::from(([10, 0, 0, 1], 4048));
    let now = Instant::now();
    rx.on_ddp(buf, a, now).expect("engine alive");
    rx.on_e131(buf, a, now).expect("engine alive");
    assert_eq!(rx.counters.snapshot().packets, 2);
    drop(commands);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_datagrams_never_panic(buf in prop::collection::vec(any::<u8>(), 0..1600)) {
        check_parsers(&buf);
        feed(&buf);
    }

    #[test]
    fn mutated_packets_never_panic(buf in mutated()) {
        check_parsers(&buf);
        feed(&buf);
    }
}
