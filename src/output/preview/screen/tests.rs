//! The shared terminal as text: what is drawn where, and log lines that never land inside the picture.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::*;

/// A terminal that keeps everything written to it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn screen(width: usize) -> (Arc<Screen>, Capture) {
    let cap = Capture::default();
    (Screen::new(Box::new(cap.clone()), Some(width)), cap)
}

const K: &str = "\x1b[K";

#[test]
fn status_and_legend_go_under_the_picture_and_redraws_start_over_the_last_one() {
    let (s, cap) = screen(40);
    assert!(s.try_picture("main ██\n     |a\n"));
    assert_eq!(cap.text(), format!("\rmain ██{K}\n\r     |a{K}\n"));
    s.set_status("edit on · zone a (1/1) · knob → hue");
    s.set_legend("e edit  q quit");
    let all = cap.text();
    let last = all.rsplit("\x1b[3A").next().unwrap();
    assert_eq!(
        last,
        format!(
            "\rmain ██{K}\n\r     |a{K}\n\redit on · zone a (1/1) · knob → hue{K}\n\re edit  q quit{K}\n"
        ),
        "the last redraw moved up over picture + status and drew all four rows: {all:?}"
    );
    // A new picture keeps the status and legend under it.
    assert!(s.try_picture("main ░░\n     |a\n"));
    let all = cap.text();
    let last = all.rsplit("\x1b[4A").next().unwrap();
    assert!(last.starts_with(&format!("\rmain ░░{K}\n")), "{last:?}");
    assert!(
        last.ends_with(&format!("\re edit  q quit{K}\n")),
        "{last:?}"
    );
}

#[test]
fn status_and_legend_are_cut_to_the_width() {
    let (s, cap) = screen(12);
    s.set_legend("←/→ zone  ↑/↓ value");
    assert_eq!(cap.text(), format!("\r←/→ zone  …{K}\n"));
}

#[test]
fn a_log_line_goes_above_the_picture_which_is_redrawn_below_it() {
    let (s, cap) = screen(40);
    assert!(s.try_picture("main ██\n"));
    s.set_status("edit off");
    let before = cap.text().len();
    // The tracing formatter writes an event in pieces and drops its writer.
    let mut w = s.log_writer();
    w.write_all(b" INFO diuna: hello").unwrap();
    w.write_all(b"\n").unwrap();
    assert_eq!(
        cap.text().len(),
        before,
        "nothing out before the event ends"
    );
    drop(w);
    let after = &cap.text()[before..];
    assert_eq!(
        after,
        format!("\x1b[2A\r\x1b[J INFO diuna: hello\r\n\rmain ██{K}\n\redit off{K}\n")
    );
}

#[test]
fn before_anything_is_drawn_a_log_line_is_just_written() {
    let (s, cap) = screen(40);
    s.log(b"first\nsecond\r\n");
    assert_eq!(cap.text(), "first\r\nsecond\r\n");
}

/// What the terminal received, cut into the pieces a [`Screen`] writes.
#[derive(Debug, PartialEq)]
enum Piece {
    Up,
    ClearDown,
    PictureTop(u32),
    PictureBottom(u32),
    Status,
    Log(u32),
}

/// Cuts `out` into pieces; panics on anything else (a log line's bytes inside a picture row, say).
fn pieces(mut out: &str) -> Vec<Piece> {
    let number = |s: &str| -> (u32, usize) {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        (s[..end].parse().unwrap(), end)
    };
    let mut found = Vec::new();
    while !out.is_empty() {
        let (piece, rest) = if let Some(r) = out.strip_prefix("\x1b[") {
            let (_, n) = number(r);
            (Piece::Up, r[n..].strip_prefix('A').expect("a move up"))
        } else if let Some(r) = out.strip_prefix("\r\x1b[J") {
            (Piece::ClearDown, r)
        } else if let Some(r) = out.strip_prefix("\rstatus") {
            (
                Piece::Status,
                r.strip_prefix("\x1b[K\n").expect("a whole row"),
            )
        } else if let Some(r) = out.strip_prefix("\rtop ") {
            let (i, n) = number(r);
            let r = r[n..].strip_prefix(" ██\x1b[K\n").expect("a whole row");
            (Piece::PictureTop(i), r)
        } else if let Some(r) = out.strip_prefix("\rbottom ") {
            let (i, n) = number(r);
            let r = r[n..].strip_prefix(" ██\x1b[K\n").expect("a whole row");
            (Piece::PictureBottom(i), r)
        } else if let Some(r) = out.strip_prefix("log line ") {
            let (i, n) = number(r);
            (
                Piece::Log(i),
                r[n..].strip_prefix("\r\n").expect("a whole line"),
            )
        } else {
            panic!("unexpected output at {:?}", &out[..out.len().min(40)]);
        };
        found.push(piece);
        out = rest;
    }
    found
}

#[test]
fn log_lines_emitted_while_the_picture_is_drawn_never_land_inside_it() {
    use tracing_subscriber::fmt;
    let (s, cap) = screen(80);
    s.set_status("status");
    const LINES: u32 = 300;
    let done = Arc::new(AtomicBool::new(false));
    let logger = {
        let (s, done) = (s.clone(), done.clone());
        std::thread::spawn(move || {
            let subscriber = fmt()
                .with_writer(move || s.log_writer())
                .with_ansi(false)
                .without_time()
                .with_level(false)
                .with_target(false)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                for i in 0..LINES {
                    tracing::info!("log line {i}");
                }
            });
            done.store(true, Ordering::SeqCst);
        })
    };
    // Draw two-row pictures for as long as the logger runs (and at least a few hundred times).
    let mut drawn = 0u32;
    while drawn < 300 || !done.load(Ordering::SeqCst) {
        if s.try_picture(&format!("top {drawn} ██\nbottom {drawn} ██\n")) {
            drawn += 1;
        }
    }
    logger.join().unwrap();
    let found = pieces(&cap.text());
    // Each picture's two rows are adjacent; a log line only follows a clear or another log line.
    for (i, p) in found.iter().enumerate() {
        match p {
            Piece::PictureTop(n) => assert_eq!(found[i + 1], Piece::PictureBottom(*n)),
            Piece::Log(_) => assert!(
                matches!(found[i - 1], Piece::ClearDown | Piece::Log(_)),
                "a log line after {:?}",
                found[i - 1]
            ),
            _ => {}
        }
    }
    let logs: Vec<u32> = found
        .iter()
        .filter_map(|p| match p {
            Piece::Log(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(
        logs,
        (0..LINES).collect::<Vec<_>>(),
        "every line, whole, in order"
    );
    assert!(found.contains(&Piece::Up));
    assert_eq!(
        found.last(),
        Some(&Piece::Status),
        "the drawing ends the output"
    );
}
