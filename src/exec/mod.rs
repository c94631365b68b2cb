//! Executing an upgrade: the engine (a reconciler), its preflight and steps, its events, and
//! the command launcher.

mod budget;
pub(crate) mod certs;
pub(crate) mod engine;
mod error;
pub(crate) mod events;
#[cfg(test)]
mod fixtures;
pub(crate) mod hooks;
pub(crate) mod launcher;
mod observer;
mod options;
pub(crate) mod preflight;
pub(crate) mod shell;
mod steps;

pub(crate) use engine::{Engine, EngineError, EngineParts, FinalizePolicy, Outcome, RunOptions};
#[cfg(test)]
pub(crate) use error::StepError;
pub(crate) use events::{Event, NullReporter, Reporter};
pub(crate) use launcher::CommandLauncher;
pub(crate) use observer::PrimaryStart;
