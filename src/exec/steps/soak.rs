//! The soak: the nodes that stay must stay healthy for `[safety] soak` before any old node
//! is retired.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{StepCx, StepError};
use crate::ccf::NodeAddr;
use crate::ccf::types::short_id;
use crate::exec::events::Event;
use crate::plan::ServiceView;
use crate::plan::gates::{self, SOAK_ACK_SILENCE_MS, SOAK_STRIKES as STRIKES};
use crate::plan::planner;
use crate::wait::{Poller, WaitError};

/// The (primary, view) pairs the nodes reported in one look.
type Seen = BTreeSet<(Option<String>, u64)>;

/// Health of the nodes that stay, for the soak's duration. An idle service signs nothing,
/// so commits need not advance (CCF `src/node/history.h`: a signature only when there are
/// unsigned transactions); what is judged is that every new node is ready, agrees with
/// the others on primary and view, has reached the primary's commit as of the previous
/// look (as of the soak's start, first), and is heard from by the primary.
pub(super) async fn soak(
    cx: &mut StepCx<'_>,
    duration: Duration,
    view: &ServiceView,
) -> Result<(), StepError> {
    // A rollback soaks the previous version's nodes, not new ones.
    let whose = if cx.run.abandon.is_some() {
        "the previous version's nodes"
    } else {
        "the new nodes"
    };
    cx.report(Event::Waiting {
        what: format!("{}s of {whose} healthy", duration.as_secs_f64()),
    });
    let trusted: Vec<(String, NodeAddr)> = gates::soak_judges(view, &cx.spec.target)
        .into_iter()
        .filter_map(|n| Some((n.node_id.clone(), n.address.clone()?)))
        .collect();
    // Every new node must reach what the primary had committed when the soak began.
    let mut level_with = primary_commit(cx, view).await.map(|(c, _)| c);
    let end = Instant::now() + duration;
    let mut poller = Poller::new(Duration::from_millis(100), Duration::from_millis(500));
    let mut health = Health::default();
    // The soak ends on a clean look.
    loop {
        let primary = primary_commit(cx, view).await;
        let mut seen = Seen::new();
        let mut clean = true;
        for (id, addr) in &trusted {
            let problem = soak_look(cx, id, addr, level_with, primary.as_ref(), &mut seen).await;
            clean &= health.node(id, problem).map_err(StepError::Other)?;
        }
        clean &= health.agreement(&seen).map_err(StepError::Other)?;
        if let Some((commit, _)) = primary {
            level_with = Some(commit);
        }
        if clean && Instant::now() >= end {
            break;
        }
        let delay = poller
            .next_delay()
            .min(end.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(if clean { 0 } else { 50 }));
        if !cx.cancel.sleep(delay).await {
            return Err(StepError::Wait(WaitError::Cancelled {
                what: "the soak".into(),
            }));
        }
    }
    cx.run.soaked_new = planner::count_new(view, cx.spec);
    Ok(())
}

/// Failed looks in a row, per node and for agreement: a node failing `STRIKES` looks in a
/// row, or the nodes disagreeing on primary and view for `STRIKES` looks in a row, fails the
/// soak; a clean look resets the count (each look judged by the `soak_*` rules in
/// [`crate::plan::gates`]).
#[derive(Debug, Default)]
struct Health {
    strikes: BTreeMap<String, (usize, String)>,
    disagreements: usize,
}

impl Health {
    /// One look at node `id` found `problem`: `Ok(clean)`, or why the soak fails.
    fn node(&mut self, id: &str, problem: Option<String>) -> Result<bool, String> {
        let entry = self.strikes.entry(id.to_string()).or_default();
        match problem {
            None => {
                *entry = (0, String::new());
                Ok(true)
            }
            Some(p) => {
                *entry = (entry.0 + 1, p);
                if entry.0 >= STRIKES {
                    return Err(format!(
                        "node {} {} during the soak ({STRIKES} looks in a row)",
                        short_id(id),
                        entry.1
                    ));
                }
                Ok(false)
            }
        }
    }

    /// What the nodes reported in one look: `Ok(they agree on one known primary and view)`,
    /// or why the soak fails.
    fn agreement(&mut self, seen: &Seen) -> Result<bool, String> {
        if !gates::soak_agree(seen) {
            self.disagreements += 1;
            if self.disagreements >= STRIKES {
                return Err(format!(
                    "the new nodes disagree on the primary and view during the soak: {seen:?}"
                ));
            }
            Ok(false)
        } else {
            self.disagreements = 0;
            Ok(true)
        }
    }
}

