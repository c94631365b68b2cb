//! The one error type commands return, its exit code, and how it is rendered: once, at the
//! top, as `error: ...` followed by its causes.

use crate::ccf::governance::GovError;
use crate::ccf::{ClientError, TrustError};
use crate::channel::error::LookError;
use crate::channel::fetch::FetchError;
use crate::exit_codes;
use crate::settings::SettingsError;
use crate::signing::IdentityError;
use crate::wait::WaitError;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    /// Plan file or flags.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Service certificate file.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// Member certificate, key or signer.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// No node of the service could be used.
    #[error("no node of the service answered (tried {tried}){hint}")]
    NoNodeAnswered {
        /// The addresses tried.
        tried: String,
        /// What else was tried and where the service's nodes may be now.
        hint: String,
        /// The last failure.
        #[source]
        last: Box<ClientError>,
    },
    /// A request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A governance operation failed.
    #[error(transparent)]
    Gov(Box<GovError>),
    /// The sandbox failed or refused.
    #[cfg(feature = "sandbox")]
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// A sandbox recorded invariant violations.
    #[error("the sandbox recorded {}", crate::english::count(*.0, "invariant violation"))]
    Violations(usize),
    /// The upgrade stopped.
    #[error(transparent)]
    Engine(#[from] crate::exec::EngineError),
    /// A saved plan cannot be applied.
    #[error(transparent)]
    SavedPlan(#[from] crate::plan::saved::SavedPlanError),
    /// Bad usage that clap cannot see.
    #[error("{0}")]
    Usage(String),
    /// Another run holds the service's lock, or the state directory is unusable.
    #[error(transparent)]
    Lock(#[from] crate::journal::LockError),
    /// The journal cannot be used.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// A watch ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// The operator declined at the prompt.
    #[error("not confirmed: nothing was changed")]
    Declined,
    /// A channel manifest could not be read.
    #[error(transparent)]
    ChannelFetch(#[from] crate::channel::fetch::FetchError),
    /// A release's package failed verification.
    #[error(transparent)]
    Package(#[from] crate::channel::package::PackageError),
    /// A channel manifest is malformed.
    #[error(transparent)]
    Manifest(#[from] crate::channel::manifest::ManifestError),
    /// The target failed before and was rolled back.
    #[error(
        "the target {target} failed on {at} and was rolled back ({reason}); fix the cause, then pass --retry-failed-target to try it again"
    )]
    FailedTarget {
        /// The target, described.
        target: String,
        /// When it failed.
        at: String,
        /// Why.
        reason: String,
    },
    /// A rollback cannot be done.
    #[error("cannot roll back: {0}")]
    RollbackImpossible(String),
    /// A new node failed and the upgrade was rolled back.
    #[error(
        "the upgrade to {target} failed and was rolled back: the service runs {to} again; the target is recorded as failed (--retry-failed-target tries it again)"
    )]
    RolledBack {
        /// The abandoned target, described.
        target: String,
        /// The version gone back to, described.
        to: String,
        /// The failure.
        #[source]
        failure: Box<crate::exec::EngineError>,
    },
    /// A new node failed and the rollback that followed failed too.
    #[error(
        "the upgrade failed ({failure}) and the automatic rollback failed too; `noderoll rollback --plan FILE` retries it, `noderoll apply` continues the upgrade instead"
    )]
    RollbackFailed {
        /// The upgrade's failure, on one line.
        failure: String,
        /// The rollback's failure.
        #[source]
        rollback: Box<AppError>,
    },
    /// Writing output failed.
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
    /// A failure with the next step its command worked out (a run's own resume command).
    #[error(transparent)]
    Next(Box<Noted>),
}

impl From<crate::observe::ObserveError> for AppError {
    fn from(e: crate::observe::ObserveError) -> Self {
        use crate::observe::ObserveError;
        match e {
            ObserveError::NoNodeAnswered { tried, hint, last } => {
                AppError::NoNodeAnswered { tried, hint, last }
            }
            ObserveError::Client(c) => AppError::Client(c),
        }
    }
}

impl From<LookError> for AppError {
    fn from(e: LookError) -> Self {
        match e {
            LookError::Fetch(e) => AppError::ChannelFetch(e),
            LookError::Manifest(e) => AppError::Manifest(e),
            LookError::Settings(e) => AppError::Settings(e),
            LookError::Trust(e) => AppError::Trust(e),
            LookError::Lock(e) => AppError::Lock(e),
            LookError::Journal(e) => AppError::Journal(e),
            LookError::Observe(e) => AppError::from(e),
            e @ LookError::NoClaims => AppError::Usage(e.to_string()),
        }
    }
}

/// The exit code of a failed look at a channel or a service (as its [`AppError`]'s).
pub(crate) fn look_exit_code(e: &LookError) -> u8 {
    match e {
        LookError::Fetch(e) => fetch_exit_code(e),
        LookError::Manifest(_) | LookError::Settings(_) | LookError::Trust(_) => exit_codes::USAGE,
        LookError::Lock(_) => exit_codes::LOCKED,
        LookError::Journal(e) => journal_exit_code(e),
        LookError::Observe(e) => observe_exit_code(e),
        LookError::NoClaims => exit_codes::USAGE,
    }
}

fn fetch_exit_code(e: &FetchError) -> u8 {
    match e {
        FetchError::Read { .. } | FetchError::NotHttps(_) | FetchError::Ca { .. } => {
            exit_codes::USAGE
        }
        FetchError::Http { .. } => exit_codes::SERVICE_UNAVAILABLE,
    }
}

