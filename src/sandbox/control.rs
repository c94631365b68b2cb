//! The sandbox's control endpoint: plain HTTP on 127.0.0.1 (it is a local development tool),
//! used by `noderoll sandbox launch-node | stop-node | fault` and by tests. It launches and
//! stops nodes, injects faults, and reports invariant violations, events and request counts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::SandboxError;
use super::runtime::Core;
use super::world::{Build, Lifecycle};

/// `POST /nodes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchRequest {
    /// The build the node runs.
    pub build: Build,
    /// The launch's name (`NODEROLL_NODE_NAME`), carried in the node's `node_data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The committed snapshot it starts from (`NODEROLL_SNAPSHOT_NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_name: Option<String>,
    /// The seqno of the snapshot it starts from (`NODEROLL_SNAPSHOT_SEQNO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_seqno: Option<u64>,
}

/// The launcher contract's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Launched {
    /// Node id.
    pub node_id: String,
    /// `127.0.0.1:port`.
    pub rpc_address: String,
}

/// `POST /nodes/stop`: a node id or RPC address, or a launch name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopRequest {
    /// Node id or `127.0.0.1:port`.
    #[serde(default)]
    pub node: String,
    /// A launch name (`NODEROLL_NODE_NAME`), when no node was reported for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST /faults`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Crash a node (not checked against the invariants: the environment did it).
    Kill {
        /// Node id or address.
        node: String,
    },
    /// Cut a node off from clients and peers.
    Partition {
        /// Node id or address.
        node: String,
    },
    /// Undo a partition.
    Heal {
        /// Node id or address.
        node: String,
    },
    /// Answer the next `count` requests with 503.
    FailNext {
        /// How many.
        count: u32,
    },
    /// Answer this fraction of requests with 503.
    FailFraction {
        /// 0.0 – 1.0.
        fraction: f64,
    },
    /// Add latency to every request.
    Latency {
        /// Milliseconds.
        ms: u64,
    },
    /// The next launched node never completes its join.
    NeverJoinNext,
    /// The next launched node joins and can be trusted but never reports ready.
    NeverReadyNext,
    /// The next accepted proposal fails to apply (500).
    FailApplyNext,
    /// The primary writes no snapshots (its snapshots directory is not writable, say).
    NoSnapshots,
    /// No interface enables `SnapshotRead`: `/node/snapshot` answers a bodiless 404.
    SnapshotReadOff,
    /// Renew the service certificate with the same key.
    RenewServiceCert,
    /// Tear down the connections of the next `count` requests (a burst of resets).
    ResetNext {
        /// How many.
        count: u32,
    },
    /// Other members' recent proposals come from a clock this far ahead (this machine's
    /// signer is that far behind).
    ClockSkew {
        /// Seconds.
        secs: u64,
    },
    /// Depose the primary now.
    ForceElection,
    /// Another member's "add" proposal is accepted, dropping every open proposal.
    InjectAddProposal,
    /// Multiply election time.
    SlowElections {
        /// Factor (10 = ten times slower).
        factor: f64,
    },
    /// Make a member Active or not.
    MemberStatus {
        /// Member id.
        member_id: String,
        /// Active?
        active: bool,
    },
}

fn refused(e: SandboxError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": e.to_string() })),
    )
        .into_response()
}

async fn launch(
    State(core): State<Arc<Core>>,
    axum::Json(req): axum::Json<LaunchRequest>,
) -> Response {
    let startup = core.startup_seqno(req.snapshot_name.as_deref(), req.snapshot_seqno);
    match startup.and_then(|seqno| core.launch_named(req.build, req.name, seqno)) {
        Ok((node_id, rpc_address)) => axum::Json(Launched {
            node_id,
            rpc_address,
        })
        .into_response(),
        Err(e) => refused(e),
    }
}

async fn stop(State(core): State<Arc<Core>>, axum::Json(req): axum::Json<StopRequest>) -> Response {
    if let (true, Some(name)) = (req.node.is_empty(), &req.name) {
        core.stop_by_name(name);
        return StatusCode::NO_CONTENT.into_response();
    }
    match core.stop(&req.node, true) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refused(e),
    }
}

async fn fault(State(core): State<Arc<Core>>, axum::Json(f): axum::Json<Fault>) -> Response {
    match apply_fault(&core, f) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refused(e),
    }
}

