//! What the render loop tells the rest of the daemon: each state change as an event on the bus (the
//! MQTT bridge and the state writer listen), and the whole state as a snapshot when asked.

use super::RenderLoop;
use crate::engine::command::{Event, Snapshot};
use crate::engine::scene::LibrarySnapshot;

impl RenderLoop {
    pub(super) fn emit_zone(&mut self, z: usize) {
        let _ = self.events.send(Event::Zone {
            zone: z,
            state: Box::new(self.zones[z].clone()),
        });
        // The master's ON/OFF follows the zones: announced when it (or the master) changed, so a
        // zone's colour or speed costs the bus one event, not two.
        let current = (self.master, self.zones.iter().any(|z| z.on));
        if self.master_announced != Some(current) {
            self.emit_master();
        }
    }

    /// Announces the master's state (a master command always does, changed or not).
    pub(super) fn emit_master(&mut self) {
        let (state, any_on) = (self.master, self.zones.iter().any(|z| z.on));
        self.master_announced = Some((state, any_on));
        let _ = self.events.send(Event::Master { state, any_on });
    }

    pub(super) fn emit_device(&self) {
        let _ = self.events.send(Event::Device {
            state: Box::new(self.control.state.clone()),
            preset: self.control.preset_name(&self.zones),
        });
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            zones: self.zones.clone(),
            master: self.master,
            device: self.control.state.clone(),
            preset: self.control.preset_name(&self.zones),
            library: self.library_snapshot(),
        }
    }

    fn library_snapshot(&self) -> LibrarySnapshot {
        self.library.snapshot(
            self.zones
                .iter()
                .map(|z| {
                    z.palette
                        .and_then(|p| self.palettes.get(p))
                        .map(|p| p.name.clone())
                })
                .collect(),
        )
    }
}
