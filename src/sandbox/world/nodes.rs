//! Node lifecycle: a process launches, joins (Pending if its attestation matches a registered
//! code version, CCF `node_frontend.h` `/join`), is trusted and catches up, is retired and
//! becomes removable once `retired_committed` commits, and is deleted (`remove_node` in
//! `actions.js`; `get_removable_nodes`, `delete_retired_committed_node` in `node_frontend.h`).

use std::time::Instant;

use serde_json::{Value, json};

use super::attestation::{Build, Refusal};
use super::{ApiError, TxRef, World};
use crate::ccf::types::short_id;
use crate::plan::version::CcfVersion;

/// Whether a joiner of this build shuts down on a 4xx answer to its join: CCF 6.0.0-dev0 and
/// later (`node_state.h`, `initiate_join`); 5.x answered every error by retrying.
fn shuts_down_on_4xx(b: &Build) -> bool {
    CcfVersion::parse(&b.ccf_version).is_none_or(|v| v.major >= 6)
}

/// Node status in the node table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Joined, waiting to be trusted.
    Pending,
    /// Voting member of consensus.
    Trusted,
    /// Retired.
    Retired,
}

impl Status {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Trusted => "Trusted",
            Status::Retired => "Retired",
        }
    }

    /// Parse the wire spelling.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "Pending" => Some(Status::Pending),
            "Trusted" => Some(Status::Trusted),
            "Retired" => Some(Status::Retired),
            _ => None,
        }
    }
}

/// Where a node process is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum Lifecycle {
    /// Attestation being verified; appears Pending at `at` if the join policy admits it.
    Joining {
        /// When the join request completes.
        at: Instant,
    },
    /// Refused on join. Answered with a 4xx (`StartupSeqnoIsOld`, `InvalidQuote` 401) a 6.x or
    /// later joiner has shut down (not running); answered with a 5xx (a TCB failure), or a
    /// 5.x joiner, keeps retrying and joins if the service comes to admit it.
    Refused {
        /// CCF's log text.
        reason: String,
    },
    /// Fault injected: never completes its join.
    Stuck,
    /// In the node table as Pending.
    Pending,
    /// Trusted; replaying the ledger until `ready_at`.
    CatchingUp {
        /// When it has caught up.
        ready_at: Instant,
    },
    /// Caught up and part of the network.
    PartOfNetwork,
}

/// One node process.
#[derive(Debug, Clone)]
pub struct SimNode {
    /// Node id.
    pub node_id: String,
    /// RPC port on 127.0.0.1.
    pub port: u16,
    /// Its build.
    pub build: Build,
    /// Lifecycle.
    pub lifecycle: Lifecycle,
    /// Process running.
    pub running: bool,
    /// Cut off from clients and peers.
    pub partitioned: bool,
    /// Its trust has been committed (with `PartOfNetwork`: presents the endorsed certificate).
    pub trust_committed: bool,
    /// Injected: never answers `/node/ready/*` with 204 (a node that never becomes healthy).
    pub never_ready: bool,
    /// The name its launch was given (`NODEROLL_NODE_NAME`): what its `node_data` carries
    /// from its join on, as a `node_data_json_file` would (CCF `tests/governance.py`,
    /// `test_node_data`: a joined, untrusted node's `node_data` is its file's), and what the
    /// stop command may name it by.
    pub name: Option<String>,
    /// The seqno of the snapshot it started from (0: none, it replays the whole ledger), as
    /// `/node/state` reports it.
    pub startup_seqno: u64,
}

impl SimNode {
    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Running and not partitioned.
    pub fn reachable(&self) -> bool {
        self.running && !self.partitioned
    }

    /// Caught up with the ledger.
    pub fn caught_up(&self) -> bool {
        self.lifecycle == Lifecycle::PartOfNetwork
    }

    /// Presents the service-endorsed certificate (else its self-signed one).
    pub fn endorsed(&self) -> bool {
        self.caught_up() && self.trust_committed
    }

    /// Serves the service-level endpoints (not only its own state).
    pub fn part_of_network(&self) -> bool {
        matches!(
            self.lifecycle,
            Lifecycle::CatchingUp { .. } | Lifecycle::PartOfNetwork
        )
    }
}

