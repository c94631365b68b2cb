//! Behaviours of a real CCF service that the sandbox reproduces, each read in CCF's source:
//! quotes only on trusted, caught-up nodes; the governance view of a node; signatures only
//! over unsigned transactions; sessions lost on a view change; catch-up write stalls;
//! admission by UVM endorsement; retired nodes from before a disaster recovery.

use std::time::Duration;

use base64::Engine;
use noderoll::ccf::types::{Action, NodeStatus, ProposalBody};
use noderoll::ccf::{NodeAddr, Pin};
use noderoll::sandbox::control::apply_fault;
use noderoll::sandbox::world::Lifecycle;
use noderoll::sandbox::{Build, Fault, Platform, SandboxOptions};
use noderoll::wait::Cancel;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

fn body(actions: Vec<Action>) -> ProposalBody {
    ProposalBody { actions }
}

/// A sandbox started with options of the test's choosing (3 nodes, 1 member, speed 5).
async fn start_with(f: impl FnOnce(&mut SandboxOptions)) -> RunningSandbox {
    start_sandbox_with(3, Platform::Virtual, 5.0, f).await
}

async fn trust(r: &RunningSandbox, ids: &[&String]) {
    let actions = ids
        .iter()
        .map(|id| {
            Action::new(
                "transition_node_to_trusted",
                json!({"node_id": id, "valid_from": today_utctime()}),
            )
        })
        .collect();
    r.gov.pass(&body(actions), &Cancel::never()).await.unwrap();
}

async fn wait_caught_up(r: &RunningSandbox, addr: &NodeAddr) {
    eventually("the node to be trusted and caught up", 20, || {
        let (c, a) = (r.client.clone(), addr.clone());
        async move { c.ready_gov(&a).await.ok().filter(|ok| *ok) }
    })
    .await;
}

