//! GPIO inputs on a Raspberry Pi through `rppal` (cargo feature `hardware`): encoder lines and buttons as
//! inputs with pull-ups, each with an interrupt on both edges. The interrupt callbacks run on rppal's
//! threads (one per pin) and only forward the edge, with its level and the kernel's timestamp, to the
//! hub; ordering, decoding and debouncing happen there. The pins stay claimed as long as the returned
//! [`GpioInputs`] lives.
//!
//! Before a pin is claimed it is checked: a pin switched to a peripheral (SPI, I2C, UART, PWM), held
//! by a kernel driver, or missing is refused with its config key and the fix (`pins.rs`). Every pin is
//! checked before the error is returned, so one message lists them all; pins claimed meanwhile are
//! released (rppal restores their previous mode).

use std::time::Instant;

use rppal::gpio::{Event, Gpio, InputPin, Mode, Trigger};
use tokio::sync::mpsc;

use super::encoder::Line;
use super::hub::{ButtonId, Knob, Raw};
use super::pins::{PinProblem, PinTrouble, kernel_instant, monotonic_now};
use super::{EncoderSource, InputConfig};

/// Turns a pin's new level (high = true) at a time into what the hub gets.
type EdgeToRaw = Box<dyn Fn(bool, Instant) -> Raw + Send>;

/// Claimed input pins; dropping it releases them.
pub struct GpioInputs {
    _pins: Vec<InputPin>,
}

/// Why GPIO inputs could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error(
        "cannot open the GPIO controller: {0} (is this a Raspberry Pi, and may this user open \
         /dev/gpiomem and /dev/gpiochip0?)"
    )]
    Open(#[source] rppal::gpio::Error),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Pins(Vec<PinProblem>),
}

/// Claims every configured input pin and starts forwarding edges; `None` when no pin is configured.
pub fn start(cfg: &InputConfig, tx: mpsc::Sender<Raw>) -> Result<Option<GpioInputs>, GpioError> {
    let wants = wanted(cfg);
    if wants.is_empty() {
        return Ok(None);
    }
    let gpio = Gpio::new().map_err(GpioError::Open)?;
    let mut pins = Vec::new();
    let mut problems = Vec::new();
    for (key, pin, make) in wants {
        match claim(&gpio, pin, tx.clone(), make) {
            Ok(p) => pins.push(p),
            Err(trouble) => problems.push(PinProblem { key, pin, trouble }),
        }
    }
    if !problems.is_empty() {
        return Err(GpioError::Pins(problems));
    }
    tracing::info!(pins = pins.len(), "GPIO inputs ready");
    Ok(Some(GpioInputs { _pins: pins }))
}

/// Every pin to claim, with its config key and what its edges mean.
fn wanted(cfg: &InputConfig) -> Vec<(String, u8, EdgeToRaw)> {
    let keys = cfg.pin_keys();
    let key = |pin: u8| {
        keys.iter()
            .find(|(_, p)| *p == pin)
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };
    let mut wants: Vec<(String, u8, EdgeToRaw)> = Vec::new();
    for (knob, enc) in [
        (Knob::Selector, &cfg.selector),
        (Knob::Modulator, &cfg.modulator),
    ] {
        let Some(enc) = enc else { continue };
        if let EncoderSource::Gpio { a, b } = enc.source {
            for (pin, line) in [(a, Line::A), (b, Line::B)] {
                let edge = move |high, at| Raw::Edge {
                    knob,
                    line,
                    high,
                    at,
                };
                wants.push((key(pin), pin, Box::new(edge)));
            }
        }
        if let Some(b) = enc.button {
            let id = ButtonId::Click(knob);
            wants.push((key(b), b, Box::new(move |high, at| button(id, high, at))));
        }
    }
    for (i, &pin) in cfg.buttons.iter().enumerate() {
        let Some(&b) = crate::engine::Button::ALL.get(i) else {
            continue; // the config allows four
        };
        let id = ButtonId::Btn(b);
        wants.push((
            key(pin),
            pin,
            Box::new(move |high, at| button(id, high, at)),
        ));
    }
    wants
}

fn button(id: ButtonId, high: bool, at: Instant) -> Raw {
    Raw::Button { id, low: !high, at }
}

/// Checks and claims one pin as an input with a pull-up and an interrupt on both edges.
fn claim(
    gpio: &Gpio,
    pin: u8,
    tx: mpsc::Sender<Raw>,
    make: EdgeToRaw,
) -> Result<InputPin, PinTrouble> {
    let p = gpio.get(pin).map_err(trouble)?;
    if let Some(alt) = alt_function(p.mode()) {
        return Err(PinTrouble::Peripheral { alt });
    }
    let mut input = p.into_input_pullup();
    input
        .set_async_interrupt(Trigger::Both, None, move |e: Event| {
            let at = kernel_instant(e.timestamp, monotonic_now(), Instant::now());
            // Never block an interrupt thread: a full queue drops the edge (the decoder tolerates it).
            let _ = tx.try_send(make(e.trigger == Trigger::RisingEdge, at));
        })
        .map_err(trouble)?;
    Ok(input)
}

/// The `n` of an `ALTn` (peripheral) function; `None` for a plain input, output or unused pin.
fn alt_function(mode: Mode) -> Option<u8> {
    Some(match mode {
        Mode::Alt0 => 0,
        Mode::Alt1 => 1,
        Mode::Alt2 => 2,
        Mode::Alt3 => 3,
        Mode::Alt4 => 4,
        Mode::Alt5 => 5,
        Mode::Alt6 => 6,
        Mode::Alt7 => 7,
        Mode::Alt8 => 8,
        Mode::Input | Mode::Output | Mode::Null => return None,
    })
}

fn trouble(e: rppal::gpio::Error) -> PinTrouble {
    use rppal::gpio::Error;
    match e {
        Error::PinUsed(_) => PinTrouble::Twice,
        Error::PinNotAvailable(_) => PinTrouble::Missing,
        Error::Io(io) if io.raw_os_error() == Some(libc::EBUSY) => PinTrouble::Busy,
        other => PinTrouble::Other(other.to_string()),
    }
}
