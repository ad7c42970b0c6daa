//! The output thread, for devices whose writes wait ([`Placement::Thread`](super::Placement)): the
//! `spi` driver's ioctl lasts the whole wire time, a capture file and the terminal preview are I/O.
//!
//! The render loop fills a pre-allocated [`OutFrame`] and hands it over; the thread writes it and
//! hands the buffer back, so the steady state allocates nothing. With two buffers in flight the render
//! loop composes frame N+1 while frame N is on the wire, and blocks (backpressure) only when the wire is
//! the bottleneck. The thread ends when its [`Threaded`] end is dropped (channel closed), after which the
//! LEDs are left as the last frame made them.
//!
//! The device is opened on the thread itself, by the [`DeviceFactory`] handed to it: a driver holding
//! raw pointers never crosses a thread, so [`OutputDevice`] need not be `Send`. Opening happens before
//! [`Threaded::spawn`] returns, so a device that cannot be opened still stops the start-up with its
//! reason.
//!
//! The thread wakes once per frame: a device may return from [`OutputDevice::show`] as soon as the frame
//! is on its way (the simulator does) and wait for the wire only when the next frame comes before it is
//! free. The buffer of the frame on the wire is handed back when the next frame arrives (or on
//! [`Threaded::drain`]), so the render loop is held back exactly as far as when `show` blocked for the
//! whole wire time, without a second wake-up per frame.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{DeviceFactory, Ledger, OutFrame, OutputDevice, OutputError};
use crate::layout::Layout;

/// What the render loop sends the output thread.
enum ToOutput {
    Frame(Box<OutFrame>),
    /// Wait for the wire, then hand back the buffer of the frame on it (`Threaded::drain`).
    Flush,
}

/// Frames in flight: one on the wire, one being composed.
pub(super) const BUFFERS: usize = 2;

/// The render loop's end of the output thread.
pub(super) struct Threaded {
    tx: Option<SyncSender<ToOutput>>,
    pub(super) free: Receiver<Box<OutFrame>>,
    recycle: SyncSender<Box<OutFrame>>,
    join: Option<JoinHandle<()>>,
}

/// Opens the device on the calling thread (the output thread), telling the spawner how it went.
fn open_here(
    open: DeviceFactory,
    opened: &SyncSender<Result<(), OutputError>>,
) -> Option<Box<dyn OutputDevice>> {
    let (device, result) = match open() {
        Ok(device) => (Some(device), Ok(())),
        Err(e) => (None, Err(e)),
    };
    let _ = opened.send(result);
    device
}

impl Threaded {
    /// Starts the output thread, which opens its device with `open` (this waits for that and returns
    /// its error) and keeps its books in `ledger`.
    pub(super) fn spawn(
        layout: &Layout,
        open: DeviceFactory,
        ledger: Ledger,
    ) -> Result<Threaded, OutputError> {
        let (tx, rx) = sync_channel::<ToOutput>(BUFFERS);
        let (free_tx, free) = sync_channel::<Box<OutFrame>>(BUFFERS);
        for _ in 0..BUFFERS {
            free_tx
                .send(Box::new(OutFrame::new(layout)))
                .map_err(|_| std::io::Error::other("output buffer queue closed"))?;
        }
        let recycle = free_tx.clone();
        let (opened_tx, opened) = sync_channel::<Result<(), OutputError>>(1);
        let join = std::thread::Builder::new()
            .name("diuna-output".into())
            .spawn(move || {
                crate::realtime::promote_current_thread("output");
                let Some(device) = open_here(open, &opened_tx) else {
                    return;
                };
                OutputThread {
                    device,
                    rx,
                    free: free_tx,
                    ledger,
                    on_wire: None,
                }
                .run();
            })?;
        opened
            .recv()
            .unwrap_or_else(|_| Err(OutputError::Open("the output thread ended".into())))?;
        Ok(Threaded {
            tx: Some(tx),
            free,
            recycle,
            join: Some(join),
        })
    }

    /// A buffer to compose into; blocks while both buffers are in flight (the wire is the bottleneck).
    pub(super) fn acquire(&self) -> Option<Box<OutFrame>> {
        self.free.recv().ok()
    }

    /// Hands a composed frame to the thread.
    pub(super) fn submit(&self, frame: Box<OutFrame>) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send(ToOutput::Frame(frame)).is_ok())
    }

    /// Returns a buffer that had nothing new to show, without waking the thread.
    pub(super) fn recycle(&self, frame: Box<OutFrame>) {
        let _ = self.recycle.try_send(frame);
    }

    /// Waits until every submitted frame has latched and every buffer is back; how many came back.
    pub(super) fn drain(&self) -> usize {
        let Some(Ok(())) = self.tx.as_ref().map(|tx| tx.send(ToOutput::Flush)) else {
            return 0;
        };
        (0..BUFFERS).filter(|_| self.free.recv().is_ok()).count()
    }
}

impl Drop for Threaded {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// The output thread's state: the device, and the buffer of the frame on the wire.
struct OutputThread {
    device: Box<dyn OutputDevice>,
    rx: Receiver<ToOutput>,
    free: SyncSender<Box<OutFrame>>,
    ledger: Ledger,
    /// Handed back when the next frame has started (the wire is free of this one by then).
    on_wire: Option<Box<OutFrame>>,
}

impl OutputThread {
    fn run(mut self) {
        while let Some(msg) = self.next() {
            match msg {
                ToOutput::Frame(frame) => {
                    self.ledger.show(self.device.as_mut(), &frame);
                    if let Some(old) = self.on_wire.replace(frame)
                        && self.free.send(old).is_err()
                    {
                        break;
                    }
                }
                ToOutput::Flush => {
                    self.device.flush();
                    if let Some(old) = self.on_wire.take()
                        && self.free.send(old).is_err()
                    {
                        break;
                    }
                }
            }
        }
        self.device.flush();
    }

    /// The next message; meanwhile ticks the device when it asks to (the preview's redraw).
    fn next(&mut self) -> Option<ToOutput> {
        loop {
            match self.device.pending() {
                None => return self.rx.recv().ok(),
                Some(wait) => match self.rx.recv_timeout(wait) {
                    Ok(m) => return Some(m),
                    Err(RecvTimeoutError::Timeout) => self.device.tick(),
                    Err(RecvTimeoutError::Disconnected) => return None,
                },
            }
        }
    }
}
