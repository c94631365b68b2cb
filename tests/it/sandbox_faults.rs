//! Each fault the sandbox can inject has the effect it has on a real CCF service, and each
//! CCF rule the upgrade depends on is enforced (and its violation recorded).

use std::time::{Duration, Instant};

use noderoll::ccf::governance::{BALLOT_YES, GovError};
use noderoll::ccf::types::{Action, NodeStatus, ProposalBody, ProposalState, TxStatus};
use noderoll::ccf::{CcfClient, ClientOptions, NodeAddr, RetryPolicy, ServiceCert};
use noderoll::sandbox::control::apply_fault;
use noderoll::sandbox::{Fault, Platform};
use noderoll::signing::cose::{self, GovHeaders, MsgType};
use noderoll::wait::Cancel;
use serde_json::json;

use crate::common::*;

fn one_shot(r: &RunningSandbox) -> CcfClient {
    let cert = ServiceCert::load(&r.dir.path().join("service_cert.pem")).unwrap();
    let opts = ClientOptions {
        retry: RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    CcfClient::new(&cert, opts, Cancel::never()).unwrap()
}

fn body(actions: Vec<Action>) -> ProposalBody {
    ProposalBody { actions }
}

#[tokio::test]
async fn injected_503s_are_answered_and_retried() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    apply_fault(r.sandbox.core(), Fault::FailNext { count: 2 }).unwrap();
    let e = one_shot(&r).version(&r.entry).await.unwrap_err();
    assert!(e.is(503, "ServiceUnavailable"), "{e}");
    let before = r.client.requests_sent();
    assert_eq!(
        r.client.version(&r.entry).await.unwrap().ccf_version,
        "ccf-7.0.1"
    );
    assert_eq!(
        r.client.requests_sent() - before,
        2,
        "one more 503, then success"
    );

    apply_fault(r.sandbox.core(), Fault::FailFraction { fraction: 0.3 }).unwrap();
    for _ in 0..20 {
        r.client.network(&r.entry).await.unwrap();
    }
    assert!(
        r.client.requests_sent() - before > 22,
        "some of the 20 reads needed retries"
    );
}

#[tokio::test]
async fn killing_the_primary_starts_an_election_that_blocks_writes() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    apply_fault(r.sandbox.core(), Fault::SlowElections { factor: 20.0 }).unwrap();
    let old = r.client.network(&r.entry).await.unwrap();
    let primary = old.primary_id.clone().unwrap();
    apply_fault(
        r.sandbox.core(),
        Fault::Kill {
            node: primary.clone(),
        },
    )
    .unwrap();
    let backup = r.original_nodes().into_iter().find(|a| {
        r.sandbox
            .info()
            .nodes
            .iter()
            .any(|n| n.rpc_address == a.to_string() && n.node_id != primary)
    });
    let backup = backup.unwrap();
    // During the election: no primary, /node/network/nodes/primary fails, writes answer 503.
    let during = eventually("the election to start", 10, || {
        let (c, b) = (r.client.clone(), backup.clone());
        async move { c.network(&b).await.ok().filter(|n| n.primary_id.is_none()) }
    })
    .await;
    assert_eq!(during.current_view, old.current_view);
    let e = one_shot(&r).primary(&backup).await.unwrap_err();
    assert!(
        e.is(500, "InternalError") && e.message() == Some("Primary unknown"),
        "{e}"
    );
    let member = r.gov.members()[0].clone();
    let msg = cose::sign(
        &member,
        &GovHeaders {
            msg_type: MsgType::Proposal,
            created_at: now(),
            proposal_id: None,
        },
        b"{\"actions\":[]}",
    )
    .await
    .unwrap();
    let e = one_shot(&r)
        .create_proposal(&backup, &msg)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    // Then a surviving node leads, in a higher view.
    let after = eventually("a new primary", 20, || {
        let (c, b) = (r.client.clone(), backup.clone());
        async move { c.network(&b).await.ok().filter(|n| n.primary_id.is_some()) }
    })
    .await;
    assert_ne!(after.primary_id.unwrap(), primary);
    assert!(after.current_view > old.current_view);
    assert_eq!(
        r.sandbox.violations(),
        vec![],
        "a crash is the environment's doing, not a violation"
    );
}

