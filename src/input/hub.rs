//! The input hub: one task that owns the encoder decoders and button debouncers, takes raw edges and
//! ready-made events from every source, and forwards typed [`InputEvent`]s to the render loop.
//!
//! Sources (GPIO interrupt callbacks, the simulator, keyboards, the kernel's rotary-encoder device) only
//! send [`Raw`] messages on a channel. Encoder edges pass through an [`EdgeSorter`] (kernel timestamp
//! order) into the decoder. Long presses and held-back edges are timed here with `sleep_until` on the
//! nearest deadline, never by polling.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::InputConfig;
use super::button::Button;
use super::edges::{Edge, EdgeSorter};
use super::encoder::{Acceleration, Line, Quadrature};
use crate::engine::{ButtonAction, Command, EngineHandle, InputEvent};

/// Which encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    Selector,
    Modulator,
}

/// Which button: an encoder's push switch or one of BTN1..BTN4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonId {
    Click(Knob),
    Btn(crate::engine::Button),
}

/// What a source reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Raw {
    /// An encoder line changed level; `at` is when it happened (the kernel's timestamp on a Pi).
    Edge {
        knob: Knob,
        line: Line,
        high: bool,
        at: Instant,
    },
    /// An encoder decoded elsewhere (the kernel's rotary-encoder driver) turned by `steps` detents.
    Detent { knob: Knob, steps: i32, at: Instant },
    /// A button line changed level (`low` = pressed, active-low).
    Button {
        id: ButtonId,
        low: bool,
        at: Instant,
    },
    /// A finished event (keyboard, simulator shortcuts).
    Event(InputEvent),
}

/// Capacity of the raw channel; a GPIO callback drops edges beyond it rather than block (uncounted: 1,024 edges queued means the hub is not running; the encoder decoder resynchronises on the next detent).
pub const RAW_QUEUE: usize = 1024;

struct Knobs {
    sorter: [EdgeSorter; 2],
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
    let mut k = Knobs::new(&cfg);
    let mut out = Vec::new();
    loop {
        let deadline = k.deadline();
        let sleep =
            tokio::time::sleep_until(deadline.map(tokio::time::Instant::from_std).unwrap_or_else(
                || tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
            ));
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            raw = rx.recv() => match raw {
                Some(raw) => k.feed(raw, Instant::now(), &mut out),
                None => {
                    stop.cancelled().await;
                    return Ok(());
                }
            },
            _ = sleep, if deadline.is_some() => k.due(Instant::now(), &mut out),
        }
        for ev in out.drain(..) {
            send(&engine, ev)?;
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
    fn new(cfg: &InputConfig) -> Knobs {
        let mk = || Button::new(cfg.debounce, cfg.long_press);
        let mut buttons = vec![
            (ButtonId::Click(Knob::Selector), mk()),
            (ButtonId::Click(Knob::Modulator), mk()),
        ];
        for b in crate::engine::Button::ALL {
            buttons.push((ButtonId::Btn(b), mk()));
        }
        Knobs {
            sorter: Default::default(),
            decoder: Default::default(),
            accel: Default::default(),
            buttons,
            acceleration: cfg.acceleration,
        }
    }

    /// The nearest time something held must be looked at again.
    fn deadline(&self) -> Option<Instant> {
        let buttons = self.buttons.iter().filter_map(|(_, b)| b.deadline());
        let edges = self.sorter.iter().filter_map(EdgeSorter::deadline);
        buttons.chain(edges).min()
    }

    /// Takes one raw input; pushes the events it completes onto `out`.
    fn feed(&mut self, raw: Raw, now: Instant, out: &mut Vec<InputEvent>) {
        match raw {
            Raw::Edge {
                knob,
                line,
                high,
                at,
            } => {
                self.sorter[knob as usize].push(Edge { line, high, at });
                self.release_edges(knob, now, out);
            }
            Raw::Detent { knob, steps, at } => {
                let d = if self.acceleration {
                    self.accel[knob as usize].apply(steps.signum(), at) * steps.abs()
                } else {
                    steps
                };
                out.extend((d != 0).then(|| turned(knob, d)));
            }
            Raw::Button { id, low, at } => {
                let Some((_, b)) = self.buttons.iter_mut().find(|(i, _)| *i == id) else {
                    return;
                };
                out.extend(b.edge(low, at).and_then(|a| button_event(id, a)));
            }
            Raw::Event(e) => out.push(e),
        }
    }

    /// Long presses and held-back edges that are due at `now`.
    fn due(&mut self, now: Instant, out: &mut Vec<InputEvent>) {
        for (id, b) in &mut self.buttons {
            if let Some(a) = b.poll(now) {
                out.extend(button_event(*id, a));
            }
        }
        for knob in [Knob::Selector, Knob::Modulator] {
            self.release_edges(knob, now, out);
        }
    }

    /// Feeds the edges of `knob` whose order is settled to its decoder.
    fn release_edges(&mut self, knob: Knob, now: Instant, out: &mut Vec<InputEvent>) {
        let i = knob as usize;
        while let Some(e) = self.sorter[i].pop_ready(now) {
            let d = self.decoder[i].edge(e.line, e.high);
            if d == 0 {
                continue;
            }
            let d = if self.acceleration {
                self.accel[i].apply(d, e.at)
            } else {
                d
            };
            out.push(turned(knob, d));
        }
    }
}

fn turned(knob: Knob, detents: i32) -> InputEvent {
    match knob {
        Knob::Selector => InputEvent::Selector(detents),
        Knob::Modulator => InputEvent::Modulator(detents),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::edges::REORDER_WINDOW;
    use std::time::Duration;

    fn knobs(acceleration: bool) -> Knobs {
        Knobs::new(&InputConfig {
            acceleration,
            ..Default::default()
        })
    }

    #[test]
    fn edges_out_of_order_are_decoded_in_kernel_time_order() {
        let mut k = knobs(false);
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let edge = |line, high, at| Raw::Edge {
            knob: Knob::Selector,
            line,
            high,
            at,
        };
        let mut out = Vec::new();
        // A clockwise detent whose B edges each overtake the A edge before them.
        let arrive = ms(4);
        for raw in [
            edge(Line::B, false, ms(1)),
            edge(Line::A, false, ms(0)),
            edge(Line::B, true, ms(3)),
            edge(Line::A, true, ms(2)),
        ] {
            k.feed(raw, arrive, &mut out);
        }
        assert_eq!(out, [], "the last edge waits for a possible earlier one");
        assert_eq!(k.deadline(), Some(ms(3) + REORDER_WINDOW));
        k.due(ms(3) + REORDER_WINDOW, &mut out);
        assert_eq!(out, [InputEvent::Selector(1)]);
        assert_eq!(k.deadline(), None);
    }

    #[test]
    fn kernel_decoded_detents_pass_through_acceleration() {
        let t0 = Instant::now();
        let detent = |steps, ms| Raw::Detent {
            knob: Knob::Modulator,
            steps,
            at: t0 + Duration::from_millis(ms),
        };
        let mut out = Vec::new();
        let mut k = knobs(false);
        k.feed(detent(-2, 0), t0, &mut out);
        assert_eq!(out, [InputEvent::Modulator(-2)]);
        out.clear();
        let mut k = knobs(true);
        k.feed(detent(1, 0), t0, &mut out);
        k.feed(detent(1, 20), t0, &mut out);
        assert_eq!(out, [InputEvent::Modulator(1), InputEvent::Modulator(4)]);
    }
}
