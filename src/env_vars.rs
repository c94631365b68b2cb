//! Every environment variable noderoll reads or sets, in one place.

/// Overrides `--service-url` (comma-separated node addresses).
pub(crate) const SERVICE_URL: &str = "NODEROLL_SERVICE_URL";
/// Overrides `--service-cert`.
pub(crate) const SERVICE_CERT: &str = "NODEROLL_SERVICE_CERT";
/// Overrides `--plan`.
pub(crate) const PLAN: &str = "NODEROLL_PLAN";
/// Overrides the state directory (journals and locks), e.g. a CI cache.
pub(crate) const STATE_DIR: &str = "NODEROLL_STATE_DIR";
/// Log filter (tracing `EnvFilter` syntax), e.g. `noderoll=debug`.
pub(crate) const LOG: &str = "NODEROLL_LOG";

/// Set for an external signer: the member id (certificate fingerprint) being signed for.
pub(crate) const SIGNER_MEMBER_ID: &str = "NODEROLL_MEMBER_ID";
/// Set for an external signer: the JOSE/COSE algorithm name (`ES256`, `ES384`).
pub(crate) const SIGNER_ALG: &str = "NODEROLL_SIGN_ALG";
