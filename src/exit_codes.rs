//! Process exit codes: a public contract for scripts and CI. A published value never changes.
//!
//! The same table ([`TABLE`]) is printed by `noderoll --help`, is the man page's EXIT STATUS
//! and is the README's (`tests/it/generated.rs` checks all three).

/// Everything asked for was done (or there was nothing to do).
pub(crate) const SUCCESS: u8 = 0;
/// An unexpected internal failure (a bug): please report it.
pub(crate) const INTERNAL: u8 = 1;
/// Changes are pending (`plan --detailed-exitcode`, `channel check`).
pub(crate) const CHANGES_PENDING: u8 = 2;
/// A step failed or a wait timed out; the service was left at a known, safe step.
pub(crate) const STEP_FAILED: u8 = 3;
/// Interrupted (Ctrl-C / SIGTERM) at a safe point; re-running the same command resumes.
pub(crate) const RESUMABLE: u8 = 4;
/// A precondition check failed before anything changed.
pub(crate) const PREFLIGHT_FAILED: u8 = 5;
/// Another run holds the lock on this service's journal.
pub(crate) const LOCKED: u8 = 6;
/// A new node failed and the upgrade was rolled back: the service runs the previous version
/// again and the target is recorded as failed.
pub(crate) const ROLLED_BACK: u8 = 7;
/// Only `noderoll finalize` is left (`plan --detailed-exitcode`, `[safety] finalize =
/// "manual"`): `apply` has nothing more to do.
pub(crate) const FINALIZE_PENDING: u8 = 8;
/// Bad input: command line, plan file, key, certificate (nothing was sent to the service).
pub(crate) const USAGE: u8 = 64;
/// The service could not be used: unreachable, TLS/certificate mismatch, or answers that are
/// not CCF's.
pub(crate) const SERVICE_UNAVAILABLE: u8 = 69;

/// `(code, meaning)` for help text and docs, in ascending order.
pub(crate) const TABLE: &[(u8, &str)] = &[
    (SUCCESS, "success, or nothing to do"),
    (INTERNAL, "unexpected internal error (a bug)"),
    (
        CHANGES_PENDING,
        "changes pending (with --detailed-exitcode), or an upgrade available or in progress (channel check)",
    ),
    (
        STEP_FAILED,
        "a step failed or timed out; the service is at a known safe step",
    ),
    (RESUMABLE, "interrupted at a safe point; re-run to resume"),
    (
        PREFLIGHT_FAILED,
        "a precondition failed; nothing was changed",
    ),
    (LOCKED, "another run holds this service's lock"),
    (
        ROLLED_BACK,
        "a new node failed; the upgrade was rolled back to the previous version (target recorded as failed)",
    ),
    (
        FINALIZE_PENDING,
        "only finalize is left (plan --detailed-exitcode, finalize = \"manual\"); apply has nothing more to do",
    ),
    (
        USAGE,
        "bad input: arguments, plan file, keys or certificates",
    ),
    (
        SERVICE_UNAVAILABLE,
        "service unreachable, certificate mismatch, or not answering like CCF",
    ),
];

/// The exit-code table as text for `--help`.
pub(crate) fn help_text() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in TABLE {
        out.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    out
}
