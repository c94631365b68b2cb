//! Every environment variable noderoll reads or sets for the programs it runs, in one place
//! (the launcher's and hooks' are documented in the README).

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
/// Set (non-empty): no colours (https://no-color.org).
pub(crate) const NO_COLOR: &str = "NO_COLOR";
/// The columns human tables fit in, instead of the terminal's width (none when piped).
pub(crate) const COLUMNS: &str = "COLUMNS";
/// The state directory's default parent.
pub(crate) const XDG_DATA_HOME: &str = "XDG_DATA_HOME";

/// Set for an external signer: the member id (certificate fingerprint) being signed for.
pub(crate) const SIGNER_MEMBER_ID: &str = "NODEROLL_MEMBER_ID";
/// Set for an external signer: the JOSE/COSE algorithm name (`ES256`, `ES384`).
pub(crate) const SIGNER_ALG: &str = "NODEROLL_SIGN_ALG";

/// Set for a launch when the run made a fresh snapshot (`[nodes] fresh_snapshot`): its file
/// name, `snapshot_<seqno>_<evidence_seqno>.committed` (unset where the service lists none).
pub(crate) const SNAPSHOT_NAME: &str = "NODEROLL_SNAPSHOT_NAME";
/// Set for a launch when the run made a fresh snapshot: its seqno (without a name: the seqno
/// the joiner's snapshot must be at or after).
pub(crate) const SNAPSHOT_SEQNO: &str = "NODEROLL_SNAPSHOT_SEQNO";

/// `(variable, what it does)`: the man page's ENVIRONMENT section.
pub(crate) const DOCUMENTED: &[(&str, &str)] = &[
    (PLAN, "the plan file, for every command that takes --plan"),
    (
        SERVICE_URL,
        "the service's node addresses, comma-separated (--service-url)",
    ),
    (SERVICE_CERT, "the service certificate (--service-cert)"),
    (
        STATE_DIR,
        "the state directory: journals, locks, node addresses, package cache (--state-dir)",
    ),
    (
        XDG_DATA_HOME,
        "without NODEROLL_STATE_DIR or --state-dir, the state directory is $XDG_DATA_HOME/noderoll (else ~/.local/share/noderoll)",
    ),
    (
        LOG,
        "a log filter in tracing's EnvFilter syntax (e.g. noderoll=debug), instead of what -q and -v choose",
    ),
    (NO_COLOR, "set and not empty: no colours on stderr"),
    (
        COLUMNS,
        "the width human tables fit in, instead of the terminal's (piped output has no limit without it)",
    ),
    (
        SIGNER_MEMBER_ID,
        "set for an external signer: the member id (certificate fingerprint) it signs for",
    ),
    (
        SIGNER_ALG,
        "set for an external signer: the algorithm (ES256, ES384)",
    ),
    (
        SNAPSHOT_NAME,
        "set for a launch with [nodes] fresh_snapshot: the committed snapshot to start from (snapshot_<seqno>_<evidence>.committed)",
    ),
    (
        SNAPSHOT_SEQNO,
        "set for a launch with [nodes] fresh_snapshot: its seqno (without a name: the seqno the node's snapshot must be at or after)",
    ),
];

/// After [`DOCUMENTED`]: where the launcher's and the hooks' variables are described.
pub(crate) const COMMANDS_GET: &str = "Launch and stop commands get NODEROLL_RUN_ID, NODEROLL_NODE_INDEX, NODEROLL_NODE_NAME, NODEROLL_TARGET_RPC_ADDRESS, NODEROLL_SERVICE_CERT, NODEROLL_HOST_DATA, NODEROLL_PLATFORM, NODEROLL_CCF_VERSION, NODEROLL_PACKAGE, NODEROLL_SNAPSHOT_NAME, NODEROLL_SNAPSHOT_SEQNO, NODEROLL_NODE_ID and NODEROLL_NODE_RPC_ADDRESS; hooks get NODEROLL_HOOK, NODEROLL_RUN_ID and NODEROLL_NODE_ID: see the README (Command launcher contract; Hooks, canary and notifications).";
