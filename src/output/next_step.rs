//! The next step after an outcome, as data: what people read last on stderr and the JSON
//! documents carry as `next_step` (which step follows which error: `crate::next_step`).

use serde::Serialize;

/// What the next step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    /// Run the same command again: it continues where this one stopped.
    Continue,
    /// Roll back to the previous version.
    RollBack,
    /// Fix the thing named, then run the command.
    Fix,
    /// Wait for the thing named, then run the command.
    Wait,
    /// Apply the pending changes.
    Apply,
    /// Remove the old code version.
    Finalize,
    /// A bug: report it.
    Report,
}

/// The next step after an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NextStep {
    /// What to do.
    pub action: Action,
    /// The command that does it (after the fix, for `fix` and `wait`), if there is one.
    pub command: Option<String>,
    /// Why, naming what to fix or wait for.
    pub reason: String,
}

impl NextStep {
    pub(crate) fn new(action: Action, command: Option<String>, reason: impl Into<String>) -> Self {
        NextStep {
            action,
            command,
            reason: reason.into(),
        }
    }

    /// The line people read (ending with a newline).
    pub(crate) fn human(&self) -> String {
        let then = |lead: &str| match &self.command {
            Some(c) => format!("{lead}: {}\n  then: {c}\n", self.reason),
            None => format!("{lead}: {}\n", self.reason),
        };
        let run = |lead: &str| match &self.command {
            Some(c) => format!("{lead}: {c}\n  {}\n", self.reason),
            None => format!("{lead}: {}\n", self.reason),
        };
        match self.action {
            Action::Continue => run("To continue"),
            Action::RollBack => run("To roll back"),
            Action::Apply => run("To apply"),
            Action::Finalize => run("To finalize"),
            Action::Fix => then("Fix"),
            Action::Wait => then("Wait for"),
            Action::Report => format!("This is a bug; please report it: {}\n", self.reason),
        }
    }
}

/// Write `next`'s line to stderr (best effort), as the last thing a command says.
pub(crate) fn print_stderr(next: &NextStep) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(next.human().as_bytes());
}