/// As [`AppError::exit_code`] says for the observer's two failures.
fn observe_exit_code(e: &crate::observe::ObserveError) -> u8 {
    if e.is_cancelled() {
        exit_codes::RESUMABLE
    } else {
        exit_codes::SERVICE_UNAVAILABLE
    }
}

fn journal_exit_code(e: &crate::journal::JournalError) -> u8 {
    match e {
        crate::journal::JournalError::Newer { .. } => exit_codes::LOCKED,
        _ => exit_codes::INTERNAL,
    }
}

impl From<crate::output::WriteError> for AppError {
    fn from(e: crate::output::WriteError) -> Self {
        AppError::Output(e.0)
    }
}

impl From<GovError> for AppError {
    fn from(e: GovError) -> Self {
        AppError::Gov(Box::new(e))
    }
}

impl AppError {
    /// A read cut short by Ctrl-C/SIGTERM (or a supervisor's stop): an interruption at a
    /// safe point, not a service that failed to answer. (Inside a run, the engine turns these
    /// into [`crate::exec::EngineError::Cancelled`] itself.)
    pub(crate) fn is_cancelled(&self) -> bool {
        let client = |e: &ClientError| matches!(*e.kind, crate::ccf::error::ErrorKind::Cancelled);
        match self {
            AppError::NoNodeAnswered { last, .. } => client(last),
            AppError::Client(e) => client(e),
            AppError::Next(n) => n.error.is_cancelled(),
            _ => false,
        }
    }

    /// The documented exit code for this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        if self.is_cancelled() {
            return exit_codes::RESUMABLE;
        }
        match self {
            AppError::Settings(_) | AppError::Trust(_) | AppError::Identity(_) => exit_codes::USAGE,
            AppError::NoNodeAnswered { .. } | AppError::Client(_) => {
                exit_codes::SERVICE_UNAVAILABLE
            }
            AppError::Gov(g) => match g.as_ref() {
                GovError::Client(_) => exit_codes::SERVICE_UNAVAILABLE,
                GovError::Sign(_) => exit_codes::USAGE,
                GovError::NoActiveMember { .. } => exit_codes::PREFLIGHT_FAILED,
                GovError::Wait(WaitError::Cancelled { .. }) => exit_codes::RESUMABLE,
                _ => exit_codes::STEP_FAILED,
            },
            #[cfg(feature = "sandbox")]
            AppError::Sandbox(e) => match e {
                crate::sandbox::SandboxError::Refused(_) => exit_codes::USAGE,
                _ => exit_codes::INTERNAL,
            },
            AppError::Violations(_) => exit_codes::STEP_FAILED,
            AppError::Engine(e) => match e {
                crate::exec::EngineError::Preflight { .. }
                | crate::exec::EngineError::NotReadyToFinalize { .. } => {
                    exit_codes::PREFLIGHT_FAILED
                }
                crate::exec::EngineError::Cancelled { .. } => exit_codes::RESUMABLE,
                crate::exec::EngineError::Config(_) => exit_codes::USAGE,
                crate::exec::EngineError::Observe(inner) => observe_exit_code(inner),
                _ => exit_codes::STEP_FAILED,
            },
            AppError::SavedPlan(crate::plan::saved::SavedPlanError::Stale { .. }) => {
                exit_codes::PREFLIGHT_FAILED
            }
            AppError::SavedPlan(_) | AppError::Usage(_) => exit_codes::USAGE,
            AppError::Declined => exit_codes::PREFLIGHT_FAILED,
            AppError::Timeout(_) => exit_codes::STEP_FAILED,
            AppError::Lock(_) => exit_codes::LOCKED,
            AppError::Journal(e) => journal_exit_code(e),
            AppError::Output(_) => exit_codes::INTERNAL,
            AppError::FailedTarget { .. } | AppError::RollbackImpossible(_) => {
                exit_codes::PREFLIGHT_FAILED
            }
            AppError::RolledBack { .. } => exit_codes::ROLLED_BACK,
            AppError::Next(n) => n.error.exit_code(),
            AppError::Manifest(_) => exit_codes::USAGE,
            AppError::Package(crate::channel::package::PackageError::Fetch(_)) => {
                exit_codes::SERVICE_UNAVAILABLE
            }
            AppError::Package(_) => exit_codes::PREFLIGHT_FAILED,
            AppError::ChannelFetch(e) => fetch_exit_code(e),
            AppError::RollbackFailed { rollback, .. } => match rollback.exit_code() {
                exit_codes::RESUMABLE => exit_codes::RESUMABLE,
                _ => exit_codes::STEP_FAILED,
            },
        }
    }

    /// True when stdout went away (`noderoll ... | head`): not an error worth reporting.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        match self {
            AppError::Output(e) => e.kind() == std::io::ErrorKind::BrokenPipe,
            AppError::Next(n) => n.error.is_broken_pipe(),
            _ => false,
        }
    }
}

/// An error and the next step after it, worked out where the run's commands are known.
#[derive(Debug)]
pub(crate) struct Noted {
    /// The failure.
    pub error: AppError,
    /// What to do about it.
    pub next: crate::output::next_step::NextStep,
}

impl std::fmt::Display for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Noted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

pub(crate) use crate::error_chain::{one_line, render};
