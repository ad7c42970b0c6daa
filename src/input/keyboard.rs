//! Keyboards: the terminal (raw mode, when standard input is one) and Linux input devices (evdev, e.g.
//! a USB keypad). Each is an async task on the supervisor's tracker that reads keys until the stop
//! token, maps them through the configured key map and sends finished events to the hub. Raw mode is
//! restored when the reader stops, on exit and on panic.
//!
//! The terminal needs only standard input to be a terminal: with standard output piped (`| tee`)
//! the keys still work. When they cannot, [`terminal_keys`] says why, and the app logs it once.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::pin::Pin;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use futures_core::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::Raw;
use super::{Action, KeyboardSource};

/// Whether the configured keyboard means the terminal here, or why not.
pub fn terminal_keys(src: &KeyboardSource) -> Result<(), &'static str> {
    match src {
        KeyboardSource::Terminal => Ok(()),
        KeyboardSource::Auto if std::io::stdin().is_terminal() => Ok(()),
        KeyboardSource::Auto => Err(
            "standard input is not a terminal (a service, or input redirected); run it in a terminal, \
             or set input.keyboard to a keypad's /dev/input path",
        ),
        KeyboardSource::None => Err("input.keyboard is \"none\""),
        KeyboardSource::Evdev(_) => Err("input.keyboard names an input device"),
    }
}

/// Whether this process put the terminal in raw mode.
static RAW_MODE: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode if we entered it; called on every exit path (the reader task may not get to).
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

/// Puts the terminal in raw mode and returns the task that reads it until `stop`; `q` / Ctrl-C
/// cancel `quit`.
pub fn terminal(
    keys: BTreeMap<String, Action>,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
    quit: CancellationToken,
) -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    install_panic_restore();
    crossterm::terminal::enable_raw_mode()?;
    RAW_MODE.store(true, Ordering::SeqCst);
    let guard = RawModeGuard;
    Ok(async move {
        let _guard = guard;
        // No polling: the stream's reader blocks until a key (an idle daemon does not wake).
        let mut events = EventStream::new();
        loop {
            let next = std::future::poll_fn(|cx| Pin::new(&mut events).poll_next(cx));
            let key = tokio::select! {
                _ = stop.cancelled() => return,
                ev = next => match ev {
                    Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => k,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
                },
            };
            match terminal_action(&key, &keys) {
                Some(Action::Quit) => {
                    quit.cancel();
                    return;
                }
                Some(Action::Input(e)) if tx.send(Raw::Event(e)).await.is_err() => return,
                _ => {}
            }
        }
    })
}

/// What a terminal key does: Ctrl-C quits; other keys go through the key map by name.
fn terminal_action(k: &KeyEvent, keys: &BTreeMap<String, Action>) -> Option<Action> {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        return Some(Action::Quit);
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
        _ => return None,
    };
    keys.get(&name).copied()
}

/// Our key name for an evdev key code: an explicit map (arrows, Enter and the keypad's digits as
/// arrows, letters as themselves).
fn evdev_name(code: evdev::KeyCode) -> Option<&'static str> {
    use evdev::KeyCode as K;
    const LETTERS: [(K, &str); 26] = [
        (K::KEY_A, "a"),
        (K::KEY_B, "b"),
        (K::KEY_C, "c"),
        (K::KEY_D, "d"),
        (K::KEY_E, "e"),
        (K::KEY_F, "f"),
        (K::KEY_G, "g"),
        (K::KEY_H, "h"),
        (K::KEY_I, "i"),
        (K::KEY_J, "j"),
        (K::KEY_K, "k"),
        (K::KEY_L, "l"),
        (K::KEY_M, "m"),
        (K::KEY_N, "n"),
        (K::KEY_O, "o"),
        (K::KEY_P, "p"),
        (K::KEY_Q, "q"),
        (K::KEY_R, "r"),
        (K::KEY_S, "s"),
        (K::KEY_T, "t"),
        (K::KEY_U, "u"),
        (K::KEY_V, "v"),
        (K::KEY_W, "w"),
        (K::KEY_X, "x"),
        (K::KEY_Y, "y"),
        (K::KEY_Z, "z"),
    ];
    let fixed = match code {
        K::KEY_LEFT | K::KEY_KP4 => "left",
        K::KEY_RIGHT | K::KEY_KP6 => "right",
        K::KEY_UP | K::KEY_KP8 => "up",
        K::KEY_DOWN | K::KEY_KP2 => "down",
        K::KEY_ENTER | K::KEY_KPENTER | K::KEY_KP5 => "enter",
        K::KEY_TAB => "tab",
        K::KEY_SPACE | K::KEY_KP0 => "space",
        K::KEY_BACKSPACE => "backspace",
        other => return LETTERS.iter().find(|(k, _)| *k == other).map(|(_, n)| *n),
    };
    Some(fixed)
}

/// Opens a Linux input device and returns the task that reads its keys until `stop`.
pub fn evdev(
    path: &Path,
    keys: BTreeMap<String, Action>,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
) -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let task = super::evdev_reader::read(path, "input device", tx, stop, move |ev| {
        // Value 1 = press, 2 = auto-repeat (useful for arrows), 0 = release.
        let evdev::EventSummary::Key(_, code, value) = ev.destructure() else {
            return None;
        };
        if value == 0 {
            return None;
        }
        match evdev_name(code).and_then(|n| keys.get(n).copied()) {
            Some(Action::Input(e)) => Some(Raw::Event(e)),
            _ => None,
        }
    })?;
    tracing::info!(device = %path.display(), "reading keys from input device");
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evdev_key_names() {
        use evdev::KeyCode as K;
        assert_eq!(evdev_name(K::KEY_E), Some("e"));
        assert_eq!(evdev_name(K::KEY_Z), Some("z"));
        assert_eq!(evdev_name(K::KEY_KPENTER), Some("enter"));
        assert_eq!(evdev_name(K::KEY_KP4), Some("left"));
        assert_eq!(evdev_name(K::KEY_F1), None);
        assert_eq!(evdev_name(K::KEY_1), None);
    }

    #[test]
    fn terminal_keys_go_through_the_key_map_and_ctrl_c_quits() {
        use crossterm::event::KeyEvent;
        let keys = super::super::default_keys();
        let key = |code, modifiers| KeyEvent::new(code, modifiers);
        assert_eq!(
            terminal_action(&key(KeyCode::Char('c'), KeyModifiers::CONTROL), &keys),
            Some(Action::Quit)
        );
        assert_eq!(
            terminal_action(&key(KeyCode::Char('E'), KeyModifiers::SHIFT), &keys),
            keys.get("e").copied()
        );
        assert_eq!(
            terminal_action(&key(KeyCode::Right, KeyModifiers::NONE), &keys),
            keys.get("right").copied()
        );
        assert_eq!(
            terminal_action(&key(KeyCode::F(1), KeyModifiers::NONE), &keys),
            None
        );
    }
}
