//! Realtime input under a flood: 10⁵ bad and foreign datagrams from many senders while a legitimate DDP
//! stream runs; the stream keeps reaching the wire and nothing from the flood is shown.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diuna::stream::{ddp, e131};

use crate::realtime::{DdpSender, start};

/// The shortest flood: long enough for a 100 FPS stream to show several frames during it.
const FLOOD_MIN: Duration = Duration::from_millis(300);

#[test]
fn a_flood_of_bad_and_foreign_packets_does_not_stall_the_stream() {
    let mut r = start("2.5s", "");
    let (ddp_port, e131_port) = (r.ports.ddp, r.ports.e131);
    // The legitimate sender: pixel 0 counts frames, so every frame it sends is new.
    let run = Arc::new(AtomicBool::new(true));
    let live = run.clone();
    let legit = std::thread::spawn(move || {
        let mut s = DdpSender::new(ddp_port);
        let mut n = 0u8;
        while live.load(Ordering::Relaxed) {
            n = n.wrapping_add(1).max(1);
            s.send(0, &[n, 0, 0], true);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    r.cap.wait_frame("a", "the legitimate stream", |f| {
        f.pixel(0)[0] > 0 && f.pixel(0)[1] == 0
    });
    // 100,000 (or more) bad or foreign datagrams from 16 sockets: garbage, truncated, past-the-end lengths, wrong
    // identifiers, and well-formed DDP from senders that do not hold the stream.
    let flood = std::thread::spawn(move || {
        let socks: Vec<UdpSocket> = (0..16)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut buf = Vec::new();
        let t0 = SystemTime::now();
        // At least 100,000 datagrams, and for at least 300 ms (many frame intervals), so that the
        // stream's frames during the flood can be counted however fast this machine sends.
        let long_enough = |i: u32| i >= 100_000 && t0.elapsed().is_ok_and(|e| e >= FLOOD_MIN);
        for i in (0u32..).take_while(|&i| !long_enough(i)) {
            let sock = &socks[i as usize % socks.len()];
            match i % 5 {
                0 => ddp::build(&mut buf, 0, &[0, 255, 0], true, 1),
                1 => {
                    ddp::build(&mut buf, 0, &[0, 255, 0], true, 1);
                    buf[9] = 200; // length past the end
                    buf.len()
                }
                2 => {
                    buf.clear();
                    buf.extend_from_slice(&i.to_be_bytes());
                    buf.len()
                }
                k => {
                    let n = e131::build(
                        &mut buf,
                        [7; 16],
                        200,
                        i as u8,
                        1,
                        &[0, 255, 0],
                        Default::default(),
                    );
                    if k == 4 {
                        buf[4] = b'X'; // wrong ACN identifier
                    }
                    n
                }
            };
            let port = if i % 5 < 3 { ddp_port } else { e131_port };
            let _ = sock.send_to(&buf, ("127.0.0.1", port));
        }
        (t0, SystemTime::now())
    });
    let (t0, t1) = flood.join().unwrap();
    // Let a few more legitimate frames through, then look at what the wire showed during the flood.
    let us = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_micros() as u64;
    let after = r.cap.wait_frame("a", "the stream after the flood", |f| {
        f.t_us > us(t1) + 100_000
    });
    run.store(false, Ordering::Relaxed);
    legit.join().unwrap();
    assert_eq!(after.pixel(0)[1], 0, "a foreign sender got through");
    assert!(
        r.cap.frames.iter().all(|f| f.pixel(0) != [0, 255, 0]),
        "a flood packet was shown"
    );
    let during = r
        .cap
        .frames
        .iter()
        .filter(|f| f.t_us >= us(t0) && f.t_us <= us(t1))
        .count();
    let flood_ms = t1.duration_since(t0).unwrap().as_millis();
    assert!(
        during >= 3,
        "only {during} frames reached the wire during a {flood_ms} ms flood"
    );
}
