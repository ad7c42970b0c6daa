//! Finding a second daemon with our `device_id` (the default is the host name, and every fresh Pi OS is
//! called `raspberrypi`). Two signs:
//!
//! - **An announcement that is not ours.** Each daemon greets `B/instance` (not retained) with a random
//!   per-run token when it connects, and answers any other daemon's greeting at once; it subscribes
//!   with MQTT 5 "no local", so it never hears itself. A newcomer and an existing daemon with different
//!   client ids (two machines) learn of each other within one round trip.
//! - **The broker handing our session to another client** with our client id (the same machine or a
//!   cloned SD card): see `connection.rs`.
//!
//! Either one logs one clear error per episode and, while suspicion lasts ([`SUSPICION`]), stops the
//! stale-entity cleanup (the other daemon's entities are not stale).
//!
//! Nothing here is periodic: a message from the broker that we do not answer costs the next command up
//! to 40 ms on a stock broker (see `outbox.rs`), so the bridge proves its connection with traffic that
//! flows anyway (rumqttc's keep-alive and the outbox's progress) instead of a probe of its own.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

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
    /// Another daemon; `greeted` when it asked for an answer.
    Other { who: Other, greeted: bool },
    /// Not a presence message of another daemon.
    Noise,
}

/// Why a duplicate is suspected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sign {
    Announced(Other),
    SessionTakenOver,
}

/// Our token, and what we know about other daemons.
#[derive(Debug)]
pub struct Presence {
    token: String,
    host: String,
    client_id: String,
    suspected: Option<(Instant, Sign)>,
}

impl Presence {
    pub fn new(token: String, client_id: &str) -> Presence {
        Presence {
            token,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            client_id: client_id.into(),
            suspected: None,
        }
    }

    /// Our announcement: a greeting (`hello`) when we connect, an answer to another's greeting.
    pub fn announce(&self, hello: bool) -> String {
        json!({"token": self.token, "host": self.host, "client_id": self.client_id, "hello": hello})
            .to_string()
    }

    /// Interprets a message on `B/instance` (the caller records a duplicate with [`Presence::suspect`]).
    pub fn heard(&self, payload: &[u8]) -> Heard {
        let Ok(v) = serde_json::from_slice::<Value>(payload) else {
            return Heard::Noise;
        };
        match v["token"].as_str() {
            Some(token) if token != self.token => {}
            _ => return Heard::Noise,
        }
        let text = |k: &str| super::report::escape(v[k].as_str().unwrap_or("?"), 64);
        Heard::Other {
            who: Other {
                host: text("host"),
                client_id: text("client_id"),
            },
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

    #[test]
    fn our_own_token_is_noise_and_another_is_a_duplicate() {
        let p = Presence::new("aaaa".into(), "diuna-x");
        let hello: Value = serde_json::from_str(&p.announce(true)).unwrap();
        assert_eq!(hello["hello"], true);
        assert_eq!(hello["client_id"], "diuna-x");
        assert_eq!(p.heard(hello.to_string().as_bytes()), Heard::Noise);
        assert_eq!(p.heard(b"garbage"), Heard::Noise);
        let other =
            br#"{"token":"bbbb","host":"pi\u001b[2J","client_id":"diuna-x-2","hello":true}"#;
        match p.heard(other) {
            Heard::Other { who, greeted } => {
                assert!(greeted);
                assert_eq!(who.client_id, "diuna-x-2");
                assert!(!who.host.contains('\u{1b}'), "escaped: {}", who.host);
            }
            h => panic!("{h:?}"),
        }
    }

    #[test]
    fn suspicion_is_one_episode_until_it_fades() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut p = Presence::new("aaaa".into(), "diuna-x");
        assert!(!p.duplicate_suspected(t0));
        assert!(p.suspect(Sign::SessionTakenOver, t0), "a new episode");
        assert!(p.duplicate_suspected(at(10)));
        assert!(!p.suspect(Sign::SessionTakenOver, at(20)), "same episode");
        assert!(!p.duplicate_suspected(at(20 + 3600)), "suspicion fades");
        assert!(
            p.suspect(Sign::SessionTakenOver, at(20 + 3600)),
            "new episode"
        );
    }

    #[test]
    fn the_message_names_the_id_and_the_fix() {
        let m = duplicate_message(&Sign::SessionTakenOver, "raspberrypi", "diuna-raspberrypi");
        assert!(m.contains("device_id \"raspberrypi\"") && m.contains("device_id = "));
    }
}
