//! A fresh committed snapshot for the run's launches (`[nodes] fresh_snapshot`).
//!
//! The `trigger_snapshot` proposal (CCF `samples/constitutions/default/actions.js`: no
//! arguments, `apply` calls `ccf.node.triggerSnapshot()`) flags its transaction
//! `SNAPSHOT_AT_NEXT_SIGNATURE` (`src/node/node_state.h`, `trigger_snapshot`): the primary
//! snapshots at the next signature after it, and the file becomes
//! `snapshot_<seqno>_<evidence_seqno>.committed` once its evidence commits. So the snapshot
//! wanted is the latest committed one at or after the accepting transaction, which
//! `GET /node/snapshot?since=` finds (`ccf::client::snapshot`). The snapshot-creation endpoint
//! of the `SnapshotCreate` operator feature is not used: its path and behaviour could not be
//! read in CCF's source.
//!
//! Where the service does not serve `/node/snapshot` (the interface lacks `SnapshotRead`, or
//! an older CCF), nothing can be observed, so nothing is waited for: launches get the seqno
//! the snapshot is at or after, and the launcher must start each joiner from a committed
//! snapshot at least that recent (README, "Snapshots for joining nodes").

use serde_json::json;

use super::{StepCx, StepError};
use crate::ccf::actions::TRIGGER_SNAPSHOT;
use crate::ccf::types::Action;
use crate::ccf::{CcfClient, ClientError, NodeAddr, SnapshotLookup};
use crate::exec::events::Event;
use crate::plan::ServiceView;
use crate::plan::snapshot::FreshSnapshot;
use crate::wait::{Poller, Probe, WaitError, wait_until};

/// Propose `trigger_snapshot` (journaled first), then wait until a committed snapshot at or
/// after its transaction is listed; the run's launches get it.
pub(super) async fn fresh_snapshot(
    cx: &mut StepCx<'_>,
    view: &ServiceView,
) -> Result<(), StepError> {
    cx.report(Event::ProposalStarting {
        actions: vec![TRIGGER_SNAPSHOT.into()],
    });
    let action = Action {
        name: TRIGGER_SNAPSHOT.into(),
        args: json!({}),
    };
    let passed = cx.propose_passed(vec![action]).await?;
    let ask = cx.nodes_but(view, None);
    let since = match passed.txid {
        Some(t) => t.seqno,
        None => committed_seqno(cx.client, &ask).await?,
    };
    let snapshot = wait_listed(cx, since, &ask).await?;
    cx.report(Event::SnapshotReady {
        name: snapshot.name.clone(),
        seqno: snapshot.seqno,
    });
    cx.run.snapshot = Some(snapshot);
    Ok(())
}

/// The commit seqno of the first node of `ask` that answers (a lower bound for the snapshot
/// when the acceptance's transaction id is unknown).
async fn committed_seqno(c: &CcfClient, ask: &[NodeAddr]) -> Result<u64, StepError> {
    let mut last = None;
    for a in ask {
        match c.commit(a).await {
            Ok(info) => return Ok(info.transaction_id.seqno),
            Err(e) if e.another_may_answer() => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(|| StepError::Other("no node to ask".into()), Into::into))
}

/// What the wait saw: a snapshot, or why none can be observed.
enum Listed {
    Snapshot(String, u64),
    NotServed(String),
}

/// Wait until `ask` lists a committed snapshot at or after `since`.
async fn wait_listed(
    cx: &StepCx<'_>,
    since: u64,
    ask: &[NodeAddr],
) -> Result<FreshSnapshot, StepError> {
    let what = format!("a committed snapshot at or after seqno {since}");
    cx.report(Event::Waiting { what: what.clone() });
    let timeout = cx.spec.safety.step_timeout;
    let listed = wait_until(what, timeout, cx.cancel, Poller::service_default(), || {
        let (c, ask) = (cx.client.clone(), ask.to_vec());
        async move { look(&c, &ask, since).await }
    })
    .await;
    match listed {
        Ok(Listed::Snapshot(name, seqno)) => Ok(FreshSnapshot {
            name: Some(name),
            seqno,
        }),
        Ok(Listed::NotServed(why)) => {
            cx.report(Event::Warning {
                message: format!(
                    "the service does not list its snapshots ({why}), so noderoll cannot wait for the one it asked for: launches get NODEROLL_SNAPSHOT_SEQNO={since} and no NODEROLL_SNAPSHOT_NAME; the launcher must start each new node from a committed snapshot (snapshot_<seqno>_<evidence>.committed) with seqno ≥ {since}, copied from the primary's snapshots directory"
                ),
            });
            Ok(FreshSnapshot {
                name: None,
                seqno: since,
            })
        }
        Err(e @ WaitError::TimedOut { .. }) => Err(StepError::Other(format!(
            "{e}: trigger_snapshot was accepted, but no committed snapshot at or after seqno {since} was listed within [safety] step_timeout; check that the primary writes snapshots (its snapshots directory is writable and the service commits), then re-run; or set [nodes] fresh_snapshot = false and give the new nodes a recent committed snapshot by hand"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One look: the first node of `ask` that answers.
async fn look(c: &CcfClient, ask: &[NodeAddr], since: u64) -> Result<Probe<Listed>, ClientError> {
    for a in ask {
        match c.latest_snapshot(a, since).await {
            Ok(SnapshotLookup::Found { name, seqno }) => {
                return Ok(Probe::Ready(Listed::Snapshot(name, seqno)));
            }
            Ok(SnapshotLookup::NoneYet) => {
                return Ok(Probe::NotYet(format!(
                    "{a} has no committed snapshot at or after seqno {since} yet"
                )));
            }
            Ok(SnapshotLookup::NotServed(why)) => return Ok(Probe::Ready(Listed::NotServed(why))),
            Err(e) if e.another_may_answer() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Probe::NotYet("no node answered".into()))
}
