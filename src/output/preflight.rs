//! Start-up checks before any LED driver opens the hardware, so a misconfigured Pi fails with a message
//! that says exactly how to fix it instead of a bare "mmap error" or a dark strip.
//!
//! The checks read facts about the machine into [`System`] and judge them in pure functions
//! (`preflight/rules.rs`), which is what the tests exercise; only [`System::probe`] touches the file
//! system.

mod rules;

use std::path::{Path, PathBuf};

use super::pio::Overlay;
use crate::layout::{Driver, Layout};

pub use rules::check;

/// Whether the daemon may write a device node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Missing,
    Denied,
    Writable,
}

/// What the checks need to know about the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct System {
    /// `/proc/device-tree/model`, e.g. "Raspberry Pi 4 Model B Rev 1.4".
    pub model: Option<String>,
    /// The board revision code (`/proc/device-tree/system/linux,revision`, else `/proc/cpuinfo`).
    pub revision: Option<u32>,
    /// rpi_ws281x was built for aarch64, where it matches revisions exactly.
    pub aarch64: bool,
    pub is_root: bool,
    pub dev_mem: bool,
    /// `/sys/module/spidev/parameters/bufsiz`: the largest SPI transfer.
    pub spidev_bufsiz: Option<usize>,
    /// The on-board audio driver is loaded (it owns the PWM peripheral).
    pub audio_loaded: bool,
    /// The `ws2812-pio` overlays in the device tree.
    pub pio_overlays: Vec<Overlay>,
    /// Access to each device node the layout uses.
    pub devices: Vec<(PathBuf, Access)>,
}

impl System {
    /// Reads the facts that matter for `layout` from this machine.
    pub fn probe(layout: &Layout) -> System {
        let model = std::fs::read_to_string("/proc/device-tree/model")
            .ok()
            .map(|m| m.trim_end_matches('\0').trim().to_string());
        let modules = std::fs::read_to_string("/proc/modules").unwrap_or_default();
        System {
            model,
            revision: read_revision(),
            aarch64: cfg!(target_arch = "aarch64"),
            // SAFETY: geteuid has no preconditions and cannot fail.
            is_root: unsafe { libc::geteuid() } == 0,
            dev_mem: Path::new("/dev/mem").exists(),
            spidev_bufsiz: std::fs::read_to_string("/sys/module/spidev/parameters/bufsiz")
                .ok()
                .and_then(|s| s.trim().parse().ok()),
            audio_loaded: modules.lines().any(|l| l.starts_with("snd_bcm2835 ")),
            pio_overlays: Overlay::probe(Path::new("/proc/device-tree")),
            devices: device_nodes(layout)
                .into_iter()
                .map(|p| {
                    let a = access(&p);
                    (p, a)
                })
                .collect(),
        }
    }

    /// Access to `path` as probed (`Missing` when it was not probed).
    pub fn access(&self, path: &Path) -> Access {
        self.devices
            .iter()
            .find(|(p, _)| p == path)
            .map_or(Access::Missing, |d| d.1)
    }
}

/// The device nodes the layout's strips write (the ws281x library's SPI node included).
pub fn device_nodes(layout: &Layout) -> Vec<PathBuf> {
    let mut nodes: Vec<PathBuf> = Vec::new();
    for s in &layout.strips {
        let node = match (s.driver, &s.device) {
            (Driver::Spi | Driver::Pio, Some(d)) => Some(d.clone()),
            (Driver::Ws281x, _) if s.gpio == 10 => Some("/dev/spidev0.0".into()),
            _ => None,
        };
        if let Some(n) = node.filter(|n| !nodes.contains(n)) {
            nodes.push(n);
        }
    }
    nodes
}

fn access(path: &Path) -> Access {
    use std::os::unix::ffi::OsStrExt;
    if !path.exists() {
        return Access::Missing;
    }
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Access::Denied;
    };
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
        Access::Writable
    } else {
        Access::Denied
    }
}

fn read_revision() -> Option<u32> {
    if let Ok(b) = std::fs::read("/proc/device-tree/system/linux,revision") {
        if let [a, b, c, d] = b[..] {
            return Some(u32::from_be_bytes([a, b, c, d]));
        }
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    parse_cpuinfo_revision(&cpuinfo)
}

/// The `Revision : a02082` line of `/proc/cpuinfo`.
pub fn parse_cpuinfo_revision(cpuinfo: &str) -> Option<u32> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "Revision")
            .then(|| u32::from_str_radix(v.trim(), 16).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests;
