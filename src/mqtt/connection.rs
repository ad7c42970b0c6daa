//! The MQTT connection: validated settings (credentials and TLS files read up front), MQTT 5 client
//! options, and [`Notes`]: rumqttc's event loop, polled by the bridge's own task, with our reconnect
//! backoff. Before each connection attempt to a `.local` broker that the system cannot resolve, it
//! asks mDNS for its address (`LocalBroker`).
//!
//! The event loop runs inside the bridge's task, not a task of its own: a command then costs one task
//! wake and no channel between the socket and the bridge. That is safe only because the loop's future
//! is never dropped half-way: rumqttc's `poll` is not cancel-safe (a request taken from its queue, or
//! an acknowledgement not yet written, would be lost if its future were dropped while it waits for the
//! socket). [`Notes`] keeps one future alive across the bridge's `select!` turns and starts the next
//! only when the last has finished, so [`Notes::recv`] is cancel-safe. The bridge never awaits a
//! publish itself (that would need the loop it is not polling meanwhile); it hands messages to the
//! outbox, whose sender task waits for room in rumqttc's queue while the bridge keeps polling.
//!
//! Why MQTT 5: the CONNECT packet declares a Maximum Packet Size, and the broker then drops any message
//! larger than that for us instead of sending it (Mosquitto logs "Dropping too large outgoing PUBLISH"),
//! so no client can tear our connection down by publishing a huge (retained) message; a persistent
//! session has an expiry interval; and a DISCONNECT can carry its reason.
//!
//! A second daemon with our client id makes the broker hand our session to it: newer brokers say so
//! ("session taken over"), Mosquitto 2.0.11 (Debian 12) just closes the old connection. Either way the
//! two would knock each other off every reconnect delay, forever. [`Notes`] recognises the reason
//! code, or [`FLAPS`] connections in a row that the broker closed within [`FLAP_WINDOW`] of accepting
//! them, and then waits minutes ([`DUPLICATE_BACKOFF`], randomised so that one of the two gets to stay).

use std::time::Duration;

use rumqttc::NetworkOptions;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{DisconnectReasonCode, LastWill, Packet};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, StateError};
use tokio_util::sync::ReusableBoxFuture;

use super::tls::TlsFiles;
use crate::config::{MqttConfig, PasswordSource};

/// The Maximum Packet Size declared to the broker. Command payloads over 16 KiB are rejected by the
/// bridge with a message on `B/error`; anything over this never reaches us at all (the broker drops it).
pub const MAX_INCOMING: u32 = 256 * 1024;
/// Requests rumqttc may queue. Small on purpose: the bridge's outbox coalesces state while the
/// connection is slow, and whatever sits here at a disconnect is replayed stale on the next session.
pub const REQUEST_QUEUE: usize = 64;
/// Our QoS 1 publishes (availability) and subscriptions in flight at once. rumqttc allocates a slot per
/// possible packet id up front: left at its default (65,535) that is ~13 MB of resident memory.
pub const INFLIGHT: u16 = 20;
/// How long the broker keeps our session (subscriptions and queued QoS 1 commands) after we go away.
/// Ten minutes covers a broker restart, a network outage, a daemon upgrade or a Pi reboot; a command
/// older than that is better dropped than carried out long after it was given.
pub const SESSION_EXPIRY: Duration = Duration::from_secs(600);
/// The wait before reconnecting after the broker handed our session to another client with our
/// client id (a duplicate daemon): long enough that the two do not knock each other off all day. The
/// actual wait is random between a fifth of this and this.
pub const DUPLICATE_BACKOFF: Duration = Duration::from_secs(300);
/// A connection the broker closes this soon after accepting it was "knocked off".
pub const FLAP_WINDOW: Duration = Duration::from_secs(5);
/// Knock-offs in a row that mean another client is using our client id.
pub const FLAPS: u32 = 3;
/// First reconnect delay; doubles up to `mqtt.reconnect_max`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Why the connection could not even be configured.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("mqtt.password_file {path}: {source}")]
    PasswordFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mqtt.password_env: environment variable {0} is not set")]
    PasswordEnv(String),
    #[error("mqtt.{key} {path}: {source}")]
    TlsFile {
        key: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mqtt.{key} {path}: not a PEM {what} ({reason})")]
    TlsPem {
        key: &'static str,
        path: String,
        what: &'static str,
        reason: String,
    },
    #[error("mqtt.tls_ca: this diuna was built without TLS (cargo feature `tls`)")]
    NoTls,
}

