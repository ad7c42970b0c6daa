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
    /// Shows the dirty strips of `frame`, returning once they have latched.
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError>;

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
}

/// The output device for `layout`: the real drivers (after the preflight) beside the simulator, which
/// takes the `sim` strips (and draws the preview when asked).
pub fn open(layout: &Layout, preview: bool) -> Result<Box<dyn OutputDevice>, OutputError> {
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

/// The render loop's end of the output thread.
pub struct Output {
    tx: Option<SyncSender<Box<OutFrame>>>,
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
    /// its error); `on_first` runs once the first frame has latched.
    pub fn spawn(
        layout: &Layout,
        open: DeviceFactory,
        on_first: Box<dyn FnOnce() + Send>,
    ) -> Result<Output, OutputError> {
        let (tx, rx) = sync_channel::<Box<OutFrame>>(BUFFERS);
        let (free_tx, free) = sync_channel::<Box<OutFrame>>(BUFFERS);
        for _ in 0..BUFFERS {
            free_tx
                .send(Box::new(OutFrame::new(layout)))
                .map_err(|_| std::io::Error::other("output buffer queue closed"))?;
        }
        let recycle = free_tx.clone();
        let counters = Arc::new(OutputCounters::default());
        let c = counters.clone();
        let (opened_tx, opened) = sync_channel::<Result<(), OutputError>>(1);
        let join = std::thread::Builder::new()
            .name("diuna-output".into())
            .spawn(move || {
                crate::realtime::promote_current_thread("output");
                let Some(mut device) = open_here(open, &opened_tx) else {
                    return;
                };
                let mut on_first = Some(on_first);
                let mut failing = false;
                loop {
                    let frame = match device.pending() {
                        None => match rx.recv() {
                            Ok(f) => f,
                            Err(_) => break,
                        },
                        Some(wait) => match rx.recv_timeout(wait) {
                            Ok(f) => f,
                            Err(RecvTimeoutError::Timeout) => {
                                device.tick();
                                continue;
                            }
                            Err(RecvTimeoutError::Disconnected) => break,
                        },
                    };
                    match device.show(&frame) {
                        Ok(()) => {
                            if failing {
                                tracing::info!("output recovered");
                                failing = false;
                            }
                            c.frames.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            // Logged once per change of state, counted always; the next frame retries.
                            if !failing {
                                tracing::error!(error = %e, "output write failed; retrying on the next frame");
                                failing = true;
                            }
                            c.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if let Some(f) = on_first.take() {
                        f();
                    }
                    if free_tx.send(frame).is_err() {
                        break;
                    }
                }
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
        self.tx.as_ref().is_some_and(|tx| tx.send(frame).is_ok())
    }

    /// Returns a buffer that had nothing new to show, without waking the thread.
    pub fn recycle(&self, frame: Box<OutFrame>) {
        let _ = self.recycle.try_send(frame);
    }

    /// Waits until every submitted frame has latched.
    pub fn drain(&self) -> Vec<Box<OutFrame>> {
        (0..BUFFERS).filter_map(|_| self.free.recv().ok()).collect()
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
