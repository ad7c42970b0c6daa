//! GPIO inputs on a Raspberry Pi through `rppal` (cargo feature `hardware`): encoder lines and buttons as
//! inputs with pull-ups, each with an interrupt on both edges. The interrupt callbacks run on rppal's
//! thread and only forward the edge (with the level it reports) to the hub; decoding and debouncing
//! happen there. The pins stay claimed as long as the returned [`GpioInputs`] lives.

use std::time::Instant;

use rppal::gpio::{Event, Gpio, InputPin, Trigger};
use tokio::sync::mpsc;

use super::InputConfig;
use super::encoder::Line;
use super::hub::{ButtonId, Knob, Raw};

/// Turns a pin's new level (high = true) into what the hub gets.
type EdgeToRaw = Box<dyn Fn(bool) -> Raw + Send>;

/// Claimed input pins; dropping it releases them.
pub struct GpioInputs {
    _pins: Vec<InputPin>,
}

/// Why GPIO could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("GPIO {pin}: {source} (is this a Raspberry Pi, and may this user open /dev/gpiochip0?)")]
pub struct GpioError {
    pin: u8,
    #[source]
    source: rppal::gpio::Error,
}

/// Claims every configured input pin and starts forwarding edges; `None` when no pin is configured.
pub fn start(cfg: &InputConfig, tx: mpsc::Sender<Raw>) -> Result<Option<GpioInputs>, GpioError> {
    let mut wants: Vec<(u8, EdgeToRaw)> = Vec::new();
    for (knob, pins) in [
        (Knob::Selector, cfg.selector),
        (Knob::Modulator, cfg.modulator),
    ] {
        let Some(p) = pins else { continue };
        wants.push((
            p.a,
            Box::new(move |high| Raw::Edge {
                knob,
                line: Line::A,
                high,
                at: Instant::now(),
            }),
        ));
        wants.push((
            p.b,
            Box::new(move |high| Raw::Edge {
                knob,
                line: Line::B,
                high,
                at: Instant::now(),
            }),
        ));
        if let Some(b) = p.button {
            wants.push((
                b,
                Box::new(move |high| Raw::Button {
                    id: ButtonId::Click(knob),
                    low: !high,
                    at: Instant::now(),
                }),
            ));
        }
    }
    for (i, &pin) in cfg.buttons.iter().enumerate() {
        let id = ButtonId::Btn(i as u8 + 1);
        wants.push((
            pin,
            Box::new(move |high| Raw::Button {
                id,
                low: !high,
                at: Instant::now(),
            }),
        ));
    }
    if wants.is_empty() {
        return Ok(None);
    }
    let gpio = Gpio::new().map_err(|source| GpioError { pin: 0, source })?;
    let mut pins = Vec::new();
    for (pin, make) in wants {
        let err = |source| GpioError { pin, source };
        let mut input = gpio.get(pin).map_err(err)?.into_input_pullup();
        let tx = tx.clone();
        input
            .set_async_interrupt(Trigger::Both, None, move |e: Event| {
                let high = e.trigger == Trigger::RisingEdge;
                // Never block an interrupt thread: a full queue drops the edge (the decoder tolerates it).
                let _ = tx.try_send(make(high));
            })
            .map_err(err)?;
        pins.push(input);
    }
    tracing::info!(pins = pins.len(), "GPIO inputs ready");
    Ok(Some(GpioInputs { _pins: pins }))
}
