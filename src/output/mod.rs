//! The LED output: the only place that touches strip devices.
//!
//! The render loop fills a pre-allocated [`OutFrame`] and hands it to [`Output`], which shows it on the
//! device. Where the device runs is chosen from the layout ([`Placement`]): a device that keeps the
//! wire's time itself (the simulator, `pio`, `ws281x`: `show` returns once the frame is on its way)
//! runs on the render thread, right after the frame is composed, so one thread wakes per frame; a
//! device whose writes wait (`spi` for the whole wire time, a capture file, the terminal preview) runs
//! on the output thread (`thread.rs`), never on the async runtime and never on the render thread.
//!
//! Either way the device is opened on the thread that uses it, by a [`DeviceFactory`]: a driver
//! holding raw pointers into memory a C library mapped (rpi_ws281x) never crosses a thread, so
//! [`OutputDevice`] need not be `Send`. Opening happens before [`Output::start`] returns, so a device
//! that cannot be opened still stops the start-up with its reason.

pub mod board;
pub mod pio;
pub mod pipeline;
pub mod preflight;
pub mod preview;
pub mod sim;
pub mod spi;
pub mod tap;
mod thread;
#[cfg(feature = "hardware")]
pub mod ws281x;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// Opens the output device; called once, on the thread that will use it.
pub type DeviceFactory = Box<dyn FnOnce() -> Result<Box<dyn OutputDevice>, OutputError> + Send>;

/// Something that puts frames on wires: the simulator or a driver. It lives on the thread that opened
/// it (by a [`DeviceFactory`]), so it need not be `Send`.
pub trait OutputDevice {
    /// Shows the dirty strips of `frame`. It returns once they have latched, or (a device that keeps
    /// time itself, like the simulator) once the frame is on its way: such a device waits for the
    /// wire before it starts the next frame, and in [`OutputDevice::flush`].
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError>;

    /// Returns once every frame shown so far has latched.
    fn flush(&mut self) {}

    /// Time until the device wants [`OutputDevice::tick`] (e.g. a rate-limited preview redraw), if ever.
    /// Only the output thread keeps this time: [`Placement::for_layout`] puts the preview there.
    fn pending(&self) -> Option<Duration> {
        None
    }

    /// Called when [`OutputDevice::pending`] elapsed without a new frame.
    fn tick(&mut self) {}
}

/// Sleeps until `free_at`, when a device that keeps time itself has its wire free again (now, if that
/// time has passed or there is none).
fn wait_for_wire(free_at: Option<Instant>) {
    if let Some(rest) = free_at.and_then(|free| free.checked_duration_since(Instant::now())) {
        std::thread::sleep(rest);
    }
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

/// Frames shown and writes failed, shared with health reporting (lock-free).
#[derive(Default, Debug)]
pub struct OutputCounters {
    pub frames: AtomicU64,
    pub errors: AtomicU64,
}

/// Where the device runs, chosen from the layout before it is opened (a device that is not `Send`
/// stays on the thread that opened it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// On the render thread, right after the frame is composed: one thread wakes per frame, not two.
    /// For devices whose `show` returns once the frame is on its way and waits only for a wire that
    /// is still busy with the previous frame, which the render loop would wait for anyway: the
    /// simulator, `pio` (the kernel sends in a worker) and `ws281x` (DMA).
    Inline,
    /// On the output thread (`thread.rs`), when a write waits for something else: an SPI transfer
    /// lasts the whole wire time (the `spi` driver, `ws281x` on GPIO 10, which rpi_ws281x drives
    /// through spidev, and a simulated strip emulating either), and a capture file and the terminal
    /// preview are I/O, which never runs on the render thread.
    Thread,
}

impl Placement {
    /// The placement for `layout`'s devices, with or without the terminal `preview`.
    pub fn for_layout(layout: &Layout, preview: bool) -> Placement {
        let waits = |s: &crate::layout::StripSpec| {
            let driver = s.timing_driver();
            let spi =
                driver == Some(Driver::Spi) || (driver == Some(Driver::Ws281x) && s.gpio == 10);
            spi || (s.driver == Driver::Sim && s.capture.is_some())
        };
        if preview || layout.strips.iter().any(waits) {
            Placement::Thread
        } else {
            Placement::Inline
        }
    }
}