/// Connection settings with every file read and checked: what [`Settings::resolve`] accepts is exactly
/// what the bridge will use. Compared by value on SIGHUP (a rotated password file counts as a change);
/// `Debug` shows neither the password nor key material.
#[derive(Clone, PartialEq)]
pub struct Settings {
    pub mqtt: MqttConfig,
    pub client_id: String,
    password: Option<String>,
    tls: Option<TlsFiles>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("mqtt", &self.mqtt)
            .field("client_id", &self.client_id)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Settings {
    /// Reads the password and TLS files now, so a bad `[mqtt]` section is reported before anything is
    /// torn down. Never logs the password.
    pub fn resolve(cfg: &MqttConfig, device_id: &str) -> Result<Settings, SetupError> {
        let password = match &cfg.password {
            PasswordSource::None => None,
            PasswordSource::Inline(p) => Some(p.clone()),
            PasswordSource::File(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| SetupError::PasswordFile {
                        path: path.display().to_string(),
                        source,
                    })?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            ),
            PasswordSource::Env(var) => {
                Some(std::env::var(var).map_err(|_| SetupError::PasswordEnv(var.clone()))?)
            }
        };
        let tls = TlsFiles::read(cfg)?;
        Ok(Settings {
            client_id: cfg
                .client_id
                .clone()
                .unwrap_or_else(|| super::identity::default_client_id(device_id)),
            mqtt: cfg.clone(),
            password,
            tls,
        })
    }

    /// The rumqttc options: MQTT 5, a persistent session, our Maximum Packet Size, last will `offline`.
    pub fn options(&self, availability: &str) -> MqttOptions {
        self.options_at(availability, &self.mqtt.host)
    }

    /// [`Settings::options`] with the broker at `host` (its address, when only mDNS knows its name).
    fn options_at(&self, availability: &str, host: &str) -> MqttOptions {
        let cfg = &self.mqtt;
        let mut o = MqttOptions::new(&self.client_id, host, cfg.port);
        o.set_keep_alive(cfg.keep_alive.max(Duration::from_secs(5)));
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(SESSION_EXPIRY.as_secs() as u32));
        o.set_max_packet_size(Some(MAX_INCOMING));
        o.set_connection_timeout(5);
        o.set_outgoing_inflight_upper_limit(INFLIGHT);
        o.set_last_will(LastWill::new(
            availability,
            "offline",
            QoS::AtLeastOnce,
            true,
            None,
        ));
        if let Some(user) = &cfg.username {
            o.set_credentials(user, self.password.clone().unwrap_or_default());
        }
        if let Some(tls) = &self.tls {
            tls.apply(&mut o);
        }
        // Our own socket: commands and state are tiny messages, do not let Nagle hold them back. (The
        // broker's side of the connection is a different matter: see `outbox.rs` on delayed ACKs.)
        let mut net = NetworkOptions::new();
        net.set_tcp_nodelay(true);
        o.set_network_options(net);
        o
    }
}

/// What the connection reports. (Events are the common case, and returning ~400 bytes is cheaper than
/// boxing every incoming message.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Notification {
    Event(Event),
    /// The connection failed or was lost; `taken_over` when another client with our client id has
    /// our session (the next attempt then waits [`DUPLICATE_BACKOFF`]).
    Error {
        error: ConnectionError,
        taken_over: bool,
    },
}

/// Counts knock-offs: connections the broker closed right after accepting them.
#[derive(Debug, Default)]
struct Flaps {
    connected_at: Option<std::time::Instant>,
    count: u32,
}

