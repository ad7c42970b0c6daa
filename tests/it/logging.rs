//! The log as users read it: written to a pipe or a file (systemd without journald, `2> diuna.log`,
//! `| tee`), it carries plain text, no terminal escape codes.

use std::time::Duration;

use crate::support::{Broker, Daemon, wait_for};
use crate::testconfig::TestConfig;

#[test]
fn a_piped_log_has_no_escape_codes() {
    let broker = Broker::start();
    let d = Daemon::start(
        &TestConfig::new("lg")
            .mqtt(broker.port)
            .strip("a")
            .zone("z", "a", 2, [255, 255, 255])
            .build(),
    );
    // The harness reads stderr through a pipe; wait for lines of several levels and fields.
    let log = wait_for(Duration::from_secs(10), "start-up log", || {
        let log = d.log();
        log.contains("diuna started").then_some(log)
    });
    assert!(
        log.contains(" INFO ") && log.contains("zones=1"),
        "levels and fields are plain text: {log:?}"
    );
    assert!(
        !log.contains('\x1b'),
        "no ANSI escape in a piped log: {:?}",
        log.lines().find(|l| l.contains('\x1b'))
    );
    let (status, _, _) = d.stop();
    assert!(status.success());
}

#[test]
fn a_refused_real_time_priority_is_logged_once_with_the_reason() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("diuna.toml");
    std::fs::write(
        &config,
        TestConfig::new("lg")
            .strip("a")
            .zone("z", "a", 2, [255, 255, 255])
            .build()
            .replace("{dir}", &dir.path().display().to_string()),
    )
    .unwrap();
    // Take the privilege away: no real-time rlimit, and as root no CAP_SYS_NICE either.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--bounding-set",
            "-sys_nice",
            "--inh-caps",
            "-sys_nice",
            "prlimit",
        ]);
        c
    } else {
        Command::new("prlimit")
    };
    let mut child = cmd
        .args(["--rtprio=0", env!("CARGO_BIN_EXE_diuna"), "--config"])
        .arg(&config)
        .env("RUST_LOG", "info,diuna::realtime=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run diuna under setpriv/prlimit (util-linux)");
    let err = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let refusals = || -> Vec<String> {
        let log = log.lock().unwrap();
        log.lines()
            .filter(|l| l.contains("no real-time priority"))
            .map(String::from)
            .collect()
    };
    // Both frame-path threads (render, output) are refused.
    wait_for(Duration::from_secs(10), "both threads' refusals", || {
        (refusals().len() >= 2).then_some(())
    });
    let pid = child.id().to_string();
    let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success(), "{status:?}");
    let lines = refusals();
    let info: Vec<&String> = lines.iter().filter(|l| l.contains(" INFO ")).collect();
    assert_eq!(info.len(), 1, "at info once, for both threads: {lines:?}");
    assert!(
        info[0].contains("not permitted") && info[0].contains("LimitRTPRIO=10"),
        "the reason and the fix: {}",
        info[0]
    );
    assert_eq!(lines.len(), 2, "the other at debug: {lines:?}");
}