/// The books kept on every frame shown: frames and errors counted, a failure logged once per change
/// of state, and `on_first` run after the first frame.
struct Ledger {
    counters: Arc<OutputCounters>,
    on_first: Option<Box<dyn FnOnce() + Send>>,
    failing: bool,
}

impl Ledger {
    /// Shows `frame` on `device`; an error is counted and logged, and the next frame retries.
    fn show(&mut self, device: &mut dyn OutputDevice, frame: &OutFrame) {
        match device.show(frame) {
            Ok(()) => {
                if self.failing {
                    tracing::info!("output recovered");
                    self.failing = false;
                }
                self.counters.frames.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(error = %e, "output write failed; retrying on the next frame");
                    self.failing = true;
                }
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(f) = self.on_first.take() {
            f();
        }
    }
}

/// The device on the render thread itself, and the one buffer it composes into.
struct Inline {
    device: Box<dyn OutputDevice>,
    ledger: Ledger,
    spare: Option<Box<OutFrame>>,
}

impl Drop for Inline {
    fn drop(&mut self) {
        self.device.flush();
    }
}

enum Place {
    Inline(Inline),
    Thread(thread::Threaded),
}

/// The render loop's end of the output: the device itself ([`Placement::Inline`]) or the output
/// thread. When it is dropped the last frame is waited for and the LEDs are left as it made them (the
/// render loop fades them out first when configured).
pub struct Output {
    place: Place,
    pub counters: Arc<OutputCounters>,
}

impl Output {
    /// Opens the device with `open`, on the calling thread ([`Placement::Inline`]) or on a new output
    /// thread (this waits for it), and returns its error; `on_first` runs once the first frame is out.
    pub fn start(
        layout: &Layout,
        placement: Placement,
        open: DeviceFactory,
        on_first: Box<dyn FnOnce() + Send>,
    ) -> Result<Output, OutputError> {
        let counters = Arc::new(OutputCounters::default());
        let ledger = Ledger {
            counters: counters.clone(),
            on_first: Some(on_first),
            failing: false,
        };
        let place = match placement {
            Placement::Inline => Place::Inline(Inline {
                device: open()?,
                ledger,
                spare: Some(Box::new(OutFrame::new(layout))),
            }),
            Placement::Thread => Place::Thread(thread::Threaded::spawn(layout, open, ledger)?),
        };
        Ok(Output { place, counters })
    }

    /// A buffer to compose into; on the output thread this blocks while both buffers are in flight
    /// (the wire is the bottleneck).
    pub fn acquire(&mut self) -> Option<Box<OutFrame>> {
        match &mut self.place {
            Place::Inline(i) => i.spare.take(),
            Place::Thread(t) => t.acquire(),
        }
    }

    /// Shows a composed frame (inline: now, waiting first for a wire still busy with the previous
    /// frame) or hands it to the output thread.
    pub fn submit(&mut self, frame: Box<OutFrame>) -> bool {
        match &mut self.place {
            Place::Inline(i) => {
                i.ledger.show(i.device.as_mut(), &frame);
                i.spare = Some(frame);
                true
            }
            Place::Thread(t) => t.submit(frame),
        }
    }

    /// Returns a buffer that had nothing new to show, without waking the output thread.
    pub fn recycle(&mut self, frame: Box<OutFrame>) {
        match &mut self.place {
            Place::Inline(i) => i.spare = Some(frame),
            Place::Thread(t) => t.recycle(frame),
        }
    }

    /// Waits until every submitted frame has latched and takes every buffer back (for the end: no
    /// frame can be composed after it); how many buffers there were.
    pub fn drain(&mut self) -> usize {
        match &mut self.place {
            Place::Inline(i) => {
                i.device.flush();
                usize::from(i.spare.take().is_some())
            }
            Place::Thread(t) => t.drain(),
        }
    }
}

#[cfg(test)]
mod tests;
