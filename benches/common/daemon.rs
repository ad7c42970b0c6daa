//! The daemon as the benches run it: a release binary (or another one, to compare builds) on a config
//! written to a temporary directory, `RUST_LOG=info` as deployed, stderr to a file so that no reader
//! thread of the bench competes with it; and the `/proc` figures the benches read from it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A numeric environment setting of a bench.
pub fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The binary to measure: `$var` when set, else the one this build made.
pub fn daemon_bin(var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_diuna").into())
}

/// The binary to measure as the packages ship it: `$var` when set, else this tree built by
/// `deploy/build-release.sh` (linked hot-first, as every package is) into `hot-first/` beside this
/// build's target directory. Linking changes how much of the executable is resident, not what it
/// does, so a bench of peak memory measures what users run. If that build fails (a toolchain without
/// Rust's lld), this build's plain binary, saying so. Returns the binary and how it was built.
pub fn packaged_bin(var: &str) -> (PathBuf, String) {
    if let Some(bin) = std::env::var_os(var) {
        return (bin.into(), format!("${var}"));
    }
    let plain = PathBuf::from(env!("CARGO_BIN_EXE_diuna"));
    let Some(target) = plain.parent().and_then(Path::parent) else {
        return (plain, "plain `cargo build --release`".into());
    };
    let target = target.join("hot-first");
    eprintln!(
        "building the binary as the packages link it: deploy/build-release.sh --target-dir {}",
        target.display()
    );
    let mut build = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/build-release.sh"
    ));
    build.arg("--target-dir").arg(&target).stdin(Stdio::null());
    // What cargo set for this bench, not for the build: a build script that tracks one of them
    // (ring's tracks CARGO_MANIFEST_DIR) would otherwise be rerun, and the build redone, each time
    // the binary was built from outside a bench in between (as CI does).
    for (name, _) in std::env::vars_os() {
        let set_by_cargo = name.to_str().is_some_and(|n| {
            n.starts_with("CARGO_PKG_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                ]
                .contains(&n)
        });
        if set_by_cargo {
            build.env_remove(&name);
        }
    }
    let status = build.status();
    match status {
        Ok(s) if s.success() => (
            target.join("release").join("diuna"),
            "linked as the packages are (deploy/build-release.sh)".into(),
        ),
        failed => {
            let why = failed.map_or_else(|e| e.to_string(), |s| s.to_string());
            eprintln!("deploy/build-release.sh failed ({why}): measuring the plain build");
            (
                plain,
                format!("plain `cargo build --release`: deploy/build-release.sh failed ({why})"),
            )
        }
    }
}

/// Drops `bin`'s pages from the page cache (clean pages no process maps), so that the next start reads
/// it from disk as at boot. A program's resident code depends on how the page cache holds its file:
/// a fault maps whatever of the 64 KiB around it is cached (fault-around), so a binary just written
/// (by the build, by `strip`, by a package upgrade) maps more of itself than one read from disk, and
/// peak RSS would depend on what happened to the file before the run. Unprivileged, and only this
/// file (unlike `drop_caches`). Best effort: an error leaves the cache as it was.
pub fn read_from_disk_next_time(bin: &Path) {
    use std::os::fd::AsRawFd;
    if let Ok(f) = File::open(bin) {
        // SAFETY: a plain system call on a descriptor we own; it only advises the kernel.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

/// The number after `key` in a `/proc` status-style file (`VmHWM:`, `voluntary_ctxt_switches:`, …).
pub fn status_field(path: impl AsRef<Path>, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The daemon under measurement; `{dir}` in its config is its temporary directory.
pub struct BenchDaemon {
    child: Child,
    dir: tempfile::TempDir,
}

impl BenchDaemon {
    pub fn start(bin: &Path, toml: &str) -> BenchDaemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("diuna.toml");
        let toml = toml.replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&config, toml).expect("write config");
        let log = File::create(dir.path().join("diuna.log")).expect("log file");
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start diuna");
        BenchDaemon { child, dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("diuna.log")).unwrap_or_default()
    }

    /// `key` of `/proc/<pid>/status` in KiB (`VmHWM:`, `RssAnon:`, `RssFile:`, …); 0 when unreadable.
    pub fn status_kib(&self, key: &str) -> u64 {
        status_field(format!("/proc/{}/status", self.pid()), key).unwrap_or(0)
    }

    /// Where its resident memory is now (`/proc/<pid>/smaps`); `None` when unreadable.
    pub fn memory(&self) -> Option<Memory> {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", self.pid())).ok()?;
        let exe = std::fs::read_link(format!("/proc/{}/exe", self.pid())).ok()?;
        Some(Memory::parse(&smaps, &exe.to_string_lossy()))
    }

    /// SIGTERM and wait (bounded), then kill.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
    }
}

impl Drop for BenchDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's resident memory by where it comes from, in KiB (from `/proc/<pid>/smaps`): the
/// executable's own pages (its code and read-only data, as mapped from the file), the shared libraries' pages
/// (libc, libm, the loader: also counted in every other process that maps them), and anonymous memory
/// (heap, stacks, written data). `pss` is the proportional set size: shared pages divided among the
/// processes that map them, which is what the process adds to the machine's memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub executable: u64,
    pub libraries: u64,
    pub anon: u64,
    pub pss: u64,
}

impl Memory {
    fn parse(smaps: &str, exe: &str) -> Memory {
        let mut m = Memory::default();
        // The current mapping's path and resident KiB; its anonymous (written) pages count as anon.
        let (mut path, mut rss) = (String::new(), 0);
        let close = |m: &mut Memory, path: &str, rss: u64| {
            if path == exe {
                m.executable += rss;
            } else if path.starts_with('/') {
                m.libraries += rss;
            }
        };
        for line in smaps.lines() {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            if first.contains('-') && !first.ends_with(':') {
                // A mapping's header: address range, perms, offset, device, inode, [path].
                close(&mut m, &path, rss);
                path = words.nth(4).unwrap_or("").to_string();
                rss = 0;
                continue;
            }
            let kib: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match first {
                "Rss:" => rss += kib,
                "Anonymous:" => {
                    m.anon += kib;
                    rss = rss.saturating_sub(kib);
                }
                "Pss:" => m.pss += kib,
                _ => {}
            }
        }
        close(&mut m, &path, rss);
        m
    }
}
