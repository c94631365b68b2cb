//! Why a service could not be observed. The texts are those the CLI prints (`error: ...`);
//! the command layer maps this into its own error type.

use crate::ccf::{ClientError, ErrorKind, Retry};

/// A failed observation.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ObserveError {
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
}

impl ObserveError {
    /// The request that failed last.
    fn client(&self) -> &ClientError {
        match self {
            ObserveError::NoNodeAnswered { last, .. } => last,
            ObserveError::Client(c) => c,
        }
    }

    /// A look cut short by Ctrl-C/SIGTERM (or a supervisor's stop): an interruption, not a
    /// service that failed to answer.
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(*self.client().kind, ErrorKind::Cancelled)
    }

    /// A failure that looking again may cure (not a certificate mismatch, ...).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self.client().retry(), Retry::Transient(_))
    }
}
