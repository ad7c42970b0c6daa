//! The input hub: one task that owns the encoder decoders and button debouncers, takes raw edges and
//! ready-made events from every source, and forwards typed [`InputEvent`]s to the render loop.
//!
//! Sources (GPIO interrupt callbacks, the simulator, keyboards) only send [`Raw`] messages on a channel;
//! long presses are timed here with `sleep_until` on the nearest button deadline, never by polling.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::button::{Button, ButtonAction};
use super::encoder::{Acceleration, Line, Quadrature};
use super::{InputConfig, InputEvent};
use crate::engine::{Command, EngineHandle};

/// Which encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    Selector,
    Modulator,
}

/// Which button: an encoder's push switch or BTN1..BTN4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonId {
    Click(Knob),
    Btn(u8),
}

/// What a source reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Raw {
    /// An encoder line changed level.
    Edge {
        knob: Knob,
        line: Line,
        high: bool,
        at: Instant,
    },
    /// A button line changed level (`low` = pressed, active-low).
    Button {
        id: ButtonId,
        low: bool,
        at: Instant,
    },
    /// A finished event (keyboard, simulator shortcuts).
    Event(InputEvent),
}

/// Capacity of the raw channel; a GPIO callback drops (and counts) edges beyond it rather than block.
pub const RAW_QUEUE: usize = 1024;

struct Knobs {
    decoder: [Quadrature; 2],
    accel: [Acceleration; 2],
    buttons: Vec<(ButtonId, Button)>,
    acceleration: bool,
}

/// Runs the hub until `stop`; returns when every source has gone away too.
pub async fn run(
    cfg: InputConfig,
    engine: EngineHandle,
    mut rx: mpsc::Receiver<Raw>,
    stop: CancellationToken,
) -> Result<(), crate::engine::SendError> {
    let mut buttons: Vec<(ButtonId, Button)> = Vec::new();
    let mk = || Button::new(cfg.debounce, cfg.long_press);
    buttons.push((ButtonId::Click(Knob::Selector), mk()));
    buttons.push((ButtonId::Click(Knob::Modulator), mk()));
    for n in 1..=4u8 {
        buttons.push((ButtonId::Btn(n), mk()));
    }
    let mut k = Knobs {
        decoder: Default::default(),
        accel: Default::default(),
        buttons,
        acceleration: cfg.acceleration,
    };
    loop {
        let deadline = k.buttons.iter().filter_map(|(_, b)| b.deadline()).min();
        let sleep =
            tokio::time::sleep_until(deadline.map(tokio::time::Instant::from_std).unwrap_or_else(
                || tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
            ));
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            raw = rx.recv() => match raw {
                Some(raw) => {
                    if let Some(ev) = k.feed(raw) {
                        send(&engine, ev)?;
                    }
                }
                None => {
                    stop.cancelled().await;
                    return Ok(());
                }
            },
            _ = sleep, if deadline.is_some() => {
                let now = Instant::now();
                let due: Vec<_> = k.buttons.iter_mut().filter_map(|(id, b)| b.poll(now).map(|a| (*id, a))).collect();
                for (id, a) in due {
                    if let Some(ev) = button_event(id, a) {
                        send(&engine, ev)?;
                    }
                }
            }
        }
    }
}

fn send(engine: &EngineHandle, ev: InputEvent) -> Result<(), crate::engine::SendError> {
    match engine.send(Command::Input(ev)) {
        Err(crate::engine::SendError::Full) => {
            tracing::warn!(?ev, "render loop busy: input event dropped");
            Ok(())
        }
        other => other,
    }
}

fn button_event(id: ButtonId, a: ButtonAction) -> Option<InputEvent> {
    match (id, a) {
        (ButtonId::Click(Knob::Selector), ButtonAction::Press) => Some(InputEvent::SelectorClick),
        (ButtonId::Click(Knob::Modulator), ButtonAction::Press) => Some(InputEvent::ModulatorClick),
        (ButtonId::Click(_), _) => None,
        (ButtonId::Btn(n), a) => Some(InputEvent::Button(n, a)),
    }
}

impl Knobs {
    fn feed(&mut self, raw: Raw) -> Option<InputEvent> {
        match raw {
            Raw::Edge {
                knob,
                line,
                high,
                at,
            } => {
                let i = knob as usize;
                let d = self.decoder[i].edge(line, high);
                if d == 0 {
                    return None;
                }
                let d = if self.acceleration {
                    self.accel[i].apply(d, at)
                } else {
                    d
                };
                Some(match knob {
                    Knob::Selector => InputEvent::Selector(d),
                    Knob::Modulator => InputEvent::Modulator(d),
                })
            }
            Raw::Button { id, low, at } => {
                let (_, b) = self.buttons.iter_mut().find(|(i, _)| *i == id)?;
                b.edge(low, at).and_then(|a| button_event(id, a))
            }
            Raw::Event(e) => Some(e),
        }
    }
}
