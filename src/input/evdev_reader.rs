//! Reading one Linux input device (evdev) as an async task. The keypad and the kernel-decoded rotary
//! encoder differ only in what an event means, so opening the device, stopping with the token and
//! giving up when the device goes away (logged once) live here, and each caller maps events to
//! [`Raw`] inputs for the hub.

use std::path::Path;

use evdev::InputEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::Raw;

/// Opens `path` and returns the task that reads it until `stop`, sending what `map` makes of each
/// event; `what` names the device in the log line when it is lost.
pub fn read(
    path: &Path,
    what: &'static str,
    tx: mpsc::Sender<Raw>,
    stop: CancellationToken,
    mut map: impl FnMut(&InputEvent) -> Option<Raw> + Send + 'static,
) -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut events = evdev::Device::open(path)?.into_event_stream()?;
    let name = path.display().to_string();
    Ok(async move {
        loop {
            let ev = tokio::select! {
                _ = stop.cancelled() => return,
                ev = events.next_event() => match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::error!(device = %name, error = %e, "{what} lost");
                        return;
                    }
                },
            };
            if let Some(raw) = map(&ev)
                && tx.send(raw).await.is_err()
            {
                return;
            }
        }
    })
}
