//! The least the daemon's own stack spends on a command here: rumqttc's v5 client on a current-thread
//! tokio runtime (the crates and the runtime the daemon uses), subscribed at QoS 1, publishing a
//! retained state of a zone's size for every command, and doing nothing else: no JSON, no engine, no
//! state file. `benches/frame_cost.rs` measures it beside the hand-written client of
//! `floor_client.rs`, so that the command path's cost splits into what the socket work needs, what
//! the client crate and runtime add to it, and what the daemon adds to both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};

use super::floor_client::{STATE, Served, Start, usage};

/// Subscribes to `filter` at QoS 1, says so on `ready`, and answers every command with a state
/// publish until `stop`; returns what this thread spent from the first command on.
pub fn serve(
    port: u16,
    filter: &str,
    ready: std::sync::mpsc::Sender<()>,
    stop: Arc<AtomicBool>,
) -> Served {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async move {
        let mut options = MqttOptions::new("frame-cost-stack-floor", "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(options, 64);
        client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let mut start: Start = None;
        let mut answered = 0u64;
        // Stopping disconnects the client, which ends the loop below: `poll` is not cancel-safe, so
        // it is never raced against a timer. The watch runs on a thread of its own, so that its
        // wake-ups are not counted as this one's.
        let stopper = client.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = stopper.try_disconnect();
        });
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = ready.send(());
                }
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    start.get_or_insert_with(|| (usage(), Instant::now()));
                    client
                        .try_publish("diuna/floor/zone/state", QoS::AtMostOnce, true, STATE)
                        .expect("the request queue has room");
                    answered += 1;
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Served::since(start, answered)
    })
}
