//! What can go wrong starting or driving the sandbox.

use super::pki::PkiError;

/// Why the sandbox could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Keys or certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A file or socket.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A request the sandbox refuses.
    #[error("{0}")]
    Refused(String),
}

/// An I/O failure described by what was being done.
pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Io { what, source }
}
