//! The terminal the preview draws on, shared by everyone who writes to it: the output thread (the
//! picture of the strips), the app (the control status and the key legend under the picture) and,
//! when the preview runs on a terminal, the log.
//!
//! One lock guards the terminal, and every writer draws whole things under it: a log line is written
//! above the picture (the cursor moves up over the picture, the rows below are cleared, the line goes
//! out) and the picture, status and legend are redrawn below it. So a log line never lands inside the
//! picture's escape sequences, and the picture is never torn. The output thread only *tries* the lock
//! ([`Screen::try_picture`]): when a log line is being written it keeps its frame for a moment later
//! instead of waiting. Nothing under the lock logs, so no writer can wait on itself.
//!
//! Every line starts with `\r` and log lines end with `\r\n`, so the layout holds in the raw mode the
//! terminal keyboard puts the terminal in.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use crossterm::Command;
use crossterm::cursor::MoveUp;
use crossterm::terminal::{Clear, ClearType};

/// The shared terminal (see the module doc). Cheap to share as `Arc<Screen>`.
pub struct Screen {
    state: Mutex<State>,
    /// A fixed width (tests); `None` asks the terminal.
    width: Option<usize>,
}

struct State {
    out: Box<dyn Write + Send>,
    /// The strips' lines as the preview drew them last, each ended by `\n`.
    picture: String,
    status: String,
    legend: String,
    /// Rows drawn by the last redraw: where the next one starts.
    rows: u16,
    /// Reused for composing what goes out.
    buf: String,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Screen")
    }
}

impl Screen {
    /// The process's standard output, as wide as the terminal.
    pub fn stdout() -> Arc<Screen> {
        Screen::new(Box::new(std::io::stdout()), None)
    }

    /// A screen writing to `out`; `width` fixes its width in columns (else the terminal's is used).
    pub fn new(out: Box<dyn Write + Send>, width: Option<usize>) -> Arc<Screen> {
        Arc::new(Screen {
            state: Mutex::new(State {
                out,
                picture: String::new(),
                status: String::new(),
                legend: String::new(),
                rows: 0,
                buf: String::new(),
            }),
            width,
        })
    }

    /// Columns available (100 when the terminal cannot say).
    pub fn width(&self) -> usize {
        self.width.unwrap_or_else(|| {
            crossterm::terminal::size()
                .map(|(w, _)| w as usize)
                .unwrap_or(100)
        })
    }

    /// Replaces the picture and redraws, unless another writer holds the terminal right now: then
    /// nothing is drawn and it returns `false` (the caller tries again later).
    pub fn try_picture(&self, picture: &str) -> bool {
        let mut state = match self.state.try_lock() {
            Ok(s) => s,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        state.picture.clear();
        state.picture.push_str(picture);
        state.redraw(self.width());
        true
    }

    /// Sets the status line (under the picture) and redraws.
    pub fn set_status(&self, line: &str) {
        let mut state = self.lock();
        state.status = line.to_string();
        state.redraw(self.width());
    }

    /// Sets the key legend (the last line) and redraws.
    pub fn set_legend(&self, line: &str) {
        let mut state = self.lock();
        state.legend = line.to_string();
        state.redraw(self.width());
    }

    /// Writes log text above the picture, then redraws the picture below it.
    pub fn log(&self, text: &[u8]) {
        let mut state = self.lock();
        let width = self.width();
        state.log(text, width);
    }

    /// A writer whose text goes to [`Screen::log`] when it is dropped (one per log event: the
    /// `tracing` formatter writes an event and drops its writer).
    pub fn log_writer(self: &Arc<Self>) -> LogWriter {
        LogWriter {
            screen: self.clone(),
            text: Vec::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Draws picture, status and legend from where the last drawing began.
    fn redraw(&mut self, width: usize) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if self.rows > 0 {
            let _ = MoveUp(self.rows).write_ansi(&mut buf);
        }
        let mut rows = 0u16;
        let lines = self.picture.lines().map(|l| (l, false));
        let under = [&self.status, &self.legend].map(|l| (l.as_str(), true));
        for (line, plain) in lines.chain(under.into_iter().filter(|(l, _)| !l.is_empty())) {
            buf.push('\r');
            match plain {
                true => push_fitted(&mut buf, line, width.saturating_sub(1)),
                false => buf.push_str(line),
            }
            let _ = Clear(ClearType::UntilNewLine).write_ansi(&mut buf);
            buf.push('\n');
            rows += 1;
        }
        let _ = self.out.write_all(buf.as_bytes());
        let _ = self.out.flush();
        self.rows = rows;
        self.buf = buf;
    }

    /// Clears the drawing, writes `text` where it began, and draws again below it.
    fn log(&mut self, text: &[u8], width: usize) {
        let mut out = Vec::with_capacity(text.len() + 16);
        if self.rows > 0 {
            let mut up = String::new();
            let _ = MoveUp(self.rows).write_ansi(&mut up);
            up.push('\r');
            let _ = Clear(ClearType::FromCursorDown).write_ansi(&mut up);
            out.extend_from_slice(up.as_bytes());
        }
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
            out.extend_from_slice(b"\r\n");
        }
        let _ = self.out.write_all(&out);
        self.rows = 0;
        self.redraw(width);
    }
}

/// `line` cut to `width` characters, with `…` where it was cut.
fn push_fitted(buf: &mut String, line: &str, width: usize) {
    if line.chars().count() <= width {
        buf.push_str(line);
        return;
    }
    buf.extend(line.chars().take(width.saturating_sub(1)));
    let _ = buf.write_char('…');
}

/// One log event on its way to [`Screen::log`] (see [`Screen::log_writer`]).
pub struct LogWriter {
    screen: Arc<Screen>,
    text: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if !self.text.is_empty() {
            self.screen.log(&self.text);
        }
    }
}

#[cfg(test)]
mod tests;
