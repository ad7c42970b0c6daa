//! Where the device runs: opened and used on one thread (the caller's inline, the output thread
//! otherwise), so a device need not be `Send`; a device that cannot be opened stops the start with its
//! reason; the placement follows from the layout.

use std::rc::Rc;
use std::sync::mpsc;

use super::*;
use crate::config::Config;

/// A device that is not `Send` (it holds an `Rc`, as a driver holds raw pointers) and reports the
/// thread each call runs on.
struct ThreadBound {
    _not_send: Rc<()>,
    seen: mpsc::Sender<String>,
}

fn here() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

impl OutputDevice for ThreadBound {
    fn show(&mut self, _frame: &OutFrame) -> Result<(), OutputError> {
        let _ = self.seen.send(format!("show on {}", here()));
        Ok(())
    }
}

fn layout() -> Layout {
    Config::from_toml("[[strips]]\nid=\"a\"\ngpio=18\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=3\n")
        .unwrap()
        .layout
}

#[test]
fn the_device_is_opened_and_used_on_the_output_thread() {
    let (tx, seen) = mpsc::channel();
    let open: DeviceFactory = Box::new(move || {
        let _ = tx.send(format!("open on {}", here()));
        Ok(Box::new(ThreadBound {
            _not_send: Rc::new(()),
            seen: tx,
        }) as Box<dyn OutputDevice>)
    });
    let layout = layout();
    let mut output = Output::start(&layout, Placement::Thread, open, Box::new(|| {})).unwrap();
    let mut frame = output.acquire().unwrap();
    frame.dirty.fill(true);
    assert!(output.submit(frame));
    output.drain();
    drop(output);
    let calls: Vec<String> = seen.iter().collect();
    assert_eq!(calls, ["open on diuna-output", "show on diuna-output"]);
}

#[test]
fn a_device_that_cannot_open_stops_the_start_with_its_reason() {
    for placement in [Placement::Inline, Placement::Thread] {
        let open: DeviceFactory = Box::new(|| Err(OutputError::Open("no such strip".into())));
        let err = Output::start(&layout(), placement, open, Box::new(|| {}))
            .err()
            .expect("the open error");
        assert!(err.to_string().contains("no such strip"), "{err}");
    }
}

