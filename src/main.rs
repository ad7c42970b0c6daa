//! The `diuna` binary: parses arguments, loads the config, sets up logging, builds the runtime and calls
//! [`diuna::app::run`]. Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use diuna::app::{self, RunOptions};
use diuna::config::Config;
use diuna::output::preview::Screen;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The command line (`diuna --help`).
#[derive(Debug, PartialEq)]
struct Args {
    /// Configuration file to run with.
    config: PathBuf,
    /// Validate this file, print the zone map and exit (0 valid, 2 invalid).
    check_config: Option<PathBuf>,
    /// Draw the simulated strips live in the terminal.
    preview: bool,
    /// Print the systemd drop-in the configuration needs and exit.
    systemd_drop_in: bool,
}

const DEFAULT_CONFIG: &str = "/etc/diuna/diuna.toml";

const HELP: &str = "\
WS281x LED zones on a Raspberry Pi as Home Assistant lights over MQTT.

Usage: diuna [OPTIONS]

Options:
  -c, --config <FILE>        Configuration file to run with [default: /etc/diuna/diuna.toml]
      --check-config <FILE>  Validate FILE, print the zone map and exit (0 valid, 2 invalid).
                             Touches no hardware or network
      --preview              Draw the simulated strips live in the terminal
      --systemd-drop-in      Print the systemd drop-in the configuration needs (its device nodes;
                             root only for rpi_ws281x on PWM/PCM) and exit. See
                             deploy/RASPBERRY-PI.md
  -h, --help                 Print help
  -V, --version              Print version
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Cli {
    Run(Args),
    Help,
    Version,
}

impl Args {
    /// The command line, or the help or version printed and exit 0, or the mistake and exit 2.
    fn parse() -> Args {
        match Args::parse_from(lexopt::Parser::from_env()) {
            Ok(Cli::Run(args)) => args,
            Ok(Cli::Help) => {
                print!("{HELP}");
                std::process::exit(0)
            }
            Ok(Cli::Version) => {
                println!("diuna {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0)
            }
            Err(e) => {
                eprintln!("diuna: {e}\n\nUsage: diuna [OPTIONS]; diuna --help says more");
                std::process::exit(2)
            }
        }
    }

    fn parse_from(mut p: lexopt::Parser) -> Result<Cli, lexopt::Error> {
        use lexopt::prelude::*;
        let mut config = None;
        let mut args = Args {
            config: PathBuf::from(DEFAULT_CONFIG),
            check_config: None,
            preview: false,
            systemd_drop_in: false,
        };
        while let Some(arg) = p.next()? {
            match arg {
                Short('c') | Long("config") => config = Some(PathBuf::from(p.value()?)),
                Long("check-config") => args.check_config = Some(PathBuf::from(p.value()?)),
                Long("preview") => args.preview = true,
                Long("systemd-drop-in") => args.systemd_drop_in = true,
                Short('h') | Long("help") => return Ok(Cli::Help),
                Short('V') | Long("version") => return Ok(Cli::Version),
                _ => return Err(arg.unexpected()),
            }
        }
        let conflict = |a: &str, b: &str| Err(format!("{a} cannot be used with {b}").into());
        if config.is_some() && args.check_config.is_some() {
            return conflict("--check-config", "--config");
        }
        if args.systemd_drop_in && args.check_config.is_some() {
            return conflict("--systemd-drop-in", "--check-config");
        }
        if args.systemd_drop_in && args.preview {
            return conflict("--systemd-drop-in", "--preview");
        }
        if let Some(c) = config {
            args.config = c;
        }
        Ok(Cli::Run(args))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = &args.check_config {
        return check_config(path);
    }
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("diuna: {}: {e}", args.config.display());
            return ExitCode::from(2);
        }
    };
    if args.systemd_drop_in {
        use std::io::Write;
        let text = diuna::unit::Needs::of(&config).drop_in();
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return ExitCode::SUCCESS;
    }
    let screen = args.preview.then(Screen::stdout);
    let terminals = (
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    );
    let log_screen = screen.clone().filter(|_| logs_through_preview(terminals));
    init_tracing(config.log_level.as_deref(), log_screen);
    // One thread for the async side (MQTT, state file, inputs): its tasks hand work to each other
    // without waking a second worker, so a command costs the two wake-ups it needs (its socket read,
    // then its state event) instead of four (issue 16, docs/PERFORMANCE.md). Frames have their own
    // threads; blocking file writes go to `spawn_blocking`'s threads (named `diuna-rt`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("diuna-rt")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        // Installed before anything starts, not when a spawned task first runs: a SIGTERM sent as
        // soon as the log says "diuna started" must stop the daemon cleanly, not kill it (the
        // signal's default action) because that task had not been polled yet.
        match stop_signals() {
            Ok(signals) => drop(tokio::spawn(wait_for_signal(signals, shutdown.clone()))),
            Err(e) => tracing::error!(error = %e, "cannot install the SIGTERM/SIGINT handlers"),
        }
        app::run(
            config,
            RunOptions {
                preview: screen,
                config_path: Some(args.config.clone()),
            },
            shutdown,
        )
        .await
    });
    // Every step of the stop is bounded inside `app::run` (`app::STOP_BUDGET`); do not let a blocking
    // task that is still stuck (a hung file system under the state file, say) hold the exit hostage.
    runtime.shutdown_timeout(app::RUNTIME_GRACE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "diuna failed");
            ExitCode::FAILURE
        }
    }
}

