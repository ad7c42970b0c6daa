//! SIGHUP: re-reads the config file and applies what is safe to change live — render settings, the
//! strips' gamma and power limits, and the `[mqtt]` section — and says why when it cannot (a changed
//! layout or device id needs a restart; `[realtime]` and `[sync]` wait for the next one).
//!
//! New MQTT settings are checked in full (password and TLS files read) before the running connection
//! is touched, and compared by value (`Settings: PartialEq`; its `Debug` never shows the password). A
//! bad one keeps the old connection; a good one replaces it only after the old bridge has said
//! `offline` and left, so its goodbye can never land after the new `online`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::{Command, EngineHandle, LiveSettings};
use crate::mqtt;
use crate::supervisor::{Heartbeat, Supervisor};

/// Time the old MQTT bridge gets to say `offline` and disconnect before the new one starts.
const MQTT_BUDGET: Duration = Duration::from_secs(1);

/// The running MQTT bridge: what it was started with, and how to stop it.
pub(super) struct Mqtt {
    /// `None` when MQTT is disabled or its settings could not be resolved.
    settings: Option<mqtt::connection::Settings>,
    pub(super) stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Mqtt {
    pub(super) fn start(sup: &Supervisor, config: &Config, engine: &EngineHandle) -> Mqtt {
        let stop = CancellationToken::new();
        let settings = mqtt_settings(config);
        let task = settings
            .clone()
            .map(|s| spawn_mqtt(sup, config, s, engine, stop.clone()));
        Mqtt {
            settings,
            stop,
            task,
        }
    }

    /// SIGHUP: replaces the bridge when the `[mqtt]` settings changed and are valid; keeps it otherwise.
    pub(super) async fn reload(&mut self, sup: &Supervisor, next: &Config, engine: &EngineHandle) {
        let settings = if next.mqtt.enabled {
            match mqtt::connection::Settings::resolve(&next.mqtt, &next.device_id) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: [mqtt] settings not applied, keeping the running MQTT connection");
                    return;
                }
            }
        } else {
            None
        };
        if settings == self.settings {
            return;
        }
        tracing::info!("SIGHUP: [mqtt] settings changed; reconnecting");
        // The old bridge says `offline` and disconnects before the new one says `online`.
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && tokio::time::timeout(MQTT_BUDGET, task).await.is_err()
        {
            tracing::warn!("the old MQTT connection did not close in time");
        }
        self.stop = CancellationToken::new();
        self.task = settings
            .clone()
            .map(|s| spawn_mqtt(sup, next, s, engine, self.stop.clone()));
        self.settings = settings;
    }
}

/// The MQTT settings of `config`, with their files read; `None` (and one error) when they are bad.
fn mqtt_settings(config: &Config) -> Option<mqtt::connection::Settings> {
    if !config.mqtt.enabled {
        return None;
    }
    mqtt::connection::Settings::resolve(&config.mqtt, &config.device_id)
        .map_err(|e| {
            tracing::error!(error = %e, "MQTT is off until this is fixed (then send SIGHUP or restart); the lights work locally");
        })
        .ok()
}

fn spawn_mqtt(
    sup: &Supervisor,
    config: &Config,
    settings: mqtt::connection::Settings,
    engine: &EngineHandle,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (config, engine, tasks) = (config.clone(), engine.clone(), sup.clone());
    let heartbeat = Heartbeat::default();
    let watch = (heartbeat.clone(), mqtt::STALL_LIMIT);
    sup.spawn_watched("mqtt", stop, watch, move |stop| {
        let bridge = mqtt::MqttBridge::new(
            &config,
            settings.clone(),
            engine.clone(),
            &tasks,
            heartbeat.clone(),
        );
        bridge.run(stop)
    })
}

/// Re-reads the config on SIGHUP and applies what is safe; logs what it cannot.
pub(super) fn reload(
    path: &std::path::Path,
    current: &Config,
    engine: &EngineHandle,
) -> Option<Config> {
    let mut next = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP: config not reloaded, keeping the running one");
            return None;
        }
    };
    if let Err(why) = same_shape(current, &next) {
        tracing::warn!(reason = %why, "SIGHUP: this change needs a restart (systemctl restart diuna); nothing reloaded");
        return None;
    }
    if engine
        .send(Command::Reload(Box::new(LiveSettings {
            render: next.render.clone(),
            layout: next.layout.clone(),
        })))
        .is_err()
    {
        return None;
    }
    if (&current.realtime, &current.sync) != (&next.realtime, &next.sync) {
        tracing::warn!("SIGHUP: [realtime] and [sync] changes take effect at the next restart");
        next.realtime = current.realtime.clone();
        next.sync = current.sync.clone();
    }
    tracing::info!("SIGHUP: reloaded render settings, gamma and power limits");
    Some(next)
}

/// Whether `b` differs from `a` only in what can change live.
fn same_shape(a: &Config, b: &Config) -> Result<(), String> {
    if a.device_id != b.device_id {
        return Err("device_id changed".into());
    }
    if a.layout.zones.len() != b.layout.zones.len()
        || a.layout.strips.len() != b.layout.strips.len()
    {
        return Err("zones or strips were added or removed".into());
    }
    for (x, y) in a.layout.zones.iter().zip(&b.layout.zones) {
        if (
            x.id.as_str(),
            x.strip,
            x.start,
            x.len,
            x.reversed,
            x.name.as_str(),
        ) != (
            y.id.as_str(),
            y.strip,
            y.start,
            y.len,
            y.reversed,
            y.name.as_str(),
        ) {
            return Err(format!("zone \"{}\" changed", x.id));
        }
    }
    for (x, y) in a.layout.strips.iter().zip(&b.layout.strips) {
        if (
            x.id.as_str(),
            x.driver,
            x.gpio,
            x.dma,
            x.led_type,
            x.color_order,
            x.uses_white(),
            x.len,
            &x.capture,
        ) != (
            y.id.as_str(),
            y.driver,
            y.gpio,
            y.dma,
            y.led_type,
            y.color_order,
            y.uses_white(),
            y.len,
            &y.capture,
        ) {
            return Err(format!("strip \"{}\" hardware settings changed", x.id));
        }
        if (x.emulate, &x.device, x.frequency, x.invert, x.reset)
            != (y.emulate, &y.device, y.frequency, y.invert, y.reset)
        {
            return Err(format!("strip \"{}\" driver settings changed", x.id));
        }
    }
    if a.state_path != b.state_path || a.lamp_zone != b.lamp_zone {
        return Err("state path or lamp zone changed".into());
    }
    Ok(())
}