impl Flaps {
    fn connected(&mut self, now: std::time::Instant) {
        self.connected_at = Some(now);
    }

    /// A lost connection or failed attempt; true when it completes a knock-off loop.
    fn failed(&mut self, now: std::time::Instant) -> bool {
        match self.connected_at.take() {
            Some(t) if now.duration_since(t) < FLAP_WINDOW => self.count += 1,
            Some(_) => self.count = 0,
            None => {} // an attempt that failed: no evidence either way
        }
        if self.count >= FLAPS {
            self.count = 0;
            return true;
        }
        false
    }
}

/// Whether the broker closed our connection because another client connected with our client id.
pub fn session_taken_over(e: &ConnectionError) -> bool {
    matches!(
        e,
        ConnectionError::MqttState(StateError::ServerDisconnect {
            reason_code: DisconnectReasonCode::SessionTakenOver,
            ..
        })
    )
}

/// What the bridge hears from the connection, one [`Notification`] at a time: rumqttc's event loop
/// with our reconnect policy, polled only from [`Notes::recv`]. Dropping it drops the connection.
pub struct Notes {
    /// The step in progress: it owns the connection and hands it back with what it saw. Reused, so a
    /// notification costs no allocation; the connection is boxed, so handing it over copies a pointer,
    /// not rumqttc's state.
    step: ReusableBoxFuture<'static, (Box<Connection>, Notification)>,
}

impl Notes {
    /// The next notification. Cancel-safe: a step interrupted here continues at the next call.
    pub async fn recv(&mut self) -> Notification {
        let (connection, note) = (&mut self.step).await;
        // No await between the end of one step and the start of the next.
        self.step.set(connection.step());
        note
    }
}

/// Creates the client and its connection; nothing happens on the network until the bridge polls
/// [`Notes::recv`].
pub fn start(settings: &Settings, availability: &str) -> (AsyncClient, Notes) {
    let (client, eventloop) = AsyncClient::new(settings.options(availability), REQUEST_QUEUE);
    let connection = Box::new(Connection {
        eventloop,
        reconnect_max: settings.mqtt.reconnect_max,
        finder: LocalBroker::of(settings, availability),
        backoff: FIRST_BACKOFF,
        flaps: Flaps::default(),
        // The first poll, and the first after an error, connect.
        connecting: true,
        wait: None,
    });
    let step = ReusableBoxFuture::new(connection.step());
    (client, Notes { step })
}

/// Finds a broker whose name is under `.local` before each connection attempt: by the system's
/// resolver when it can (`/etc/hosts`, Pi OS's nss-mdns), else by asking mDNS directly
/// ([`super::mdns`]), and then connects to the address it got. Not with TLS: the broker's certificate
/// is checked against the name rumqttc connects to, so the system must resolve that name itself.
struct LocalBroker {
    settings: Settings,
    availability: String,
    /// The address mDNS gave last (logged when it changes).
    found: Option<std::net::Ipv4Addr>,
    /// A failure was logged; the next is not, until a success.
    warned: bool,
}

impl LocalBroker {
    fn of(settings: &Settings, availability: &str) -> Option<LocalBroker> {
        super::mdns::is_local(&settings.mqtt.host).then(|| LocalBroker {
            settings: settings.clone(),
            availability: availability.to_owned(),
            found: None,
            warned: false,
        })
    }

    /// Points `options` at the broker for the next connection attempt.
    async fn aim(&mut self, options: &mut MqttOptions) {
        let host = self.settings.mqtt.host.as_str();
        let port = self.settings.mqtt.port;
        if tokio::net::lookup_host((host, port))
            .await
            .is_ok_and(|mut addrs| addrs.next().is_some())
        {
            if self.found.take().is_some() {
                *options = self.settings.options(&self.availability);
            }
            self.warned = false;
            return;
        }
        if self.settings.tls.is_some() {
            self.warn(
                "the system cannot resolve the broker's .local name, and with TLS it must (the \
                 certificate is checked against it): add the name to /etc/hosts or use a DNS name",
                None,
            );
            return;
        }
        match super::mdns::resolve(host).await {
            Ok(ip) => {
                if self.found != Some(ip) {
                    tracing::info!(host, %ip, "found the broker by mDNS");
                }
                self.found = Some(ip);
                self.warned = false;
                *options = self
                    .settings
                    .options_at(&self.availability, &ip.to_string());
            }
            Err(e) => self.warn(
                "the broker's .local name resolves neither by the system nor by mDNS: is the \
                 broker up and on this network? Or set [mqtt] host to its IP address",
                Some(&e),
            ),
        }
    }

