//! `noderoll status`, run as a process against a fake five-node service: three trusted nodes
//! on their own HTTPS ports (one on a newer build), a joining node that still presents its
//! self-signed certificate, a retired removable node, and one trusted node that is down.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::common::*;

struct FakeService {
    _servers: Vec<TestServer>,
    dir: tempfile::TempDir,
    entry: String,
    ids: Vec<String>,
}

fn id(i: usize) -> String {
    format!("{i:x}").repeat(64)
}

fn virtual_quote(node_id: &str, host_data: &str) -> Value {
    use base64::Engine;
    let raw = json!({"measurement": "Insecure hard-coded virtual measurement v1", "host_data": host_data, "report_data": node_id});
    json!({"node_id": node_id, "raw": base64::engine::general_purpose::STANDARD.encode(raw.to_string()),
           "endorsements": "", "format": "Insecure_Virtual", "measurement": "00"})
}

fn node_with_id(node_id: &str, status: &str, addr: &str) -> Value {
    let mut v = node(0, status, addr, false);
    v["node_id"] = json!(node_id);
    v
}

fn node(i: usize, status: &str, addr: &str, primary: bool) -> Value {
    json!({
        "node_id": id(i), "status": status, "primary": primary,
        "rpc_interfaces": {"primary_rpc_interface": {"bind_address": addr, "published_address": addr}},
        "node_data": null, "last_written": 10 + i
    })
}

