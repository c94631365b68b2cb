//! The fault matrix: 3- and 5-node upgrades by the real binary against the sandbox, each with
//! one fault injected before the run or at a named event of it. Every case states its
//! outcome (completes, or stops safely with a named exit code and message) and the sandbox's
//! invariant checker must record zero violations in every one.

use std::sync::Arc;

use noderoll::ccf::NodeAddr;
use noderoll::ccf::types::NodeStatus;
use noderoll::sandbox::runtime::Core;
use noderoll::sandbox::{Fault, Platform};
use serde_json::Value;

use crate::common::*;

/// What a case must end with.
enum Expect {
    /// Exit 0, every node on the target.
    Completes,
    /// Exit 7, the service back on the old build, every new node gone.
    RolledBack,
    /// This exit code, with these words in stderr; the service keeps a majority of old nodes.
    Stops(i32, &'static str),
    /// Refused before any write (exit 5, these words) on a service the fault itself left in
    /// violation of an invariant of this kind (a test that kills a majority).
    RefusedDespite(&'static str, &'static str),
}

fn fault(core: &Core, f: Fault) {
    noderoll::sandbox::control::apply_fault(core, f).unwrap();
}

fn primary(core: &Core) -> String {
    core.shared.world().primary.clone().unwrap()
}

/// An old node that is not the primary.
fn old_backup(r: &RunningSandbox) -> String {
    let p = primary(r.sandbox.core());
    let info = r.sandbox.info();
    info.nodes
        .iter()
        .map(|n| n.node_id.clone())
        .find(|id| *id != p)
        .unwrap()
}

/// Run one case at `n` nodes: `setup` before apply, `triggers` during it.
async fn case(
    n: usize,
    safety: &str,
    setup: impl FnOnce(&RunningSandbox),
    triggers: impl FnOnce(&RunningSandbox) -> Vec<Trigger>,
    expect: Expect,
) -> (RunningSandbox, Ran) {
    let r = start_sandbox(n, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    if !safety.is_empty() {
        let text = std::fs::read_to_string(&plan).unwrap();
        std::fs::write(&plan, text.replace("step_timeout = \"2m\"\n", safety)).unwrap();
    }
    setup(&r);
    // What the injected fault itself violates (a test killing a majority) is not the run's.
    let before = r.sandbox.violations();
    let state = tempfile::tempdir().unwrap();
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let triggers = triggers(&r);
    let wanted = triggers.len();
    let (ran, fired) = apply_with(&plan, state.path(), &[], triggers).await;
    assert_eq!(fired, wanted, "every trigger fired\n{}", ran.stderr);
    // Whatever happened (refused, completed, rolled back), every line is on the contract.
    let lines = output_schema::lines("run-stream", &ran.stdout);
    // The fault was the run's to ride out; the checks below read the service without it
    // (30 % of 503s would otherwise fail this harness's own reads now and then).
    r.sandbox.with_world(|w| w.faults = Default::default());
    let at: NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let next = r.sandbox.info().next_build.clone();
    let nodes = r.client.nodes(&at, &Default::default()).await.unwrap();
    let trusted: Vec<_> = nodes
        .iter()
        .filter(|x| x.status == NodeStatus::Trusted)
        .collect();
    let originals = |id: &str| r.sandbox.info().nodes.iter().any(|o| o.node_id == id);
    let registered = r
        .client
        .join_policy(&at)
        .await
        .unwrap()
        .virtual_
        .unwrap()
        .host_data;
    let mut tolerated = None;
    match expect {
        Expect::RefusedDespite(words, kind) => {
            assert_eq!(ran.code, 5, "n={n}: {}", ran.stderr);
            assert!(ran.stderr.contains(words), "n={n}: {}", ran.stderr);
            assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
            tolerated = Some(kind);
        }
        Expect::Completes => {
            assert_eq!(ran.code, 0, "n={n}: {}", ran.stderr);
            let last: Value = serde_json::from_str(ran.stdout.lines().last().unwrap()).unwrap();
            assert_eq!(last["outcome"], "upgraded");
            assert_eq!(trusted.len(), n, "{nodes:?}");
            assert!(trusted.iter().all(|t| !originals(&t.node_id)));
            assert_eq!(registered, vec![next.host_data.clone()]);
        }
        Expect::RolledBack => {
            assert_eq!(ran.code, 7, "n={n}: {}", ran.stderr);
            // The failure as a pipeline reads it: its message and causes, not terminal text.
            let error = &lines.last().unwrap()["error"];
            assert!(
                error["message"].as_str().unwrap().contains("rolled back"),
                "{error}"
            );
            assert!(!error["causes"].as_array().unwrap().is_empty(), "{error}");
            assert!(ran.stderr.contains("rolled back"), "{}", ran.stderr);
            assert!(
                nodes.iter().all(|x| x.status == NodeStatus::Trusted),
                "{nodes:?}"
            );
            assert!(trusted.iter().all(|t| originals(&t.node_id)), "{nodes:?}");
            assert!(!registered.contains(&next.host_data));
        }
        Expect::Stops(code, words) => {
            assert_eq!(ran.code, code, "n={n}: {}", ran.stderr);
            assert!(ran.stderr.contains(words), "n={n}: {}", ran.stderr);
            let old = trusted.iter().filter(|t| originals(&t.node_id)).count();
            assert!(old > n / 2, "a majority of old nodes is kept: {nodes:?}");
            if code == 5 {
                assert_eq!(
                    r.sandbox.with_world(|w| w.write_requests),
                    writes,
                    "a refused run writes nothing"
                );
            }
        }
    }
    let ours = |v: &Vec<noderoll::sandbox::Violation>| -> Vec<noderoll::sandbox::Violation> {
        v.iter()
            .filter(|v| Some(v.kind.as_str()) != tolerated)
            .cloned()
            .collect()
    };
    assert_eq!(
        ours(&r.sandbox.violations()),
        ours(&before),
        "n={n}: the run violated an invariant"
    );
    (r, ran)
}

fn core_of(r: &RunningSandbox) -> Arc<Core> {
    r.sandbox.core().clone()
}

#[tokio::test]
async fn thirty_percent_of_requests_answered_503_throughout() {
    for n in [3, 5] {
        let setup =
            |r: &RunningSandbox| fault(r.sandbox.core(), Fault::FailFraction { fraction: 0.3 });
        case(n, "", setup, |_| vec![], Expect::Completes).await;
    }
}

#[tokio::test]
async fn elections_ten_times_slower() {
    for n in [3, 5] {
        let setup =
            |r: &RunningSandbox| fault(r.sandbox.core(), Fault::SlowElections { factor: 10.0 });
        case(n, "", setup, |_| vec![], Expect::Completes).await;
    }
}

#[tokio::test]
async fn an_election_while_new_nodes_are_trusted() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            let core = core_of(r);
            vec![Trigger::new("step_started", 1, "trust", move |_, _| {
                fault(&core, Fault::ForceElection)
            })]
        };
        case(n, "", |_| {}, triggers, Expect::Completes).await;
    }
}

