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
//! Each look asks the trusted nodes in turn: in CCF 6.x only the primary that wrote the
//! snapshot has it (no backup → primary redirect). Where the service does not serve
//! `/node/snapshot` (newer CCF on an interface without `SnapshotRead`, or a CCF without the
//! endpoint), nothing can be observed, so nothing is waited for: launches get the seqno
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
    let ask = cx.nodes_but(view, None);
    // Read before the proposal exists: every snapshot committed by then is below it, and the
    // one asked for is taken after it. Read after the acceptance instead it may already be
    // past the snapshot asked for (its signature follows the acceptance within about a
    // second), which would then never be listed.
    let before = committed_seqno(cx.client, &ask).await.ok();
    cx.report(Event::ProposalStarting {
        actions: vec![TRIGGER_SNAPSHOT.into()],
    });
    let action = Action {
        name: TRIGGER_SNAPSHOT.into(),
        args: json!({}),
    };
    let passed = cx.propose_passed(vec![action]).await?;
    // Another member's ballot accepted it (no transaction id of ours): the seqno read before.
    let since = match (passed.txid, before) {
        (Some(t), _) => t.seqno,
        (None, Some(b)) => b,
        (None, None) => committed_seqno(cx.client, &ask).await?,
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

/// One look: each node of `ask` in turn until one has it. CCF 6.x has no backup → primary
/// redirect and each node looks only in its own snapshots directory, which only the primary
/// writes (`node_frontend.h`), so a backup's 404 says nothing of the others.
async fn look(c: &CcfClient, ask: &[NodeAddr], since: u64) -> Result<Probe<Listed>, ClientError> {
    let mut none_yet = Vec::new();
    for a in ask {
        match c.latest_snapshot(a, since).await {
            Ok(SnapshotLookup::Found { name, seqno }) => {
                return Ok(Probe::Ready(Listed::Snapshot(name, seqno)));
            }
            Ok(SnapshotLookup::NoneYet) => none_yet.push(a.to_string()),
            Ok(SnapshotLookup::NotServed(why)) => return Ok(Probe::Ready(Listed::NotServed(why))),
            Err(e) if e.another_may_answer() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Probe::NotYet(if none_yet.is_empty() {
        "no node answered".into()
    } else {
        format!(
            "no committed snapshot at or after seqno {since} yet ({} asked)",
            none_yet.join(", ")
        )
    }))
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::*;
    use crate::ccf::{ClientOptions, ServiceCert};
    use crate::sandbox::{Sandbox, SandboxOptions};
    use crate::wait::Cancel;

    #[tokio::test]
    async fn on_6x_a_backups_404_sends_the_look_on_to_the_node_that_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = SandboxOptions::new(dir.path());
        opts.startup_seqno = 40;
        let sb = Sandbox::start(opts).await.unwrap();
        // CCF 6.x: no redirect to the primary, each node serves its own directory's; only the
        // primary wrote this one.
        let (primary, backup) = sb.with_world(|w| {
            w.faults.snapshots_6x = true;
            let p = w.primary.clone().unwrap();
            w.snapshots[0].by = Some(p.clone());
            let addr = |n: &crate::sandbox::world::SimNode| n.address().parse::<NodeAddr>();
            let primary = w.nodes.iter().find(|n| n.node_id == p).map(addr);
            let backup = w.nodes.iter().find(|n| n.node_id != p).map(addr);
            (primary.unwrap().unwrap(), backup.unwrap().unwrap())
        });
        let cert = ServiceCert::load(&dir.path().join("service_cert.pem")).unwrap();
        let c = CcfClient::new(&cert, ClientOptions::default(), Cancel::never()).unwrap();
        assert_eq!(
            c.latest_snapshot(&backup, 39).await.unwrap(),
            SnapshotLookup::NoneYet
        );
        let ask = [backup.clone(), primary];
        match look(&c, &ask, 39).await.unwrap() {
            Probe::Ready(Listed::Snapshot(name, seqno)) => {
                assert_eq!((name.as_str(), seqno), ("snapshot_40_41.committed", 40));
            }
            _ => panic!("the primary's snapshot was not found"),
        }
        // 6.x finds strictly after `since`, and none has one after 40.
        match look(&c, &ask, 40).await.unwrap() {
            Probe::NotYet(why) => assert!(why.contains(&backup.to_string()), "{why}"),
            _ => panic!("found a snapshot at 40 with since=40"),
        }
    }
}