/// A row of the node table.
#[derive(Debug, Clone)]
pub struct NodeRow {
    /// Index into [`World::nodes`].
    pub slot: usize,
    /// Status.
    pub status: Status,
    /// `node_data`.
    pub node_data: Value,
    /// Seqno of the last write to this row.
    pub last_written: u64,
    /// Seqno of the committed `retired_committed` write.
    pub retired_committed_seqno: Option<u64>,
    /// The `retired_committed` flag as written (possibly not yet committed).
    pub retired_committed: bool,
    /// A node of the service before a disaster recovery: retired by the recovery
    /// (`retire_active_nodes`), never `retired_committed`, never removable (CCF #6604).
    pub pre_recovery: bool,
}

impl World {
    /// Whether a node is in an active configuration or retired without a committed
    /// `retired_committed` (CCF: stop only nodes listed by `removable_nodes`).
    pub fn must_keep_running(&self, id: &str) -> bool {
        match self.table.get(id) {
            Some(row) => match row.status {
                Status::Trusted => true,
                Status::Retired => !self.removable(id),
                Status::Pending => false,
            },
            None => false,
        }
    }

    /// Listed by `removable_nodes`: retired and `retired_committed` committed.
    pub fn removable(&self, id: &str) -> bool {
        self.table.get(id).is_some_and(|r| {
            r.status == Status::Retired
                && r.retired_committed_seqno
                    .is_some_and(|s| s <= self.commit_seqno)
        })
    }

    /// A new node process with `build` starts joining. Returns its slot.
    pub fn launch(&mut self, node_id: String, port: u16, build: Build, now: Instant) -> usize {
        let lifecycle = if std::mem::take(&mut self.faults.never_join_next) {
            Lifecycle::Stuck
        } else {
            Lifecycle::Joining {
                at: now + self.latency.join(&mut self.rng),
            }
        };
        let never_ready = std::mem::take(&mut self.faults.never_ready_next);
        self.nodes.push(SimNode {
            node_id,
            port,
            build,
            lifecycle,
            running: true,
            partitioned: false,
            trust_committed: false,
            never_ready,
            name: None,
            startup_seqno: 0,
        });
        self.nodes.len() - 1
    }

    /// Stop a node process. `by_orchestrator`: the launcher contract's stop command (checked
    /// against the invariants); otherwise an injected crash.
    pub fn stop(&mut self, slot: usize, by_orchestrator: bool, now: Instant) {
        let id = self.nodes[slot].node_id.clone();
        if by_orchestrator && self.nodes[slot].running && self.must_keep_running(&id) {
            let status = self
                .table
                .get(&id)
                .map(|r| r.status.as_str())
                .unwrap_or("?");
            self.violation(
                now,
                "stopped_in_active_config",
                format!(
                    "node {} ({status}) stopped before /node/network/removable_nodes listed it",
                    short_id(&id)
                ),
            );
        }
        self.nodes[slot].running = false;
    }

    /// Cut a node off (or heal it).
    pub fn set_partitioned(&mut self, slot: usize, partitioned: bool) {
        self.nodes[slot].partitioned = partitioned;
    }

    /// A node of the service before a disaster recovery, as the recovery left it: `Retired`
    /// (`retire_active_nodes`) with `retired_committed` false, in no configuration, not
    /// running. CCF (6.x, early 7.x; issue #6604) never lists it as removable.
    pub fn add_pre_recovery_node(&mut self, node_id: String, port: u16, build: Build) {
        let slot = self.nodes.len();
        self.nodes.push(SimNode {
            node_id: node_id.clone(),
            port,
            build,
            lifecycle: Lifecycle::PartOfNetwork,
            running: false,
            partitioned: false,
            trust_committed: true,
            never_ready: false,
            name: None,
            startup_seqno: 0,
        });
        self.table.insert(
            node_id,
            NodeRow {
                slot,
                status: Status::Retired,
                node_data: Value::Null,
                last_written: 1,
                retired_committed_seqno: None,
                retired_committed: false,
                pre_recovery: true,
            },
        );
    }

    pub(super) fn advance_lifecycles(&mut self, now: Instant) {
        for slot in 0..self.nodes.len() {
            if !self.nodes[slot].reachable() {
                continue;
            }
            let n = &self.nodes[slot];
            match n.lifecycle.clone() {
                Lifecycle::Joining { at } if now >= at => self.try_join(slot, now),
                Lifecycle::Refused { .. } => self.try_join(slot, now),
                Lifecycle::CatchingUp { ready_at } if now >= ready_at => {
                    self.nodes[slot].lifecycle = Lifecycle::PartOfNetwork;
                    let id = self.nodes[slot].node_id.clone();
                    self.event(now, "node_caught_up", id);
                }
                _ => {}
            }
        }
    }

