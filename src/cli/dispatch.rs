//! `main_impl`: parse, set up logging and the runtime, run the command, map the result to an
//! exit code, and print any error once.

use std::io::Write;
use std::process::ExitCode;

use super::args::{ChannelAction, Cli, Command};
use crate::errors::{AppError, render};
use crate::exit_codes;
use crate::output::Printer;
use crate::output::printer::write_stdout;
use crate::wait::Cancel;

/// The whole program; `main` only calls this.
pub fn main_impl() -> ExitCode {
    let began = std::time::Instant::now();
    let cli = match Cli::parse_args() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                refused_command_line(&e, began);
            }
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
    let json = cli.output == crate::output::OutputFormat::Json;
    // These say what to do next themselves when they exit non-zero without an error.
    let says_next = matches!(
        cli.command,
        Command::Plan(_) | Command::Channel(_) | Command::Rollback(_)
    );
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
    ended(result, says_next, json, began)
}

/// Map the command's result to an exit code; every non-zero exit ends with what to do next
/// (and, with `--output json`, a document on stdout).
fn ended(
    result: Result<u8, AppError>,
    says_next: bool,
    json: bool,
    began: std::time::Instant,
) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let commands = crate::next_step::Commands::from_args(&args);
    match result {
        Ok(code) => {
            if code != exit_codes::SUCCESS
                && !says_next
                && let Some(next) = crate::next_step::after_exit(code, &commands)
            {
                crate::next_step::print_stderr(&next);
            }
            ExitCode::from(code)
        }
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit_codes::SUCCESS),
        Err(e) => {
            print_stderr(&render(&e));
            let next = crate::next_step::after_error(&e, &commands);
            if json && !crate::output::printer::printed_document() {
                print_refused(&e, &next, began);
            }
            crate::next_step::print_stderr(&next);
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(cli: Cli, cancel: Cancel) -> Result<u8, AppError> {
    use crate::commands as c;
    let printer = Printer::new(cli.output, cli.quiet, cli.verbose);
    match cli.command {
        Command::Status(args) => c::status::run(&args, printer, cancel).await,
        Command::Completions(args) => {
            write_stdout(&crate::cli::generate::completions(args.shell))?;
            Ok(exit_codes::SUCCESS)
        }
        Command::Man(args) => crate::cli::generate::man(args.dir.as_deref()),
        Command::Plan(args) => c::plan::run(&args, printer, cancel).await,
        Command::Apply(args) => c::apply::run(&args, printer, cancel).await,
        Command::Rollback(args) => c::apply::rollback(&args, printer, cancel).await,
        Command::Finalize(args) => c::apply::finalize(&args, printer, cancel).await,
        Command::Journal(args) => c::journal::run(&args, printer),
        Command::Channel(args) => match &args.action {
            ChannelAction::Check(a) => c::channel::check(a, printer, cancel).await,
            ChannelAction::ClearFailed(a) => c::channel::clear_failed(a, printer),
            ChannelAction::Apply(a) => c::channel::apply(a, printer, cancel).await,
        },
        Command::Vote(args) => c::vote::run(&args, printer, cancel).await,
        Command::Watch(args) => c::watch::run(&args, printer, cancel).await,
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => c::demo::run(&args, printer, cancel).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => c::sandbox::run(args, printer, cancel).await,
    }
}

/// `--output json`, an error before the command printed a document of its own: a pipeline
/// still gets a final document, the `summary` of a run that did nothing (outcome `failed`,
/// or `interrupted`), with the error and what to do next.
fn print_refused(e: &AppError, next: &crate::next_step::NextStep, began: std::time::Instant) {
    let summary = crate::output::summary::Summary::refused(
        e.exit_code() == exit_codes::RESUMABLE,
        seconds(began),
        crate::error_chain::document(e),
        next.clone(),
    );
    let _ = write_stdout(&crate::output::printer::json_line(&summary.record()));
}

/// A command line clap refused (exit 64), after clap's own text: what to do next and,
/// given `--output json`, the summary of a command that did nothing.
fn refused_command_line(e: &clap::Error, began: std::time::Instant) {
    let args: Vec<String> = std::env::args().collect();
    let (error, next) = super::usage::refused(e, &args);
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json");
    if json {
        let summary =
            crate::output::summary::Summary::refused(false, seconds(began), error, next.clone());
        let _ = write_stdout(&crate::output::printer::json_line(&summary.record()));
    }
    crate::next_step::print_stderr(&next);
}

/// Seconds since `began`, to the millisecond.
fn seconds(began: std::time::Instant) -> f64 {
    (began.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
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
