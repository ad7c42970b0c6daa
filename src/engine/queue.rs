//! The render loop's command queue: a bounded channel whose senders wake the render thread only when it
//! waits for commands.
//!
//! While effects run at the full frame rate the render loop sleeps until the next frame deadline and
//! takes every command that came meanwhile just before it draws that frame: a command could not be
//! shown any sooner, so waking the thread for it would only cost a context switch (at 50 commands a
//! second, one more wake-up of the render thread per command). Only [`Command::is_urgent`] commands (a
//! local input, shown between two frames; a realtime frame, whose buffer goes back to the receiver's
//! small pool at once; the shutdown) ring it then. When nothing animates, or a slow fade runs, the
//! render loop listens for every command, as before: it wakes on each.
//!
//! The hand-off is the classic store-then-check on both sides (all `SeqCst`): a sender queues the
//! command, raises a flag, then reads whether the thread listens; the render thread says it listens,
//! then reads the flags, and parks only when none is raised. One of the two always sees the other, so
//! no command can be left waiting for a deadline it should not wait for. Dropping the last sender also
//! rings, so a render loop parked for the idle refresh notices at once that everyone is gone.
//!
//! The bound is a count beside std's unbounded channel, not `sync_channel(capacity)`: that one writes
//! every slot when it is made (1,024 slots of 104 bytes, 0.1 MiB resident for the daemon's life, issue
//! 16), while this one holds blocks of 31 commands, made and freed as the backlog grows and shrinks.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::command::Command;

/// What the render thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Any command wakes it (idle, slow fades, frame-step).
    Any,
    /// Only urgent commands wake it (the next frame deadline is at most one frame away).
    Urgent,
}

const AWAKE: u8 = 0;
const ANY: u8 = 1;
const URGENT: u8 = 2;

/// State shared by the senders and the render thread.
struct Bell {
    /// The render thread, once it has started waiting.
    thread: OnceLock<Thread>,
    listening: AtomicU8,
    queued: AtomicBool,
    urgent: AtomicBool,
    closed: AtomicBool,
    /// Commands queued and not yet taken.
    len: AtomicUsize,
    capacity: usize,
}

