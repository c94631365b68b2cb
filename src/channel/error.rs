//! The channel layer's error: why a channel or a service could not be looked at.

use super::fetch::FetchError;
use super::manifest::ManifestError;
use crate::ccf::TrustError;
use crate::journal::{JournalError, LockError};
use crate::observe::ObserveError;
use crate::settings::SettingsError;

/// Why a channel or a service could not be looked at. Each variant is the lower layer's
/// error as is (rendered as it renders); the command layer maps them to exit codes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookError {
    /// The channel manifest could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The channel manifest is malformed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The plan file.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The service certificate.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The service's state directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The service's journal.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The service could not be observed.
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// No trusted node showed an attestation.
    #[error("no trusted node showed what it runs (no quote could be read); retry when they answer")]
    NoClaims,
}
