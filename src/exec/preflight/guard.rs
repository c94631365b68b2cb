//! The version guard: the target against the versions the service's nodes report.

use super::{Check, check};
use crate::ccf::types::NodeStatus;
use crate::exec::options::RunOptions;
use crate::plan::version::Verdict;
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

pub(super) fn version_guard(verdict: Verdict, options: &RunOptions) -> Check {
    let (ok, detail) = match verdict {
        Verdict::Allowed(d) => (true, d),
        Verdict::Downgrade(d) | Verdict::MajorJump(d) if options.rollback.is_some() => (
            true,
            format!("{d}: a rollback returns to the previous version"),
        ),
        Verdict::Downgrade(d) if options.allows_downgrade() => {
            (true, format!("{d} (allowed by --allow-downgrade)"))
        }
        Verdict::Downgrade(d) => (
            false,
            format!("{d}; pass --allow-downgrade if this is intended"),
        ),
        Verdict::MajorJump(d) if options.allows_version_jump() => {
            (true, format!("{d} (allowed by --allow-version-jump)"))
        }
        Verdict::MajorJump(d) => (
            false,
            format!("{d}; pass --allow-version-jump if this is intended"),
        ),
    };
    check("version guard", ok, detail)
}
