//! What the terminal preview shows under the strips besides the picture: the control surface's state
//! (edit mode, the selected zone, what the knob edits, lamp and frame-step) and the key legend.
//!
//! The status comes from the event bus (`Event::Device`, announced by the render loop whenever the
//! control state changes), read by a small supervised task that writes it to the preview's
//! [`Screen`]: the per-frame path (render loop → output thread) carries nothing for it, and a change
//! shows at once even when no frame is drawn (the terminal is redrawn by the task itself).

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::{DeviceState, EngineHandle, Event};
use crate::input::{InputConfig, KeyboardSource, keyboard, legend};
use crate::output::preview::Screen;
use crate::supervisor::Supervisor;

/// Puts the key legend on `screen` and starts the task that keeps the status line current.
pub(super) fn spawn_status(
    sup: &Supervisor,
    config: &Config,
    engine: &EngineHandle,
    screen: Arc<Screen>,
    stop: CancellationToken,
) {
    screen.set_legend(&key_legend(&config.input));
    let zones: Vec<String> = config.layout.zones.iter().map(|z| z.id.clone()).collect();
    let engine = engine.clone();
    sup.spawn("preview", stop, move |stop| {
        run(engine.clone(), screen.clone(), zones.clone(), stop)
    });
}

/// Writes the status line now and after every control-state change, until `stop`.
async fn run(
    engine: EngineHandle,
    screen: Arc<Screen>,
    zones: Vec<String>,
    stop: CancellationToken,
) -> Result<(), String> {
    // Subscribe before reading the current state, so no change falls between the two.
    let mut events = engine.subscribe();
    show_current(&engine, &screen, &zones).await?;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            ev = events.recv() => match ev {
                Ok(Event::Device { state, .. }) => screen.set_status(&status_line(&state, &zones)),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => show_current(&engine, &screen, &zones).await?,
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// Asks the render loop for the control state and shows it.
async fn show_current(
    engine: &EngineHandle,
    screen: &Screen,
    zones: &[String],
) -> Result<(), String> {
    let snap = engine.snapshot().await.map_err(|e| e.to_string())?;
    screen.set_status(&status_line(&snap.device, zones));
    Ok(())
}

/// `edit on · zone desk (2/3) · knob → brightness`, plus `lamp on` and `paused` when they are.
pub fn status_line(state: &DeviceState, zones: &[String]) -> String {
    let zone = zones.get(state.selected_zone).map_or("?", String::as_str);
    let mode = match state.edit_mode {
        true => "edit on",
        false => "edit off (knobs idle)",
    };
    let mut line = format!(
        "{mode} · zone {zone} ({}/{}) · knob → {}",
        state.selected_zone + 1,
        zones.len(),
        state.edit_target.name()
    );
    if state.lamp {
        line.push_str(" · lamp on");
    }
    if state.frame_step {
        line.push_str(" · paused (frame-step)");
    }
    line
}

/// The legend of the keys in force, or why there are none.
pub fn key_legend(input: &InputConfig) -> String {
    match keyboard::terminal_keys(&input.keyboard) {
        Err(why) if !matches!(input.keyboard, KeyboardSource::Evdev(_)) => {
            format!("keys off: {why}")
        }
        _ => legend::legend(&input.keys),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::ParamId;
    use crate::engine::EditTarget;

    #[test]
    fn the_status_line_names_mode_zone_and_target() {
        let zones: Vec<String> = ["floor", "desk", "tv"].map(String::from).to_vec();
        let mut state = DeviceState {
            edit_mode: true,
            selected_zone: 1,
            edit_target: EditTarget::Brightness,
            ..Default::default()
        };
        assert_eq!(
            status_line(&state, &zones),
            "edit on · zone desk (2/3) · knob → brightness"
        );
        state.edit_mode = false;
        state.selected_zone = 2;
        state.edit_target = EditTarget::Param(ParamId::Speed);
        state.lamp = true;
        state.frame_step = true;
        assert_eq!(
            status_line(&state, &zones),
            "edit off (knobs idle) · zone tv (3/3) · knob → speed · lamp on · paused (frame-step)"
        );
    }

    /// The status task against a stand-in render loop: the current state at start, then every
    /// `Event::Device` from the bus, drawn without a frame.
    #[tokio::test]
    async fn the_status_follows_the_control_state_on_the_bus() {
        use crate::engine::{Command, MasterState, Snapshot};
        use tokio::sync::{broadcast, mpsc};
        struct Lines(mpsc::UnboundedSender<String>);
        impl std::io::Write for Lines {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                let _ = self.0.send(String::from_utf8_lossy(b).into_owned());
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (events, _) = broadcast::channel(16);
        let (engine, commands) = EngineHandle::new(events.clone());
        // The render loop's part: answer the snapshot with zone 2 selected.
        let loop_thread = std::thread::spawn(move || {
            while let Ok(cmd) = commands.recv() {
                if let Command::Snapshot(reply) = cmd {
                    let _ = reply.send(Snapshot {
                        zones: Vec::new(),
                        master: MasterState::default(),
                        device: DeviceState {
                            selected_zone: 1,
                            ..Default::default()
                        },
                        preset: "red",
                        library: Default::default(),
                    });
                }
            }
        });
        let (tx, mut written) = mpsc::unbounded_channel();
        let screen = Screen::new(Box::new(Lines(tx)), Some(80));
        let zones = vec!["floor".to_string(), "desk".to_string()];
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(engine, screen, zones, stop.clone()));
        let mut next = async || {
            tokio::time::timeout(std::time::Duration::from_secs(10), written.recv())
                .await
                .expect("a redraw")
                .expect("the screen is alive")
        };
        let first = next().await;
        assert!(
            first.contains("\redit off (knobs idle) · zone desk (2/2) · knob → hue\x1b[K"),
            "{first:?}"
        );
        let state = DeviceState {
            edit_mode: true,
            edit_target: EditTarget::Preset,
            ..Default::default()
        };
        events
            .send(Event::Device {
                state: Box::new(state),
                preset: "red",
            })
            .unwrap();
        let second = next().await;
        assert!(
            second.contains("\redit on · zone floor (1/2) · knob → preset\x1b[K"),
            "{second:?}"
        );
        stop.cancel();
        task.await.unwrap().unwrap();
        loop_thread.join().unwrap();
    }

    #[test]
    fn without_keys_the_legend_says_why() {
        let mut input = InputConfig {
            keyboard: KeyboardSource::None,
            ..Default::default()
        };
        assert_eq!(key_legend(&input), "keys off: input.keyboard is \"none\"");
        input.keyboard = KeyboardSource::Terminal;
        assert!(key_legend(&input).starts_with("e edit  ←/→ zone"));
        input.keyboard = KeyboardSource::Evdev("/dev/input/event0".into());
        assert!(
            key_legend(&input).starts_with("e edit  ←/→ zone"),
            "a keypad's keys"
        );
    }
}
