//! placeholder
use crate::config::Config;
use crate::engine::EngineHandle;
use tokio_util::sync::CancellationToken;
pub struct MqttBridge;
impl MqttBridge {
    pub fn new(_c: &Config, _e: EngineHandle) -> Self {
        MqttBridge
    }
    pub async fn run(self, stop: CancellationToken) {
        stop.cancelled().await
    }
}