    /// The joiner's request reaches the primary: admitted → Pending; refused → logged, and the
    /// joiner shuts down or retries (`refuse`).
    fn try_join(&mut self, slot: usize, now: Instant) {
        if self.primary.is_none() {
            return;
        }
        let id = self.nodes[slot].node_id.clone();
        // The startup seqno (400 `StartupSeqnoIsOld`) is checked before the attestation
        // (node_frontend.h, `/join`).
        let refused = match self.startup_seqno_refusal(slot) {
            Some(old) => Err(Refusal {
                status: 400,
                reason: old,
            }),
            None => self.join_policy.admits(&self.nodes[slot].build),
        };
        if let Err(r) = refused {
            self.refuse(slot, r, now);
            return;
        }
        let (_, seqno) = self.append(Vec::new(), now);
        let node_data = match &self.nodes[slot].name {
            Some(name) => json!({ "noderoll_name": name }),
            None => Value::Null,
        };
        self.table.insert(
            id.clone(),
            NodeRow {
                slot,
                status: Status::Pending,
                node_data,
                last_written: seqno,
                retired_committed_seqno: None,
                retired_committed: false,
                pre_recovery: false,
            },
        );
        self.nodes[slot].lifecycle = Lifecycle::Pending;
        self.event(now, "node_pending", id);
    }

    /// The joiner's answer to a refused join. CCF 6.x/7.0 `node_state.h` (`initiate_join`, the
    /// join client's callback) takes any 4xx (`is_http_status_client_error`) as fatal: "Join
    /// request to … returned … Shutting down node gracefully." (CCF #6473, #6489, 6.0.0-dev0).
    /// A 5.x joiner, and any joiner answered 5xx, logs the error and retries on its join
    /// timer (`start_join_timer`), joining once the service admits it.
    fn refuse(&mut self, slot: usize, r: Refusal, now: Instant) {
        let id = short_id(&self.nodes[slot].node_id).to_string();
        let fatal = (400..500).contains(&r.status) && shuts_down_on_4xx(&self.nodes[slot].build);
        if fatal {
            self.log.push(format!(
                "node {id} refused on join: Join request returned {} Bad Request: {}. Shutting down node gracefully.",
                r.status, r.reason
            ));
            self.nodes[slot].lifecycle = Lifecycle::Refused { reason: r.reason };
            self.stop(slot, false, now);
            return;
        }
        if !matches!(&self.nodes[slot].lifecycle, Lifecycle::Refused { reason } if *reason == r.reason)
        {
            self.log.push(format!(
                "node {id} refused on join: An error occurred while joining the network: {} {}; retrying",
                r.status, r.reason
            ));
        }
        self.nodes[slot].lifecycle = Lifecycle::Refused { reason: r.reason };
    }

    /// `transition_node_to_trusted`: a Pending node becomes Trusted and starts catching up
    /// (trusting one whose build is not registered is recorded). Returns whether it was
    /// Pending.
    pub(super) fn trust(&mut self, id: &str, now: Instant) -> bool {
        let row = self.table.get_mut(id).expect("checked above");
        if row.status != Status::Pending {
            return false;
        }
        row.status = Status::Trusted;
        let slot = row.slot;
        let build = self.nodes[slot].build.clone();
        if let Err(Refusal { reason: why, .. }) = self.join_policy.admits(&build) {
            self.violation(
                now,
                "trusted_unregistered_build",
                format!(
                    "node {} trusted although its build is not registered: {why}",
                    short_id(id)
                ),
            );
        }
        let ready_at = now + self.latency.catch_up(&mut self.rng);
        self.nodes[slot].lifecycle = Lifecycle::CatchingUp { ready_at };
        true
    }

    /// `remove_node`: a Pending node's row is deleted (a joiner still running re-registers,
    /// CCF #6463); a Trusted node is retired. Returns whether it retired a node.
    pub(super) fn remove(&mut self, id: &str, now: Instant) -> bool {
        match self.table.get(id).map(|r| (r.status, r.slot)) {
            Some((Status::Pending, slot)) => {
                self.table.remove(id);
                if self.nodes[slot].running {
                    let at = now + self.latency.join(&mut self.rng);
                    self.nodes[slot].lifecycle = Lifecycle::Joining { at };
                }
                false
            }
            Some((Status::Trusted, _)) => {
                self.table.get_mut(id).expect("present").status = Status::Retired;
                true
            }
            _ => false,
        }
    }