fn now() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

#[tokio::test]
async fn a_partitioned_node_is_unreachable_until_healed() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let target = r.original_nodes()[2].clone();
    apply_fault(
        r.sandbox.core(),
        Fault::Partition {
            node: target.to_string(),
        },
    )
    .unwrap();
    let e = one_shot(&r).version(&target).await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    apply_fault(
        r.sandbox.core(),
        Fault::Heal {
            node: target.to_string(),
        },
    )
    .unwrap();
    eventually("the healed node to answer", 10, || {
        let (c, t) = (r.client.clone(), target.clone());
        async move { c.version(&t).await.ok() }
    })
    .await;
}

#[tokio::test]
async fn unregistered_builds_and_stuck_nodes_never_join() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let info = r.sandbox.info().clone();
    let (unregistered, _) = r.sandbox.launch(info.next_build.clone()).unwrap();
    apply_fault(r.sandbox.core(), Fault::NeverJoinNext).unwrap();
    let (stuck, _) = r.sandbox.launch(info.current_build.clone()).unwrap();
    let (control, _) = r.sandbox.launch(info.current_build.clone()).unwrap();
    let lifecycle = |id: &str| {
        let status = noderoll::sandbox::control::status_json(r.sandbox.core());
        let nodes = status["nodes"].as_array().unwrap().clone();
        nodes.iter().find(|n| n["node_id"] == id).unwrap()["lifecycle"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The join request of the unregistered build is answered: refused, and logged why.
    let refused = eventually("the unregistered build's join to be refused", 20, || {
        let l = lifecycle(&unregistered);
        async move { l.starts_with("refused").then_some(l) }
    })
    .await;
    assert!(
        refused.contains("Quote host data is not authorised"),
        "{refused}"
    );
    wait_pending(&r.client, &r.entry, &control).await;
    for id in [&unregistered, &stuck] {
        assert!(
            r.client.node(&r.entry, id).await.unwrap().is_none(),
            "{id} must not appear"
        );
    }
    assert_eq!(lifecycle(&stuck), "stuck");
}

#[tokio::test]
async fn another_members_add_proposal_drops_open_proposals() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let member = r.gov.members()[0].clone();
    let open = r
        .gov
        .propose(
            &member,
            &body(vec![Action::new(
                "set_node_data",
                json!({"node_id": r.sandbox.info().nodes[0].node_id, "node_data": 1}),
            )]),
        )
        .await
        .unwrap();
    apply_fault(r.sandbox.core(), Fault::InjectAddProposal).unwrap();
    let p = r
        .client
        .proposal(&r.entry, &open.proposal_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.proposal_state, ProposalState::Dropped);
    let submitted = noderoll::ccf::governance::Submitted {
        proposal_id: open.proposal_id,
        state: Some(ProposalState::Open),
        txid: None,
    };
    let e = r
        .gov
        .drive_to_acceptance(&submitted, r.gov.members(), 1, &Cancel::never())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            GovError::NotAccepted {
                state: ProposalState::Dropped,
                ..
            } | GovError::OutcomeUnknown { .. }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_member_that_is_not_active_cannot_sign() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let member = r.gov.members()[0].clone();
    apply_fault(
        r.sandbox.core(),
        Fault::MemberStatus {
            member_id: member.id().into(),
            active: false,
        },
    )
    .unwrap();
    let e = r
        .gov
        .pass(&body(vec![]), &Cancel::never())
        .await
        .unwrap_err();
    assert!(matches!(e, GovError::NoActiveMember { .. }), "{e}");
    let e = r.gov.propose(&member, &body(vec![])).await.unwrap_err();
    match e {
        GovError::Client(c) => assert!(
            c.is(401, "InvalidAuthenticationInfo")
                && c.message() == Some("Signer is not an ACTIVE member")
        ),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_proposal_that_fails_to_apply_is_a_500_and_changes_nothing() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let unknown = "a".repeat(64);
    let e = r
        .gov
        .pass(
            &body(vec![Action::new(
                "transition_node_to_trusted",
                json!({"node_id": unknown, "valid_from": "251122000000Z"}),
            )]),
            &Cancel::never(),
        )
        .await
        .unwrap_err();
    match e {
        GovError::FailedToApply { message, .. } => {
            assert!(message.contains("No such node"), "{message}")
        }
        other => panic!("{other}"),
    }
    let bad = r
        .gov
        .propose(
            &r.gov.members()[0],
            &body(vec![Action::new("add_node_kode", json!({}))]),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, GovError::FailedToValidate { .. }), "{bad}");
}

