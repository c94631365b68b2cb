//! Rollback, as a pure function of the observed service: which code version to go back to,
//! whether going back is still possible, and how many nodes the service should end with.
//!
//! A rollback is the same reconciliation as an upgrade, aimed at the previous version, with
//! the abandoned upgrade's leftovers (Pending nodes, launches that never joined, its code
//! version) taken away. Before any old node is retired it launches nothing and retires the new
//! nodes ("clean"); after, it launches nodes of the previous build to replace the retired ones
//! ("roll-forward"). Once the old code version is deregistered (finalize), it is impossible.

use std::collections::BTreeMap;

use super::gates::fault_tolerance;
use super::spec::{CodePlatform, Target, UpgradeSpec};
use super::view::{NodeView, ServiceView};
use crate::ccf::types::NodeStatus;

/// What a rollback of `spec.target` can do on the service as observed.
#[derive(Debug, Clone, PartialEq)]
pub enum RollbackFrom {
    /// Nothing of the target is on the service: no node runs it, none is Pending with it and
    /// it is not registered.
    NothingToRollBack,
    /// Go back to this version.
    To(Target),
    /// Going back is no longer possible, and why.
    Impossible(String),
}

/// The version before `spec.target`: the one the trusted nodes not on the target attest (they
/// must agree), else the one other code version still registered.
pub fn previous_target(view: &ServiceView, spec: &UpgradeSpec) -> RollbackFrom {
    let target = &spec.target;
    let live = |s: NodeStatus| matches!(s, NodeStatus::Trusted | NodeStatus::Pending);
    let registered = !target
        .register_actions(&view.join_policy)
        .iter()
        .any(|a| a.name.ends_with("_host_data"));
    let target_nodes = view
        .nodes
        .iter()
        .filter(|n| live(n.status) && on(target, n))
        .count();
    if target_nodes == 0 && !registered {
        return RollbackFrom::NothingToRollBack;
    }
    let builds = old_builds(view, target);
    match builds.len() {
        1 => {
            let ((h, m), versions) = builds.into_iter().next().expect("one build");
            RollbackFrom::To(previous(target, h, m, &versions))
        }
        0 => previous_registered(view, target),
        _ => {
            let list: Vec<String> = builds
                .iter()
                .map(|((h, _), v)| {
                    format!(
                        "{}… ({})",
                        &h[..h.len().min(8)],
                        crate::english::count(v.len(), "node")
                    )
                })
                .collect();
            RollbackFrom::Impossible(format!(
                "the nodes not on the target run {} different builds ({}): which one to go back to is not clear; finish or roll back that other upgrade first",
                list.len(),
                list.join(", ")
            ))
        }
    }
}

/// What the service runs besides `target` when exactly one other build is trusted: the
/// version a rollback would go back to, recorded when an upgrade starts.
pub fn running_build(view: &ServiceView, target: &Target) -> Option<Target> {
    let builds = old_builds(view, target);
    if builds.len() != 1 {
        return None;
    }
    let ((h, m), versions) = builds.into_iter().next()?;
    Some(previous(target, h, m, &versions))
}

/// `n` attests `target`.
fn on(target: &Target, n: &NodeView) -> bool {
    n.claims.as_ref().is_some_and(|c| target.matches(c))
}

/// Builds (host data, measurement) of the trusted nodes not on the target, with the version
/// each reports.
fn old_builds(
    view: &ServiceView,
    target: &Target,
) -> BTreeMap<(String, String), Vec<Option<String>>> {
    let mut builds: BTreeMap<(String, String), Vec<Option<String>>> = BTreeMap::new();
    for n in view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted && !on(target, n))
    {
        // A node that does not answer shows no build; it is retired with the others not on
        // the version gone back to.
        let Some(c) = &n.claims else {
            continue;
        };
        builds
            .entry((c.host_data.to_ascii_lowercase(), c.measurement.clone()))
            .or_default()
            .push(n.version.clone());
    }
    builds
}

