//! Executing an upgrade: the engine, its events, and the command launcher.

pub mod engine;
pub mod events;
pub mod hooks;
pub mod launcher;
pub mod shell;

pub use engine::{Engine, EngineError, FinalizePolicy, Outcome};
pub use events::{Event, NullReporter, Reporter};
pub use launcher::CommandLauncher;
