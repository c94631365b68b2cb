//! `noderoll watch`: follow a release channel for several services, unattended.
//!
//! [`window`] is the pure maintenance-window logic, [`supervisor`] the loop that checks the
//! channel and runs each service's upgrade as a supervised `noderoll channel apply` child
//! (one per service, at most `--max-concurrent` at once), emitting [`WatchEvent`]s that the
//! reporters of `output::watch` render.

pub(crate) mod events;
pub(crate) mod supervisor;
pub(crate) mod window;

pub(crate) use events::WatchReporter;
pub(crate) use supervisor::{Service, WatchConfig, run};
pub(crate) use window::WatchSettings;
