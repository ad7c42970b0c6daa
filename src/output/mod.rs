//! The LED output thread: the only place that touches strip devices.
//!
//! A hardware write blocks for the wire time, so it runs on a dedicated `std::thread`, never on the async
//! runtime. The render loop fills a pre-allocated [`OutFrame`] and hands it over; the thread writes it and
//! hands the buffer back, so the steady state allocates nothing. With two buffers in flight the render loop
//! composes frame N+1 while frame N is on the wire, and blocks (backpressure) only when the wire is the
//! bottleneck. The thread ends when the render loop drops its [`Output`] (channel closed), after which the
//! LEDs are left as the last frame made them (the render loop fades them out first when configured).
//!
//! The device is opened on the output thread itself, by a [`DeviceFactory`] handed to it: a driver
//! holding raw pointers into memory a C library mapped (rpi_ws281x) never crosses a thread, so
//! [`OutputDevice`] need not be `Send`. Opening happens before [`Output::spawn`] returns, so a device
//! that cannot be opened still stops the start-up with its reason.
//!
//! The thread wakes once per frame: a device may return from [`OutputDevice::show`] as soon as the frame
//! is on its way (the simulator does) and wait for the wire only when the next frame comes before it is
//! free. The buffer of the frame on the wire is handed back when the next frame arrives (or on
//! [`Output::drain`]), so the render loop is held back exactly as far as when `show` blocked for the
//! whole wire time, without a second wake-up per frame.

pub mod board;
pub mod pio;
pub mod pipeline;
pub mod preflight;
pub mod preview;
pub mod sim;
pub mod spi;
pub mod tap;
#[cfg(feature = "hardware")]
pub mod ws281x;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::layout::{Driver, Layout};

/// Wire bytes for every strip (3 bytes a pixel, 4 on an RGBW strip, in wire order), plus which strips
/// changed since the last frame.
pub struct OutFrame {
    pub strips: Vec<Vec<u8>>,
    pub dirty: Vec<bool>,
}

impl OutFrame {
    pub fn new(layout: &Layout) -> Self {
        OutFrame {
            strips: layout
                .strips
                .iter()
                .map(|s| vec![0; s.len * s.bytes_per_pixel()])
                .collect(),
            dirty: vec![false; layout.strips.len()],
        }
    }
}

/// A failed write to a strip, or an output that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("strip {strip}: {reason}")]
    Write { strip: String, reason: String },
    #[error("cannot open output: {0}")]
    Open(String),
    #[error("cannot start the output thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Opens the output device; called once, on the output thread.
pub type DeviceFactory = Box<dyn FnOnce() -> Result<Box<dyn OutputDevice>, OutputError> + Send>;

/// Something that puts frames on wires: the simulator or a driver. It lives on the output thread
/// (opened there by a [`DeviceFactory`]), so it need not be `Send`.
pub trait OutputDevice {
    /// Shows the dirty strips of `frame`. It returns once they have latched, or (a device that keeps
    /// time itself, like the simulator) once the frame is on its way: such a device waits for the
    /// wire before it starts the next frame, and in [`OutputDevice::flush`].
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError>;

    /// Returns once every frame shown so far has latched.
    fn flush(&mut self) {}

    /// Time until the device wants [`OutputDevice::tick`] (e.g. a rate-limited preview redraw), if ever.
    fn pending(&self) -> Option<Duration> {
        None
    }

    /// Called when [`OutputDevice::pending`] elapsed without a new frame.
    fn tick(&mut self) {}
}

/// Several devices side by side (e.g. real strips and simulated ones); each skips strips not its own.
pub struct Combined(pub Vec<Box<dyn OutputDevice>>);

impl OutputDevice for Combined {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        self.0.iter_mut().try_for_each(|d| d.show(frame))
    }

    fn flush(&mut self) {
        self.0.iter_mut().for_each(|d| d.flush());
    }
}

/// The output device for `layout`: the real drivers (after the preflight) beside the simulator, which
/// takes the `sim` strips (and draws the preview on `preview`'s screen when given).
pub fn open(
    layout: &Layout,
    preview: Option<Arc<preview::Screen>>,
) -> Result<Box<dyn OutputDevice>, OutputError> {
    let sim = sim::SimOutput::new(layout, preview)?;
    let mut devices = open_hardware(layout)?;
    if devices.is_empty() {
        return Ok(Box::new(sim));
    }
    devices.push(Box::new(sim));
    Ok(Box::new(Combined(devices)))
}