/// Apply a fault (also used in-process by tests).
pub fn apply_fault(core: &Core, f: Fault) -> Result<(), SandboxError> {
    let now = Instant::now();
    match f {
        Fault::Kill { node } => core.stop(&node, false),
        Fault::Partition { node } => core.partition(&node, true),
        Fault::Heal { node } => core.partition(&node, false),
        Fault::RenewServiceCert => core.renew_service_cert(),
        other => {
            let mut w = core.shared.world();
            match other {
                Fault::FailNext { count } => w.faults.fail_next = count,
                Fault::FailFraction { fraction } => {
                    w.faults.fail_fraction = fraction.clamp(0.0, 1.0)
                }
                Fault::Latency { ms } => w.faults.latency_ms = ms,
                Fault::NeverJoinNext => w.faults.never_join_next = true,
                Fault::NeverReadyNext => w.faults.never_ready_next = true,
                Fault::FailApplyNext => w.faults.fail_apply_next = true,
                Fault::NoSnapshots => w.faults.no_snapshots = true,
                Fault::SnapshotReadOff => w.faults.snapshot_read_off = true,
                Fault::ResetNext { count } => w.faults.reset_next = count,
                Fault::ClockSkew { secs } => w.skew_clock(secs),
                Fault::ForceElection => w.start_election(now),
                Fault::InjectAddProposal => {
                    w.inject_foreign_add(now)
                        .map_err(|e| SandboxError::Refused(e.message))?;
                }
                Fault::SlowElections { factor } => w.faults.election_factor = factor.max(0.0),
                Fault::MemberStatus { member_id, active } => {
                    let m = w
                        .members
                        .iter_mut()
                        .find(|m| m.id == member_id)
                        .ok_or_else(|| SandboxError::Refused(format!("no member {member_id}")))?;
                    m.active = active;
                }
                Fault::Kill { .. }
                | Fault::Partition { .. }
                | Fault::Heal { .. }
                | Fault::RenewServiceCert => {
                    unreachable!("handled above")
                }
            }
            Ok(())
        }
    }
}

/// `GET /violations`: the invariant violations and the catch-up write stall so far.
async fn violations(State(core): State<Arc<Core>>) -> Response {
    let w = core.shared.world();
    axum::Json(json!({ "violations": w.violations, "write_stall": w.write_stall() }))
        .into_response()
}

async fn events(State(core): State<Arc<Core>>) -> Response {
    axum::Json(json!({ "events": core.shared.world().events })).into_response()
}

/// A summary of the simulation.
pub fn status_json(core: &Core) -> Value {
    let w = core.shared.world();
    let nodes: Vec<Value> = w
        .nodes
        .iter()
        .map(|n| {
            let lifecycle = match &n.lifecycle {
                Lifecycle::Joining { .. } => "joining".to_string(),
                Lifecycle::Refused { reason } => format!("refused: {reason}"),
                Lifecycle::Stuck => "stuck".into(),
                Lifecycle::Pending => "pending".into(),
                Lifecycle::CatchingUp { .. } => "catching_up".into(),
                Lifecycle::PartOfNetwork => "part_of_network".into(),
            };
            json!({
                "node_id": n.node_id, "rpc_address": n.address(), "running": n.running, "partitioned": n.partitioned,
                "lifecycle": lifecycle, "ccf_version": n.build.ccf_version,
                "status": w.table.get(&n.node_id).map(|r| r.status.as_str()),
            })
        })
        .collect();
    json!({
        "view": w.view, "primary_id": w.primary, "commit_seqno": w.commit_seqno,
        "requests": w.requests, "write_requests": w.write_requests,
        "violations": w.violations.len(), "write_stall": w.write_stall(), "nodes": nodes,
    })
}

async fn status(State(core): State<Arc<Core>>) -> Response {
    axum::Json(status_json(&core)).into_response()
}

/// Serve the control endpoint on 127.0.0.1:0.
pub async fn start(
    core: Arc<Core>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), SandboxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| SandboxError::Io {
            what: "cannot bind the control endpoint".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Io {
        what: "control endpoint".into(),
        source,
    })?;
    let app = Router::new()
        .route("/nodes", post(launch))
        .route("/nodes/stop", post(stop))
        .route("/faults", post(fault))
        .route("/violations", get(violations))
        .route("/events", get(events))
        .route("/status", get(status))
        .with_state(core);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("sandbox control endpoint stopped: {e}");
        }
    });
    Ok((addr, task))
}

/// A request to a running sandbox's control endpoint.
pub async fn call(control: &str, path: &str, body: Option<Value>) -> Result<Value, SandboxError> {
    crate::ccf::tls::ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| SandboxError::Refused(format!("cannot build an HTTP client: {e}")))?;
    let url = format!("http://{control}{path}");
    let req = match body {
        Some(b) => client.post(&url).json(&b),
        None => client.get(&url),
    };
    let resp = req.send().await.map_err(|e| {
        SandboxError::Refused(format!(
            "cannot reach the sandbox at {control} (is it still running?): {e}"
        ))
    })?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or(text);
        return Err(SandboxError::Refused(msg));
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text)
        .map_err(|e| SandboxError::Refused(format!("unexpected answer from the sandbox: {e}")))
}
