//! `noderoll watch`: follow a release channel for several services, unattended.
//!
//! [`window`] is the pure maintenance-window logic, [`supervisor`] the loop that checks the
//! channel and runs each service's upgrade as a supervised `noderoll channel apply` child
//! (one per service, at most `--max-concurrent` at once), emitting [`WatchEvent`]s that the
//! reporters of `output::watch` render.

pub mod events;
pub mod supervisor;
pub mod window;

pub use events::{WatchEvent, WatchReporter};
pub use supervisor::{Service, WatchConfig, run};
pub use window::{WatchSettings, Window};