async fn fake_service() -> FakeService {
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceIdentity::new();
    std::fs::write(dir.path().join("service_cert.pem"), &service.cert_pem).unwrap();
    let addrs: Arc<Mutex<Vec<String>>> = Arc::default();
    // The joining node's id is the SHA-256 of its public key, which noderoll pins.
    let pending_tls = self_signed_node_cert();
    let pending_id = pending_tls.node_id();
    let pid = pending_id.clone();
    let mut servers = Vec::new();
    for i in 0..4 {
        let version = if i == 2 { "ccf-7.0.2" } else { "ccf-7.0.1" };
        let quote_id = if i == 3 { pending_id.clone() } else { id(i) };
        let host_data = if i == 2 {
            "ab".repeat(32)
        } else {
            "cd".repeat(32)
        };
        let quote = virtual_quote(&quote_id, &host_data);
        let mut router = Router::new();
        // A joining node has no store, hence no quote of its own (CCF answers 404).
        if i != 3 {
            router = router.route(
                "/node/quotes/self",
                get(move || async move { axum::Json(quote) }),
            );
        }
        let mut router = router.route(
            "/node/version",
            get(move || async move {
                axum::Json(json!({"ccf_version": version, "quickjs_version": "q", "unsafe": false}))
            }),
        );
        if i == 0 {
            let a = addrs.clone();
            let pid = pid.clone();
            let pending_gov = pid.clone();
            // Any certificate will do for the expiry column: the service's.
            let node_cert = service.cert_pem.clone();
            let service_pem = service.cert_pem.clone();
            router = router
                .route(
                    "/node/network",
                    get(move || {
                        let pem = service_pem.clone();
                        async move {
                            axum::Json(json!({"service_status": "Open", "service_certificate": pem, "current_view": 4,
                                "primary_id": id(1), "recovery_count": 0, "service_data": {}, "current_service_create_txid": "2.1"}))
                        }
                    }),
                )
                .route(
                    "/node/network/nodes",
                    get(move || {
                        let a = a.lock().unwrap().clone();
                        let pid = pid.clone();
                        async move {
                            axum::Json(json!({"nodes": [
                                node(0, "Trusted", &a[0], false),
                                node(1, "Trusted", &a[1], true),
                                node(2, "Trusted", &a[2], false),
                                node_with_id(&pid, "Pending", &a[3]),
                                node(4, "Retired", "127.0.0.1:9", false),
                                node(5, "Trusted", &a[4], false),
                            ]}))
                        }
                    }),
                )
                .route(
                    "/node/network/removable_nodes",
                    get(|| async { axum::Json(json!({"nodes": [node(4, "Retired", "127.0.0.1:9", false)]})) }),
                )
                .route(
                    // Every Trusted node's quote as the service's store holds it.
                    "/node/quotes",
                    get(|| async {
                        axum::Json(json!({"quotes": [
                            virtual_quote(&id(0), &"cd".repeat(32)),
                            virtual_quote(&id(1), &"cd".repeat(32)),
                            virtual_quote(&id(2), &"ab".repeat(32)),
                            virtual_quote(&id(5), &"cd".repeat(32)),
                        ]}))
                    }),
                )
                .route(
                    "/gov/service/nodes",
                    get(move || {
                        let pending = pending_gov.clone();
                        let cert = node_cert.clone();
                        async move {
                            axum::Json(json!({"value": [
                                {"nodeId": id(2), "status": "Trusted", "retiredCommitted": false, "certificate": cert,
                                 "quoteInfo": {"format": "Insecure_Virtual", "rawQuote": "",
                                               "details": {"measurement": "Insecure hard-coded virtual measurement v1", "hostData": "ab".repeat(32)}}},
                                {"nodeId": pending, "status": "Pending", "retiredCommitted": false,
                                 "quoteInfo": {"format": "Insecure_Virtual", "rawQuote": "",
                                               "details": {"measurement": "Insecure hard-coded virtual measurement v1", "hostData": "cd".repeat(32)}}},
                                {"nodeId": id(4), "status": "Retired", "retiredCommitted": true}
                            ]}))
                        }
                    }),
                )
                .route(
                    "/gov/service/join-policy",
                    get(|| async {
                        axum::Json(json!({"virtual": {"measurements": ["Insecure hard-coded virtual measurement v1"],
                                                      "hostData": ["ab".repeat(32), "cd".repeat(32)]}}))
                    }),
                )
                .route(
                    "/gov/service/members",
                    get(|| async { axum::Json(json!({"value": [{"memberId": "m".repeat(64), "status": "Active", "certificate": ""}]})) }),
                )
                .route(
                    "/gov/members/proposals",
                    get(|| async {
                        axum::Json(json!({"value": [
                            {"proposalId": "9".repeat(64), "proposerId": "m".repeat(64), "proposalState": "Open", "ballotCount": 0},
                            {"proposalId": "8".repeat(64), "proposerId": "m".repeat(64), "proposalState": "Accepted", "ballotCount": 1}
                        ]}))
                    }),
                )
                .route(
                    "/gov/members/proposals/{id}/actions",
                    get(|| async { axum::Json(json!({"actions": [{"name": "remove_node", "args": {"node_id": id(5)}}]})) }),
                );
        }
        let tls = if i == 3 {
            pending_tls.clone()
        } else {
            service.node_cert()
        };
        servers.push(TestServer::start(router, &tls).await);
    }
    {
        let mut a = addrs.lock().unwrap();
        a.extend(servers.iter().map(|s| s.addr.to_string()));
        a.push(format!("127.0.0.1:{}", closed_port()));
    }
    let entry = servers[0].addr.to_string();
    let mut ids: Vec<String> = (0..6).map(id).collect();
    ids[3] = pending_id;
    FakeService {
        _servers: servers,
        dir,
        entry,
        ids,
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn noderoll(args: Vec<String>) -> Run {
    noderoll_columns(args, None).await
}

/// [`noderoll`] with `COLUMNS` set to `columns` (unset for `None`: piped, as wide as it is).
async fn noderoll_columns(args: Vec<String>, columns: Option<u16>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"));
        match columns {
            Some(c) => cmd.env("COLUMNS", c.to_string()),
            None => cmd.env_remove("COLUMNS"),
        };
        let out = cmd
            .args(&args)
            .env_remove("NODEROLL_PLAN")
            .env_remove("NODEROLL_SERVICE_URL")
            .env_remove("NODEROLL_SERVICE_CERT")
            // `status` keeps where the service's nodes are: not in the real home directory.
            .env(
                "NODEROLL_STATE_DIR",
                std::env::temp_dir().join("noderoll-test-state"),
            )
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn cert(dir: &Path) -> String {
    dir.join("service_cert.pem").display().to_string()
}

#[tokio::test]
async fn status_json_describes_every_node() {
    let f = fake_service().await;
    let r = noderoll(args(&[
        "status",
        "--service-url",
        &f.entry,
        "--service-cert",
        &cert(f.dir.path()),
        "--output",
        "json",
    ]))
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    output_schema::validate("status", &doc);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["service_status"], "Open");
    assert_eq!(doc["current_view"], 4);
    assert_eq!(doc["primary_id"], f.ids[1].as_str());
    assert_eq!(doc["trusted_nodes"], 4);
    assert_eq!(doc["fault_tolerance"], 1);
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 6);
    let by_id = |i: usize| {
        nodes
            .iter()
            .find(|n| n["node_id"] == f.ids[i].as_str())
            .unwrap()
    };
    assert_eq!(by_id(0)["ccf_version"], "ccf-7.0.1");
    assert_eq!(by_id(1)["primary"], true);
    assert_eq!(
        by_id(2)["ccf_version"],
        "ccf-7.0.2",
        "each node's own /node/version is asked"
    );
    assert_eq!(by_id(2)["host_data"], "ab".repeat(32));
    // The joining node is asked for its version directly, with TLS pinned to its node id;
    // what it attests comes from the governance view (it has no quote of its own).
    assert_eq!(by_id(3)["status"], "Pending");
    assert_eq!(by_id(3)["ccf_version"], "ccf-7.0.1");
    assert_eq!(by_id(3)["host_data"], "cd".repeat(32));
    assert_eq!(by_id(4)["removable"], true);
    assert_eq!(by_id(4)["retired_committed"], true);
    assert_eq!(
        by_id(5)["reachability"],
        "unreachable",
        "a dead node is shown, not an abort"
    );
    assert_eq!(
        doc["join_policy"]["virtual"]["hostData"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let open = doc["open_proposals"].as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["actions"], json!(["remove_node"]));
}

#[tokio::test]
async fn status_table_for_people_from_a_plan_file() {
    let f = fake_service().await;
    let plan = f.dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[service]\nurl = \"https://{}\"\nservice_cert = \"service_cert.pem\"\n",
            f.entry
        ),
    )
    .unwrap();
    let r = noderoll(args(&["status", "--plan", plan.to_str().unwrap()])).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "Service Open  view 4",
        "ccf-7.0.2",
        "Pending",
        "unreachable",
        "Fault tolerance: f = 1",
        "remove_node",
    ] {
        assert!(
            r.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            r.stdout
        );
    }
}