#[tokio::test]
async fn the_primary_killed_while_an_old_backup_is_retired() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            let core = core_of(r);
            vec![Trigger::new(
                "waiting",
                1,
                "removable_nodes",
                move |_, _| {
                    let p = primary(&core);
                    fault(&core, Fault::Kill { node: p })
                },
            )]
        };
        case(n, "", |_| {}, triggers, Expect::Completes).await;
    }
}

#[tokio::test]
async fn a_new_node_killed_after_it_was_trusted_is_rolled_back() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            let core = core_of(r);
            vec![Trigger::new("node_serving", 1, "", move |line, _| {
                let e: Value = serde_json::from_str(line).unwrap();
                let id = e["node_id"].as_str().unwrap().to_string();
                fault(&core, Fault::Kill { node: id })
            })]
        };
        case(n, "", |_| {}, triggers, Expect::RolledBack).await;
    }
}

#[tokio::test]
async fn an_old_node_partitioned_away_before_its_turn() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            let (core, victim) = (core_of(r), old_backup(r));
            vec![Trigger::new("step_started", 1, "soak", move |_, _| {
                fault(&core, Fault::Partition { node: victim })
            })]
        };
        case(n, "", |_| {}, triggers, Expect::Completes).await;
    }
}

#[tokio::test]
async fn a_new_node_that_never_becomes_ready_is_rolled_back() {
    for n in [3, 5] {
        let setup = |r: &RunningSandbox| fault(r.sandbox.core(), Fault::NeverReadyNext);
        case(
            n,
            "step_timeout = \"3s\"\n",
            setup,
            |_| vec![],
            Expect::RolledBack,
        )
        .await;
    }
}

