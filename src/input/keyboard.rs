//! Keyboards: the terminal (raw mode, when running interactively) and Linux input devices (evdev, e.g.
//! a USB keypad). Each reads keys on its own blocking thread, maps them through the configured key map
//! and sends finished events to the hub. Raw mode is restored when the reader stops, on exit and on panic.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::Raw;
use super::{Action, KeyboardSource};

/// Whether the configured keyboard means the terminal here.
pub fn wants_terminal(src: &KeyboardSource) -> bool {
    match src {
        KeyboardSource::Terminal => true,
        KeyboardSource::Auto => std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        _ => false,
    }
}

/// Whether this process put the terminal in raw mode.
static RAW_MODE: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode if we entered it; called on every exit path (the reader thread may not get to).
pub fn restore_terminal() {
    if RAW_MODE.swap(false, Ordering::SeqCst) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Restores the terminal when dropped (and from the panic hook).
struct RawModeGuard;

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_restore() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

/// Reads the terminal until `stop`; `q` / Ctrl-C cancel `quit`.
pub fn spawn_terminal(
    keys: BTreeMap<String, Action>,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
    quit: CancellationToken,
) -> std::io::Result<()> {
    install_panic_restore();
    crossterm::terminal::enable_raw_mode()?;
    RAW_MODE.store(true, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("diuna-keys".into())
        .spawn(move || {
            let _guard = RawModeGuard;
            while !stop.is_cancelled() {
                // Blocks in `read` (no polling: an idle daemon must not wake); at exit the process
                // ends this thread and `restore_terminal` runs on the way out.
                let k = match event::read() {
                    Ok(TermEvent::Key(k)) => k,
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if k.kind == KeyEventKind::Release {
                    continue;
                }
                if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
                    quit.cancel();
                    break;
                }
                let name = match k.code {
                    KeyCode::Left => "left".to_string(),
                    KeyCode::Right => "right".to_string(),
                    KeyCode::Up => "up".to_string(),
                    KeyCode::Down => "down".to_string(),
                    KeyCode::Enter => "enter".to_string(),
                    KeyCode::Tab => "tab".to_string(),
                    KeyCode::Backspace => "backspace".to_string(),
                    KeyCode::Char(' ') => "space".to_string(),
                    KeyCode::Char(c) => c.to_ascii_lowercase().to_string(),
                    _ => continue,
                };
                match keys.get(&name) {
                    Some(Action::Quit) => {
                        quit.cancel();
                        break;
                    }
                    Some(Action::Input(e)) if tx.blocking_send(Raw::Event(*e)).is_err() => break,
                    _ => {}
                }
            }
        })?;
    Ok(())
}

/// Our key name for an evdev key code.
fn evdev_name(code: evdev::KeyCode) -> Option<String> {
    use evdev::KeyCode as K;
    let fixed = match code {
        K::KEY_LEFT | K::KEY_KP4 => "left",
        K::KEY_RIGHT | K::KEY_KP6 => "right",
        K::KEY_UP | K::KEY_KP8 => "up",
        K::KEY_DOWN | K::KEY_KP2 => "down",
        K::KEY_ENTER | K::KEY_KPENTER | K::KEY_KP5 => "enter",
        K::KEY_TAB => "tab",
        K::KEY_SPACE | K::KEY_KP0 => "space",
        K::KEY_BACKSPACE => "backspace",
        _ => "",
    };
    if !fixed.is_empty() {
        return Some(fixed.into());
    }
    // KEY_A … KEY_Z → "a" … "z".
    let dbg = format!("{code:?}");
    let letter = dbg.strip_prefix("KEY_")?;
    (letter.len() == 1).then(|| letter.to_ascii_lowercase())
}

/// Reads a Linux input device on its own thread.
pub fn spawn_evdev(
    path: &Path,
    keys: BTreeMap<String, Action>,
    tx: mpsc::Sender<Raw>,
) -> std::io::Result<()> {
    let mut dev = evdev::Device::open(path)?;
    let name = path.display().to_string();
    tracing::info!(device = %name, "reading keys from input device");
    std::thread::Builder::new()
        .name("diuna-evdev".into())
        .spawn(move || {
            loop {
                let events = match dev.fetch_events() {
                    Ok(ev) => ev.collect::<Vec<_>>(),
                    Err(e) => {
                        tracing::error!(device = %name, error = %e, "input device lost");
                        return;
                    }
                };
                for ev in events {
                    // Value 1 = press, 2 = auto-repeat (useful for arrows), 0 = release.
                    let evdev::EventSummary::Key(_, code, value) = ev.destructure() else {
                        continue;
                    };
                    if value == 0 {
                        continue;
                    }
                    let Some(Action::Input(e)) =
                        evdev_name(code).and_then(|n| keys.get(&n).copied())
                    else {
                        continue;
                    };
                    if tx.blocking_send(Raw::Event(e)).is_err() {
                        return;
                    }
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evdev_key_names() {
        assert_eq!(evdev_name(evdev::KeyCode::KEY_E).as_deref(), Some("e"));
        assert_eq!(
            evdev_name(evdev::KeyCode::KEY_KPENTER).as_deref(),
            Some("enter")
        );
        assert_eq!(evdev_name(evdev::KeyCode::KEY_F1), None);
    }
}
