//! Output: human tables and JSON documents. Stdout carries data only; diagnostics go to
//! stderr (through tracing).

pub mod events;
pub mod plan;
pub mod progress;
pub mod status;
pub mod watch;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Tables for people.
    Human,
    /// One JSON document (or JSON Lines for event streams), with `schema_version`.
    Json,
}

/// Version of every JSON document noderoll prints. Bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;