    /// `DELETE /node/network/nodes/{id}`.
    pub fn delete_node(&mut self, id: &str, now: Instant) -> Result<TxRef, ApiError> {
        self.require_primary()?;
        if !self.table.contains_key(id) {
            return Err(ApiError::new(404, "ResourceNotFound", "No such node"));
        }
        if !self.removable(id) {
            if self.table.get(id).is_some_and(|r| r.pre_recovery) {
                // CCF #6604: refused forever, and not an orchestrator error to have asked.
                return Err(ApiError::new(
                    400,
                    "NodeNotRetiredCommitted",
                    "Node is not completely retired",
                ));
            }
            self.violation(
                now,
                "delete_before_retired_committed",
                format!(
                    "DELETE of node {} before its retirement was committed",
                    short_id(id)
                ),
            );
            return Err(ApiError::new(
                400,
                "NodeNotRetiredCommitted",
                "Node is not completely retired",
            ));
        }
        self.table.remove(id);
        Ok(self.append(Vec::new(), now))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_world::{build, run, world};
    use super::Lifecycle;

    #[test]
    fn a_joiner_refused_with_401_shuts_down_and_stays_down() {
        let (mut w, t0) = world(3);
        let b = build("bb", "ccf-7.0.2");
        let slot = w.launch("f".repeat(64), 2000, b.clone(), t0);
        let t = run(&mut w, t0, 2000);
        assert!(!w.table.contains_key(&"f".repeat(64)));
        assert!(
            !w.nodes[slot].running,
            "CCF shuts a 4xx-refused joiner down"
        );
        assert!(
            w.log.iter().any(|l| l.contains("returned 401")
                && l.contains("host data is not authorised")
                && l.contains("Shutting down node gracefully")),
            "{:?}",
            w.log
        );
        // Registering its build afterwards does not bring it back: it has exited.
        w.join_policy.allow(&b);
        run(&mut w, t, 2000);
        assert!(!w.table.contains_key(&"f".repeat(64)));
    }

    #[test]
    fn a_5x_joiner_refused_keeps_retrying_and_joins_once_registered() {
        let (mut w, t0) = world(3);
        let b = build("bb", "ccf-5.0.4");
        let slot = w.launch("f".repeat(64), 2000, b.clone(), t0);
        let t = run(&mut w, t0, 2000);
        assert!(w.nodes[slot].running, "5.x retries every join error");
        assert!(matches!(w.nodes[slot].lifecycle, Lifecycle::Refused { .. }));
        w.join_policy.allow(&b);
        run(&mut w, t, 2000);
        assert!(w.table.contains_key(&"f".repeat(64)));
    }

    #[test]
    fn a_joiner_answered_500_keeps_retrying() {
        let (mut w, t0) = world(3);
        let mut b = build("bb", "ccf-7.0.2");
        b.platform = super::super::Platform::Snp;
        w.join_policy.allow(&b);
        w.join_policy.snp_tcb_versions.clear();
        let slot = w.launch("f".repeat(64), 2000, b, t0);
        let t = run(&mut w, t0, 2000);
        assert!(w.nodes[slot].running, "a 5xx is not fatal to the joiner");
        assert!(
            matches!(&w.nodes[slot].lifecycle, Lifecycle::Refused { reason } if reason.contains("FailedInvalidCPUID"))
        );
        w.join_policy.allow(&w.nodes[slot].build.clone());
        run(&mut w, t, 2000);
        assert!(w.table.contains_key(&"f".repeat(64)));
    }

    #[test]
    fn stopping_a_trusted_node_is_a_violation_but_a_crash_is_not() {
        let (mut w, t0) = world(3);
        w.stop(2, false, t0);
        assert!(w.violations.is_empty());
        w.stop(1, true, t0);
        assert_eq!(w.violations[0].kind, "stopped_in_active_config");
        w.tick(t0 + Duration::from_millis(10));
        assert!(w.violations.iter().any(|v| v.kind == "quorum_lost"));
    }
}
