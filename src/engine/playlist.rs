//! Playlists: an ordered list of scenes, each shown for a duration and entered with a transition,
//! played a number of times (or forever) and optionally ending on an end scene.
//!
//! [`PlaylistRun`] is the running state, owned by the render loop. Its timing runs on the effect clock
//! (time is an argument), so a paused clock pauses the playlist and tests drive it with fixed instants.
//! Each entry's end is the previous end plus its duration, never "now + duration", so a long playlist
//! does not drift.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Most entries in one playlist.
pub const MAX_ENTRIES: usize = 100;
/// Most playlists (config and saved together).
pub const MAX_PLAYLISTS: usize = 20;
/// Longest an entry may last, and the longest transition, in seconds (24 h).
pub const MAX_SECONDS: f64 = 86_400.0;
/// Most rounds a playlist may be repeated (0 = forever).
pub const MAX_REPEAT: u32 = 10_000;

/// One step of a playlist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaylistEntry {
    pub scene: String,
    /// Seconds the scene stays before the next entry.
    pub duration: f64,
    /// Seconds of cross-fade into the scene; `None` = the default transition.
    #[serde(default)]
    pub transition: Option<f64>,
}

/// A playlist definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Playlist {
    pub entries: Vec<PlaylistEntry>,
    /// How many times the list is played; 0 = forever.
    #[serde(default)]
    pub repeat: u32,
    /// Scene recalled when the last round ends.
    #[serde(default)]
    pub end: Option<String>,
}

impl Playlist {
    /// Checks the limits; every problem is a message naming the entry.
    pub fn check(&self) -> Result<(), String> {
        if self.entries.is_empty() || self.entries.len() > MAX_ENTRIES {
            return Err(format!(
                "a playlist needs 1 to {MAX_ENTRIES} entries, got {}",
                self.entries.len()
            ));
        }
        if self.repeat > MAX_REPEAT {
            return Err(format!(
                "repeat must be 0 (forever) to {MAX_REPEAT}, got {}",
                self.repeat
            ));
        }
        for (i, e) in self.entries.iter().enumerate() {
            super::scene::check_name(&e.scene).map_err(|r| format!("entries[{i}].scene: {r}"))?;
            if !(e.duration.is_finite() && (1.0..=MAX_SECONDS).contains(&e.duration)) {
                return Err(format!(
                    "entries[{i}].duration: {} s is not between 1 s and 24 h",
                    e.duration
                ));
            }
            if let Some(t) = e.transition
                && !(t.is_finite() && (0.0..=MAX_SECONDS).contains(&t))
            {
                return Err(format!(
                    "entries[{i}].transition: {t} s is not between 0 and 24 h"
                ));
            }
        }
        Ok(())
    }

    /// Every scene it names (entries and end).
    pub fn scenes(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .map(|e| e.scene.as_str())
            .chain(self.end.as_deref())
    }
}

/// What the render loop has to do for a running playlist.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Recall this scene with this transition (seconds; `None` = default).
    Recall(String, Option<f64>),
    /// The last round is over: recall the end scene (if any) and stop.
    Finished(Option<String>),
}

/// A playlist being played.
#[derive(Clone, Debug)]
pub struct PlaylistRun {
    pub name: String,
    list: Playlist,
    index: usize,
    round: u32,
    /// When the current entry ends, on the effect clock.
    until: Instant,
}

impl PlaylistRun {
    /// Starts `list` at effect time `now`; returns the run and its first step.
    pub fn start(name: &str, list: Playlist, now: Instant) -> (PlaylistRun, Step) {
        let first = &list.entries[0];
        let step = Step::Recall(first.scene.clone(), first.transition);
        let until = now + secs(first.duration);
        let run = PlaylistRun {
            name: name.into(),
            list,
            index: 0,
            round: 1,
            until,
        };
        (run, step)
    }

    /// When the current entry ends.
    pub fn due(&self) -> Instant {
        self.until
    }

    /// The step due at effect time `now`, if the current entry has ended.
    pub fn advance(&mut self, now: Instant) -> Option<Step> {
        if now < self.until {
            return None;
        }
        self.index += 1;
        if self.index == self.list.entries.len() {
            if self.list.repeat != 0 && self.round >= self.list.repeat {
                return Some(Step::Finished(self.list.end.clone()));
            }
            self.index = 0;
            self.round += 1;
        }
        let e = &self.list.entries[self.index];
        self.until += secs(e.duration);
        Some(Step::Recall(e.scene.clone(), e.transition))
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, MAX_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(scene: &str, duration: f64) -> PlaylistEntry {
        PlaylistEntry {
            scene: scene.into(),
            duration,
            transition: Some(1.5),
        }
    }

    fn list(repeat: u32) -> Playlist {
        Playlist {
            entries: vec![entry("a", 10.0), entry("b", 20.0)],
            repeat,
            end: Some("night".into()),
        }
    }

    #[test]
    fn advances_on_the_effect_clock_without_drift() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let (mut run, first) = PlaylistRun::start("p", list(2), t0);
        assert_eq!(first, Step::Recall("a".into(), Some(1.5)));
        assert_eq!(run.advance(t0 + s(9)), None);
        // Noticed late (the loop was busy): the next entry still ends 20 s after the first one did.
        assert_eq!(
            run.advance(t0 + s(12)),
            Some(Step::Recall("b".into(), Some(1.5)))
        );
        assert_eq!(run.due(), t0 + s(30));
        assert_eq!(
            run.advance(t0 + s(30)),
            Some(Step::Recall("a".into(), Some(1.5)))
        );
        assert_eq!(
            run.advance(t0 + s(40)),
            Some(Step::Recall("b".into(), Some(1.5)))
        );
        assert_eq!(run.advance(t0 + s(59)), None);
        assert_eq!(
            run.advance(t0 + s(60)),
            Some(Step::Finished(Some("night".into())))
        );
    }

    #[test]
    fn forever_keeps_going_after_a_day() {
        let t0 = Instant::now();
        let (mut run, _) = PlaylistRun::start("p", list(0), t0);
        let mut t = t0;
        for k in 0..(86_400 / 15) {
            t += Duration::from_secs(15);
            if let Some(step) = run.advance(t) {
                assert!(matches!(step, Step::Recall(..)), "step {k}");
            }
        }
        // 86 400 s = 2880 rounds of 30 s, exactly on a boundary: no accumulated error.
        assert_eq!(run.due(), t0 + Duration::from_secs(86_400 + 10));
    }

    #[test]
    fn limits_are_clear_errors() {
        let mut p = list(1);
        assert!(p.check().is_ok());
        p.entries[0].duration = 0.0;
        assert!(p.check().unwrap_err().contains("entries[0].duration"));
        p.entries[0].duration = 10.0 * 365.0 * 86_400.0;
        assert!(p.check().unwrap_err().contains("24 h"));
        p.entries = vec![entry("a", 5.0); MAX_ENTRIES + 1];
        assert!(p.check().unwrap_err().contains("entries"));
        p.entries = vec![entry("", 5.0)];
        assert!(p.check().unwrap_err().contains("scene"));
    }
}
