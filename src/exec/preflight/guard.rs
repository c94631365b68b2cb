//! The version guard: the target against the versions the service's nodes report.

use super::{Check, Notice, check, notice};
use crate::ccf::types::NodeStatus;
use crate::exec::options::RunOptions;
use crate::plan::version::{Jump, Verdict};
use crate::plan::{ServiceView, UpgradeSpec};

/// The version guard's check for `spec` on `view`. With no node outside the target to compare
/// with, the detail says why, by what the run does: a rollback goes back to the version the
/// nodes that stay report; a finalize finds every node already on the target.
pub(super) fn version_guard_of(
    view: &ServiceView,
    spec: &UpgradeSpec,
    options: &RunOptions,
) -> Check {
    let running = running_versions(view, spec);
    let target = spec.target.ccf_version.as_deref();
    if !running.is_empty() || target.is_none() {
        return version_guard(crate::plan::version::check(target, &running), options);
    }
    let mut on_target: Vec<String> = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
        .filter_map(|n| n.version.clone())
        .collect();
    on_target.sort();
    on_target.dedup();
    let reported = match on_target.as_slice() {
        [] => "no trusted node reported its version".to_string(),
        versions => format!("every trusted node reports {}", versions.join(", ")),
    };
    let detail = if options.rollback.is_some() {
        format!(
            "{reported}, all of the previous version the rollback returns to: nothing to compare"
        )
    } else {
        format!("{reported}: every trusted node already runs the target; nothing to compare")
    };
    check("version guard", true, detail)
}

/// Versions the trusted nodes not of the target report.
pub(super) fn running_versions(view: &ServiceView, spec: &UpgradeSpec) -> Vec<String> {
    view.nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
        .filter(|n| !n.claims.as_ref().is_some_and(|c| spec.target.matches(c)))
        .filter_map(|n| n.version.clone())
        .collect()
}

/// The version guard's check for `verdict`. Passed only because the operator said so (a
/// downgrade, a refused version path), it is a note: shown with what it let through.
pub(super) fn version_guard(verdict: Verdict, options: &RunOptions) -> Check {
    const NAME: &str = "version guard";
    let by_flag = |detail: String| notice(NAME, Notice::Note, detail);
    match verdict {
        Verdict::Allowed(d) => check(NAME, true, d),
        Verdict::Downgrade(d) | Verdict::MajorJump(Jump { refused: d, .. })
            if options.rollback.is_some() =>
        {
            check(
                NAME,
                true,
                format!("{d}: a rollback returns to the previous version"),
            )
        }
        Verdict::Downgrade(d) if options.allows_downgrade() => {
            by_flag(format!("{d} (allowed by --allow-downgrade)"))
        }
        Verdict::Downgrade(d) => check(
            NAME,
            false,
            format!("{d}; pass --allow-downgrade if this is intended"),
        ),
        Verdict::MajorJump(j) if options.allows_version_jump() => by_flag(j.allowed),
        Verdict::MajorJump(j) => check(
            NAME,
            false,
            format!(
                "{}; pass --allow-version-jump if this is intended",
                j.refused
            ),
        ),
    }
}
