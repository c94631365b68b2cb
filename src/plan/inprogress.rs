//! Signs on the service itself that an upgrade is already under way, started by a run this
//! machine has no journal of (another machine, a lost state directory, or by hand). Pure.

use std::collections::BTreeMap;

use super::spec::UpgradeSpec;
use super::view::{Launched, ServiceView};
use crate::ccf::types::{NodeStatus, short_id};

/// What is seen, one sentence each; empty when nothing suggests an upgrade in progress.
/// `known` are the nodes this machine's journal (or `--adopt`) accounts for.
pub fn signs(view: &ServiceView, spec: &UpgradeSpec, known: &[Launched]) -> Vec<String> {
    let mut out = Vec::new();
    let mut builds: BTreeMap<String, usize> = BTreeMap::new();
    for n in view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
    {
        if let Some(c) = &n.claims {
            *builds.entry(c.host_data.to_ascii_lowercase()).or_default() += 1;
        }
    }
    if builds.len() > 1 {
        let list: Vec<String> = builds
            .iter()
            .map(|(h, n)| format!("{}… ×{n}", &h[..h.len().min(8)]))
            .collect();
        out.push(format!(
            "trusted nodes run {} different builds ({})",
            builds.len(),
            list.join(", ")
        ));
    }
    let foreign: Vec<&str> = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Pending)
        .filter(|n| n.claims.as_ref().is_some_and(|c| spec.target.matches(c)))
        .filter(|n| !known.iter().any(|l| l.is(n)))
        .map(|n| short_id(&n.node_id))
        .collect();
    if !foreign.is_empty() {
        let one = foreign.len() == 1;
        out.push(format!(
            "Pending {} {} {} the target and no run on this machine launched {}",
            if one { "node" } else { "nodes" },
            foreign.join(", "),
            if one { "attests" } else { "attest" },
            if one { "it" } else { "them" },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{node, spec};

    fn view(nodes: Vec<crate::plan::NodeView>) -> ServiceView {
        ServiceView {
            primary: None,
            nodes,
            join_policy: Default::default(),
            primary_startup_seqno: None,
        }
    }

    #[test]
    fn one_build_and_no_stranger_is_quiet() {
        let v = view((0..3).map(|i| node(i, NodeStatus::Trusted, "aa")).collect());
        assert!(signs(&v, &spec(), &[]).is_empty());
    }

    #[test]
    fn mixed_builds_and_foreign_pending_nodes_are_named() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, "aa")).collect();
        nodes.push(node(4, NodeStatus::Trusted, "bb"));
        nodes.push(node(5, NodeStatus::Pending, "bb"));
        nodes.push(node(6, NodeStatus::Pending, "cc"));
        let v = view(nodes);
        let s = signs(&v, &spec(), &[]);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].contains("2 different builds") && s[0].contains("aaaaaaaa… ×3"));
        assert!(s[1].contains("55555555") && !s[1].contains("66666666"));
        // A node this machine launched is not foreign.
        let known = [Launched {
            node_id: Some("5".repeat(64)),
            rpc_address: None,
        }];
        assert_eq!(signs(&v, &spec(), &known).len(), 1);
    }
}
