//! The connection's event loop runs inside the bridge's `select!` (`diuna::mqtt::connection::Notes`),
//! which drops its `recv` future whenever another branch is ready first. rumqttc's own `poll` is not
//! cancel-safe, so `Notes` must keep it alive across those drops. Here every `recv` is polled once and
//! then dropped, the most a `select!` can interrupt it, while messages flow both ways at QoS 1: none
//! may be lost, doubled or reordered, and every PUBACK must reach the broker.

use std::time::{Duration, Instant};

use diuna::config::Config;
use diuna::mqtt::connection::{self, Notification, Settings};
use rumqttc::v5::Event;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;

use crate::support::{Broker, TestClient, paho_publish};
use crate::testconfig::TestConfig;

const EACH_WAY: usize = 300;

/// What one `recv`, polled once and then dropped unless it was ready, gave.
async fn interrupted(
    notes: &mut connection::Notes,
    interruptions: &mut u64,
    deadline: Instant,
) -> Option<Notification> {
    assert!(Instant::now() < deadline, "timed out");
    tokio::select! {
        biased;
        // Pending at its first poll (it wakes itself), ready at the second: `recv` gets one poll.
        _ = tokio::task::yield_now() => {
            *interruptions += 1;
            None
        }
        n = notes.recv() => Some(n),
    }
}

#[test]
fn a_connection_interrupted_at_every_poll_loses_nothing_either_way() {
    let broker = Broker::start();
    let port = broker.port;
    let toml = TestConfig::new("cancel")
        .mqtt(port)
        .strip("a")
        .zone("z", "a", 1, [0, 0, 0])
        .build()
        .replace("{dir}", "/tmp");
    let config = Config::from_toml(&toml).expect("valid config");
    let settings = Settings::resolve(&config.mqtt, &config.device_id).expect("settings");
    let mut watcher = TestClient::connect(port, "cancel-watcher", &["cancel/out"]);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (received, acked, interruptions) = rt.block_on(async {
        let (client, mut notes) = connection::start(&settings, "cancel/availability");
        let mut interruptions = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        // Connected, then subscribed.
        loop {
            if let Some(Notification::Event(Event::Incoming(Packet::ConnAck(_)))) =
                interrupted(&mut notes, &mut interruptions, deadline).await
            {
                break;
            }
        }
        client
            .try_subscribe("cancel/in", QoS::AtLeastOnce)
            .expect("queue has room");
        loop {
            if let Some(Notification::Event(Event::Incoming(Packet::SubAck(_)))) =
                interrupted(&mut notes, &mut interruptions, deadline).await
            {
                break;
            }
        }
        // paho publishes EACH_WAY messages at QoS 1 and returns only once each has its PUBACK from the
        // broker, which holds them back while too many of ours go unacknowledged.
        let publisher = std::thread::spawn(move || {
            paho_publish(
                port,
                "cancel/in",
                &["--qos", "1", "--count", "300", "--message", "{i}"],
            )
        });
        let mut received = Vec::new();
        let mut sent = 0;
        let mut acked = 0;
        while received.len() < EACH_WAY || acked < EACH_WAY {
            // Ours go out as the bridge sends them: `try_publish`, never awaiting rumqttc's queue.
            while sent < EACH_WAY
                && client
                    .try_publish("cancel/out", QoS::AtLeastOnce, false, sent.to_string())
                    .is_ok()
            {
                sent += 1;
            }
            match interrupted(&mut notes, &mut interruptions, deadline).await {
                Some(Notification::Event(Event::Incoming(Packet::Publish(p)))) => {
                    received.push(String::from_utf8_lossy(&p.payload).into_owned())
                }
                Some(Notification::Event(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Some(Notification::Error { error, .. }) => panic!("connection failed: {error}"),
                _ => {}
            }
        }
        publisher.join().expect("paho got every PUBACK");
        (received, acked, interruptions)
    });

    let expected: Vec<String> = (0..EACH_WAY).map(|i| i.to_string()).collect();
    assert_eq!(
        received, expected,
        "paho's messages, once each and in order"
    );
    assert_eq!(acked, EACH_WAY, "a PUBACK for each of ours");
    assert!(
        interruptions > EACH_WAY as u64,
        "recv was interrupted ({interruptions} times)"
    );
    let out: Vec<String> = (0..EACH_WAY)
        .map(|_| watcher.wait_topic("cancel/out", |_| true).text())
        .collect();
    assert_eq!(out, expected, "ours, once each and in order");
}