impl Bell {
    fn ring(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

/// Rings the bell when the last sender is dropped.
struct HangUp(Arc<Bell>);

impl Drop for HangUp {
    fn drop(&mut self) {
        self.0.closed.store(true, SeqCst);
        self.0.ring();
    }
}

/// The sending side (inside `EngineHandle`): cheap to clone, never blocks.
#[derive(Clone)]
pub struct QueueTx {
    tx: Sender<Command>,
    bell: Arc<Bell>,
    _hang_up: Arc<HangUp>,
}

impl QueueTx {
    /// Queues `cmd`, waking the render thread if it listens for it.
    pub fn try_send(&self, cmd: Command) -> Result<(), TrySendError<Command>> {
        let urgent = cmd.is_urgent();
        if self.bell.len.fetch_add(1, SeqCst) >= self.bell.capacity {
            self.bell.len.fetch_sub(1, SeqCst);
            return Err(TrySendError::Full(cmd));
        }
        if let Err(gone) = self.tx.send(cmd) {
            self.bell.len.fetch_sub(1, SeqCst);
            return Err(TrySendError::Disconnected(gone.0));
        }
        self.bell.queued.store(true, SeqCst);
        if urgent {
            self.bell.urgent.store(true, SeqCst);
        }
        match self.bell.listening.load(SeqCst) {
            ANY => self.bell.ring(),
            URGENT if urgent => self.bell.ring(),
            _ => {}
        }
        Ok(())
    }
}

/// The render thread's side.
pub struct QueueRx {
    rx: Receiver<Command>,
    bell: Arc<Bell>,
}

/// A bounded command queue of `capacity` commands.
pub fn channel(capacity: usize) -> (QueueTx, QueueRx) {
    let (tx, rx) = std::sync::mpsc::channel();
    let bell = Arc::new(Bell {
        thread: OnceLock::new(),
        listening: AtomicU8::new(AWAKE),
        queued: AtomicBool::new(false),
        urgent: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        len: AtomicUsize::new(0),
        capacity,
    });
    (
        QueueTx {
            tx,
            bell: bell.clone(),
            _hang_up: Arc::new(HangUp(bell.clone())),
        },
        QueueRx { rx, bell },
    )
}

impl QueueRx {
    /// Sleeps until `timeout` has passed, a command it listens for is queued, or every sender is gone.
    /// The caller then takes whatever is queued with [`QueueRx::next`].
    pub fn wait(&self, timeout: Duration, listen: Listen) {
        // The first waiter is the render thread; set once, read lock-free by every sender.
        self.bell.thread.get_or_init(std::thread::current);
        let (mode, flag) = match listen {
            Listen::Any => (ANY, &self.bell.queued),
            Listen::Urgent => (URGENT, &self.bell.urgent),
        };
        self.bell.listening.store(mode, SeqCst);
        let deadline = Instant::now().checked_add(timeout);
        // `park_timeout` may return early (a token left by an earlier ring, or spuriously): look again.
        while !flag.load(SeqCst) && !self.bell.closed.load(SeqCst) {
            match deadline.map(|d| d.checked_duration_since(Instant::now())) {
                Some(Some(left)) if !left.is_zero() => std::thread::park_timeout(left),
                Some(_) => break,
                None => std::thread::park(),
            }
        }
        self.bell.listening.store(AWAKE, SeqCst);
    }

    /// The next queued command, `Ok(None)` when there is none, `Err` once every sender is gone.
    pub fn next(&self) -> Result<Option<Command>, Closed> {
        // Lower the flags before looking: a command queued after this raises them again.
        self.bell.queued.swap(false, SeqCst);
        self.bell.urgent.swap(false, SeqCst);
        match self.rx.try_recv() {
            Ok(cmd) => {
                self.bell.len.fetch_sub(1, SeqCst);
                Ok(Some(cmd))
            }
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(Closed),
        }
    }
}

impl QueueRx {
    /// Every command queued now, without waiting (tests of the senders).
    pub fn try_iter(&self) -> impl Iterator<Item = Command> + '_ {
        std::iter::from_fn(|| self.next().ok().flatten())
    }

    /// Waits for the next command (tests standing in for the render loop).
    #[cfg(test)]
    pub fn recv(&self) -> Result<Command, Closed> {
        loop {
            if let Some(cmd) = self.next()? {
                return Ok(cmd);
            }
            self.wait(Duration::MAX, Listen::Any);
        }
    }
}

/// Every sender is gone.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    fn ping() -> Command {
        Command::Ping(oneshot::channel().0)
    }

    fn input() -> Command {
        Command::Input(crate::engine::InputEvent::Selector(1))
    }

    /// Runs `wait(timeout, listen)` on a thread while `send` runs on this one; returns how long the
    /// waiter slept and what it found queued.
    fn waited(listen: Listen, timeout: Duration, send: impl FnOnce(&QueueTx)) -> (Duration, usize) {
        let (tx, rx) = channel(8);
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            // Register first, so the sender's command lands while the thread waits.
            rx.wait(Duration::ZERO, listen);
            ready_tx.send(()).unwrap();
            let t0 = Instant::now();
            rx.wait(timeout, listen);
            let slept = t0.elapsed();
            let mut n = 0;
            while let Ok(Some(_)) = rx.next() {
                n += 1;
            }
            (slept, n)
        });
        ready.recv().unwrap();
        send(&tx);
        let r = waiter.join().unwrap();
        drop(tx);
        r
    }

    #[test]
    fn listening_for_any_command_wakes_on_each() {
        let (slept, n) = waited(Listen::Any, Duration::from_secs(30), |tx| {
            tx.try_send(ping()).unwrap();
        });
        assert!(slept < Duration::from_secs(20), "woke after {slept:?}");
        assert_eq!(n, 1);
    }

    #[test]
    fn between_frames_only_an_urgent_command_wakes_it() {
        // A ping waits for the deadline (a short one here) …
        let (slept, n) = waited(Listen::Urgent, Duration::from_millis(300), |tx| {
            tx.try_send(ping()).unwrap();
        });
        assert!(slept >= Duration::from_millis(300), "woke after {slept:?}");
        assert_eq!(n, 1, "and is taken at the deadline");
        // … a local input does not.
        let (slept, n) = waited(Listen::Urgent, Duration::from_secs(30), |tx| {
            tx.try_send(ping()).unwrap();
            tx.try_send(input()).unwrap();
        });
        assert!(slept < Duration::from_secs(20), "woke after {slept:?}");
        assert_eq!(n, 2, "everything queued is taken");
    }

    #[test]
    fn a_command_queued_before_the_wait_is_not_slept_through() {
        let (tx, rx) = channel(8);
        tx.try_send(ping()).unwrap();
        let t0 = Instant::now();
        rx.wait(Duration::from_secs(30), Listen::Any);
        assert!(t0.elapsed() < Duration::from_secs(20));
        assert!(matches!(rx.next(), Ok(Some(Command::Ping(_)))));
        assert_eq!(rx.next().map(|c| c.is_some()), Ok(false));
    }

    #[test]
    fn dropping_the_last_sender_wakes_and_closes() {
        let (slept, _) = {
            let (tx, rx) = channel(8);
            let tx2 = tx.clone();
            let waiter = std::thread::spawn(move || {
                let t0 = Instant::now();
                rx.wait(Duration::from_secs(30), Listen::Urgent);
                let slept = t0.elapsed();
                (slept, rx.next())
            });
            drop(tx);
            drop(tx2);
            let (slept, next) = waiter.join().unwrap();
            assert_eq!(next.map(|c| c.is_some()), Err(Closed));
            (slept, ())
        };
        assert!(slept < Duration::from_secs(20), "woke after {slept:?}");
    }

    #[test]
    fn a_full_queue_refuses_without_blocking_and_has_room_again_once_a_command_is_taken() {
        let (tx, rx) = channel(2);
        tx.try_send(ping()).unwrap();
        tx.try_send(input()).unwrap();
        assert!(matches!(tx.try_send(ping()), Err(TrySendError::Full(_))));
        assert!(matches!(rx.next(), Ok(Some(Command::Ping(_)))), "in order");
        tx.try_send(ping()).unwrap();
        assert!(matches!(tx.try_send(ping()), Err(TrySendError::Full(_))));
        assert_eq!(rx.try_iter().count(), 2);
        drop(rx);
        assert!(matches!(
            tx.try_send(ping()),
            Err(TrySendError::Disconnected(_))
        ));
    }
}
