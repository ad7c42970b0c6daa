//! Presence on `B/instance`: each daemon announces a random per-run token there (not retained) when
//! it connects and every [`ANNOUNCE_EVERY`], and listens to the topic itself. That one message does two
//! jobs:
//!
//! - **Probe.** Our own announcement coming back proves the whole round trip works (our outgoing queue
//!   moves, the broker forwards, our subscription and poll loop deliver). A connection that stays up but
//!   does not bring it back within [`PROBE_TIMEOUT`] is wedged; the bridge then stops beating its
//!   heartbeat and the supervisor restarts it.
//! - **Duplicates.** A token that is not ours means a second daemon with the same `device_id` (the
//!   default is the host name, and every fresh Pi OS is called `raspberrypi`). A greeting (`hello`) is
//!   answered at once, so a newcomer learns of an existing daemon within one round trip. The other sign
//!   of a duplicate is the broker closing our connection with "session taken over" (the same client id
//!   too). Either one logs one clear error and, while it lasts, stops the stale-entity cleanup (the
//!   other daemon's entities are not stale).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How often we announce ourselves (and so probe the connection).
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(30);
/// Our announcement must be back within this long.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
/// A duplicate is suspected for this long after the last sign of it.
pub const SUSPICION: Duration = Duration::from_secs(3600);

/// Who announced: enough for the user to find the other device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Other {
    pub host: String,
    pub client_id: String,
}

/// What an incoming message on `B/instance` means.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// Our own announcement came back.
    Echo,
    /// Another daemon; `greeted` when it asked for an answer.
    Other { who: Other, greeted: bool },
    /// Not a presence message.
    Noise,
}

/// Why a duplicate is suspected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sign {
    Announced(Other),
    SessionTakenOver,
}

/// Our token and what we know about the round trip and other daemons.
#[derive(Debug)]
pub struct Presence {
    token: String,
    host: String,
    client_id: String,
    sent: Option<Instant>,
    awaiting: Option<Instant>,
    echoed: Option<Instant>,
    suspected: Option<(Instant, Sign)>,
}

impl Presence {
    pub fn new(token: String, client_id: &str) -> Presence {
        Presence {
            token,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            client_id: client_id.into(),
            sent: None,
            awaiting: None,
            echoed: None,
            suspected: None,
        }
    }

    /// A new connection: the next announcement is a greeting and nothing is outstanding.
    pub fn connected(&mut self) {
        self.sent = None;
        self.awaiting = None;
        self.echoed = None;
    }

    /// The announcement to publish now, if one is due (`hello` on the first one of a connection).
    pub fn due(&mut self, now: Instant) -> Option<String> {
        if self
            .sent
            .is_some_and(|t| now.duration_since(t) < ANNOUNCE_EVERY)
        {
            return None;
        }
        let hello = self.sent.is_none();
        Some(self.announce(now, hello))
    }

    /// An announcement, sent now (also as the answer to another daemon's greeting).
    pub fn announce(&mut self, now: Instant, hello: bool) -> String {
        self.sent = Some(now);
        self.awaiting.get_or_insert(now);
        json!({"token": self.token, "host": self.host, "client_id": self.client_id, "hello": hello})
            .to_string()
    }

    /// Interprets a message on `B/instance` (the caller records a duplicate with [`Presence::suspect`]).
    pub fn heard(&mut self, payload: &[u8], now: Instant) -> Heard {
        let Ok(v) = serde_json::from_slice::<Value>(payload) else {
            return Heard::Noise;
        };
        let Some(token) = v["token"].as_str() else {
            return Heard::Noise;
        };
        if token == self.token {
            self.awaiting = None;
            self.echoed = Some(now);
            return Heard::Echo;
        }
        let text = |k: &str| super::report::escape(v[k].as_str().unwrap_or("?"), 64);
        let who = Other {
            host: text("host"),
            client_id: text("client_id"),
        };
        Heard::Other {
            who,
            greeted: v["hello"] == true,
        }
    }

    /// Records a sign of a duplicate; true when it starts a new episode (log it then, once).
    pub fn suspect(&mut self, sign: Sign, now: Instant) -> bool {
        let new = !self.duplicate_suspected(now);
        self.suspected = Some((now, sign));
        new
    }

