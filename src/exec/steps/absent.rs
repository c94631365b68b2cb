//! Why a launched node did not appear in the node table: CCF's usual join failures, and the
//! node's own `/node/state` to tell the snapshot one from the others.
//!
//! CCF's test harness maps a joiner that never appears to these causes by its log (CCF
//! `tests/infra/network.py`, `run_join_node`): "Quote does not contain known enclave
//! measurement" / "Quote host data is not authorised" (code version not registered),
//! "StartupSeqnoIsOld" (a snapshot older than the target's start) and "invalid cert on
//! handshake" (a wrong service certificate). The log is the launcher's; what noderoll can read
//! is `/node/state` (`node_frontend.h`, `get_state`: `startup_seqno` is the seqno of the
//! snapshot it started from). Until it is trusted a joiner has only its self-signed
//! certificate, so it is reached pinned to the node id the launcher reported
//! (`ccf::tls::Pin::NodeId`), and only on an interface with `endorsement: {authority: Node}`:
//! CCF refuses TLS on a `Service`-endorsed interface that has no certificate yet
//! (`src/enclave/rpc_sessions.h`, `accept`: "has no TLS certificate yet").
//! CCF refuses the join when the node handling it started from a later seqno
//! (`node_frontend.h`, `/join`: `this_startup_seqno > in.startup_seqno` → `StartupSeqnoIsOld`).

use super::StepCx;
use crate::ccf::{NodeAddr, Pin};
use crate::error_chain::one_line;
use crate::plan::Launched;

/// The causes CCF's harness tells apart, for every message.
const USUAL: &str = "usual causes (CCF tests/infra/network.py, run_join_node): its snapshot is older than the one the primary started from (StartupSeqnoIsOld), its code version is not registered (\"Quote host data is not authorised\"), or it was given another service's certificate (\"invalid cert on handshake\")";

/// What can be said about the launched node `l`, absent from the node table `ask` lists.
pub(super) async fn why_absent(cx: &StepCx<'_>, l: &Launched, ask: &[NodeAddr]) -> String {
    let mut primary_start = None;
    for a in ask {
        if let Ok(s) = cx.probe.state(a).await {
            primary_start = Some(s.startup_seqno);
            break;
        }
    }
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
    let told = match (found, primary_start) {
        (None, _) => {
            "its /node/state was not read: the launcher reported no node id and address to reach it by".to_string()
        }
        (Some(Err((addr, e))), _) => {
            format!("it does not answer /node/state at {addr} ({e}): it may not have started, or the address is of a Service-endorsed interface, which CCF serves only once the node is trusted (report an interface with endorsement authority Node to let noderoll read it; see the node's log)")
        }
        (Some(Ok(s)), Some(p)) if s.startup_seqno < p => format!(
            "it started from seqno {} and the primary from seqno {p}, so CCF refuses its join with StartupSeqnoIsOld: start new nodes from a committed snapshot at seqno {p} or later ([nodes] fresh_snapshot = true hands the launcher one as NODEROLL_SNAPSHOT_NAME and NODEROLL_SNAPSHOT_SEQNO, or copy the primary's latest snapshot_*.committed into the joiner's snapshots directory)",
            s.startup_seqno
        ),
        (Some(Ok(s)), Some(p)) => format!(
            "it answers /node/state ({}, started from seqno {} ≥ the primary's {p}), so its snapshot is recent enough: look in its log for an unregistered code version or a wrong service certificate",
            s.state, s.startup_seqno
        ),
        (Some(Ok(s)), None) => format!(
            "it answers /node/state ({}, started from seqno {}); the primary's startup seqno could not be read to compare",
            s.state, s.startup_seqno
        ),
    };
    format!("{told}; {USUAL}")
}
