//! Launches an earlier run left in flight (it stopped between starting a launch command and
//! reading its answer): which Pending nodes are theirs, and settling them before anything
//! new is launched.

use std::time::{Duration, Instant};

use super::{Engine, EngineError};
use crate::ccf::types::NodeStatus;
use crate::exec::events::Event;
use crate::observe::Observation;
use crate::plan::{Launched, NodeView, ServiceView, UpgradeSpec};
use crate::wait::Poller;

impl Engine {
    /// Give each launch an earlier run left in flight its chance: wait, for at most
    /// `launch_timeout`, until as many unclaimed Pending nodes of the target are listed (a
    /// node whose `node_data` carries `noderoll_name` is matched to its launch exactly), adopt
    /// them, and cancel the launches that never produced one with the stop command by name.
    pub(super) async fn settle_in_flight(
        &mut self,
        mut obs: Observation,
        mut view: ServiceView,
    ) -> Result<(Observation, ServiceView), EngineError> {
        let names = std::mem::take(&mut self.options.in_flight);
        self.report(Event::Waiting {
            what: format!(
                "{} launch(es) an earlier run left in flight ({}) to appear Pending",
                names.len(),
                names.join(", ")
            ),
        });
        let deadline = Instant::now() + self.spec.nodes.launch_timeout;
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(1));
        let candidates = loop {
            let found = candidates(&obs, &view, &names, &self.options.adopted, &self.spec);
            if found.tagged.len() + found.untagged.len() >= names.len()
                || Instant::now() >= deadline
            {
                break found;
            }
            if !self.cancel.sleep(poller.next_delay()).await {
                return Err(EngineError::Cancelled {
                    step: "wait for launches left in flight".into(),
                });
            }
            (obs, view) = self.observe().await?;
        };
        let matched = match_launches(&names, candidates);
        self.options.adopted.extend(matched.adopted);
        for name in matched.unmatched {
            let message = self.give_up_on(&name, matched.adopted_untagged).await;
            self.report(Event::Warning { message });
        }
        Ok((obs, view))
    }

    /// Cancel the launch `name` that produced no node (unless a node matched by count could
    /// be it); what to warn.
    async fn give_up_on(&self, name: &str, adopted_untagged: bool) -> String {
        // Without a name in node_data, a launch matched by count could be this one:
        // stopping by name might stop an adopted node. Say so instead.
        if adopted_untagged {
            return format!(
                "launch {name} left in flight by an earlier run cannot be told apart from the nodes adopted (its launcher does not put noderoll_name in node_data); if it is still starting, stop it by hand"
            );
        }
        match self.launcher.cancel(name, &self.run_id).await {
            Ok(()) => format!(
                "launch {name} left in flight by an earlier run produced no Pending node within launch_timeout; cancelled with the stop command"
            ),
            Err(e) => format!(
                "launch {name} left in flight by an earlier run produced no Pending node and could not be cancelled; stop it by hand: {}",
                crate::error_chain::one_line(&e)
            ),
        }
    }
}

/// Pending nodes no run has claimed that could be launches left in flight.
#[derive(Debug, Default, PartialEq)]
struct Candidates {
    /// Those whose `node_data.noderoll_name` names one of the launches, with the name.
    tagged: Vec<(String, Launched)>,
    /// Those without a name.
    untagged: Vec<Launched>,
}

/// Pending nodes not in `adopted` that could be the target's (what they attest is the
/// target's, or unreadable), sorted by whether they name one of `names`. A node named by
/// another launch (of a run that is not this one's) is not ours.
fn candidates(
    obs: &Observation,
    view: &ServiceView,
    names: &[String],
    adopted: &[Launched],
    spec: &UpgradeSpec,
) -> Candidates {
    let mut out = Candidates::default();
    for (o, n) in obs.nodes.iter().zip(&view.nodes) {
        let claimed = adopted.iter().any(|l| l.is(n));
        let could_be_target = n.claims.as_ref().is_none_or(|c| spec.target.matches(c));
        if n.status != NodeStatus::Pending || claimed || !could_be_target {
            continue;
        }
        let name = o
            .info
            .node_data
            .get("noderoll_name")
            .and_then(|v| v.as_str());
        match name {
            Some(name) if names.iter().any(|x| x == name) => {
                out.tagged.push((name.to_string(), launched(n)));
            }
            Some(_) => {}
            None => out.untagged.push(launched(n)),
        }
    }
    out
}

fn launched(n: &NodeView) -> Launched {
    Launched {
        node_id: Some(n.node_id.clone()),
        rpc_address: n.address.clone(),
    }
}

/// How the launches left in flight were settled.
#[derive(Debug, PartialEq)]
struct Matched {
    /// Nodes to adopt: those named by a launch, then as many unnamed ones as launches remain.
    adopted: Vec<Launched>,
    /// Launches no node was found for.
    unmatched: Vec<String>,
    /// Whether unnamed nodes were adopted by count (then an unmatched launch may be one).
    adopted_untagged: bool,
}