/// The target of a previous build, its version the one most of its nodes report.
fn previous(
    target: &Target,
    host_data: String,
    measurement: String,
    versions: &[Option<String>],
) -> Target {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in versions.iter().flatten() {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let ccf_version = counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(v, _)| v.to_string());
    Target {
        platform: target.platform,
        host_data,
        ccf_version,
        measurement: (target.platform == CodePlatform::Snp).then_some(measurement),
        security_policy: None,
        uvm_endorsement: None,
        // Relaunched nodes are trusted with the validity the operator chose.
        node_cert_validity_days: target.node_cert_validity_days,
    }
}

/// No old node left: the previous version is whatever else is still registered.
fn previous_registered(view: &ServiceView, target: &Target) -> RollbackFrom {
    let others: Vec<(String, Option<String>)> = match target.platform {
        CodePlatform::Virtual => view
            .join_policy
            .virtual_
            .iter()
            .flat_map(|v| &v.host_data)
            .filter(|h| !h.eq_ignore_ascii_case(&target.host_data))
            .map(|h| (h.clone(), None))
            .collect(),
        CodePlatform::Snp => {
            let snp = view.join_policy.snp.clone().unwrap_or_default();
            let measurement = snp
                .measurements
                .iter()
                .find(|m| !m.eq_ignore_ascii_case(target.measurement()))
                .or_else(|| snp.measurements.first())
                .cloned();
            snp.host_data
                .keys()
                .filter(|h| !h.eq_ignore_ascii_case(&target.host_data))
                .map(|h| (h.clone(), measurement.clone()))
                .collect()
        }
    };
    match others.as_slice() {
        [(h, m)] => RollbackFrom::To(previous(
            target,
            h.to_ascii_lowercase(),
            m.clone().unwrap_or_default(),
            &[],
        )),
        [] => RollbackFrom::Impossible(format!(
            "every node runs {} and no other code version is registered: the upgrade was finalized (the point of no return has passed). To go back, upgrade to the previous build with a plan whose [target] names it (and --allow-downgrade)",
            target.describe()
        )),
        many => RollbackFrom::Impossible(format!(
            "no node runs the previous version and {} other code versions are registered: which one to go back to is not clear",
            many.len()
        )),
    }
}