    fn warn(&mut self, what: &str, error: Option<&super::mdns::MdnsError>) {
        if !std::mem::replace(&mut self.warned, true) {
            match error {
                Some(e) => tracing::warn!(host = %self.settings.mqtt.host, error = %e, "{what}"),
                None => tracing::warn!(host = %self.settings.mqtt.host, "{what}"),
            }
        }
    }
}

/// Whether the bridge wants to hear of `ev`: everything the broker sent (a PINGRESP too: it shows the
/// connection alive), and of what rumqttc sent only the DISCONNECT (the goodbye waits for it). Every
/// other outgoing packet (each command's PUBACK, each state publish) would only wake the bridge for
/// nothing.
fn worth_telling(ev: &Event) -> bool {
    match ev {
        Event::Incoming(_) => true,
        Event::Outgoing(out) => matches!(out, rumqttc::Outgoing::Disconnect),
    }
}

/// rumqttc's event loop and the state of our reconnect policy.
struct Connection {
    eventloop: EventLoop,
    reconnect_max: Duration,
    finder: Option<LocalBroker>,
    backoff: Duration,
    flaps: Flaps,
    connecting: bool,
    /// The pause owed after a failure, taken before the next attempt.
    wait: Option<Duration>,
}

impl Connection {
    /// Polls until there is something the bridge wants to hear of, and hands itself back with it.
    async fn step(mut self: Box<Self>) -> (Box<Connection>, Notification) {
        let note = self.next().await;
        (self, note)
    }