/// `--check-config FILE`: prints the zone map and what realtime input and a sync group would do, or
/// every error; exit 0 or 2.
fn check_config(path: &std::path::Path) -> ExitCode {
    let c = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}: valid", path.display());
    let _ = writeln!(
        out,
        "device_id {}, {} FPS (wire limit {:.0})",
        c.device_id,
        c.render.fps,
        c.layout.max_fps()
    );
    let _ = write!(out, "{}", c.layout.describe());
    let realtime = diuna::stream::mapping::describe(&c.realtime, &c.layout);
    let _ = write!(out, "{realtime}");
    let _ = write!(out, "{}", c.sync.describe(&c.mqtt.base_topic));
    ExitCode::SUCCESS
}

/// The SIGTERM and SIGINT streams; from this call on, those signals no longer kill the process.
fn stop_signals() -> std::io::Result<(Signal, Signal)> {
    Ok((
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    ))
}

/// Cancels `shutdown` on SIGTERM or SIGINT.
async fn wait_for_signal((mut term, mut int): (Signal, Signal), shutdown: CancellationToken) {
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}

/// Journald with structured fields under systemd, the terminal otherwise; level from `RUST_LOG`, else
/// the config's `log_level`, else `info`. Colours only when stderr is a terminal (and `NO_COLOR` is not
/// set): a log written to a file or a pipe carries no escape codes. With `screen` (the preview on a
/// terminal) each log line is written above the picture, which is redrawn below it.
fn init_tracing(level: Option<&str>, screen: Option<Arc<Screen>>) {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref(), level);
    let registry = tracing_subscriber::registry().with(filter);
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        registry
            .with(journald.with_syslog_identifier("diuna".into()))
            .init();
        return;
    }
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let layer = tracing_subscriber::fmt::layer().with_ansi(ansi);
    match screen {
        Some(screen) => registry
            .with(layer.with_writer(move || screen.log_writer()))
            .init(),
        None => registry.with(layer.with_writer(std::io::stderr)).init(),
    }
}

