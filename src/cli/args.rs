//! The clap definition of the command line. No I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::env_vars;
use crate::output::OutputFormat;

/// Rolling code upgrades for Microsoft CCF services.
#[derive(Debug, Parser)]
#[command(name = "noderoll", version, about, after_long_help = crate::exit_codes::help_text())]
pub struct Cli {
    /// Output format: `human` tables or one `json` document.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub output: OutputFormat,
    /// Less output (errors only on stderr).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show every node (status, primary, address, version, retirement), fault tolerance,
    /// registered code versions and open proposals. Read-only.
    Status(StatusArgs),
}

/// Where the service is: a plan file, or explicit flags (which win over the plan).
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Plan file whose `[service]` table names the service.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: Option<PathBuf>,
    /// A node of the service, `host:port` or `https://host:port` (repeat or comma-separate
    /// for several; the first that answers is used).
    #[arg(long = "service-url", env = env_vars::SERVICE_URL, value_delimiter = ',')]
    pub service_url: Vec<String>,
    /// The service certificate (`service_cert.pem`): the only TLS root trusted.
    #[arg(long, env = env_vars::SERVICE_CERT)]
    pub service_cert: Option<PathBuf>,
}

/// `noderoll status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Where the service is.
    #[command(flatten)]
    pub service: ServiceArgs,
}