/// The node count and fault-tolerance floor of a rollback, `spec` being aimed at the previous
/// version. While new nodes are still being added no old node has been retired, so the old
/// nodes present are all of them; once the new nodes are all there, the service goes back to
/// the size the upgrade aimed for (`[nodes] count`, or as many nodes as it had).
pub fn resolve_context(view: &ServiceView, spec: &UpgradeSpec) -> (usize, usize) {
    let trusted = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted);
    let (previous, upgraded): (Vec<_>, Vec<_>) =
        trusted.partition(|n| n.claims.as_ref().is_some_and(|c| spec.target.matches(c)));
    let aimed = spec.nodes.count.unwrap_or(upgraded.len());
    let desired = if upgraded.len() >= aimed {
        previous.len().max(aimed)
    } else {
        previous.len()
    }
    .max(1);
    let min_f = spec
        .safety
        .min_fault_tolerance
        .unwrap_or_else(|| fault_tolerance(desired));
    (desired, min_f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{self, service};

    fn spec(count: Option<usize>) -> UpgradeSpec {
        let mut s = fixtures::spec();
        s.nodes.count = count;
        s
    }

    fn node(i: usize, status: NodeStatus, build: &str, version: &str) -> NodeView {
        NodeView {
            version: Some(version.into()),
            ..fixtures::node(i, status, build)
        }
    }

    #[test]
    fn the_previous_version_is_what_the_old_nodes_run() {
        let mut nodes: Vec<_> = (0..3)
            .map(|i| node(i, NodeStatus::Trusted, "aa", "ccf-6.0.9"))
            .collect();
        nodes.push(node(4, NodeStatus::Pending, "bb", "ccf-7.0.2"));
        let v = service(nodes, &["aa", "bb"]);
        match previous_target(&v, &spec(None)) {
            RollbackFrom::To(t) => {
                assert_eq!(t.host_data, "aa".repeat(32));
                assert_eq!(t.ccf_version.as_deref(), Some("ccf-6.0.9"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_to_roll_back_and_past_the_point_of_no_return() {
        let v = service(
            (0..3)
                .map(|i| node(i, NodeStatus::Trusted, "aa", "ccf-6.0.9"))
                .collect(),
            &["aa"],
        );
        assert_eq!(
            previous_target(&v, &spec(None)),
            RollbackFrom::NothingToRollBack
        );
        let v = service(
            (0..3)
                .map(|i| node(i, NodeStatus::Trusted, "bb", "ccf-7.0.2"))
                .collect(),
            &["bb"],
        );
        assert!(
            matches!(previous_target(&v, &spec(None)), RollbackFrom::Impossible(m) if m.contains("finalized"))
        );
        // All old nodes retired, old version still registered (finalize held): go back to it.
        let v = service(
            (0..3)
                .map(|i| node(i, NodeStatus::Trusted, "bb", "ccf-7.0.2"))
                .collect(),
            &["aa", "bb"],
        );
        assert!(
            matches!(previous_target(&v, &spec(None)), RollbackFrom::To(t) if t.host_data == "aa".repeat(32))
        );
    }

    #[test]
    fn the_rollback_size_is_the_size_before_the_upgrade() {
        let prev = |s: &UpgradeSpec, v: &ServiceView| {
            let RollbackFrom::To(t) = previous_target(v, s) else {
                panic!()
            };
            UpgradeSpec {
                target: t,
                ..s.clone()
            }
        };
        // Adding: 3 old, 2 of 3 new trusted: keep the 3 old.
        let mut nodes: Vec<_> = (0..3)
            .map(|i| node(i, NodeStatus::Trusted, "aa", "6"))
            .collect();
        nodes.extend((3..5).map(|i| node(i, NodeStatus::Trusted, "bb", "7")));
        let v = service(nodes, &["aa", "bb"]);
        assert_eq!(resolve_context(&v, &prev(&spec(None), &v)).0, 3);
        // One old node retired: back to 3.
        let mut nodes: Vec<_> = (0..2)
            .map(|i| node(i, NodeStatus::Trusted, "aa", "6"))
            .collect();
        nodes.extend((3..6).map(|i| node(i, NodeStatus::Trusted, "bb", "7")));
        let v = service(nodes, &["aa", "bb"]);
        assert_eq!(resolve_context(&v, &prev(&spec(None), &v)), (3, 1));
        // A plan growing the service 3 → 5, 2 new trusted: the 3 old stay, nothing launched.
        let mut nodes: Vec<_> = (0..3)
            .map(|i| node(i, NodeStatus::Trusted, "aa", "6"))
            .collect();
        nodes.extend((3..5).map(|i| node(i, NodeStatus::Trusted, "bb", "7")));
        let v = service(nodes, &["aa", "bb"]);
        assert_eq!(resolve_context(&v, &prev(&spec(Some(5)), &v)).0, 3);
    }

    /// What a rollback runs, in its words: no step and no gate it can carry speaks of new or
    /// old nodes, or of the target (a rollback's target is the version it goes back to).
    #[test]
    fn a_rollbacks_steps_and_gates_never_speak_of_the_upgrade() {
        use crate::plan::gates::{Gate, in_rollback_words};
        use crate::plan::step::Step;
        use std::time::Duration;
        let retire = Step::RetireNode {
            node_id: "ab".repeat(32),
            address: None,
            primary: true,
        };
        let steps = [
            Step::RegisterCode { actions: vec![] },
            Step::FreshSnapshot,
            Step::LaunchNodes { count: 2 },
            Step::TrustNodes {
                node_ids: vec![],
                count: 2,
            },
            Step::Soak {
                duration: Duration::from_secs(1),
            },
            retire,
        ];
        // A rollback has no canary and no finalize of its own.
        let gates = crate::plan::gates::FIXED
            .into_iter()
            .filter(|g| !matches!(g, Gate::CanarySoak | Gate::Finalize { .. }))
            .chain([Gate::RetireNode {
                min_fault_tolerance: 1,
            }]);
        let texts = steps
            .iter()
            .map(|s| s.describe_for(true))
            .chain(gates.map(|g| g.text_for(true)))
            .chain([in_rollback_words(
                "new node ab is not healthy; launch more new nodes ([nodes] count)",
            )]);
        for text in texts {
            for upgrade in [
                "new node",
                "old node",
                "the target",
                "this upgrade",
                "upgrade to",
            ] {
                assert!(!text.contains(upgrade), "{upgrade:?} in {text:?}");
            }
        }
    }
}