    pub fn duplicate_suspected(&self, now: Instant) -> bool {
        self.suspected
            .as_ref()
            .is_some_and(|(t, _)| now.duration_since(*t) < SUSPICION)
    }

    /// Whether our announcement has come back since this connection began.
    pub fn echoed(&self) -> bool {
        self.echoed.is_some()
    }

    /// False when an announcement has been out longer than [`PROBE_TIMEOUT`] (a wedged connection).
    pub fn round_trip_ok(&self, now: Instant) -> bool {
        self.awaiting
            .is_none_or(|t| now.duration_since(t) < PROBE_TIMEOUT)
    }
}

/// The one log line (and `B/error` message) for a suspected duplicate.
pub fn duplicate_message(sign: &Sign, device_id: &str, client_id: &str) -> String {
    let seen = match sign {
        Sign::Announced(o) => format!(
            "another Diuna (host \"{}\", MQTT client id \"{}\") announces itself on this broker",
            o.host, o.client_id
        ),
        Sign::SessionTakenOver => format!(
            "the broker keeps handing our session to another client with our client id \"{client_id}\" \
             (it closes our connection as soon as the other connects)"
        ),
    };
    format!(
        "two devices use device_id \"{device_id}\": {seen}. They would fight over the same topics and \
         Home Assistant entities. Fix: give each device its own `device_id = \"...\"` in its \
         configuration (the default is the host name, and every fresh Raspberry Pi OS is called \
         \"raspberrypi\"). Until then entities are never removed as stale, and after a session takeover \
         Diuna waits {}–{} s before it reconnects",
        super::connection::DUPLICATE_BACKOFF.as_secs() / 5,
        super::connection::DUPLICATE_BACKOFF.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn the_first_announcement_greets_and_its_echo_closes_the_probe() {
        let t0 = Instant::now();
        let mut p = Presence::new("aaaa".into(), "diuna-x");
        let hello: Value = serde_json::from_str(&p.due(t0).unwrap()).unwrap();
        assert_eq!(hello["hello"], true);
        assert_eq!(p.due(at(t0, 1)), None, "not due again yet");
        assert!(p.round_trip_ok(at(t0, 5)));
        assert!(!p.round_trip_ok(at(t0, 21)), "no echo within the timeout");
        assert_eq!(
            p.heard(hello.to_string().as_bytes(), at(t0, 21)),
            Heard::Echo
        );
        assert!(p.round_trip_ok(at(t0, 22)) && p.echoed());
        let next: Value = serde_json::from_str(&p.due(at(t0, 31)).unwrap()).unwrap();
        assert_eq!(next["hello"], false);
        assert!(!p.duplicate_suspected(at(t0, 31)));
    }

    #[test]
    fn another_token_is_a_duplicate_and_a_greeting_asks_for_an_answer() {
        let t0 = Instant::now();
        let mut p = Presence::new("aaaa".into(), "diuna-x");
        let other =
            br#"{"token":"bbbb","host":"pi\u001b[2J","client_id":"diuna-x-2","hello":true}"#;
        match p.heard(other, t0) {
            Heard::Other { who, greeted } => {
                assert!(greeted);
                assert_eq!(who.client_id, "diuna-x-2");
                assert!(!who.host.contains('\u{1b}'), "escaped: {}", who.host);
            }
            h => panic!("{h:?}"),
        }
        let who = Other {
            host: "pi".into(),
            client_id: "diuna-x-2".into(),
        };
        assert!(p.suspect(Sign::Announced(who), t0), "a new episode");
        assert!(p.duplicate_suspected(at(t0, 10)));
        assert!(
            !p.suspect(Sign::SessionTakenOver, at(t0, 20)),
            "same episode"
        );
        assert!(!p.duplicate_suspected(at(t0, 20 + 3600)), "suspicion fades");
        assert!(
            p.suspect(Sign::SessionTakenOver, at(t0, 20 + 3600)),
            "new episode"
        );
        assert_eq!(p.heard(b"garbage", t0), Heard::Noise);
    }

    #[test]
    fn the_message_names_the_id_and_the_fix() {
        let m = duplicate_message(&Sign::SessionTakenOver, "raspberrypi", "diuna-raspberrypi");
        assert!(m.contains("device_id \"raspberrypi\"") && m.contains("device_id = "));
    }
}