/// Opens the real (non-simulated) strips' drivers after the preflight, one device per driver; empty
/// when every strip is simulated. Every problem the preflight finds is reported at once.
pub fn open_hardware(layout: &Layout) -> Result<Vec<Box<dyn OutputDevice>>, OutputError> {
    let uses = |d: Driver| layout.strips.iter().any(|s| s.driver == d);
    let mut devices: Vec<Box<dyn OutputDevice>> = Vec::new();
    if ![Driver::Ws281x, Driver::Spi, Driver::Pio]
        .into_iter()
        .any(uses)
    {
        return Ok(devices);
    }
    if uses(Driver::Ws281x) && !cfg!(feature = "hardware") {
        return Err(OutputError::Open(
            "a strip uses driver \"ws281x\" but this build has no hardware support; rebuild with \
             `cargo build --release --features hardware`, or use driver = \"spi\" (no C library needed)"
                .into(),
        ));
    }
    let sys = preflight::System::probe(layout);
    let problems = preflight::check(layout, &sys);
    if !problems.is_empty() {
        return Err(OutputError::Open(problems.join("\n  - ")));
    }
    #[cfg(feature = "hardware")]
    if uses(Driver::Ws281x) {
        devices.push(Box::new(ws281x::Ws281xOutput::open(layout)?));
    }
    if uses(Driver::Spi) {
        devices.push(Box::new(spi::SpiOutput::open(layout)?));
    }
    if uses(Driver::Pio) {
        devices.push(Box::new(pio::PioOutput::open(layout, &sys.pio_overlays)?));
    }
    Ok(devices)
}

/// Counters the output thread shares with health reporting (lock-free).
#[derive(Default, Debug)]
pub struct OutputCounters {
    pub frames: AtomicU64,
    pub errors: AtomicU64,
}

/// What the render loop sends the output thread.
enum ToOutput {
    Frame(Box<OutFrame>),
    /// Wait for the wire, then hand back the buffer of the frame on it (`Output::drain`).
    Flush,
}

/// The render loop's end of the output thread.
pub struct Output {
    tx: Option<SyncSender<ToOutput>>,
    free: Receiver<Box<OutFrame>>,
    recycle: SyncSender<Box<OutFrame>>,
    join: Option<JoinHandle<()>>,
    pub counters: Arc<OutputCounters>,
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

/// Frames in flight: one on the wire, one being composed.
const BUFFERS: usize = 2;

impl Output {
    /// Starts the output thread, which opens its device with `open` (this waits for that and returns
    /// its error); `on_first` runs once the first frame is out.
    pub fn spawn(
        layout: &Layout,
        open: DeviceFactory,
        on_first: Box<dyn FnOnce() + Send>,
    ) -> Result<Output, OutputError> {
        let (tx, rx) = sync_channel::<ToOutput>(BUFFERS);
        let (free_tx, free) = sync_channel::<Box<OutFrame>>(BUFFERS);
        for _ in 0..BUFFERS {
            free_tx
                .send(Box::new(OutFrame::new(layout)))
                .map_err(|_| std::io::Error::other("output buffer queue closed"))?;
        }
        let recycle = free_tx.clone();
        let counters = Arc::new(OutputCounters::default());
        let (opened_tx, opened) = sync_channel::<Result<(), OutputError>>(1);
        let c = counters.clone();
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
                    counters: c,
                    on_first: Some(on_first),
                    failing: false,
                    on_wire: None,
                }
                .run();
            })?;
        opened
            .recv()
            .unwrap_or_else(|_| Err(OutputError::Open("the output thread ended".into())))?;
        Ok(Output {
            tx: Some(tx),
            free,
            recycle,
            join: Some(join),
            counters,
        })
    }

    /// A buffer to compose into; blocks while both buffers are in flight (the wire is the bottleneck).
    pub fn acquire(&self) -> Option<Box<OutFrame>> {
        self.free.recv().ok()
    }

    /// Hands a composed frame to the thread.
    pub fn submit(&self, frame: Box<OutFrame>) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send(ToOutput::Frame(frame)).is_ok())
    }

    /// Returns a buffer that had nothing new to show, without waking the thread.
    pub fn recycle(&self, frame: Box<OutFrame>) {
        let _ = self.recycle.try_send(frame);
    }

    /// Waits until every submitted frame has latched.
    pub fn drain(&self) -> Vec<Box<OutFrame>> {
        let Some(Ok(())) = self.tx.as_ref().map(|tx| tx.send(ToOutput::Flush)) else {
            return Vec::new();
        };
        (0..BUFFERS).filter_map(|_| self.free.recv().ok()).collect()
    }
}

/// The output thread's state: the device, and the buffer of the frame on the wire.
struct OutputThread {
    device: Box<dyn OutputDevice>,
    rx: Receiver<ToOutput>,
    free: SyncSender<Box<OutFrame>>,
    counters: Arc<OutputCounters>,
    on_first: Option<Box<dyn FnOnce() + Send>>,
    failing: bool,
    /// Handed back when the next frame has started (the wire is free of this one by then).
    on_wire: Option<Box<OutFrame>>,
}

impl OutputThread {
    fn run(mut self) {
        while let Some(msg) = self.next() {
            match msg {
                ToOutput::Frame(frame) => {
                    self.show(&frame);
                    if let Some(f) = self.on_first.take() {
                        f();
                    }
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

    fn show(&mut self, frame: &OutFrame) {
        match self.device.show(frame) {
            Ok(()) => {
                if self.failing {
                    tracing::info!("output recovered");
                    self.failing = false;
                }
                self.counters.frames.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                // Logged once per change of state, counted always; the next frame retries.
                if !self.failing {
                    tracing::error!(error = %e, "output write failed; retrying on the next frame");
                    self.failing = true;
                }
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

#[cfg(test)]
mod tests;