#[tokio::test]
async fn replay_stale_created_at_and_retention_behave_like_ccf() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let member = r.gov.members()[0].clone();
    let c = one_shot(&r);
    let payload = serde_json::to_vec(&body(vec![Action::new(
        "set_node_data",
        json!({"node_id": r.sandbox.info().nodes[0].node_id, "node_data": 2}),
    )]))
    .unwrap();
    let msg = cose::sign(
        &member,
        &GovHeaders {
            msg_type: MsgType::Proposal,
            created_at: now(),
            proposal_id: None,
        },
        &payload,
    )
    .await
    .unwrap();
    let (first, _) = c.create_proposal(&r.entry, &msg).await.unwrap();
    let e = c.create_proposal(&r.entry, &msg).await.unwrap_err();
    assert!(
        e.is(400, "ProposalReplay") && e.message().unwrap().ends_with(&first.proposal_id),
        "{e}"
    );
    let stale = cose::sign(
        &member,
        &GovHeaders {
            msg_type: MsgType::Proposal,
            created_at: now() - 600,
            proposal_id: None,
        },
        &payload,
    )
    .await
    .unwrap();
    let e = c.create_proposal(&r.entry, &stale).await.unwrap_err();
    assert!(e.is(400, "ProposalCreatedTooLongAgo"), "{e}");
    // A signer ten minutes behind still gets through: governance re-stamps once.
    let behind = r.gov.clone().with_clock_offset(-600);
    let a = behind
        .pass(
            &body(vec![Action::new(
                "set_node_data",
                json!({"node_id": r.sandbox.info().nodes[1].node_id, "node_data": "a"}),
            )]),
            &Cancel::never(),
        )
        .await
        .unwrap();
    // Retention: once another proposal completes, the earlier accepted one is purged.
    assert!(
        r.client
            .proposal(&r.entry, &a.proposal_id)
            .await
            .unwrap()
            .is_some()
    );
    r.gov
        .pass(
            &body(vec![Action::new(
                "set_node_data",
                json!({"node_id": r.sandbox.info().nodes[1].node_id, "node_data": "b"}),
            )]),
            &Cancel::never(),
        )
        .await
        .unwrap();
    assert!(
        r.client
            .proposal(&r.entry, &a.proposal_id)
            .await
            .unwrap()
            .is_none()
    );
    // Ballot rules: the same ballot twice is idempotent; the proposal id must match the URL.
    let open = r
        .gov
        .propose(&member, &ProposalBody { actions: vec![] })
        .await
        .unwrap();
    let ballot = serde_json::to_vec(&json!({ "ballot": BALLOT_YES })).unwrap();
    let wrong = cose::sign(
        &member,
        &GovHeaders {
            msg_type: MsgType::Ballot,
            created_at: now(),
            proposal_id: Some("b".repeat(64)),
        },
        &ballot,
    )
    .await
    .unwrap();
    let e = c
        .submit_ballot(&r.entry, &open.proposal_id, member.id(), &wrong)
        .await
        .unwrap_err();
    assert!(e.is(400, "InvalidResourceName"), "{e}");
}

