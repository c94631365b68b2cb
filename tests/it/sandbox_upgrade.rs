//! The sandbox's acceptance test: CCF's code-upgrade procedure driven by hand through the
//! client (no engine): register the new code version, launch and trust new nodes, retire the
//! old ones with the primary last (election observed), delete them, remove the old version;
//! with zero invariant violations.

use noderoll::ccf::NodeAddr;
use noderoll::ccf::types::{Action, NodeStatus, ProposalBody};
use noderoll::sandbox::Platform;
use noderoll::wait::Cancel;
use serde_json::json;

use crate::common::*;

fn body(actions: Vec<Action>) -> ProposalBody {
    ProposalBody { actions }
}

async fn upgrade_by_hand(n: usize, platform: Platform) {
    let mut r = start_sandbox(n, platform, 5.0).await;
    let info = r.sandbox.info().clone();
    let (old, new) = (info.current_build.clone(), info.next_build.clone());
    let c = r.client.clone();
    let cancel = Cancel::never();

    // 1. Register the new code version: all "add" actions in one proposal.
    let register = match platform {
        Platform::Virtual => vec![Action::new(
            "add_virtual_host_data",
            json!({"host_data": new.host_data}),
        )],
        Platform::Snp => vec![
            Action::new(
                "add_snp_measurement",
                json!({"measurement": new.measurement}),
            ),
            Action::new(
                "add_snp_host_data",
                json!({"host_data": new.host_data, "security_policy": noderoll::sandbox::builds::snp_policy(&new.ccf_version)}),
            ),
        ],
    };
    r.gov.pass(&body(register), &cancel).await.unwrap();
    let jp = c.join_policy(&r.entry).await.unwrap();
    let registered: Vec<String> = match platform {
        Platform::Virtual => jp.virtual_.unwrap().host_data,
        Platform::Snp => jp.snp.unwrap().host_data.into_keys().collect(),
    };
    assert!(
        registered.contains(&old.host_data) && registered.contains(&new.host_data),
        "{registered:?}"
    );

    // 2. Launch n new nodes; each appears Pending with the target attestation. A Pending node
    //    has no ledger, so it has no quote of its own yet (CCF answers /node/quotes/self from
    //    the node's local store): its attestation is read from the service's copy.
    let launched: Vec<(String, NodeAddr)> = (0..n)
        .map(|_| {
            let (id, addr) = r.sandbox.launch(new.clone()).unwrap();
            (id, addr.parse().unwrap())
        })
        .collect();
    for (id, _) in &launched {
        wait_pending(&c, &r.entry, id).await;
        let pinned = c
            .with_pin(noderoll::ccf::Pin::node_id(id).unwrap())
            .unwrap();
        let addr = &launched.iter().find(|(i, _)| i == id).unwrap().1;
        let e = pinned.quote_self(addr).await.unwrap_err();
        assert!(
            e.is(404, "ResourceNotFound") && e.message() == Some("Could not find node quote."),
            "{e}"
        );
        assert_eq!(
            pinned.version(addr).await.unwrap().ccf_version,
            new.ccf_version
        );
        let g = c.gov_node(&r.entry, id).await.unwrap().unwrap();
        assert_eq!(g.status, NodeStatus::Pending);
        assert!(
            g.certificate.is_none(),
            "no endorsed certificate while Pending"
        );
        let q = g.quote_info.unwrap();
        match platform {
            Platform::Virtual => {
                assert_eq!(q.format, "Insecure_Virtual");
                let d = q.details.unwrap();
                assert_eq!(d.host_data.as_deref(), Some(new.host_data.as_str()));
                assert!(id.starts_with(d.report_data.as_deref().unwrap()));
                assert!(q.raw_quote.is_some());
            }
            Platform::Snp => {
                // The governance view of an SNP node carries no report.
                assert_eq!(q.format, "AMD_SEV_SNP_v1");
                assert!(q.details.is_none() && q.raw_quote.is_none());
            }
        }
    }

    // 3. Trust all of them in one proposal; each then serves over service-certificate TLS.
    let trust = launched
        .iter()
        .map(|(id, _)| {
            Action::new(
                "transition_node_to_trusted",
                json!({"node_id": id, "valid_from": today_utctime()}),
            )
        })
        .collect();
    r.gov.pass(&body(trust), &cancel).await.unwrap();
    for (_, addr) in &launched {
        eventually("a new node to serve governance", 20, || {
            let (c, addr) = (c.clone(), addr.clone());
            async move { c.ready_gov(&addr).await.ok().filter(|r| *r) }
        })
        .await;
        assert_eq!(c.version(addr).await.unwrap().ccf_version, new.ccf_version);
        // Trusted and caught up: now it has its quote.
        let claims = c.quote_self(addr).await.unwrap().claims().unwrap();
        assert_eq!(
            (claims.host_data.as_str(), claims.measurement.as_str()),
            (new.host_data.as_str(), new.measurement.as_str())
        );
    }
    let new_nodes: Vec<NodeAddr> = launched.iter().map(|(_, a)| a.clone()).collect();
    r.gov.set_nodes(new_nodes.clone());
    let watch = new_nodes[0].clone();

    // 4. Retire the old nodes one at a time, backups first and the primary last.
    let primary = c.network(&watch).await.unwrap().primary_id.unwrap();
    let mut order: Vec<String> = info
        .nodes
        .iter()
        .map(|n| n.node_id.clone())
        .filter(|id| *id != primary)
        .collect();
    order.push(primary.clone());
    for id in &order {
        let before = c.network(&watch).await.unwrap();
        r.gov
            .pass(
                &body(vec![Action::new("remove_node", json!({"node_id": id}))]),
                &cancel,
            )
            .await
            .unwrap();
        if *id == primary {
            let after = eventually("a new primary in a higher view", 20, || {
                let (c, w, old) = (c.clone(), watch.clone(), primary.clone());
                async move {
                    c.network(&w)
                        .await
                        .ok()
                        .filter(|n| n.primary_id.as_ref().is_some_and(|p| *p != old))
                }
            })
            .await;
            assert!(
                after.current_view > before.current_view,
                "the primary's retirement must start an election"
            );
            assert!(
                launched
                    .iter()
                    .any(|(nid, _)| Some(nid) == after.primary_id.as_ref())
            );
        }
        eventually("the retired node to be removable", 20, || {
            let (c, w, id) = (c.clone(), watch.clone(), id.clone());
            async move {
                c.removable_nodes(&w)
                    .await
                    .ok()
                    .filter(|l| l.iter().any(|n| n.node_id == id))
            }
        })
        .await;
        r.sandbox.stop(id, true).unwrap();
        let tx = c
            .delete_node(&watch, id)
            .await
            .unwrap()
            .expect("DELETE returns a transaction id");
        r.gov.wait_committed(tx, &cancel).await.unwrap();
    }

    // 5. Remove the old code version: only the target may join now.
    let finalize = match platform {
        Platform::Virtual => vec![Action::new(
            "remove_virtual_host_data",
            json!({"host_data": old.host_data}),
        )],
        Platform::Snp => vec![
            Action::new("remove_snp_host_data", json!({"host_data": old.host_data})),
            Action::new(
                "remove_snp_measurement",
                json!({"measurement": old.measurement}),
            ),
        ],
    };
    r.gov.pass(&body(finalize), &cancel).await.unwrap();
    let jp = c.join_policy(&watch).await.unwrap();
    match platform {
        Platform::Virtual => {
            assert_eq!(jp.virtual_.unwrap().host_data, vec![new.host_data.clone()])
        }
        Platform::Snp => {
            let snp = jp.snp.unwrap();
            assert_eq!(
                snp.host_data.keys().cloned().collect::<Vec<_>>(),
                vec![new.host_data.clone()]
            );
            assert_eq!(snp.measurements, vec![new.measurement.clone()]);
        }
    }
    let nodes = c.nodes(&watch, &Default::default()).await.unwrap();
    assert_eq!(nodes.len(), n);
    assert!(nodes.iter().all(
        |n| n.status == NodeStatus::Trusted && launched.iter().any(|(id, _)| *id == n.node_id)
    ));
    for addr in &new_nodes {
        // A connection opened before the primary's retirement (and its election) is answered
        // once with 500 SessionConsistencyLost and closed, as CCF does: ask again.
        let v = match c.version(addr).await {
            Err(e) if e.is(500, "SessionConsistencyLost") => c.version(addr).await,
            v => v,
        };
        assert_eq!(v.unwrap().ccf_version, new.ccf_version);
    }
    assert_eq!(
        r.sandbox.violations(),
        vec![],
        "the procedure must not violate any invariant"
    );
}

#[tokio::test]
async fn one_node_virtual_upgrade_by_hand() {
    upgrade_by_hand(1, Platform::Virtual).await;
}

#[tokio::test]
async fn three_node_virtual_upgrade_by_hand() {
    upgrade_by_hand(3, Platform::Virtual).await;
}

#[tokio::test]
async fn five_node_virtual_upgrade_by_hand() {
    upgrade_by_hand(5, Platform::Virtual).await;
}

#[tokio::test]
async fn three_node_snp_upgrade_by_hand() {
    upgrade_by_hand(3, Platform::Snp).await;
}

/// Today (UTC) as `valid_from` is written: the endorsed certificate is valid from it for the
/// service's maximum (a fixed past date would give one already expired).
fn today_utctime() -> String {
    jiff::Timestamp::now().strftime("%y%m%d000000Z").to_string()
}
