//! The output thread: the device is opened on it (by the factory it is handed), never on the caller's
//! thread, so a device need not be `Send`; a device that cannot be opened stops the start with its
//! reason.

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
    let output = Output::spawn(&layout, open, Box::new(|| {})).unwrap();
    let mut frame = output.acquire().unwrap();
    frame.dirty.fill(true);
    assert!(output.submit(frame));
    drop(output.drain());
    drop(output);
    let calls: Vec<String> = seen.iter().collect();
    assert_eq!(calls, ["open on diuna-output", "show on diuna-output"]);
}

#[test]
fn a_device_that_cannot_open_stops_the_start_with_its_reason() {
    let open: DeviceFactory = Box::new(|| Err(OutputError::Open("no such strip".into())));
    let err = Output::spawn(&layout(), open, Box::new(|| {}))
        .err()
        .expect("the open error");
    assert!(err.to_string().contains("no such strip"), "{err}");
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
    let out = Output::spawn(
        &cfg.layout,
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
    let a = out.free.recv_timeout(wait).expect("first buffer back");
    assert!(out.free.recv_timeout(Duration::from_millis(50)).is_err());
    out.recycle(a);
    let all = out.drain();
    assert_eq!(seen.recv_timeout(wait), Ok("flush"));
    assert_eq!(all.len(), BUFFERS, "drain hands back every buffer");
}
