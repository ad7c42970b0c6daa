//! The kernel's `rotary-encoder` driver as an encoder source: an alternative to decoding GPIO edges.
//!
//! With `dtoverlay=rotary-encoder,pin_a=5,pin_b=6,relative_axis=1` in `config.txt` the kernel decodes
//! the encoder in its interrupt handler and reports each step as a relative-axis event (`REL_X`
//! unless the overlay's `linux_axis` says otherwise) on an input device such as
//! `/dev/input/by-path/platform-rotary@5-event`. A task reads that device and forwards each step as
//! a [`Raw::Detent`] to the hub, where acceleration and everything after it work as for GPIO knobs.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use evdev::{EventSummary, InputEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::{Knob, Raw};

/// What one event from the device means for `knob`: a turn by its value (negative: counter-clockwise)
/// for a relative-axis event, nothing for the rest (`SYN_REPORT`, …). `at` is when it happened.
pub fn detent(ev: &InputEvent, knob: Knob, at: Instant) -> Option<Raw> {
    match ev.destructure() {
        EventSummary::RelativeAxis(_, _, steps) if steps != 0 => {
            Some(Raw::Detent { knob, steps, at })
        }
        _ => None,
    }
}

/// The `Instant` of an input event's (wall-clock) timestamp, given the wall clock `sys_now` at `now`.
pub fn event_instant(ts: SystemTime, sys_now: SystemTime, now: Instant) -> Instant {
    let ago = sys_now.duration_since(ts).unwrap_or(Duration::ZERO);
    now.checked_sub(ago).unwrap_or(now)
}

/// Opens `path` and returns the task that forwards its steps for `knob` until `stop`.
pub fn reader(
    path: &Path,
    knob: Knob,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
) -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let task = super::evdev_reader::read(path, "rotary encoder device", tx, stop, move |ev| {
        let at = event_instant(ev.timestamp(), SystemTime::now(), Instant::now());
        detent(ev, knob, at)
    })?;
    tracing::info!(device = %path.display(), ?knob, "reading a rotary encoder from its input device");
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use evdev::{EventType, RelativeAxisCode, SynchronizationCode};

    /// A recording of `evtest` on a rotary-encoder device: two steps clockwise, one back, each
    /// followed by its SYN_REPORT.
    fn recording() -> Vec<InputEvent> {
        let rel = |v| InputEvent::new(EventType::RELATIVE.0, RelativeAxisCode::REL_X.0, v);
        let syn = || {
            InputEvent::new(
                EventType::SYNCHRONIZATION.0,
                SynchronizationCode::SYN_REPORT.0,
                0,
            )
        };
        vec![rel(1), syn(), rel(1), syn(), rel(-1), syn()]
    }

    #[test]
    fn recorded_events_become_detents() {
        let at = Instant::now();
        let got: Vec<Raw> = recording()
            .iter()
            .filter_map(|e| detent(e, Knob::Selector, at))
            .collect();
        let step = |steps| Raw::Detent {
            knob: Knob::Selector,
            steps,
            at,
        };
        assert_eq!(got, [step(1), step(1), step(-1)]);
        // Another axis (the overlay's linux_axis) counts too; a zero value does not.
        let dial = InputEvent::new(EventType::RELATIVE.0, RelativeAxisCode::REL_DIAL.0, -2);
        assert_eq!(
            detent(&dial, Knob::Modulator, at),
            Some(Raw::Detent {
                knob: Knob::Modulator,
                steps: -2,
                at
            })
        );
        let zero = InputEvent::new(EventType::RELATIVE.0, RelativeAxisCode::REL_X.0, 0);
        assert_eq!(detent(&zero, Knob::Modulator, at), None);
    }

    #[test]
    fn event_times_become_instants() {
        let (sys, now) = (SystemTime::now(), Instant::now());
        let ts = sys - Duration::from_millis(7);
        assert_eq!(now - event_instant(ts, sys, now), Duration::from_millis(7));
        assert_eq!(event_instant(sys + Duration::from_secs(1), sys, now), now);
    }
}