async fn get_json(
    c: &noderoll::ccf::CcfClient,
    node: &NodeAddr,
    path: &str,
) -> Result<Value, noderoll::ccf::ClientError> {
    let r = c.request(Method::GET, node, path, None).await?;
    Ok(serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

fn commit_seqno(r: &RunningSandbox) -> u64 {
    r.sandbox.with_world(|w| w.commit_seqno)
}

// ----- 1. quotes ------------------------------------------------------------------------------

#[tokio::test]
async fn a_node_has_no_quote_until_it_is_trusted_and_caught_up() {
    let r = start_with(|_| {}).await;
    let next = r.register_next_virtual().await;
    let (id, addr) = r.sandbox.launch(next.clone()).unwrap();
    let addr: NodeAddr = addr.parse().unwrap();
    wait_pending(&r.client, &r.entry, &id).await;
    let pinned = r.client.with_pin(Pin::node_id(&id).unwrap()).unwrap();
    for path in ["/node/quotes/self", "/node/attestations/self"] {
        let e = get_json(&pinned, &addr, path).await.unwrap_err();
        assert!(
            e.is(404, "ResourceNotFound") && e.message() == Some("Could not find node quote."),
            "{path} on a Pending node: {e}"
        );
    }
    // /node/quotes lists the Trusted nodes only.
    let all = get_json(&r.client, &r.entry, "/node/quotes").await.unwrap();
    let ids: Vec<&str> = all["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&id.as_str()));
    let att = get_json(&r.client, &r.entry, "/node/attestations")
        .await
        .unwrap();
    assert_eq!(att["attestations"], all["quotes"]);

    trust(&r, &[&id]).await;
    wait_caught_up(&r, &addr).await;
    let q = r.client.quote_self(&addr).await.unwrap();
    let claims = q.claims().unwrap();
    assert_eq!(claims.host_data, next.host_data);
    assert!(id.starts_with(&claims.report_data));
    let all = get_json(&r.client, &r.entry, "/node/quotes").await.unwrap();
    assert_eq!(all["quotes"].as_array().unwrap().len(), 4);
    assert_eq!(r.sandbox.violations(), vec![]);
}

// ----- 2. the governance view of a node --------------------------------------------------------

#[tokio::test]
async fn the_governance_view_carries_the_quote_stored_at_join() {
    let r = start_with(|_| {}).await;
    let next = r.register_next_virtual().await;
    let (id, addr) = r.sandbox.launch(next.clone()).unwrap();
    wait_pending(&r.client, &r.entry, &id).await;
    let v = get_json(
        &r.client,
        &r.entry,
        &format!("/gov/service/nodes/{id}?api-version=2024-07-01"),
    )
    .await
    .unwrap();
    assert_eq!(v["status"], "Pending");
    assert!(v.get("certificate").is_none(), "{v}");
    assert_eq!(v["retiredCommitted"], false);
    let q = &v["quoteInfo"];
    let keys: Vec<&String> = q.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["details", "format", "rawQuote"]);
    assert_eq!(q["format"], "Insecure_Virtual");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(q["rawQuote"].as_str().unwrap())
        .unwrap();
    let raw: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(raw["host_data"], next.host_data.as_str());
    assert_eq!(
        q["details"],
        json!({"measurement": raw["measurement"], "reportData": raw["report_data"], "hostData": raw["host_data"]})
    );
    assert_eq!(q["details"]["hostData"], next.host_data.as_str());

    trust(&r, &[&id]).await;
    wait_caught_up(&r, &addr.parse().unwrap()).await;
    let v = get_json(
        &r.client,
        &r.entry,
        &format!("/gov/service/nodes/{id}?api-version=2024-07-01"),
    )
    .await
    .unwrap();
    assert!(
        v["certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    // SNP: the format, and the UVM endorsements and endorsed TCB only when the node has them.
    let snp = start_with(|o| o.platform = Platform::Snp).await;
    let first = snp.sandbox.info().nodes[0].node_id.clone();
    let v = get_json(
        &snp.client,
        &snp.entry,
        &format!("/gov/service/nodes/{first}?api-version=2024-07-01"),
    )
    .await
    .unwrap();
    assert_eq!(v["quoteInfo"], json!({"format": "AMD_SEV_SNP_v1"}));
    let uvm = start_with(|o| {
        o.platform = Platform::Snp;
        o.uvm = true;
    })
    .await;
    let first = uvm.sandbox.info().nodes[0].node_id.clone();
    let v = get_json(
        &uvm.client,
        &uvm.entry,
        &format!("/gov/service/nodes/{first}?api-version=2024-07-01"),
    )
    .await
    .unwrap();
    let keys: Vec<&String> = v["quoteInfo"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["endorsedTcb", "format", "uvmEndorsements"]);
}

// ----- 3. signatures -----------------------------------------------------------------------------

#[tokio::test]
async fn an_idle_primary_signs_nothing_and_a_write_is_signed() {
    let r = start_with(|_| {}).await;
    // Speed 5: the signature task runs every 200 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = commit_seqno(&r);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(commit_seqno(&r), idle, "an idle service's commit stays put");
    let before = r.client.commit(&r.entry).await.unwrap().transaction_id;

    // A write (a governance proposal) is followed by a signature, and then nothing.
    r.register_next_virtual().await;
    // Committed and signed: the signature lands at the task's next run (200 ms), so wait
    // until everything appended is committed and stays so across a run of the task.
    let after_write = eventually("the write and its signature to commit", 10, || {
        let s = r.sandbox.with_world(|w| (w.commit_seqno, w.last_seqno()));
        let r = &r;
        async move {
            tokio::time::sleep(Duration::from_millis(450)).await;
            let again = r.sandbox.with_world(|w| (w.commit_seqno, w.last_seqno()));
            (s.0 == s.1 && s == again && s.0 > idle).then_some(s.0)
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(commit_seqno(&r), after_write);
    assert_ne!(
        r.client.commit(&r.entry).await.unwrap().transaction_id,
        before
    );

    // A new primary signs once (raft.h become_leader: should_sign), then stays idle.
    let view = r.sandbox.with_world(|w| w.view);
    apply_fault(r.sandbox.core(), Fault::ForceElection).unwrap();
    let after_election = eventually("the election's signature to commit", 10, || {
        let s = r
            .sandbox
            .with_world(|w| (w.view, w.commit_seqno, w.last_seqno()));
        async move { (s.0 > view && s.1 == s.2 && s.1 > after_write).then_some(s.1) }
    })
    .await;
    assert_eq!(after_election, after_write + 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(commit_seqno(&r), after_election);
}

// ----- 4. sessions ------------------------------------------------------------------------------

/// A keep-alive client that trusts the service certificate (one pooled connection per node).
fn keep_alive_client(r: &RunningSandbox) -> reqwest::Client {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let pem = std::fs::read(r.dir.path().join("service_cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(1)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_session_does_not_survive_a_view_change() {
    let r = start_with(|_| {}).await;
    let http = keep_alive_client(&r);
    let url = format!("https://{}/node/commit", r.entry);
    let first = http.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    first.bytes().await.unwrap();
    let view = r.sandbox.with_world(|w| w.view);

    apply_fault(r.sandbox.core(), Fault::ForceElection).unwrap();
    let new_view = eventually("a new view", 10, || {
        let v = r.sandbox.with_world(|w| w.primary.as_ref().map(|_| w.view));
        async move { v.filter(|v| *v > view) }
    })
    .await;

    // The next request on the same connection: 500, and the session is closed.
    let lost = http.get(&url).send().await.unwrap();
    assert_eq!(lost.status(), 500);
    assert_eq!(
        lost.headers()
            .get("connection")
            .map(|v| v.to_str().unwrap()),
        Some("close")
    );
    let body: Value = lost.json().await.unwrap();
    assert_eq!(body["error"]["code"], "SessionConsistencyLost");
    let msg = body["error"]["message"].as_str().unwrap();
    let re = regex::Regex::new(&format!(
        r"^Potential loss of session consistency on session \d+\. Started in view {view}, now in view {new_view}\. Closing session\.$"
    ))
    .unwrap();
    assert!(re.is_match(msg), "{msg}");

    // A retry (on a new connection) works, and keeps working.
    for _ in 0..3 {
        let again = http.get(&url).send().await.unwrap();
        assert_eq!(again.status(), 200);
        again.bytes().await.unwrap();
    }
}

// ----- 5. catch-up write stalls ---------------------------------------------------------------

async fn launch_pending(r: &RunningSandbox, build: &Build, n: usize) -> Vec<(String, NodeAddr)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (id, addr) = r.sandbox.launch(build.clone()).unwrap();
        out.push((id, addr.parse().unwrap()));
    }
    for (id, _) in &out {
        wait_pending(&r.client, &r.entry, id).await;
    }
    out
}

#[tokio::test]
async fn trusting_as_many_new_nodes_as_old_ones_stalls_commits() {
    let r = start_with(|_| {}).await;
    let next = r.register_next_virtual().await;
    let new = launch_pending(&r, &next, 3).await;
    assert_eq!(r.sandbox.write_stall().total_ms, 0);
    trust(&r, &new.iter().map(|(id, _)| id).collect::<Vec<_>>()).await;
    for (_, a) in &new {
        wait_caught_up(&r, a).await;
    }
    let stall = r.sandbox.write_stall();
    assert!(stall.total_ms > 0 && stall.count >= 1, "{stall:?}");
    assert!(stall.longest_ms <= stall.total_ms);
    // The control endpoint reports it next to the violations (what `sandbox check` reads).
    let v = noderoll::sandbox::control::call(&r.sandbox.info().control, "/violations", None)
        .await
        .unwrap();
    assert!(v["write_stall"]["total_ms"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["violations"], json!([]));
}

#[tokio::test]
async fn trusting_fewer_new_nodes_than_old_ones_does_not_stall() {
    let r = start_with(|_| {}).await;
    let next = r.register_next_virtual().await;
    let new = launch_pending(&r, &next, 3).await;
    trust(&r, &[&new[0].0, &new[1].0]).await;
    wait_caught_up(&r, &new[0].1).await;
    wait_caught_up(&r, &new[1].1).await;
    trust(&r, &[&new[2].0]).await;
    wait_caught_up(&r, &new[2].1).await;
    assert_eq!(r.sandbox.write_stall(), Default::default());
    assert_eq!(r.sandbox.violations(), vec![]);
}

// ----- 6. SNP admission by UVM endorsement ------------------------------------------------------

async fn wait_refused(r: &RunningSandbox, id: &str) -> String {
    eventually("the join to be refused", 10, || {
        let reason = r.sandbox.with_world(|w| {
            w.node_by_id(id).and_then(|(_, n)| match &n.lifecycle {
                Lifecycle::Refused { reason } => Some(reason.clone()),
                _ => None,
            })
        });
        async move { reason }
    })
    .await
}

#[tokio::test]
async fn snp_nodes_with_uvm_endorsements_are_admitted_by_svn_not_measurement() {
    let r = start_with(|o| {
        o.platform = Platform::Snp;
        o.uvm = true;
    })
    .await;
    let info = r.sandbox.info().clone();
    let current = info.current_build.clone();
    let uvm = current.uvm.clone().unwrap();
    // The join policy holds the UVM endorsement and host data, but no measurement.
    let jp = get_json(
        &r.client,
        &r.entry,
        "/gov/service/join-policy?api-version=2024-07-01",
    )
    .await
    .unwrap();
    assert_eq!(jp["snp"]["measurements"], json!([]));
    assert_eq!(
        jp["snp"]["uvmEndorsements"],
        json!({ &uvm.did: { &uvm.feed: { "svn": &uvm.svn } } })
    );
    assert!(jp["snp"]["hostData"].get(&current.host_data).is_some());

    let with_svn = |svn: &str| {
        let mut b = current.clone();
        b.measurement = "ab".repeat(48); // never registered: not what admits it
        b.uvm.as_mut().unwrap().svn = svn.into();
        b
    };
    // svn ≥ the registered minimum joins.
    let (equal, _) = r.sandbox.launch(with_svn(&uvm.svn)).unwrap();
    let (higher, higher_addr) = r.sandbox.launch(with_svn("102")).unwrap();
    wait_pending(&r.client, &r.entry, &equal).await;
    wait_pending(&r.client, &r.entry, &higher).await;
    // svn < the minimum is refused.
    let (lower, _) = r.sandbox.launch(with_svn("100")).unwrap();
    assert!(
        wait_refused(&r, &lower)
            .await
            .starts_with("UVM endorsements are not authorised")
    );
    // Without UVM endorsements the measurement table decides.
    let mut plain = with_svn("101");
    plain.uvm = None;
    let (no_uvm, _) = r.sandbox.launch(plain).unwrap();
    assert!(
        wait_refused(&r, &no_uvm)
            .await
            .starts_with("Quote does not contain known enclave measurement")
    );

    // Trusted and caught up, the node's quote carries its UVM endorsements.
    trust(&r, &[&higher]).await;
    let higher_addr: NodeAddr = higher_addr.parse().unwrap();
    wait_caught_up(&r, &higher_addr).await;
    let q = r.client.quote_self(&higher_addr).await.unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(q.uvm_endorsements.unwrap())
        .unwrap();
    assert!(String::from_utf8(raw).unwrap().contains("svn=102"));

    // Removing the last UVM endorsement locks every later joiner out.
    r.gov
        .pass(
            &body(vec![Action::new(
                "remove_snp_uvm_endorsement",
                json!({"did": uvm.did, "feed": uvm.feed}),
            )]),
            &Cancel::never(),
        )
        .await
        .unwrap();
    let (late, _) = r.sandbox.launch(with_svn("200")).unwrap();
    assert!(
        wait_refused(&r, &late)
            .await
            .starts_with("UVM endorsements are not authorised")
    );
    assert_eq!(r.sandbox.violations(), vec![]);
}

// ----- 7. retired nodes from before a disaster recovery ------------------------------------------

#[tokio::test]
async fn pre_recovery_retired_nodes_never_become_removable() {
    let r = start_with(|o| o.stale_retired = 2).await;
    let net = r.client.network(&r.entry).await.unwrap();
    assert_eq!(net.recovery_count, Some(1));
    let prev = get_json(&r.client, &r.entry, "/node/service/previous_identity")
        .await
        .unwrap();
    assert!(
        prev["previous_service_identity"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let nodes = r.client.nodes(&r.entry, &Default::default()).await.unwrap();
    let stale: Vec<String> = nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Retired)
        .map(|n| n.node_id.to_string())
        .collect();
    assert_eq!(stale.len(), 2);
    assert_eq!(
        nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted)
            .count(),
        3
    );
    // Writes commit (a proposal), time passes: still never removable, DELETE always refused.
    r.register_next_virtual().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(r.client.removable_nodes(&r.entry).await.unwrap().is_empty());
    for id in &stale {
        let g = r.client.gov_node(&r.entry, id).await.unwrap().unwrap();
        assert_eq!(g.status, NodeStatus::Retired);
        assert!(!g.retired_committed);
        let e = r.client.delete_node(&r.entry, id).await.unwrap_err();
        assert!(
            e.is(400, "NodeNotRetiredCommitted")
                && e.message() == Some("Node is not completely retired"),
            "{e}"
        );
        assert!(
            !r.sandbox
                .with_world(|w| w.node_by_id(id).unwrap().1.running)
        );
    }
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// Today (UTC) as `valid_from` is written: the endorsed certificate is valid from it for the
/// service's maximum (a fixed past date would give one already expired).
fn today_utctime() -> String {
    jiff::Timestamp::now().strftime("%y%m%d000000Z").to_string()
}
