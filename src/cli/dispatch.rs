//! `main_impl`: parse, set up logging and the runtime, run the command, map the result to an
//! exit code, and print any error once.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use super::args::{Cli, Command};
use crate::errors::{AppError, render};
use crate::exit_codes;
use crate::wait::Cancel;

/// The whole program; `main` only calls this.
pub fn main_impl() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit_codes::USAGE
            } else {
                exit_codes::SUCCESS
            });
        }
    };
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            print_stderr(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(exit_codes::INTERNAL);
        }
    };
    let (cancel_handle, cancel) = Cancel::new();
    let supervised = cli.supervised;
    let result = runtime.block_on(async {
        if supervised {
            stop_when_stdin_closes(cancel_handle);
            // Installed so that signals do not kill: the supervisor decides when to stop.
            tokio::spawn(async {
                loop {
                    wait_for_stop_signal().await;
                }
            });
        } else {
            tokio::spawn(async move {
            // First signal: stop at the next safe point (waits end at once). Second: abort now.
            wait_for_stop_signal().await;
            cancel_handle.cancel();
            wait_for_stop_signal().await;
            print_stderr("error: interrupted twice: aborting immediately; re-run the same command to continue");
            std::process::exit(i32::from(exit_codes::RESUMABLE));
            });
        }
        run(cli, cancel).await
    });
    // Do not wait for stray in-flight requests on the way out.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit_codes::SUCCESS),
        Err(e) => {
            print_stderr(&render(&e));
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(cli: Cli, cancel: Cancel) -> Result<u8, AppError> {
    match cli.command {
        Command::Status(args) => crate::commands::status::run(&args, cli.output, cancel).await,
        Command::Completions(args) => {
            print_stdout(&crate::cli::generate::completions(args.shell))?;
            Ok(exit_codes::SUCCESS)
        }
        Command::Man => {
            print_stdout(&crate::cli::generate::man_page())?;
            Ok(exit_codes::SUCCESS)
        }
        Command::Plan(args) => crate::commands::plan::run(&args, cli.output, cancel).await,
        Command::Apply(args) => {
            crate::commands::apply::run(&args, cli.output, cli.quiet, cancel).await
        }
        Command::Rollback(args) => {
            crate::commands::apply::rollback(&args, cli.output, cli.quiet, cancel).await
        }
        Command::Finalize(args) => {
            crate::commands::apply::finalize(&args, cli.output, cli.quiet, cancel).await
        }
        Command::Journal(args) => crate::commands::journal::run(&args, cli.output),
        Command::Channel(args) => match &args.action {
            crate::cli::args::ChannelAction::Check(a) => {
                crate::commands::channel::check(a, cli.output, cancel).await
            }
            crate::cli::args::ChannelAction::ClearFailed(a) => {
                crate::commands::channel::clear_failed(a, cli.output)
            }
            crate::cli::args::ChannelAction::Apply(a) => {
                crate::commands::channel::apply(a, cli.output, cli.quiet, cancel).await
            }
        },
        Command::Vote(args) => crate::commands::vote::run(&args, cli.output, cancel).await,
        Command::Watch(args) => {
            crate::commands::watch::run(&args, cli.output, cli.quiet, cli.verbose, cancel).await
        }
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => {
            crate::commands::demo::run(&args, cli.output, cli.quiet, cancel).await
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => crate::commands::sandbox::run(args, cli.output, cancel).await,
    }
}

/// `--supervised`: the supervisor closes our stdin to stop us (and so does its death).
fn stop_when_stdin_closes(handle: crate::wait::CancelHandle) {
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 64];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        handle.cancel();
    });
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_logging(cli: &Cli) {
    #[cfg(feature = "sandbox")]
    let serving_sandbox = matches!(&cli.command, Command::Sandbox(a) if a.action.is_none());
    #[cfg(not(feature = "sandbox"))]
    let serving_sandbox = false;
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        // A sandbox's own log (joins refused, elections, invariant violations) is its output.
        (false, 0) if serving_sandbox => "warn,noderoll::sandbox=info",
        (false, 0) => "warn",
        (false, 1) => "noderoll=debug,warn",
        (false, _) => "noderoll=trace,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(crate::env_vars::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::output::progress::LogWriter)
        .with_ansi(crate::output::progress::use_color())
        .with_target(false)
        .without_time()
        .try_init();
}

/// The one place a final error reaches stderr (best effort: nothing is left to report to).
fn print_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Write to stdout, mapping failures (including a closed pipe) to [`AppError::Output`].
pub fn print_stdout(text: &str) -> Result<(), AppError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(AppError::Output)
}
