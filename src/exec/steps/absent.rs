//! Why a launched node did not appear in the node table: CCF's usual join failures, and the
//! node's own `/node/state` to tell the snapshot one from the others.
//!
//! CCF's test harness maps a joiner that never appears to these causes by its log (CCF
//! `tests/infra/network.py`, `run_join_node`): "Quote does not contain known enclave
//! measurement" / "Quote host data is not authorised" (code version not registered),
//! "StartupSeqnoIsOld" (a snapshot older than the target's start) and "invalid cert on
//! handshake" (a wrong service certificate). The log is the launcher's; what noderoll can
//! read is `/node/state` (`node_frontend.h`, `get_state`: `startup_seqno` is the seqno of the
//! snapshot the node started from).
//!
//! CCF refuses the join with `400 StartupSeqnoIsOld` when the node handling it started from a
//! later seqno (`node_frontend.h`, `/join`: `this_startup_seqno > in.startup_seqno`), checked
//! on the node the joiner contacts (before a backup redirects it to the primary) and on the
//! primary; so the bar is the highest `startup_seqno` of the trusted nodes that can be read.
//! An attestation the join policy does not admit is refused with `401 InvalidQuote`
//! (`quote_verification_error`: host data, measurement, UVM endorsements); a TCB failure
//! (`FailedInvalidCPUID`, `FailedInvalidTcbVersion`) falls into its default, 500.
//! The joiner takes any 4xx answer to its join as fatal and shuts down (CCF 6.x/7.0
//! `src/node/node_state.h`, `initiate_join`: `is_http_status_client_error`, "Shutting down
//! node gracefully"; a 5xx, or any error to a 5.x joiner, is retried), so a refused joiner
//! usually no longer answers: a `StartupSeqnoIsOld` refusal is then
//! inferred from the snapshot it was handed (`NODEROLL_SNAPSHOT_SEQNO`, none or below the
//! bar). A joiner still running has only its self-signed certificate, so it is reached pinned
//! to the node id the launcher reported (`ccf::tls::Pin::NodeId`), and only on an interface
//! with `endorsement: {authority: Node}`: CCF refuses TLS on a `Service`-endorsed interface
//! that has no certificate yet (`src/enclave/rpc_sessions.h`, `accept`: "has no TLS
//! certificate yet").

use super::StepCx;
use crate::ccf::{NodeAddr, Pin};
use crate::error_chain::one_line;
use crate::plan::Launched;

/// The causes CCF's harness tells apart, for every message.
const USUAL: &str = "usual causes (CCF tests/infra/network.py, run_join_node): its snapshot is older than the one the primary started from (400 StartupSeqnoIsOld), its attestation is not registered (401 InvalidQuote: \"Quote host data is not authorised\", \"Quote does not contain known enclave measurement\", \"UVM endorsements are not authorised\"), or it was given another service's certificate (\"invalid cert on handshake\"); CCF 6.x/7.0 shuts a joiner down on any 4xx answer to its join (src/node/node_state.h, initiate_join: \"Shutting down node gracefully\"), while an SNP joiner refused for its TCB (no nodes.snp.tcb_versions minimum for its CPU: FailedInvalidCPUID, answered 500) keeps retrying";

/// The fix for a joiner refused with `StartupSeqnoIsOld` against a bar of `bar`.
fn fix(bar: u64) -> String {
    format!(
        "start new nodes from a committed snapshot at seqno {bar} or later ([nodes] fresh_snapshot = true hands the launcher one as NODEROLL_SNAPSHOT_NAME and NODEROLL_SNAPSHOT_SEQNO, or copy the primary's latest snapshot_*.committed into the joiner's snapshots directory)"
    )
}

/// The highest `startup_seqno` of the nodes of `ask` that answer `/node/state`.
async fn highest_start(cx: &StepCx<'_>, ask: &[NodeAddr]) -> Option<u64> {
    let mut bar = None;
    for a in ask {
        if let Ok(s) = cx.probe.state(a).await {
            bar = bar.max(Some(s.startup_seqno));
        }
    }
    bar
}

/// What can be said about the launched node `l`, absent from the node table `ask` lists.
pub(super) async fn why_absent(cx: &StepCx<'_>, l: &Launched, ask: &[NodeAddr]) -> String {
    let bar = highest_start(cx, ask).await;
    let found = match (&l.node_id, &l.rpc_address) {
        (Some(id), Some(addr)) => {
            let pinned = Pin::node_id(id).and_then(|p| cx.probe.with_pin(p).ok());
            match pinned {
                Some(c) => Some(c.state(addr).await.map_err(|e| (addr, one_line(&e)))),
                None => None,
            }
        }
        _ => None,
    };
    let handed = cx.run.snapshot.as_ref().map(|s| s.seqno);
    let told = match (found, bar) {
        (Some(Ok(s)), Some(p)) if s.startup_seqno < p => format!(
            "it started from seqno {} and the service's nodes from seqno {p}, so CCF refuses its join with StartupSeqnoIsOld: {}",
            s.startup_seqno,
            fix(p)
        ),
        (Some(Ok(s)), Some(p)) => format!(
            "it answers /node/state ({}, started from seqno {} ≥ the service's {p}), so its snapshot is recent enough and it is still running, so its join was not answered with a 4xx: look in its log for a TCB refusal (500, retried), a wrong service certificate, or (a 5.x joiner, which retries every refusal) an unregistered code version",
            s.state, s.startup_seqno
        ),
        (Some(Ok(s)), None) => format!(
            "it answers /node/state ({}, started from seqno {}); the service's startup seqno could not be read to compare",
            s.state, s.startup_seqno
        ),
        (_, Some(p)) if p > 0 && handed.is_none_or(|h| h < p) => format!(
            "the service's nodes started from seqno {p} and the launcher was handed {}, so CCF most likely refused its join with StartupSeqnoIsOld and shut it down (look in its log for \"StartupSeqnoIsOld\" and \"Shutting down node gracefully\"): {}",
            handed.map_or("no snapshot".into(), |h| format!("one at seqno {h}")),
            fix(p)
        ),
        (None, _) => {
            "its /node/state was not read: the launcher reported no node id and address to reach it by".to_string()
        }
        (Some(Err((addr, e))), _) => format!(
            "it does not answer /node/state at {addr} ({e}): CCF shuts down a joiner whose join it refuses with a 4xx, such as an attestation whose host data, measurement or UVM endorsement is not registered (look in its log for \"Shutting down node gracefully\" and the refusal it quotes), or it did not start, or the address is of a Service-endorsed interface, which CCF serves only once the node is trusted (report an interface with endorsement authority Node to let noderoll read it)"
        ),
    };
    format!("{told}; {USUAL}")
}