    async fn next(&mut self) -> Notification {
        if let Some(wait) = self.wait.take() {
            tokio::time::sleep(wait).await;
        }
        loop {
            if std::mem::take(&mut self.connecting)
                && let Some(f) = &mut self.finder
            {
                f.aim(&mut self.eventloop.options).await;
            }
            match self.eventloop.poll().await {
                Ok(ev) => {
                    if matches!(ev, Event::Incoming(Packet::ConnAck(_))) {
                        self.backoff = FIRST_BACKOFF;
                        self.flaps.connected(std::time::Instant::now());
                    }
                    if worth_telling(&ev) {
                        return Notification::Event(ev);
                    }
                }
                Err(error) => {
                    let knocked_off = self.flaps.failed(std::time::Instant::now());
                    let taken_over = session_taken_over(&error) || knocked_off;
                    self.wait = Some(if taken_over {
                        super::identity::random_between(DUPLICATE_BACKOFF / 5, DUPLICATE_BACKOFF)
                    } else {
                        self.backoff
                    });
                    self.backoff = (self.backoff * 2).min(self.reconnect_max.max(FIRST_BACKOFF));
                    self.connecting = true;
                    return Notification::Error { error, taken_over };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn mqtt(extra: &str) -> MqttConfig {
        Config::from_toml(&format!(
            "device_id=\"dev\"\n[mqtt]\n{extra}\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=1\n"
        ))
        .expect("valid")
        .mqtt
    }

    #[test]
    fn a_missing_password_file_fails_before_connecting_and_names_the_key() {
        let e = Settings::resolve(
            &mqtt("username=\"u\"\npassword_file=\"/nonexistent/pw\""),
            "dev",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mqtt.password_file /nonexistent/pw"), "{e}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_missing_or_wrong_tls_file_fails_before_connecting_and_names_the_key() {
        let e = Settings::resolve(&mqtt("tls_ca=\"/nonexistent/ca.pem\""), "dev").unwrap_err();
        assert!(e.to_string().contains("mqtt.tls_ca"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("ca.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let cfg = mqtt(&format!("tls_ca=\"{}\"", garbage.display()));
        let e = Settings::resolve(&cfg, "dev").unwrap_err().to_string();
        assert!(
            e.contains("mqtt.tls_ca") && e.contains("not a PEM certificate"),
            "{e}"
        );
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn a_build_without_tls_refuses_a_config_that_names_tls_files() {
        for key in ["tls_ca", "tls_cert", "tls_key"] {
            let text = format!(
                "device_id=\"dev\"\n[mqtt]\n{key}=\"/etc/ssl/x.pem\"\n[[strips]]\nid=\"a\"\n\
                 [[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=1\n"
            );
            let e = Config::from_toml(&text).expect_err(key).to_string();
            assert!(e.contains("built without TLS"), "{key}: {e}");
        }
    }

    #[test]
    fn settings_compare_by_value_including_the_file_contents() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "one\n").unwrap();
        let cfg = mqtt(&format!(
            "username=\"u\"\npassword_file=\"{}\"",
            pw.display()
        ));
        let a = Settings::resolve(&cfg, "dev").unwrap();
        assert_eq!(a, Settings::resolve(&cfg, "dev").unwrap());
        std::fs::write(&pw, "two\n").unwrap();
        let b = Settings::resolve(&cfg, "dev").unwrap();
        assert_ne!(a, b, "a rotated password is a change");
        assert!(!format!("{b:?}").contains("two"));
    }

    #[test]
    fn the_bridge_hears_of_everything_the_broker_sends_and_of_our_disconnect_only() {
        use rumqttc::Outgoing;
        use rumqttc::v5::mqttbytes::v5::PingResp;
        assert!(worth_telling(&Event::Incoming(Packet::PingResp(PingResp))));
        assert!(worth_telling(&Event::Outgoing(Outgoing::Disconnect)));
        for out in [Outgoing::PubAck(7), Outgoing::Publish(0), Outgoing::PingReq] {
            assert!(!worth_telling(&Event::Outgoing(out)));
        }
    }

    #[test]
    fn three_connections_closed_right_after_they_were_accepted_are_a_knock_off_loop() {
        let t0 = std::time::Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut f = Flaps::default();
        assert!(!f.failed(ms(0)), "a failed attempt is no evidence");
        for (i, at) in [0u64, 300, 600].into_iter().enumerate() {
            f.connected(ms(at));
            assert_eq!(f.failed(ms(at + 250)), i == 2, "knock-off {i}");
        }
        // A connection that lasted is a broker restart or a network outage, not a duplicate.
        f.connected(ms(1000));
        assert!(!f.failed(ms(1200)));
        f.connected(ms(2000));
        assert!(!f.failed(ms(60_000)));
        f.connected(ms(61_000));
        assert!(!f.failed(ms(61_100)), "the count started again");
    }

    #[test]
    fn options_ask_for_a_persistent_session_and_a_packet_size_limit_and_stay_small() {
        let s = Settings::resolve(&mqtt(""), "dev").unwrap();
        let o = s.options("diuna/dev/availability");
        assert!(!o.clean_start(), "persistent session");
        assert_eq!(o.session_expiry_interval(), Some(600));
        assert_eq!(o.max_packet_size(), Some(MAX_INCOMING));
        // rumqttc allocates a slot per packet id up to this limit (13 MiB at its default).
        assert_eq!(o.get_outgoing_inflight_upper_limit(), Some(INFLIGHT));
        let will = o.last_will().expect("a last will");
        assert_eq!((&will.message[..], will.retain), (&b"offline"[..], true));
    }

    #[test]
    fn an_explicit_client_id_wins() {
        let s = Settings::resolve(&mqtt("client_id=\"mine\""), "dev").unwrap();
        assert_eq!(s.client_id, "mine");
        let s = Settings::resolve(&mqtt(""), "dev").unwrap();
        assert!(s.client_id.starts_with("diuna-dev"), "{}", s.client_id);
    }
}