/// Reports every show and flush.
struct Probe(mpsc::Sender<&'static str>);

impl OutputDevice for Probe {
    fn show(&mut self, _: &OutFrame) -> Result<(), OutputError> {
        let _ = self.0.send("show");
        Ok(())
    }
    fn flush(&mut self) {
        let _ = self.0.send("flush");
    }
}

/// The buffer of the frame on the wire comes back when the next frame has started, or on
/// `drain` after the device's flush; never while its frame may still be on the wire.
#[test]
fn the_buffer_on_the_wire_comes_back_with_the_next_frame_or_drain() {
    let cfg = crate::config::Config::from_toml(
        "[[strips]]\nid=\"a\"\ngpio=18\n[[zones]]\nid=\"x\"\nstrip=\"a\"\npixels=3\n",
    )
    .unwrap();
    let (tx, seen) = mpsc::channel();
    let (first_tx, first) = mpsc::channel();
    let mut out = Output::start(
        &cfg.layout,
        Placement::Thread,
        Box::new(move || Ok(Box::new(Probe(tx)) as Box<dyn OutputDevice>)),
        Box::new(move || {
            let _ = first_tx.send(());
        }),
    )
    .unwrap();
    let wait = Duration::from_secs(5);
    let a = out.acquire().unwrap();
    let b = out.acquire().unwrap();
    assert!(out.submit(a));
    assert_eq!(seen.recv_timeout(wait), Ok("show"));
    first
        .recv_timeout(wait)
        .expect("on_first ran after the first frame");
    assert!(out.submit(b));
    assert_eq!(seen.recv_timeout(wait), Ok("show"));
    // The first frame's buffer is free again; the second's is held while it is on the wire.
    let Place::Thread(t) = &out.place else {
        panic!("on the output thread")
    };
    let a = t.free.recv_timeout(wait).expect("first buffer back");
    assert!(t.free.recv_timeout(Duration::from_millis(50)).is_err());
    out.recycle(a);
    let all = out.drain();
    assert_eq!(seen.recv_timeout(wait), Ok("flush"));
    assert_eq!(all, thread::BUFFERS, "drain takes back every buffer");
}

/// Inline, the device is opened and shown on the caller's thread (the render thread), one buffer is
/// reused, a failed write is counted and the next frame retries, and `drain` waits for the wire.
#[test]
fn inline_the_device_runs_on_the_callers_thread() {
    struct Flaky {
        seen: mpsc::Sender<String>,
        fail_next: bool,
        _not_send: Rc<()>,
    }
    impl OutputDevice for Flaky {
        fn show(&mut self, _: &OutFrame) -> Result<(), OutputError> {
            let _ = self.seen.send(format!("show on {}", here()));
            if std::mem::take(&mut self.fail_next) {
                return Err(OutputError::Write {
                    strip: "a".into(),
                    reason: "unplugged".into(),
                });
            }
            Ok(())
        }
        fn flush(&mut self) {
            let _ = self.seen.send("flush".into());
        }
    }
    let (tx, seen) = mpsc::channel();
    let (first_tx, first) = mpsc::channel();
    let open: DeviceFactory = Box::new(move || {
        let _ = tx.send(format!("open on {}", here()));
        Ok(Box::new(Flaky {
            seen: tx,
            fail_next: true,
            _not_send: Rc::new(()),
        }) as Box<dyn OutputDevice>)
    });
    let caller = std::thread::Builder::new()
        .name("diuna-render".into())
        .spawn(move || {
            let mut out = Output::start(
                &layout(),
                Placement::Inline,
                open,
                Box::new(move || {
                    let _ = first_tx.send(());
                }),
            )
            .unwrap();
            let frame = out.acquire().expect("the spare buffer");
            assert!(out.acquire().is_none(), "one buffer inline");
            assert!(out.submit(frame));
            assert_eq!(out.counters.errors.load(Ordering::Relaxed), 1);
            let frame = out.acquire().expect("the buffer is back after the show");
            assert!(out.submit(frame));
            assert_eq!(out.counters.frames.load(Ordering::Relaxed), 1);
            let frame = out.acquire().unwrap();
            out.recycle(frame);
            assert_eq!(out.drain(), 1, "drain takes back the buffer");
        })
        .unwrap();
    caller.join().expect("the caller's assertions");
    first.try_recv().expect("on_first ran");
    let calls: Vec<String> = seen.iter().collect();
    assert_eq!(
        calls,
        [
            "open on diuna-render",
            "show on diuna-render",
            "show on diuna-render",
            "flush",
            "flush"
        ],
        "the second flush is the drop's"
    );
}

/// A device runs inline unless a write waits for something other than a wire it keeps itself.
#[test]
fn the_placement_follows_what_the_writes_wait_for() {
    let place = |strip: &str, preview: bool| {
        let cfg = Config::from_toml(&format!(
            "[[strips]]\nid=\"a\"\n{strip}\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=3\n"
        ))
        .unwrap();
        Placement::for_layout(&cfg.layout, preview)
    };
    use Placement::{Inline, Thread};
    assert_eq!(place("gpio=18", false), Inline, "the simulator");
    assert_eq!(place("gpio=18", true), Thread, "the terminal preview");
    assert_eq!(
        place("gpio=18\ncapture=\"/tmp/x\"", false),
        Thread,
        "capture"
    );
    assert_eq!(place("gpio=18\nemulate=\"pio\"", false), Inline);
    assert_eq!(place("gpio=18\nemulate=\"ws281x\"", false), Inline, "DMA");
    assert_eq!(
        place("gpio=10\nemulate=\"ws281x\"", false),
        Thread,
        "spidev"
    );
    assert_eq!(place("gpio=10\nemulate=\"spi\"", false), Thread);
    assert_eq!(place("gpio=18\ndriver=\"ws281x\"", false), Inline);
    assert_eq!(place("gpio=10\ndriver=\"spi\"", false), Thread);
    assert_eq!(
        place("gpio=18\ndriver=\"pio\"\ndevice=\"/dev/leds0\"", false),
        Inline
    );
}