/// The log filter: `RUST_LOG` when it parses, else the config's `log_level`, else `info`. Directives are
/// `level` or `target=level` joined by commas (`info,rumqttc=warn`): tracing's `Targets`, which needs
/// no regular-expression engine (`EnvFilter`'s span and field filters cost ≈ 0.3 MiB of resident code
/// on a Pi Zero and no one filters a daemon's log by field values).
fn log_filter(rust_log: Option<&str>, level: Option<&str>) -> Targets {
    [rust_log, level]
        .into_iter()
        .flatten()
        .filter(|directives| !directives.trim().is_empty())
        .find_map(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Whether log lines go through the preview's screen: when standard output and standard error are
/// both the terminal the picture is on (a log redirected elsewhere cannot tear it).
fn logs_through_preview((stdout_terminal, stderr_terminal): (bool, bool)) -> bool {
    stdout_terminal && stderr_terminal
}

/// Whether to colour the log: only on a terminal, and not when `NO_COLOR` is set (https://no-color.org).
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{Args, Cli, DEFAULT_CONFIG, colour, log_filter, logs_through_preview};
    use std::path::PathBuf;

    fn cli(args: &[&str]) -> Result<Cli, String> {
        let argv = std::iter::once("diuna").chain(args.iter().copied());
        Args::parse_from(lexopt::Parser::from_iter(argv)).map_err(|e| e.to_string())
    }

    fn run(config: &str) -> Args {
        Args {
            config: PathBuf::from(config),
            check_config: None,
            preview: false,
            systemd_drop_in: false,
        }
    }

    #[test]
    fn the_command_line_takes_each_option_and_defaults_the_config() {
        assert_eq!(cli(&[]), Ok(Cli::Run(run(DEFAULT_CONFIG))));
        assert_eq!(cli(&["-c", "a.toml"]), Ok(Cli::Run(run("a.toml"))));
        assert_eq!(cli(&["--config=a.toml"]), Ok(Cli::Run(run("a.toml"))));
        let preview = Args {
            preview: true,
            ..run("config/diuna.toml")
        };
        assert_eq!(
            cli(&["--config", "config/diuna.toml", "--preview"]),
            Ok(Cli::Run(preview))
        );
        let check = Args {
            check_config: Some(PathBuf::from("b.toml")),
            ..run(DEFAULT_CONFIG)
        };
        assert_eq!(cli(&["--check-config", "b.toml"]), Ok(Cli::Run(check)));
        let drop_in = Args {
            systemd_drop_in: true,
            ..run("a.toml")
        };
        assert_eq!(
            cli(&["--systemd-drop-in", "-c", "a.toml"]),
            Ok(Cli::Run(drop_in))
        );
        assert_eq!(cli(&["--preview", "--help"]), Ok(Cli::Help));
        assert_eq!(cli(&["-V"]), Ok(Cli::Version));
    }

    #[test]
    fn a_wrong_command_line_says_what_is_wrong() {
        let err = |args: &[&str]| cli(args).expect_err("refused");
        assert!(err(&["--bogus"]).contains("--bogus"));
        assert!(err(&["stray"]).contains("stray"));
        assert!(
            err(&["--config"]).contains("--config"),
            "a value is missing"
        );
        assert!(err(&["--check-config", "a", "--config", "b"]).contains("--check-config"));
        assert!(err(&["--systemd-drop-in", "--preview"]).contains("--preview"));
        assert!(err(&["--systemd-drop-in", "--check-config", "a"]).contains("--check-config"));
    }
    use tracing::Level;

    #[test]
    fn the_log_filter_takes_rust_log_then_the_config_then_info() {
        let f = log_filter(Some("warn,diuna=debug"), Some("error"));
        assert!(f.would_enable("diuna::mqtt", &Level::DEBUG));
        assert!(!f.would_enable("rumqttc::state", &Level::INFO));
        assert!(f.would_enable("rumqttc::state", &Level::WARN));
        let f = log_filter(None, Some("debug"));
        assert!(f.would_enable("diuna", &Level::DEBUG));
        let f = log_filter(None, None);
        assert!(f.would_enable("diuna", &Level::INFO));
        assert!(!f.would_enable("diuna", &Level::DEBUG));
    }

    #[test]
    fn a_log_filter_that_does_not_parse_or_is_empty_is_passed_over() {
        let f = log_filter(Some("diuna=loud"), Some("trace"));
        assert!(
            f.would_enable("diuna", &Level::TRACE),
            "bad RUST_LOG: the config's level"
        );
        let f = log_filter(Some(" "), None);
        assert!(
            f.would_enable("diuna", &Level::INFO),
            "empty RUST_LOG: info, not silence"
        );
        let f = log_filter(Some("[span{x=1}]=bad"), Some(""));
        assert!(f.would_enable("diuna", &Level::INFO));
        assert!(!f.would_enable("diuna", &Level::DEBUG));
    }
    use std::ffi::OsStr;

    #[test]
    fn logs_go_through_the_preview_only_when_both_streams_are_the_terminal() {
        assert!(logs_through_preview((true, true)));
        assert!(!logs_through_preview((true, false)), "2> file: as always");
        assert!(!logs_through_preview((false, true)), "picture piped away");
        assert!(!logs_through_preview((false, false)));
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None), "file or pipe: never");
    }
}
