//! The MQTT connection: client options (credentials, TLS, last will) and the task that polls rumqttc's
//! event loop without pause, with a capped exponential backoff between failed connection attempts.
//!
//! The poll task only polls and forwards; it never publishes or subscribes itself (awaiting a publish
//! inside the polling loop can deadlock rumqttc). It ends when the bridge drops its receiver.

use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, NetworkOptions, Packet,
    QoS, Transport,
};
use tokio::sync::mpsc;

use crate::config::{MqttConfig, PasswordSource};

/// Largest packet we accept from the broker; payloads over 16 KiB are rejected by the bridge itself, this
/// only keeps an oversize message from tearing down the connection.
pub const MAX_INCOMING: usize = 1 << 20;
/// Largest packet we send (discovery payloads are a few KiB).
pub const MAX_OUTGOING: usize = 256 * 1024;
/// Requests the client may queue (discovery for many zones fits comfortably).
pub const REQUEST_QUEUE: usize = 4096;

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
}

/// What the poll task reports.
#[derive(Debug)]
pub enum Notification {
    Event(Event),
    Error(ConnectionError),
}

fn read_tls(key: &'static str, path: &std::path::Path) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path).map_err(|source| SetupError::TlsFile {
        key,
        path: path.display().to_string(),
        source,
    })
}

/// Builds the client options; reads the password and TLS files now (never logs the password).
pub fn options(cfg: &MqttConfig, availability: &str) -> Result<MqttOptions, SetupError> {
    let mut o = MqttOptions::new(&cfg.client_id, &cfg.host, cfg.port);
    o.set_keep_alive(cfg.keep_alive.max(Duration::from_secs(5)));
    o.set_clean_session(true);
    o.set_max_packet_size(MAX_INCOMING, MAX_OUTGOING);
    o.set_last_will(LastWill::new(
        availability,
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
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
    if let Some(user) = &cfg.username {
        o.set_credentials(user, password.unwrap_or_default());
    }
    if let Some(ca) = &cfg.tls_ca {
        // ring, not aws-lc: it cross-compiles for 32-bit ARM with Debian's cross compilers.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = read_tls("tls_ca", ca)?;
        let client_auth = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => Some((read_tls("tls_cert", c)?, read_tls("tls_key", k)?)),
            _ => None,
        };
        o.set_transport(Transport::tls(ca, client_auth, None));
    }
    Ok(o)
}

/// Creates the client and starts the poll task; notifications arrive on the returned receiver.
pub fn start(
    opts: MqttOptions,
    reconnect_max: Duration,
) -> (AsyncClient, mpsc::Receiver<Notification>) {
    let (client, mut eventloop) = AsyncClient::new(opts, REQUEST_QUEUE);
    // Commands and state are tiny messages: do not let Nagle's algorithm hold them back.
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(poll(eventloop, tx, reconnect_max));
    (client, rx)
}

async fn poll(mut eventloop: EventLoop, tx: mpsc::Sender<Notification>, reconnect_max: Duration) {
    let first = Duration::from_millis(250);
    let mut backoff = first;
    loop {
        match eventloop.poll().await {
            Ok(ev) => {
                if matches!(ev, Event::Incoming(Packet::ConnAck(_))) {
                    backoff = first;
                }
                if tx.send(Notification::Event(ev)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                if tx.send(Notification::Error(e)).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(reconnect_max);
            }
        }
    }
}
