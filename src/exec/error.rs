//! Why a run stops ([`EngineError`]) and what goes wrong inside a step ([`StepError`]).

use super::hooks::HookError;
use super::launcher::LaunchError;
use crate::ccf::governance::GovError;
use crate::ccf::{ClientError, Retry};
use crate::observe::ObserveError;
use crate::wait::WaitError;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// A precondition failed; nothing was changed.
    #[error("preflight failed: {}", .failed.join("; "))]
    Preflight {
        /// Failed checks.
        failed: Vec<String>,
    },
    /// The next step's gate did not hold in time.
    #[error("step {step} is blocked: {reason}")]
    Blocked {
        /// Step description.
        step: String,
        /// Why.
        reason: String,
    },
    /// A step failed.
    #[error("step {step} failed")]
    Step {
        /// Step description.
        step: String,
        /// A new node failed to join, attest, catch up or stay healthy: what
        /// `[safety] on_failure = "rollback"` rolls back.
        new_node: bool,
        /// Why.
        #[source]
        source: StepError,
    },
    /// The run launched as many nodes as the plan asks for and the target still lacks
    /// nodes: it stops rather than launch more.
    #[error("{reason}")]
    LaunchBudgetSpent {
        /// The launched nodes and why none qualified.
        reason: String,
    },
    /// `noderoll finalize` before the rest of the upgrade is done.
    #[error(
        "not ready to finalize: {} of the upgrade {} (next: {}); run `noderoll apply` first",
        crate::english::count(.remaining.len(), "step"),
        if .remaining.len() == 1 { "remains" } else { "remain" },
        .remaining.first().map(String::as_str).unwrap_or("-")
    )]
    NotReadyToFinalize {
        /// Descriptions of the steps left before finalize.
        remaining: Vec<String>,
    },
    /// Ctrl-C / SIGTERM.
    #[error("interrupted during step {step}; re-run the same command to continue")]
    Cancelled {
        /// Step description.
        step: String,
    },
    /// The service could not be observed.
    #[error(transparent)]
    Observe(Box<ObserveError>),
    /// A plan-file setting this service cannot take (what to change); nothing was changed.
    #[error("{0}")]
    Config(String),
}

impl From<ObserveError> for EngineError {
    fn from(e: ObserveError) -> Self {
        // A look cut short by a stop request is an interruption, not an unreachable service.
        if e.is_cancelled() {
            EngineError::Cancelled {
                step: "observe the service".into(),
            }
        } else {
            EngineError::Observe(Box::new(e))
        }
    }
}

/// What went wrong inside a step.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    /// Governance.
    #[error(transparent)]
    Gov(#[from] GovError),
    /// A request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A wait.
    #[error(transparent)]
    Wait(#[from] WaitError<ClientError>),
    /// The launcher.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A gating hook.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

impl StepError {
    /// A request that failed for a reason that passes (unreachable, busy, reset), after the
    /// client's own retries.
    pub(crate) fn transient(&self) -> bool {
        let transient = |c: &ClientError| matches!(c.retry(), Retry::Transient(_));
        match self {
            StepError::Client(c) | StepError::Gov(GovError::Client(c)) => transient(c),
            _ => false,
        }
    }

    /// A mistake of the plan file or this machine (a launcher or hook that cannot be run),
    /// not a new node failing: it stops the run and never marks the target as failed.
    pub(crate) fn is_configuration(&self) -> bool {
        match self {
            StepError::Hook(h) => h.cannot_run,
            StepError::Launch(LaunchError::Failed { cannot_run, .. }) => *cannot_run,
            _ => false,
        }
    }

    /// A wait cut short by a stop request.
    pub(crate) fn cancelled(&self) -> bool {
        matches!(
            self,
            StepError::Wait(WaitError::Cancelled { .. })
                | StepError::Gov(GovError::Wait(WaitError::Cancelled { .. }))
        )
    }
}