#[tokio::test]
async fn losing_quorum_hangs_commits_and_is_recorded() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let nodes = r.sandbox.info().nodes.clone();
    let primary = r
        .client
        .network(&r.entry)
        .await
        .unwrap()
        .primary_id
        .unwrap();
    let backups: Vec<_> = nodes.iter().filter(|n| n.node_id != primary).collect();
    let primary_addr: NodeAddr = nodes
        .iter()
        .find(|n| n.node_id == primary)
        .unwrap()
        .rpc_address
        .parse()
        .unwrap();
    for b in &backups {
        apply_fault(
            r.sandbox.core(),
            Fault::Kill {
                node: b.node_id.clone(),
            },
        )
        .unwrap();
    }
    // The primary still accepts the write, but it cannot commit.
    let member = r.gov.members()[0].clone();
    let msg = cose::sign(
        &member,
        &GovHeaders {
            msg_type: MsgType::Proposal,
            created_at: now(),
            proposal_id: None,
        },
        b"{\"actions\":[]}",
    )
    .await
    .unwrap();
    let (_, txid) = one_shot(&r)
        .create_proposal(&primary_addr, &msg)
        .await
        .unwrap();
    let txid = txid.unwrap();
    let started = Instant::now();
    let commit = r
        .sandbox
        .with_world(|w| w.latency().commit.div_f64(w.latency().speed));
    // Observe for many commit latencies (a bounded observation of "never").
    while started.elapsed() < commit * 20 {
        assert_eq!(
            r.client.tx_status(&primary_addr, txid).await.unwrap(),
            TxStatus::Pending
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        r.sandbox
            .violations()
            .iter()
            .any(|v| v.kind == "quorum_lost")
    );
}

#[tokio::test]
async fn early_stops_and_deletes_are_refused_or_recorded() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let victim = r.sandbox.info().nodes[2].node_id.clone();
    let e = one_shot(&r)
        .delete_node(&r.entry, &victim)
        .await
        .unwrap_err();
    assert!(
        e.is(400, "NodeNotRetiredCommitted")
            && e.message() == Some("Node is not completely retired"),
        "{e}"
    );
    r.sandbox.stop(&victim, true).unwrap();
    let kinds: Vec<String> = r.sandbox.violations().into_iter().map(|v| v.kind).collect();
    assert_eq!(
        kinds,
        vec![
            "delete_before_retired_committed",
            "stopped_in_active_config"
        ]
    );
}

#[tokio::test]
async fn removing_a_pending_node_that_still_runs_lets_it_rejoin() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    r.register_next_virtual().await;
    let (id, addr) = r
        .sandbox
        .launch(r.sandbox.info().next_build.clone())
        .unwrap();
    wait_pending(&r.client, &r.entry, &id).await;
    let first = r
        .client
        .node(&r.entry, &id)
        .await
        .unwrap()
        .unwrap()
        .last_written;
    // Before it is trusted, it presents its self-signed certificate.
    let e = one_shot(&r)
        .version(&addr.parse().unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("self-signed"), "{e}");
    r.gov
        .pass(
            &body(vec![Action::new("remove_node", json!({"node_id": id}))]),
            &Cancel::never(),
        )
        .await
        .unwrap();
    let again = eventually("the still-running joiner to re-register", 20, || {
        let (c, e, id) = (r.client.clone(), r.entry.clone(), id.clone());
        async move {
            c.node(&e, &id)
                .await
                .ok()
                .flatten()
                .filter(|n| n.last_written > first)
        }
    })
    .await;
    assert_eq!(again.status, NodeStatus::Pending);
}

#[tokio::test]
async fn a_forced_election_and_added_latency_are_visible_to_clients() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let before = r.client.network(&r.entry).await.unwrap();
    apply_fault(r.sandbox.core(), Fault::ForceElection).unwrap();
    let after = eventually("the forced election to finish", 20, || {
        let (c, e, v) = (r.client.clone(), r.entry.clone(), before.current_view);
        async move {
            c.network(&e)
                .await
                .ok()
                .filter(|n| n.current_view > v && n.primary_id.is_some())
        }
    })
    .await;
    assert_eq!(after.current_view, before.current_view + 1);

    apply_fault(r.sandbox.core(), Fault::Latency { ms: 150 }).unwrap();
    let started = Instant::now();
    r.client.version(&r.entry).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "every answer is delayed by the injected latency"
    );
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_dropped_proposal_can_be_proposed_again_at_once() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let member = r.gov.members()[0].clone();
    let actions = body(vec![Action::new(
        "set_node_data",
        json!({"node_id": r.sandbox.info().nodes[0].node_id, "node_data": 7}),
    )]);
    let first = r.gov.propose(&member, &actions).await.unwrap();
    apply_fault(r.sandbox.core(), Fault::InjectAddProposal).unwrap();
    // Same actions, same second: deterministic signing would replay the dropped proposal.
    let again = r.gov.pass(&actions, &Cancel::never()).await.unwrap();
    assert_ne!(
        again.proposal_id, first.proposal_id,
        "a new proposal, not the dropped one"
    );
}
