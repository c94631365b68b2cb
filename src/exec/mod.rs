//! Executing an upgrade: the engine (a reconciler), its preflight and steps, its events, and
//! the command launcher.

mod budget;
pub mod engine;
mod error;
pub mod events;
#[cfg(test)]
mod fixtures;
pub mod hooks;
pub mod launcher;
mod observer;
mod options;
pub(crate) mod preflight;
pub mod shell;
mod steps;

pub use engine::{
    Engine, EngineError, EngineParts, FinalizePolicy, Outcome, RunOptions, StepError,
};
pub use events::{Event, NullReporter, Reporter};
pub use launcher::CommandLauncher;