/// Match the launches `names` to `found`: by name first, then by count.
fn match_launches(names: &[String], found: Candidates) -> Matched {
    let mut unmatched: Vec<String> = names
        .iter()
        .filter(|n| !found.tagged.iter().any(|(name, _)| name == *n))
        .cloned()
        .collect();
    let by_count = found.untagged.len().min(unmatched.len());
    unmatched.drain(..by_count);
    let mut adopted: Vec<Launched> = found.tagged.into_iter().map(|(_, l)| l).collect();
    adopted.extend(found.untagged.into_iter().take(by_count));
    Matched {
        adopted,
        unmatched,
        adopted_untagged: by_count > 0,
    }
}

/// Up to `take` Pending nodes attesting the target that `adopted` does not account for.
pub(super) fn unclaimed_pending(
    view: &ServiceView,
    spec: &UpgradeSpec,
    adopted: &[Launched],
    take: usize,
) -> Vec<Launched> {
    view.nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Pending && !adopted.iter().any(|l| l.is(n)))
        .filter(|n| n.claims.as_ref().is_some_and(|c| spec.target.matches(c)))
        .take(take)
        .map(launched)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fixtures::{NEW, node, observation, service, spec};

    fn l(i: usize) -> Launched {
        launched(&node(i, NodeStatus::Pending, NEW))
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn launches_are_matched_by_name_then_by_count() {
        let found = Candidates {
            tagged: vec![("b".into(), l(2))],
            untagged: vec![l(3)],
        };
        let m = match_launches(&names(&["a", "b", "c"]), found);
        assert_eq!(m.adopted, vec![l(2), l(3)]);
        // "a" took the unnamed node by count; "c" found none.
        assert_eq!(m.unmatched, names(&["c"]));
        assert!(m.adopted_untagged);
    }

    #[test]
    fn named_nodes_leave_no_doubt_about_the_launches_without_one() {
        let found = Candidates {
            tagged: vec![("a".into(), l(1))],
            untagged: Vec::new(),
        };
        let m = match_launches(&names(&["a", "b"]), found);
        assert_eq!(m.adopted, vec![l(1)]);
        assert_eq!(m.unmatched, names(&["b"]));
        assert!(!m.adopted_untagged);
    }

    #[test]
    fn unnamed_nodes_beyond_the_launches_are_not_adopted() {
        let found = Candidates {
            tagged: Vec::new(),
            untagged: vec![l(1), l(2), l(3)],
        };
        let m = match_launches(&names(&["a"]), found);
        assert_eq!(m.adopted, vec![l(1)]);
        assert!(m.unmatched.is_empty());
    }

    #[test]
    fn candidates_are_unclaimed_pending_nodes_that_could_be_the_target() {
        let mut unreadable = node(5, NodeStatus::Pending, NEW);
        unreadable.claims = None;
        let view = service(
            vec![
                node(1, NodeStatus::Trusted, NEW),
                node(2, NodeStatus::Pending, NEW),
                node(3, NodeStatus::Pending, "aa"),
                node(4, NodeStatus::Pending, NEW),
                unreadable,
                node(6, NodeStatus::Pending, NEW),
                node(7, NodeStatus::Pending, NEW),
            ],
            &["aa", NEW],
        );
        let obs = observation(
            &view,
            &[None, Some("a"), None, Some("other"), None, None, Some("b")],
        );
        let found = candidates(&obs, &view, &names(&["a", "b"]), &[l(6)], &spec());
        // Node 1 is Trusted, 3 attests another build, 4 is another launch's, 6 is claimed.
        assert_eq!(
            found,
            Candidates {
                tagged: vec![("a".into(), l(2)), ("b".into(), l(7))],
                untagged: vec![Launched {
                    node_id: Some(node(5, NodeStatus::Pending, NEW).node_id),
                    rpc_address: node(5, NodeStatus::Pending, NEW).address,
                }],
            }
        );
    }

    #[test]
    fn unclaimed_pending_nodes_of_the_target_are_found_up_to_the_count() {
        let view = service(
            vec![
                node(1, NodeStatus::Trusted, "aa"),
                node(2, NodeStatus::Pending, NEW),
                node(3, NodeStatus::Pending, "aa"),
                node(4, NodeStatus::Pending, NEW),
                node(5, NodeStatus::Pending, NEW),
            ],
            &["aa", NEW],
        );
        let spec = spec();
        let claimed = vec![l(2)];
        assert_eq!(
            unclaimed_pending(&view, &spec, &claimed, usize::MAX),
            vec![l(4), l(5)]
        );
        assert_eq!(unclaimed_pending(&view, &spec, &claimed, 1), vec![l(4)]);
        assert!(unclaimed_pending(&view, &spec, &[], 0).is_empty());
    }
}
