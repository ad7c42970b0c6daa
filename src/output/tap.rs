//! A tap on the output: wraps a device and hands every shown frame, with the instant it went to the
//! wire, to a channel. An in-process test (`tests/it/inproc.rs`) starts the daemon with
//! [`App::start_with_output`](crate::app::App::start_with_output) and a tapped simulator, and waits on
//! these frames instead of reading a capture file.
//!
//! It copies each frame (an allocation per frame), so it is for tests and tools, never the daemon's own
//! output path.

use std::sync::mpsc::Sender;
use std::time::Instant;

use super::{OutFrame, OutputDevice, OutputError};

/// One frame as it went out: every strip's wire bytes (in wire order), which strips changed, and
/// when the inner device was handed the frame.
#[derive(Clone, Debug)]
pub struct TappedFrame {
    pub at: Instant,
    pub strips: Vec<Vec<u8>>,
    pub dirty: Vec<bool>,
}

/// A device that shows frames on `inner` and sends a copy of each to `tx` (a closed receiver is
/// ignored: the tap never stops the output).
pub struct Tap {
    inner: Box<dyn OutputDevice>,
    tx: Sender<TappedFrame>,
}

impl Tap {
    pub fn new(inner: Box<dyn OutputDevice>, tx: Sender<TappedFrame>) -> Tap {
        Tap { inner, tx }
    }
}

impl OutputDevice for Tap {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        let at = Instant::now();
        self.inner.show(frame)?;
        let _ = self.tx.send(TappedFrame {
            at,
            strips: frame.strips.clone(),
            dirty: frame.dirty.clone(),
        });
        Ok(())
    }

    fn pending(&self) -> Option<std::time::Duration> {
        self.inner.pending()
    }

    fn tick(&mut self) {
        self.inner.tick()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_shown_frame_reaches_the_channel_in_order() {
        let cfg = Config::from_toml(
            "[[strips]]\nid=\"a\"\ngpio=18\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=2\n",
        )
        .unwrap();
        let sim = super::super::sim::SimOutput::new(&cfg.layout, None).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut tap = Tap::new(Box::new(sim), tx);
        let mut frame = OutFrame::new(&cfg.layout);
        frame.dirty.fill(true);
        for v in [1u8, 2] {
            frame.strips[0].fill(v);
            tap.show(&frame).unwrap();
        }
        let got: Vec<TappedFrame> = rx.try_iter().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].strips[0], vec![1; 6]);
        assert_eq!(got[1].strips[0], vec![2; 6]);
        assert!(got[0].at < got[1].at);
        assert_eq!(got[1].dirty, vec![true]);
    }
}
