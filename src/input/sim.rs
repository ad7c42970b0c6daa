//! The simulated input source: a Unix socket that takes one command per line, so tests and scripts
//! drive the whole control surface without GPIO (`printf 'turn selector 1\n' | nc -U input.sock`).
//!
//! Raw lines go through the same decoder and debouncer as GPIO edges:
//! `edge selector|modulator a|b 0|1`, `button 1..4|selector|modulator down|up`.
//! Shortcuts produce finished events: `turn selector|modulator <detents>`, `click selector|modulator`,
//! `press|long|release <1..4>`, `key <name>` (through the key map). Each line is answered `ok` or
//! `error: <reason>`, after the event has been queued, so a client can pace itself. Connections are
//! served by tasks the listener owns (a `JoinSet`): when it stops, it ends and waits for them.

use std::path::PathBuf;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::encoder::Line;
use super::hub::{ButtonId, Knob, Raw};
use super::{Action, InputConfig};
use crate::engine::{Button, ButtonAction, InputEvent};

/// Parses one line of the simulator protocol.
pub fn parse_line(line: &str, cfg: &InputConfig) -> Result<Raw, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let knob = |w: Option<&&str>| match w.copied() {
        Some("selector") => Ok(Knob::Selector),
        Some("modulator") => Ok(Knob::Modulator),
        other => Err(format!("expected selector or modulator, got {other:?}")),
    };
    let btn = |w: Option<&&str>| {
        w.and_then(|w| w.parse::<u8>().ok())
            .and_then(Button::from_number)
            .ok_or_else(|| "expected a button number 1-4".to_string())
    };
    let at = Instant::now();
    Ok(match words.first().copied() {
        Some("edge") => {
            let line = match words.get(2).copied() {
                Some("a") => Line::A,
                Some("b") => Line::B,
                other => return Err(format!("expected line a or b, got {other:?}")),
            };
            let high = match words.get(3).copied() {
                Some("1") => true,
                Some("0") => false,
                other => return Err(format!("expected level 0 or 1, got {other:?}")),
            };
            Raw::Edge {
                knob: knob(words.get(1))?,
                line,
                high,
                at,
            }
        }
        Some("button") => {
            let id = match words.get(1).copied() {
                Some("selector") => ButtonId::Click(Knob::Selector),
                Some("modulator") => ButtonId::Click(Knob::Modulator),
                _ => ButtonId::Btn(btn(words.get(1))?),
            };
            let low = match words.get(2).copied() {
                Some("down") => true,
                Some("up") => false,
                other => return Err(format!("expected down or up, got {other:?}")),
            };
            Raw::Button { id, low, at }
        }
        Some("turn") => {
            let n: i32 = words
                .get(2)
                .and_then(|w| w.parse().ok())
                .filter(|n: &i32| *n != 0 && n.abs() <= 100)
                .ok_or("expected detents, a non-zero integer up to ±100")?;
            Raw::Event(match knob(words.get(1))? {
                Knob::Selector => InputEvent::Selector(n),
                Knob::Modulator => InputEvent::Modulator(n),
            })
        }
        Some("click") => Raw::Event(match knob(words.get(1))? {
            Knob::Selector => InputEvent::SelectorClick,
            Knob::Modulator => InputEvent::ModulatorClick,
        }),
        Some(w @ ("press" | "long" | "release")) => {
            let a = match w {
                "press" => ButtonAction::Press,
                "long" => ButtonAction::LongPress,
                _ => ButtonAction::Release,
            };
            Raw::Event(InputEvent::Button(btn(words.get(1))?, a))
        }
        Some("key") => {
            let k = words.get(1).ok_or("expected a key name")?;
            match cfg.keys.get(*k) {
                Some(Action::Input(e)) => Raw::Event(*e),
                Some(Action::Quit) => return Err("quit is only for the terminal".into()),
                None => return Err(format!("key {k:?} is not mapped")),
            }
        }
        other => return Err(format!("unknown command {other:?}")),
    })
}

/// Listens on `path` until `stop`; returns once every connection's task has ended too.
pub async fn run(
    path: PathBuf,
    cfg: InputConfig,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    tracing::info!(path = %path.display(), "simulated input listening");
    let mut connections = JoinSet::new();
    let result = loop {
        tokio::select! {
            _ = stop.cancelled() => break Ok(()),
            conn = listener.accept() => match conn {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, cfg.clone(), tx.clone(), stop.clone()));
                }
                Err(e) => break Err(e),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    // Each connection ends on `stop` too (or, after an accept error, is asked to by the abort).
    if result.is_err() {
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
    let _ = std::fs::remove_file(&path);
    result
}

async fn serve(
    stream: UnixStream,
    cfg: InputConfig,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    loop {
        let line = tokio::select! {
            _ = stop.cancelled() => break,
            line = lines.next_line() => match line {
                Ok(Some(line)) => line,
                _ => break,
            },
        };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match parse_line(&line, &cfg) {
            Ok(raw) => match tx.send(raw).await {
                Ok(()) => "ok\n".to_string(),
                Err(_) => "error: input stopped\n".to_string(),
            },
            Err(e) => format!("error: {e}\n"),
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_protocol() {
        let c = InputConfig::default();
        assert!(matches!(
            parse_line("edge selector a 0", &c),
            Ok(Raw::Edge {
                knob: Knob::Selector,
                line: Line::A,
                high: false,
                ..
            })
        ));
        assert!(matches!(
            parse_line("button 2 down", &c),
            Ok(Raw::Button {
                id: ButtonId::Btn(Button::Lamp),
                low: true,
                ..
            })
        ));
        assert!(matches!(
            parse_line("button modulator up", &c),
            Ok(Raw::Button {
                id: ButtonId::Click(Knob::Modulator),
                low: false,
                ..
            })
        ));
        assert_eq!(
            parse_line("turn modulator -3", &c),
            Ok(Raw::Event(InputEvent::Modulator(-3)))
        );
        assert_eq!(
            parse_line("long 1", &c),
            Ok(Raw::Event(InputEvent::Button(
                Button::Edit,
                ButtonAction::LongPress
            )))
        );
        assert_eq!(
            parse_line("key right", &c),
            Ok(Raw::Event(InputEvent::Selector(1)))
        );
        for bad in [
            "",
            "turn selector 0",
            "edge knob a 1",
            "button 9 down",
            "key q",
            "key nope",
            "dance",
        ] {
            assert!(parse_line(bad, &c).is_err(), "{bad}");
        }
    }
}