#[tokio::test]
async fn another_members_add_drops_the_open_proposal_which_is_proposed_again() {
    for n in [3, 5] {
        // Requests slowed between create and ballot, so the other member's add lands first.
        let triggers = |r: &RunningSandbox| {
            let (a, b) = (core_of(r), core_of(r));
            vec![
                Trigger::new("step_started", 1, "register", move |_, _| {
                    fault(&a, Fault::Latency { ms: 300 })
                }),
                Trigger::new("proposal_submitted", 1, "", move |_, _| {
                    fault(&b, Fault::InjectAddProposal);
                    fault(&b, Fault::Latency { ms: 0 })
                }),
            ]
        };
        let (_, ran) = case(n, "", |_| {}, triggers, Expect::Completes).await;
        assert!(
            ran.stdout
                .contains("dropped by another member's proposal; proposing again"),
            "{}",
            ran.stdout
        );
    }
}

#[tokio::test]
async fn a_signer_clock_ten_minutes_behind() {
    for n in [3, 5] {
        let setup = |r: &RunningSandbox| fault(r.sandbox.core(), Fault::ClockSkew { secs: 600 });
        let (_, ran) = case(n, "", setup, |_| vec![], Expect::Completes).await;
        assert!(
            ran.stdout.contains("refused a stale created_at"),
            "{}",
            ran.stdout
        );
    }
}

#[tokio::test]
async fn a_member_that_is_not_active_is_refused_in_preflight() {
    for n in [3, 5] {
        let setup = |r: &RunningSandbox| {
            let member_id = r.sandbox.info().members[0].member_id.clone();
            fault(
                r.sandbox.core(),
                Fault::MemberStatus {
                    member_id,
                    active: false,
                },
            )
        };
        let expect = Expect::Stops(5, "configured members are Active");
        case(n, "", setup, |_| vec![], expect).await;
    }
}

#[tokio::test]
async fn a_proposal_that_fails_to_apply_stops_the_upgrade() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            let core = core_of(r);
            vec![Trigger::new("step_started", 1, "retire", move |_, _| {
                fault(&core, Fault::FailApplyNext)
            })]
        };
        let expect = Expect::Stops(3, "failed to apply");
        case(n, "", |_| {}, triggers, expect).await;
    }
}

#[tokio::test]
async fn fewer_running_nodes_than_a_majority_is_refused_in_preflight() {
    for n in [3, 5] {
        let setup = |r: &RunningSandbox| {
            let p = primary(r.sandbox.core());
            let backups: Vec<String> = r
                .sandbox
                .info()
                .nodes
                .iter()
                .map(|x| x.node_id.clone())
                .filter(|id| *id != p)
                .take(n / 2 + 1)
                .collect();
            for id in backups {
                fault(r.sandbox.core(), Fault::Kill { node: id });
            }
        };
        let expect = Expect::RefusedDespite("a majority of trusted nodes running", "quorum_lost");
        case(n, "", setup, |_| vec![], expect).await;
    }
}

#[tokio::test]
async fn bursts_of_connection_resets() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            ["register", "trust", "retire"]
                .into_iter()
                .map(|step| {
                    let core = core_of(r);
                    Trigger::new("step_started", 1, step, move |_, _| {
                        fault(&core, Fault::ResetNext { count: 8 })
                    })
                })
                .collect()
        };
        case(n, "", |_| {}, triggers, Expect::Completes).await;
    }
}

/// The service certificate is renewed with the same key mid-run: noderoll keeps trusting its
/// copy of the old one (same key, same name), and the new one works as well.
#[tokio::test]
async fn the_service_certificate_renewed_mid_run() {
    for n in [3, 5] {
        let triggers = |r: &RunningSandbox| {
            let core = core_of(r);
            vec![Trigger::new("step_started", 1, "soak", move |_, _| {
                fault(&core, Fault::RenewServiceCert)
            })]
        };
        let (r, _) = case(n, "", |_| {}, triggers, Expect::Completes).await;
        let at: NodeAddr = r.sandbox.info().service_address.parse().unwrap();
        let served = r.client.network(&at).await.unwrap().service_certificate;
        let file = std::fs::read_to_string(r.dir.path().join("service_cert.pem")).unwrap();
        assert_ne!(served.trim(), file.trim(), "the certificate was renewed");
        // A client trusting only the renewed certificate reaches the new nodes too.
        let renewed = r.dir.path().join("renewed.pem");
        std::fs::write(&renewed, &served).unwrap();
        let cert = noderoll::ccf::ServiceCert::load(&renewed).unwrap();
        let c = noderoll::ccf::CcfClient::new(
            &cert,
            Default::default(),
            noderoll::wait::Cancel::never(),
        )
        .unwrap();
        let nodes = c.nodes(&at, &Default::default()).await.unwrap();
        for node in nodes {
            let addr: NodeAddr = node.rpc_address().unwrap().parse().unwrap();
            c.version(&addr).await.unwrap();
        }
    }
}