/// One look at one new node during the soak: what is wrong with it, if anything. Adds the
/// (primary, view) it reports to `seen`.
async fn soak_look(
    cx: &StepCx<'_>,
    id: &str,
    addr: &NodeAddr,
    level_with: Option<u64>,
    primary: Option<&(u64, BTreeMap<String, u64>)>,
    seen: &mut Seen,
) -> Option<String> {
    let net = match cx.probe.network(addr).await {
        Ok(net) => net,
        Err(e) => return Some(format!("dropped out: {e}")),
    };
    seen.insert((net.primary_id.clone(), net.current_view));
    match cx.probe.ready_gov(addr).await {
        Ok(true) => {}
        Ok(false) => return Some("stopped serving governance".into()),
        Err(e) => return Some(format!("stopped serving governance: {e}")),
    }
    let commit = match cx.probe.commit(addr).await {
        Ok(c) => c.transaction_id.seqno,
        Err(e) => return Some(format!("did not report its commit: {e}")),
    };
    if let Err(problem) = gates::soak_level(commit, level_with) {
        return Some(problem);
    }
    // The primary's own view of the node, where it exposes one (CCF fills `acks` on
    // every node; only the primary's are meaningful). The primary itself has no entry.
    let silent_ms = primary.and_then(|(_, acks)| acks.get(id).copied());
    gates::soak_heard(silent_ms, SOAK_ACK_SILENCE_MS).err()
}

/// The primary's commit seqno, and its acknowledgement table where it exposes one.
async fn primary_commit(
    cx: &StepCx<'_>,
    view: &ServiceView,
) -> Option<(u64, BTreeMap<String, u64>)> {
    let primary = view.primary.as_ref()?;
    let addr = view
        .nodes
        .iter()
        .find(|n| n.node_id == *primary)?
        .address
        .clone()?;
    let commit = cx.probe.commit(&addr).await.ok()?.transaction_id.seqno;
    let acks = match cx.probe.consensus(&addr).await {
        Ok(c) => c
            .details
            .acks
            .into_iter()
            .map(|(id, a)| (id, a.last_received_ms))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    Some((commit, acks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_fails_the_soak_after_three_bad_looks_in_a_row() {
        let mut h = Health::default();
        let id = "a".repeat(64);
        assert_eq!(h.node(&id, Some("x".into())), Ok(false));
        assert_eq!(h.node(&id, Some("y".into())), Ok(false));
        // A clean look forgives.
        assert_eq!(h.node(&id, None), Ok(true));
        assert_eq!(h.node(&id, Some("x".into())), Ok(false));
        assert_eq!(h.node(&id, Some("x".into())), Ok(false));
        assert_eq!(
            h.node(&id, Some("is behind".into())),
            Err("node aaaaaaaa is behind during the soak (3 looks in a row)".into())
        );
    }

    #[test]
    fn strikes_are_counted_per_node() {
        let mut h = Health::default();
        for _ in 0..2 {
            assert_eq!(h.node("a", Some("x".into())), Ok(false));
            assert_eq!(h.node("b", Some("x".into())), Ok(false));
        }
        assert_eq!(h.node("b", None), Ok(true));
        assert!(h.node("a", Some("x".into())).is_err());
    }

    #[test]
    fn disagreement_on_primary_or_view_fails_after_three_looks_in_a_row() {
        let mut h = Health::default();
        let agreed: Seen = [(Some("p".to_string()), 2)].into();
        let split: Seen = [(Some("p".to_string()), 2), (Some("q".to_string()), 3)].into();
        let unknown: Seen = [(None, 2)].into();
        assert_eq!(h.agreement(&agreed), Ok(true));
        assert_eq!(h.agreement(&split), Ok(false));
        assert_eq!(h.agreement(&unknown), Ok(false));
        assert_eq!(h.agreement(&agreed), Ok(true));
        assert_eq!(h.agreement(&Seen::new()), Ok(false));
        assert_eq!(h.agreement(&split), Ok(false));
        assert!(
            h.agreement(&unknown)
                .unwrap_err()
                .starts_with("the new nodes disagree")
        );
    }
}