/// On an 80-column terminal (`COLUMNS=80`) the table fits, and no node id, address, version
/// or date is broken across lines; piped, every column is there.
#[tokio::test]
async fn status_fits_80_columns_with_every_token_whole() {
    let f = fake_service().await;
    let base = [
        "status",
        "--service-url",
        &f.entry,
        "--service-cert",
        &cert(f.dir.path()),
    ];
    let json = noderoll(args(&[&base[..], &["--output", "json"]].concat())).await;
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let mut words = Vec::new();
    for n in doc["nodes"].as_array().unwrap() {
        words.push(n["node_id"].as_str().unwrap()[..8].to_string());
        for field in ["rpc_address", "ccf_version"] {
            words.extend(n[field].as_str().map(str::to_string));
        }
        if let Some(at) = n["certificate_expires_at"].as_str() {
            words.push(at[..10].to_string()); // the date
        }
    }
    let dated = |w: &String| w.len() == 10 && w.as_bytes()[4] == b'-';
    assert!(words.iter().any(dated), "a dated certificate: {words:?}");

    let narrow = noderoll_columns(args(&base), Some(80)).await;
    assert_eq!(narrow.code, 0, "{}", narrow.stderr);
    assert_fits_whole(&narrow.stdout, 80, &words);
    assert!(
        narrow.stdout.contains("--output json every field"),
        "{}",
        narrow.stdout
    );

    let piped = noderoll(args(&base)).await;
    for header in [
        "primary",
        "retired committed",
        "removable",
        "certificate expires",
    ] {
        assert!(
            piped.stdout.contains(header),
            "{header:?} in\n{}",
            piped.stdout
        );
    }
    assert!(!piped.stdout.contains("Narrowed"), "{}", piped.stdout);
}

#[tokio::test]
async fn status_errors_name_the_problem_and_use_documented_exit_codes() {
    let f = fake_service().await;
    let wrong = f.dir.path().join("other_service_cert.pem");
    std::fs::write(&wrong, ServiceIdentity::new().cert_pem).unwrap();
    let r = noderoll(args(&[
        "status",
        "--service-url",
        &f.entry,
        "--service-cert",
        wrong.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(r.code, 69, "{}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("service certificate mismatch")
            && r.stderr.contains("other_service_cert.pem"),
        "{}",
        r.stderr
    );

    let missing = PathBuf::from("/nonexistent/service_cert.pem");
    let r = noderoll(args(&[
        "status",
        "--service-url",
        &f.entry,
        "--service-cert",
        missing.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(r.code, 64);
    assert!(
        r.stderr.contains("/nonexistent/service_cert.pem"),
        "{}",
        r.stderr
    );

    let r = noderoll(args(&["status"])).await;
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("--plan"), "{}", r.stderr);

    let r = noderoll(args(&[
        "status",
        "--service-url",
        "http://127.0.0.1:1",
        "--service-cert",
        &cert(f.dir.path()),
    ]))
    .await;
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("https://"), "{}", r.stderr);

    let dead = format!("127.0.0.1:{}", closed_port());
    let r = noderoll(args(&[
        "status",
        "--service-url",
        &dead,
        "--service-cert",
        &cert(f.dir.path()),
    ]))
    .await;
    assert_eq!(r.code, 69);
    assert!(
        r.stderr.contains("no node of the service answered") && r.stderr.contains(&dead),
        "{}",
        r.stderr
    );

    let plan = f.dir.path().join("bad.toml");
    std::fs::write(&plan, "[service\nurl=").unwrap();
    let r = noderoll(args(&["status", "--plan", plan.to_str().unwrap()])).await;
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("bad.toml"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

#[tokio::test]
async fn help_lists_exit_codes() {
    let r = noderoll(args(&["--help"])).await;
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Exit codes:") && r.stdout.contains("69"),
        "{}",
        r.stdout
    );
}
