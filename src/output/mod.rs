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

/// `1 step`, `8 steps`: a count with its noun, singular or plural.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Version of every JSON document noderoll prints. Bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_as_english() {
        assert_eq!(super::count(1, "step"), "1 step");
        assert_eq!(super::count(0, "step"), "0 steps");
        assert_eq!(super::count(8, "step"), "8 steps");
    }
}
