//! The simulated service: one ledger, consensus (views, primary, elections, commits that need a
//! live majority in every active configuration), the node table, node lifecycles (join,
//! pending, catch-up, retirement, removal) and governance (proposals, ballots, the COSE replay
//! window, default-constitution semantics).
//!
//! Pure state: time is passed in, nothing here does I/O, so it is unit-tested without servers.
//! The HTTP layer authenticates requests and renders JSON; the runtime calls [`World::tick`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;

use super::constitution::{self, Action};
use super::latency::{LatencyModel, Rng};
use crate::signing::PublicKey;

/// The virtual platform's fixed measurement.
pub const VIRTUAL_MEASUREMENT: &str = "Insecure hard-coded virtual measurement v1";
/// The view the service starts in.
pub const GENESIS_VIEW: u64 = 2;
/// Default size of the COSE proposal replay window.
pub const RECENT_PROPOSALS_WINDOW: usize = 100;
/// `maximum_node_certificate_validity_days`.
pub const MAX_NODE_CERT_VALIDITY_DAYS: u64 = 365;

/// A transaction id as `(view, seqno)`.
pub type TxRef = (u64, u64);

/// Attestation platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Virtual (no TEE).
    Virtual,
    /// AMD SEV-SNP.
    Snp,
}

impl Platform {
    /// Quote format name.
    pub fn quote_format(self) -> &'static str {
        match self {
            Platform::Virtual => "Insecure_Virtual",
            Platform::Snp => "AMD_SEV_SNP_v1",
        }
    }
}

/// What a node runs: the code identity it attests and the version it reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// Platform.
    pub platform: Platform,
    /// `/node/version` `ccf_version`.
    pub ccf_version: String,
    /// Host data (virtual: SHA-256 of the package; SNP: of the security policy).
    pub host_data: String,
    /// Measurement (virtual: the fixed string; SNP: 96 hex).
    pub measurement: String,
    /// SNP only: the UVM endorsement the node presents (Azure confidential containers). When
    /// present CCF admits the node by it instead of by its measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uvm: Option<UvmEndorsement>,
}

/// A UVM endorsement: issuer DID, feed and security version number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UvmEndorsement {
    /// Issuer DID (`did:x509:...`).
    pub did: String,
    /// Feed (e.g. `ContainerPlat-AMD-UVM`).
    pub feed: String,
    /// SVN, a decimal string as CCF stores it.
    pub svn: String,
}

impl UvmEndorsement {
    /// The raw endorsement a node presents (synthetic but stable: a real one is a COSE Sign1
    /// envelope from the UVM's issuer).
    pub fn raw(&self) -> Vec<u8> {
        format!(
            "noderoll sandbox UVM endorsement\ndid={}\nfeed={}\nsvn={}\n",
            self.did, self.feed, self.svn
        )
        .into_bytes()
    }
}

/// CCF `matches_uvm_roots_of_trust` (`src/node/uvm_endorsements.cpp`): same DID and feed, and
/// the registered minimum svn ≤ the endorsement's svn (both parsed as unsigned integers).
fn uvm_matches(
    registered: &BTreeMap<String, BTreeMap<String, String>>,
    e: &UvmEndorsement,
) -> bool {
    let Ok(svn) = e.svn.parse::<u64>() else {
        return false;
    };
    registered
        .get(&e.did)
        .and_then(|feeds| feeds.get(&e.feed))
        .and_then(|min| min.parse::<u64>().ok())
        .is_some_and(|min| min <= svn)
}

/// Registered code versions (`public:ccf.gov.nodes.*`).
#[derive(Debug, Clone, Default)]
pub struct JoinPolicy {
    /// `nodes.virtual.measurements`.
    pub virtual_measurements: BTreeSet<String>,
    /// `nodes.virtual.host_data`.
    pub virtual_host_data: BTreeSet<String>,
    /// `nodes.snp.measurements`.
    pub snp_measurements: BTreeSet<String>,
    /// `nodes.snp.host_data` → security policy.
    pub snp_host_data: BTreeMap<String, String>,
    /// `nodes.snp.uvm_endorsements`: DID → feed → svn.
    pub snp_uvm: BTreeMap<String, BTreeMap<String, String>>,
}

impl JoinPolicy {
    /// Whether a node of this build may join, and if not CCF's log text for why.
    ///
    /// CCF `AttestationProvider::verify_quote_against_store` (`src/node/quote.cpp`): host data
    /// first, then the measurement; on SNP a node presenting UVM endorsements is checked against
    /// `nodes.snp.uvm_endorsements` *instead of* `nodes.snp.measurements`.
    pub fn admits(&self, b: &Build) -> Result<(), String> {
        let host_data_ok = match b.platform {
            Platform::Virtual => self.virtual_host_data.contains(&b.host_data),
            Platform::Snp => self.snp_host_data.contains_key(&b.host_data),
        };
        if !host_data_ok {
            return Err(format!(
                "Quote host data is not authorised ({})",
                b.host_data
            ));
        }
        match (b.platform, &b.uvm) {
            (Platform::Snp, Some(uvm)) => {
                if !uvm_matches(&self.snp_uvm, uvm) {
                    return Err(format!(
                        "UVM endorsements are not authorised (did {}, feed {}, svn {})",
                        uvm.did, uvm.feed, uvm.svn
                    ));
                }
            }
            (Platform::Snp, None) => {
                if !self.snp_measurements.contains(&b.measurement) {
                    return Err(format!(
                        "Quote does not contain known enclave measurement ({})",
                        b.measurement
                    ));
                }
            }
            (Platform::Virtual, _) => {
                if !self.virtual_measurements.contains(&b.measurement) {
                    return Err(format!(
                        "Quote does not contain known enclave measurement ({})",
                        b.measurement
                    ));
                }
            }
        }
        Ok(())
    }

    /// Register `b` (what a starting node does for its own build in the genesis transaction).
    pub fn allow(&mut self, b: &Build) {
        match b.platform {
            Platform::Virtual => {
                self.virtual_measurements.insert(b.measurement.clone());
                self.virtual_host_data.insert(b.host_data.clone());
            }
            Platform::Snp => {
                // node_frontend.h (create): "For improved serviceability on SNP, do not record
                // trusted measurements if UVM endorsements are available"; the endorsements
                // themselves are recorded (trust_node_uvm_endorsements).
                match &b.uvm {
                    Some(u) => {
                        self.snp_uvm
                            .entry(u.did.clone())
                            .or_default()
                            .insert(u.feed.clone(), u.svn.clone());
                    }
                    None => {
                        self.snp_measurements.insert(b.measurement.clone());
                    }
                }
                self.snp_host_data
                    .insert(b.host_data.clone(), String::new());
            }
        }
    }
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
    /// Refused by the join policy; keeps retrying (as CCF joiners do) and joins if the
    /// policy changes.
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

/// A member.
#[derive(Debug, Clone)]
pub struct MemberRec {
    /// Member id.
    pub id: String,
    /// Certificate PEM.
    pub cert_pem: String,
    /// Public key.
    pub public_key: PublicKey,
    /// `Active` or `Accepted`.
    pub active: bool,
}

/// Proposal states (the sandbox's own, not the client's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PState {
    /// Collecting ballots.
    Open,
    /// Accepted and applied.
    Accepted,
    /// Withdrawn by its proposer.
    Withdrawn,
    /// Dropped by another proposal's add action.
    Dropped,
}

impl PState {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PState::Open => "Open",
            PState::Accepted => "Accepted",
            PState::Withdrawn => "Withdrawn",
            PState::Dropped => "Dropped",
        }
    }
}

/// A proposal.
#[derive(Debug, Clone)]
pub struct ProposalRec {
    /// Proposer member id.
    pub proposer: String,
    /// Raw proposal JSON (served by `/actions`).
    pub body: Vec<u8>,
    /// Validated actions.
    pub actions: Vec<Action>,
    /// State.
    pub state: PState,
    /// Ballot JS per member.
    pub ballots: BTreeMap<String, String>,
    /// Votes, once resolved.
    pub final_votes: Option<BTreeMap<String, bool>>,
    /// Ballots that could not be evaluated.
    pub vote_failures: Option<BTreeMap<String, String>>,
}

impl ProposalRec {
    /// CCF's JSON shape of a proposal.
    pub fn to_json(&self, id: &str) -> Value {
        let mut v = json!({
            "proposalId": id,
            "proposerId": self.proposer,
            "proposalState": self.state.as_str(),
            "ballotCount": self.ballots.len(),
            // In the 2024-07-01 schema (and newer releases), not emitted by every CCF build.
            "ballotSubmitters": self.ballots.keys().collect::<Vec<_>>(),
        });
        if let Some(fv) = &self.final_votes {
            v["finalVotes"] = json!(fv);
        }
        if let Some(vf) = &self.vote_failures {
            let m: BTreeMap<_, _> = vf
                .iter()
                .map(|(k, r)| (k.clone(), json!({ "reason": r })))
                .collect();
            v["voteFailures"] = json!(m);
        }
        v
    }
}

/// An error answer: status, CCF error code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// CCF error code.
    pub code: &'static str,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// Build one.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// CCF's answer for an unknown (or purged) proposal.
    pub fn proposal_not_found(id: &str) -> Self {
        ApiError::new(
            404,
            "ProposalNotFound",
            format!("Could not find proposal {id}."),
        )
    }
}

/// Something the orchestrator must never cause.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Violation {
    /// Milliseconds since the sandbox started.
    pub at_ms: u64,
    /// `stopped_in_active_config`, `quorum_lost`, `trusted_unregistered_build`,
    /// `delete_before_retired_committed`, `commit_without_quorum`.
    pub kind: String,
    /// Details.
    pub detail: String,
}

/// A state change, timestamped (the benchmark measures reactions to these).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimEvent {
    /// Milliseconds since the sandbox started.
    pub at_ms: f64,
    /// `node_pending`, `tx_committed`, `election_done`, `node_removable`, `node_caught_up`.
    pub kind: String,
    /// Node id, transaction id, ...
    pub subject: String,
}

/// Injected faults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Answer the next N requests with 503.
    pub fail_next: u32,
    /// Answer this fraction of requests with 503.
    pub fail_fraction: f64,
    /// Extra latency per request, in milliseconds.
    pub latency_ms: u64,
    /// The next launched node never completes its join.
    pub never_join_next: bool,
    /// Multiply election time by this (0 = 1).
    pub election_factor: f64,
    /// The next launched node joins and can be trusted but never reports ready.
    #[serde(default)]
    pub never_ready_next: bool,
    /// The next accepted proposal fails in `apply()` (500, nothing kept).
    #[serde(default)]
    pub fail_apply_next: bool,
    /// Tear down the connection of the next N requests before they are processed.
    #[serde(default)]
    pub reset_next: u32,
}

#[derive(Debug, Clone)]
enum Effect {
    Trust(Vec<String>),
    Retire(String),
    RetiredCommitted(String),
}

#[derive(Debug, Clone)]
struct Tx {
    seqno: u64,
    ready_at: Instant,
    effects: Vec<Effect>,
}

/// Time during which writes waited to commit only because an active configuration had no
/// caught-up majority while enough of its nodes were running (a catch-up stall, e.g. after
/// trusting as many new nodes as there were old ones), as opposed to a crash, a partition,
/// an election or a quorum loss.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WriteStall {
    /// Total stalled time, milliseconds.
    pub total_ms: u64,
    /// Longest single stall, milliseconds.
    pub longest_ms: u64,
    /// Number of stalls.
    pub count: u64,
}

#[derive(Debug, Default)]
struct WriteStallAcc {
    total: Duration,
    longest: Duration,
    current: Duration,
    count: u64,
}

/// The whole simulated service.
#[derive(Debug)]
pub struct World {
    start: Instant,
    rng: Rng,
    latency: LatencyModel,
    /// Node processes by slot.
    pub nodes: Vec<SimNode>,
    /// The node table.
    pub table: BTreeMap<String, NodeRow>,
    /// Members.
    pub members: Vec<MemberRec>,
    /// Proposals (completed ones are purged as CCF does).
    pub proposals: BTreeMap<String, ProposalRec>,
    recent: BTreeMap<String, String>,
    /// Registered code versions.
    pub join_policy: JoinPolicy,
    /// Constitution text.
    pub constitution: String,
    /// The JS application bundle (`set_js_app`).
    pub js_app: Value,
    /// Current view.
    pub view: u64,
    /// Current primary.
    pub primary: Option<String>,
    election_ends: Option<Instant>,
    views: Vec<u64>,
    pending: VecDeque<Tx>,
    /// Highest committed seqno.
    pub commit_seqno: u64,
    configs: Vec<(u64, BTreeSet<String>)>,
    waiting_writes: VecDeque<Effect>,
    quorum_lost: bool,
    next_signature: Instant,
    /// Transactions appended since the last signature (CCF `committable_gap() > 0`).
    unsigned: bool,
    /// Service recoveries (`recovery_count`): 1 when started as a recovered service.
    pub recovery_count: u64,
    last_tick: Option<Instant>,
    stalled: bool,
    stall: WriteStallAcc,
    /// Invariant violations.
    pub violations: Vec<Violation>,
    /// State changes.
    pub events: Vec<SimEvent>,
    /// Injected faults.
    pub faults: Faults,
    /// Log lines (join refusals, elections) for the runtime to print.
    pub log: Vec<String>,
    /// Requests served, total.
    pub requests: u64,
    /// Write requests served.
    pub write_requests: u64,
    /// Every request received, when enabled (the benchmark measures reactions with it).
    pub request_log: Option<Vec<RequestRecord>>,
    /// The body of every proposal created (tests count duplicates).
    pub created_proposals: Vec<Vec<u8>>,
}

/// One request the service received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    /// Milliseconds since the sandbox started.
    pub at_ms: f64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
}

impl World {
    /// A service opened by `genesis` nodes (`(node_id, port)`), all trusted, the first one
    /// primary, running `build` (registered in the join policy).
    pub fn new(
        latency: LatencyModel,
        seed: u64,
        now: Instant,
        genesis: &[(String, u16)],
        build: &Build,
        members: Vec<MemberRec>,
    ) -> World {
        let mut jp = JoinPolicy::default();
        jp.allow(build);
        let mut w = World {
            start: now,
            rng: Rng::new(seed),
            latency,
            nodes: Vec::new(),
            table: BTreeMap::new(),
            members,
            proposals: BTreeMap::new(),
            recent: BTreeMap::new(),
            join_policy: jp,
            constitution: constitution::constitution_text(),
            js_app: json!({"metadata": {"endpoints": {}}, "modules": []}),
            view: GENESIS_VIEW,
            primary: None,
            election_ends: None,
            views: vec![0, GENESIS_VIEW],
            pending: VecDeque::new(),
            commit_seqno: 1,
            configs: Vec::new(),
            waiting_writes: VecDeque::new(),
            quorum_lost: false,
            next_signature: now,
            unsigned: false,
            recovery_count: 0,
            last_tick: None,
            stalled: false,
            stall: WriteStallAcc::default(),
            violations: Vec::new(),
            events: Vec::new(),
            faults: Faults::default(),
            log: Vec::new(),
            requests: 0,
            write_requests: 0,
            request_log: None,
            created_proposals: Vec::new(),
        };
        for (i, (id, port)) in genesis.iter().enumerate() {
            w.nodes.push(SimNode {
                node_id: id.clone(),
                port: *port,
                build: build.clone(),
                lifecycle: Lifecycle::PartOfNetwork,
                running: true,
                partitioned: false,
                trust_committed: true,
                never_ready: false,
                name: None,
            });
            w.table.insert(
                id.clone(),
                NodeRow {
                    slot: i,
                    status: Status::Trusted,
                    node_data: Value::Null,
                    last_written: 1,
                    retired_committed_seqno: None,
                    retired_committed: false,
                    pre_recovery: false,
                },
            );
        }
        w.configs
            .push((1, genesis.iter().map(|(id, _)| id.clone()).collect()));
        w.primary = genesis.first().map(|(id, _)| id.clone());
        w
    }

    /// Milliseconds since start.
    pub fn ms(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.start).as_secs_f64() * 1000.0
    }

    fn event(&mut self, now: Instant, kind: &str, subject: impl Into<String>) {
        let at_ms = self.ms(now);
        self.events.push(SimEvent {
            at_ms,
            kind: kind.into(),
            subject: subject.into(),
        });
    }

    fn violation(&mut self, now: Instant, kind: &str, detail: String) {
        let at_ms = self.ms(now) as u64;
        self.log
            .push(format!("INVARIANT VIOLATED ({kind}): {detail}"));
        self.violations.push(Violation {
            at_ms,
            kind: kind.into(),
            detail,
        });
    }

    /// The latency model in force.
    pub fn latency(&self) -> &LatencyModel {
        &self.latency
    }

    /// The node process with this id.
    pub fn node_by_id(&self, id: &str) -> Option<(usize, &SimNode)> {
        self.nodes.iter().enumerate().find(|(_, n)| n.node_id == id)
    }

    /// Highest appended seqno.
    pub fn last_seqno(&self) -> u64 {
        self.views.len() as u64 - 1
    }

    /// View of a seqno.
    pub fn view_of(&self, seqno: u64) -> u64 {
        self.views.get(seqno as usize).copied().unwrap_or(self.view)
    }

    /// Whether the node is live for consensus: reachable and caught up.
    fn live(&self, id: &str) -> bool {
        self.node_by_id(id)
            .is_some_and(|(_, n)| n.reachable() && n.caught_up())
    }

    fn active_configs(&self) -> impl Iterator<Item = &BTreeSet<String>> {
        let first = self
            .configs
            .iter()
            .rposition(|(s, _)| *s <= self.commit_seqno)
            .unwrap_or(0);
        self.configs[first..].iter().map(|(_, c)| c)
    }

    fn majority_live(&self, config: &BTreeSet<String>, live: impl Fn(&str) -> bool) -> bool {
        let n = config.iter().filter(|id| live(id)).count();
        n > config.len() / 2
    }

    fn quorum(&self) -> bool {
        self.active_configs()
            .all(|c| self.majority_live(c, |id| self.live(id)))
    }

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

    fn append(&mut self, effects: Vec<Effect>, now: Instant) -> TxRef {
        self.unsigned = true;
        self.append_entry(effects, now)
    }

    /// A signature transaction: signs everything appended before it.
    fn append_signature(&mut self, now: Instant) -> TxRef {
        self.unsigned = false;
        self.append_entry(Vec::new(), now)
    }

    fn append_entry(&mut self, effects: Vec<Effect>, now: Instant) -> TxRef {
        let seqno = self.last_seqno() + 1;
        self.views.push(self.view);
        let ready_at = now + self.latency.commit(&mut self.rng);
        self.pending.push_back(Tx {
            seqno,
            ready_at,
            effects,
        });
        (self.view, seqno)
    }

    /// 503 while no primary is known.
    pub fn require_primary(&self) -> Result<(), ApiError> {
        if self.primary.is_none() {
            return Err(ApiError::new(
                503,
                "ServiceUnavailable",
                "Primary unknown: an election is in progress",
            ));
        }
        Ok(())
    }

    /// Status of `view.seqno` as `/node/tx` reports it.
    pub fn tx_status(&self, view: u64, seqno: u64) -> &'static str {
        if seqno == 0 {
            return "Invalid";
        }
        if seqno <= self.last_seqno() {
            if self.view_of(seqno) != view {
                "Invalid"
            } else if seqno <= self.commit_seqno {
                "Committed"
            } else {
                "Pending"
            }
        } else if view < self.view {
            "Invalid"
        } else {
            "Unknown"
        }
    }

    // ----- node processes -------------------------------------------------------------

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
                    short(&id)
                ),
            );
        }
        self.nodes[slot].running = false;
    }

    /// Cut a node off (or heal it).
    pub fn set_partitioned(&mut self, slot: usize, partitioned: bool) {
        self.nodes[slot].partitioned = partitioned;
    }

    // ----- time -----------------------------------------------------------------------

    /// Advance the simulation to `now`: joins, catch-ups, elections, commits.
    pub fn tick(&mut self, now: Instant) {
        if let Some(last) = self.last_tick {
            let dt = now.saturating_duration_since(last);
            if self.stalled {
                self.stall.total += dt;
                self.stall.current += dt;
                self.stall.longest = self.stall.longest.max(self.stall.current);
            }
        }
        self.last_tick = Some(now);
        self.advance_lifecycles(now);
        self.advance_consensus(now);
        self.check_quorum(now);
        let stalled = self.catch_up_stall(now);
        if stalled && !self.stalled {
            self.stall.count += 1;
            self.stall.current = Duration::ZERO;
        }
        self.stalled = stalled;
    }

    /// A write is due to commit (its replication latency has passed) and a primary is there to
    /// commit it, every active configuration has a running majority, but some active
    /// configuration lacks a majority of caught-up nodes: commits wait only for joiners to
    /// catch up.
    fn catch_up_stall(&self, now: Instant) -> bool {
        let due = self.pending.front().is_some_and(|tx| now >= tx.ready_at);
        let running = |id: &str| self.node_by_id(id).is_some_and(|(_, n)| n.reachable());
        due && self.primary.is_some()
            && !self.quorum()
            && self
                .active_configs()
                .all(|c| self.majority_live(c, running))
    }

    /// The write-stall figures so far (see [`WriteStall`]).
    pub fn write_stall(&self) -> WriteStall {
        let ms = |d: Duration| d.as_millis() as u64;
        WriteStall {
            total_ms: ms(self.stall.total),
            longest_ms: ms(self.stall.longest),
            count: self.stall.count,
        }
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

    fn advance_lifecycles(&mut self, now: Instant) {
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

    /// The joiner's request reaches the primary: admitted → Pending; refused → logged.
    fn try_join(&mut self, slot: usize, now: Instant) {
        if self.primary.is_none() {
            return;
        }
        let id = self.nodes[slot].node_id.clone();
        match self.join_policy.admits(&self.nodes[slot].build) {
            Ok(()) => {
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
            Err(reason) => {
                if !matches!(&self.nodes[slot].lifecycle, Lifecycle::Refused { reason: r } if *r == reason)
                {
                    self.log
                        .push(format!("node {} refused on join: {reason}", short(&id)));
                }
                self.nodes[slot].lifecycle = Lifecycle::Refused { reason };
            }
        }
    }

    fn advance_consensus(&mut self, now: Instant) {
        if let Some(p) = self.primary.clone()
            && !self.node_by_id(&p).is_some_and(|(_, n)| n.reachable())
        {
            self.log
                .push(format!("primary {} is gone: election", short(&p)));
            self.start_election(now);
        }
        if self.primary.is_none() {
            self.try_finish_election(now);
        }
        if self.primary.is_none() {
            return;
        }
        // The primary's signature task runs periodically (CCF: ledger_signatures.delay, 1 s)
        // but signs only if something was appended since the last signature
        // (src/node/history.h: CAN_SIGN → emit only if `committable_gap() > 0`), so an idle
        // service's commit index stays put.
        if now >= self.next_signature {
            if self.unsigned {
                self.append_signature(now);
            }
            self.next_signature = now + Duration::from_secs(1).div_f64(self.latency.speed);
        }
        while let Some(tx) = self.pending.front() {
            if now < tx.ready_at || !self.quorum() {
                break;
            }
            let tx = self.pending.pop_front().expect("front exists");
            if !self
                .active_configs()
                .all(|c| self.majority_live(c, |id| self.live(id)))
            {
                self.violation(
                    now,
                    "commit_without_quorum",
                    format!("seqno {} committed without quorum", tx.seqno),
                );
            }
            self.commit_seqno = tx.seqno;
            let view = self.view_of(tx.seqno);
            self.event(now, "tx_committed", format!("{view}.{}", tx.seqno));
            for effect in tx.effects {
                self.after_commit(effect, tx.seqno, now);
            }
            if self.primary.is_none() {
                break;
            }
        }
        // Configurations older than the latest committed one are no longer active.
        if let Some(keep) = self
            .configs
            .iter()
            .rposition(|(s, _)| *s <= self.commit_seqno)
        {
            self.configs.drain(..keep);
        }
    }

    fn after_commit(&mut self, effect: Effect, seqno: u64, now: Instant) {
        match effect {
            Effect::Trust(ids) => {
                for id in ids {
                    if let Some((slot, _)) = self.node_by_id(&id) {
                        self.nodes[slot].trust_committed = true;
                    }
                }
            }
            Effect::Retire(id) => {
                // The primary records retired_committed; a retiring primary then steps down
                // and hands over (the write commits under the next primary).
                self.waiting_writes
                    .push_back(Effect::RetiredCommitted(id.clone()));
                self.flush_waiting_writes(now);
                if self.primary.as_deref() == Some(id.as_str()) {
                    self.log
                        .push(format!("primary {} retired: handing over", short(&id)));
                    self.start_election(now);
                }
            }
            Effect::RetiredCommitted(id) => {
                if let Some(row) = self.table.get_mut(&id) {
                    row.retired_committed_seqno = Some(seqno);
                    self.event(now, "node_removable", id);
                }
            }
        }
    }

    fn flush_waiting_writes(&mut self, now: Instant) {
        if self.primary.is_none() {
            return;
        }
        while let Some(effect) = self.waiting_writes.pop_front() {
            if let Effect::RetiredCommitted(id) = &effect
                && let Some(row) = self.table.get_mut(id)
            {
                row.retired_committed = true;
            }
            let (_, seqno) = self.append(vec![effect.clone()], now);
            if let Effect::RetiredCommitted(id) = &effect
                && let Some(row) = self.table.get_mut(id)
            {
                row.last_written = seqno;
            }
        }
    }

    /// Start an election now (the primary is gone, retired, or a fault forces one).
    pub fn start_election(&mut self, now: Instant) {
        self.primary = None;
        let factor = if self.faults.election_factor > 0.0 {
            self.faults.election_factor
        } else {
            1.0
        };
        let d = self.latency.election(&mut self.rng).mul_f64(factor);
        self.election_ends = Some(now + d);
    }

    fn try_finish_election(&mut self, now: Instant) {
        let Some(ends) = self.election_ends else {
            self.start_election(now);
            return;
        };
        if now < ends {
            return;
        }
        let candidates: Vec<String> = self
            .table
            .iter()
            .filter(|(id, row)| row.status == Status::Trusted && self.live(id))
            .map(|(id, _)| id.clone())
            .collect();
        if candidates.is_empty() || !self.quorum() {
            // No majority can elect anyone: keep trying.
            self.election_ends = Some(now + self.latency.election(&mut self.rng));
            return;
        }
        let winner = candidates[self.rng.below(candidates.len())].clone();
        self.view += 1;
        self.primary = Some(winner.clone());
        self.election_ends = None;
        self.log.push(format!(
            "election: {} is primary in view {}",
            short(&winner),
            self.view
        ));
        self.event(now, "election_done", winner);
        // Entries of the old view that reached the new primary survive. A new leader signs at
        // once: raft.h become_leader() sets `should_sign = true`, and history.h emits a
        // signature unconditionally on SHOULD_SIGN, so every view starts with a signature.
        self.append_signature(now);
        self.flush_waiting_writes(now);
    }

    fn check_quorum(&mut self, now: Instant) {
        let lost: Option<String> = self.active_configs().find_map(|c| {
            let reachable = c
                .iter()
                .filter(|id| self.node_by_id(id).is_some_and(|(_, n)| n.reachable()))
                .count();
            (reachable <= c.len() / 2).then(|| {
                format!(
                    "{reachable} of {} nodes of an active configuration are running",
                    c.len()
                )
            })
        });
        match (lost, self.quorum_lost) {
            (Some(detail), false) => {
                self.quorum_lost = true;
                self.violation(now, "quorum_lost", detail);
            }
            (None, true) => self.quorum_lost = false,
            _ => {}
        }
    }

    // ----- governance -----------------------------------------------------------------

    fn active_members(&self) -> usize {
        self.members.iter().filter(|m| m.active).count()
    }

    fn purge_other_completed(&mut self, keep: &str) {
        self.proposals
            .retain(|id, p| id == keep || p.state == PState::Open);
    }

    /// Other members' recent proposals signed `secs` ahead of this machine's clock fill the
    /// replay window, so its median (CCF's lower bound for `created_at`) moves that far
    /// ahead: what a signer whose clock is `secs` behind the others meets.
    pub fn skew_clock(&mut self, secs: u64) {
        let ahead = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + secs;
        for i in 0..=self.recent.len() {
            let key = format!("{ahead:010}:{:064x}", i + 1);
            self.recent.insert(key, format!("{:064x}", i + 1));
        }
        while self.recent.len() > RECENT_PROPOSALS_WINDOW {
            let first = self.recent.keys().next().cloned().expect("non-empty");
            self.recent.remove(&first);
        }
    }

    /// `POST /gov/members/proposals:create` after authentication.
    pub fn create_proposal(
        &mut self,
        proposer: &str,
        created_at: u64,
        signature: &[u8],
        body: &[u8],
        now: Instant,
    ) -> Result<(Value, TxRef), ApiError> {
        self.require_primary()?;
        if created_at > 9_999_999_999 {
            return Err(ApiError::new(
                400,
                "InvalidCreatedAt",
                "Header parameter created_at value is too large",
            ));
        }
        let actions = constitution::validate(body).map_err(|d| {
            ApiError::new(
                400,
                "ProposalFailedToValidate",
                format!("Proposal failed to validate: {d}"),
            )
        })?;
        let digest = hex::encode(sha2::Sha256::digest(signature));
        let ts = format!("{created_at:010}");
        let key = format!("{ts}:{digest}");
        if let Some(existing) = self.recent.get(&key) {
            return Err(ApiError::new(
                400,
                "ProposalReplay",
                format!("Proposal submission replay, already exists as proposal {existing}"),
            ));
        }
        if !self.recent.is_empty() {
            let keys: Vec<&String> = self.recent.keys().collect();
            let median = keys[keys.len() / 2]
                .split(':')
                .next()
                .unwrap_or("")
                .to_string();
            if ts < median {
                return Err(ApiError::new(
                    400,
                    "ProposalCreatedTooLongAgo",
                    format!(
                        "Proposal created too long ago, created_at must be greater than {median}"
                    ),
                ));
            }
        }
        let mut h = sha2::Sha256::new();
        h.update(self.last_seqno().to_le_bytes());
        h.update(digest.as_bytes());
        let id = hex::encode(h.finalize());
        self.recent.insert(key, id.clone());
        self.created_proposals.push(body.to_vec());
        while self.recent.len() > RECENT_PROPOSALS_WINDOW {
            let first = self.recent.keys().next().cloned().expect("non-empty");
            self.recent.remove(&first);
        }
        let rec = ProposalRec {
            proposer: proposer.to_string(),
            body: body.to_vec(),
            actions,
            state: PState::Open,
            ballots: BTreeMap::new(),
            final_votes: None,
            vote_failures: None,
        };
        let json = rec.to_json(&id);
        self.proposals.insert(id, rec);
        Ok((json, self.append(Vec::new(), now)))
    }

    /// `POST .../ballots/{member}:submit` after authentication. `None` transaction when the
    /// identical ballot was already recorded (idempotent).
    pub fn submit_ballot(
        &mut self,
        member: &str,
        proposal_id: &str,
        ballot: &str,
        now: Instant,
    ) -> Result<(Value, Option<TxRef>), ApiError> {
        self.require_primary()?;
        let Some(rec) = self.proposals.get(proposal_id) else {
            return Err(ApiError::proposal_not_found(proposal_id));
        };
        if rec.state != PState::Open {
            return Err(ApiError::new(
                400,
                "ProposalNotOpen",
                format!(
                    "Proposal {proposal_id} is currently in state {} - only Open proposals can receive votes",
                    rec.state.as_str()
                ),
            ));
        }
        if let Some(existing) = rec.ballots.get(member) {
            if existing == ballot {
                return Ok((rec.to_json(proposal_id), None));
            }
            return Err(ApiError::new(
                400,
                "VoteAlreadyExists",
                format!("Vote already submitted by {member}"),
            ));
        }
        let mut ballots = rec.ballots.clone();
        ballots.insert(member.to_string(), ballot.to_string());
        let mut votes = BTreeMap::new();
        let mut failures = BTreeMap::new();
        for (m, js) in &ballots {
            match constitution::evaluate_ballot(js) {
                Ok(v) => {
                    votes.insert(m.clone(), v);
                }
                Err(e) => {
                    failures.insert(m.clone(), e);
                }
            }
        }
        let yes = votes.values().filter(|v| **v).count();
        let accepted = constitution::resolve(yes, self.active_members());
        let actions = rec.actions.clone();
        if accepted {
            // apply() runs in the same transaction; if it throws, nothing is kept.
            if std::mem::take(&mut self.faults.fail_apply_next) {
                return Err(ApiError::new(
                    500,
                    "InternalError",
                    "Failed to apply(): injected failure (the constitution threw)",
                ));
            }
            let effects = self.apply_actions(&actions, now).map_err(|e| {
                ApiError::new(500, "InternalError", format!("Failed to apply(): {e}"))
            })?;
            let drops = actions
                .iter()
                .any(|a| constitution::drops_other_proposals(&a.name));
            let rec = self.proposals.get_mut(proposal_id).expect("checked above");
            rec.ballots = ballots;
            rec.state = PState::Accepted;
            rec.final_votes = Some(votes);
            rec.vote_failures = Some(failures);
            let json = rec.to_json(proposal_id);
            self.purge_other_completed(proposal_id);
            if drops {
                for (id, p) in self.proposals.iter_mut() {
                    if id != proposal_id && p.state == PState::Open {
                        p.state = PState::Dropped;
                    }
                }
            }
            let tx = self.append(effects, now);
            self.stamp_rows(tx.1, &actions);
            return Ok((json, Some(tx)));
        }
        let rec = self.proposals.get_mut(proposal_id).expect("checked above");
        rec.ballots = ballots;
        let json = rec.to_json(proposal_id);
        Ok((json, Some(self.append(Vec::new(), now))))
    }

    fn stamp_rows(&mut self, seqno: u64, actions: &[Action]) {
        for a in actions {
            if let Some(id) = a.args.get("node_id").and_then(Value::as_str)
                && let Some(row) = self.table.get_mut(id)
            {
                row.last_written = seqno;
            }
        }
    }

    /// Apply accepted actions in order, all or nothing.
    fn apply_actions(&mut self, actions: &[Action], now: Instant) -> Result<Vec<Effect>, String> {
        // Preconditions first, so a failure leaves no partial effect.
        for a in actions {
            let node_id = a.args.get("node_id").and_then(Value::as_str);
            match a.name.as_str() {
                "transition_node_to_trusted" => {
                    let id = node_id.unwrap_or_default();
                    if !self.table.contains_key(id) {
                        return Err(format!("No such node: {id}"));
                    }
                    if let Some(days) = a.args.get("validity_period_days").and_then(Value::as_u64)
                        && days > MAX_NODE_CERT_VALIDITY_DAYS
                    {
                        return Err(format!(
                            "Validity period {days} is not allowed: max allowed is {MAX_NODE_CERT_VALIDITY_DAYS}"
                        ));
                    }
                }
                "set_node_data" => {
                    let id = node_id.unwrap_or_default();
                    if !self.table.contains_key(id) {
                        return Err(format!("No such node: {id}"));
                    }
                }
                _ => {}
            }
        }
        let mut effects = Vec::new();
        let mut trusted = Vec::new();
        for a in actions {
            let s = |k: &str| {
                a.args
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            match a.name.as_str() {
                "add_virtual_host_data" => {
                    self.join_policy.virtual_host_data.insert(s("host_data"));
                }
                "remove_virtual_host_data" => {
                    self.join_policy.virtual_host_data.remove(&s("host_data"));
                }
                "add_virtual_measurement" => {
                    self.join_policy
                        .virtual_measurements
                        .insert(s("measurement"));
                }
                "remove_virtual_measurement" => {
                    self.join_policy
                        .virtual_measurements
                        .remove(&s("measurement"));
                }
                "add_snp_measurement" => {
                    self.join_policy.snp_measurements.insert(s("measurement"));
                }
                "remove_snp_measurement" => {
                    self.join_policy.snp_measurements.remove(&s("measurement"));
                }
                "add_snp_host_data" => {
                    self.join_policy
                        .snp_host_data
                        .insert(s("host_data"), s("security_policy"));
                }
                "remove_snp_host_data" => {
                    self.join_policy.snp_host_data.remove(&s("host_data"));
                }
                "add_snp_uvm_endorsement" => {
                    self.join_policy
                        .snp_uvm
                        .entry(s("did"))
                        .or_default()
                        .insert(s("feed"), s("svn"));
                }
                "remove_snp_uvm_endorsement" => {
                    let did = s("did");
                    if let Some(feeds) = self.join_policy.snp_uvm.get_mut(&did) {
                        feeds.remove(&s("feed"));
                        if feeds.is_empty() {
                            self.join_policy.snp_uvm.remove(&did);
                        }
                    }
                }
                "transition_node_to_trusted" => {
                    let id = s("node_id");
                    let row = self.table.get_mut(&id).expect("checked above");
                    if row.status == Status::Pending {
                        row.status = Status::Trusted;
                        let slot = row.slot;
                        let build = self.nodes[slot].build.clone();
                        if let Err(why) = self.join_policy.admits(&build) {
                            self.violation(
                                now,
                                "trusted_unregistered_build",
                                format!(
                                    "node {} trusted although its build is not registered: {why}",
                                    short(&id)
                                ),
                            );
                        }
                        let ready_at = now + self.latency.catch_up(&mut self.rng);
                        self.nodes[slot].lifecycle = Lifecycle::CatchingUp { ready_at };
                        trusted.push(id);
                    }
                }
                "remove_node" => {
                    let id = s("node_id");
                    match self.table.get(&id).map(|r| (r.status, r.slot)) {
                        Some((Status::Pending, slot)) => {
                            self.table.remove(&id);
                            // A joiner still running re-registers (CCF #6463).
                            if self.nodes[slot].running {
                                let at = now + self.latency.join(&mut self.rng);
                                self.nodes[slot].lifecycle = Lifecycle::Joining { at };
                            }
                        }
                        Some((Status::Trusted, _)) => {
                            self.table.get_mut(&id).expect("present").status = Status::Retired;
                            effects.push(Effect::Retire(id));
                        }
                        _ => {}
                    }
                }
                "set_node_data" => {
                    let id = s("node_id");
                    self.table.get_mut(&id).expect("checked above").node_data =
                        a.args.get("node_data").cloned().unwrap_or(Value::Null);
                }
                "set_constitution" => self.constitution = s("constitution"),
                "set_js_app" => self.js_app = a.args.get("bundle").cloned().unwrap_or(Value::Null),
                _ => {}
            }
        }
        if !trusted.is_empty() {
            effects.push(Effect::Trust(trusted));
        }
        if !effects.is_empty() {
            // One reconfiguration per transaction: the new trusted set, active from the
            // transaction about to be appended.
            let config: BTreeSet<String> = self
                .table
                .iter()
                .filter(|(_, r)| r.status == Status::Trusted)
                .map(|(id, _)| id.clone())
                .collect();
            let seqno = self.last_seqno() + 1;
            self.configs.push((seqno, config));
        }
        Ok(effects)
    }

    /// `POST .../{id}:withdraw` after authentication. `None`: unknown proposal (204).
    pub fn withdraw(
        &mut self,
        member: &str,
        proposal_id: &str,
        now: Instant,
    ) -> Result<Option<(Value, TxRef)>, ApiError> {
        self.require_primary()?;
        let Some(rec) = self.proposals.get_mut(proposal_id) else {
            return Ok(None);
        };
        if rec.proposer != member {
            return Err(ApiError::new(
                403,
                "AuthorizationFailed",
                format!(
                    "Proposal {proposal_id} can only be withdrawn by the proposer {}, not caller {member}",
                    rec.proposer
                ),
            ));
        }
        if rec.state != PState::Open {
            return Err(ApiError::new(
                400,
                "ProposalNotOpen",
                format!(
                    "Proposal {proposal_id} is currently in state {} and cannot be withdrawn",
                    rec.state.as_str()
                ),
            ));
        }
        rec.state = PState::Withdrawn;
        let json = rec.to_json(proposal_id);
        self.purge_other_completed(proposal_id);
        Ok(Some((json, self.append(Vec::new(), now))))
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
                    short(id)
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

    /// Fault: another member's "add" proposal is accepted, dropping every open proposal.
    pub fn inject_foreign_add(&mut self, now: Instant) -> Result<(), ApiError> {
        self.require_primary()?;
        let mut dropped = 0;
        for p in self.proposals.values_mut() {
            if p.state == PState::Open {
                p.state = PState::Dropped;
                dropped += 1;
            }
        }
        self.join_policy
            .virtual_measurements
            .insert(VIRTUAL_MEASUREMENT.to_string());
        self.log.push(format!(
            "another member's add proposal was accepted: {dropped} open proposal(s) dropped"
        ));
        self.append(Vec::new(), now);
        Ok(())
    }

    /// Count a request against the fault plan: `Some(error)` if it must fail.
    pub fn injected_failure(&mut self) -> Option<ApiError> {
        self.requests += 1;
        if self.faults.fail_next > 0 {
            self.faults.fail_next -= 1;
            return Some(ApiError::new(503, "ServiceUnavailable", "injected failure"));
        }
        if self.faults.fail_fraction > 0.0 && self.rng.next_f64() < self.faults.fail_fraction {
            return Some(ApiError::new(503, "ServiceUnavailable", "injected failure"));
        }
        None
    }

    /// Elapsed sandbox time.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }
}

/// First 8 characters of an id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(host: &str, v: &str) -> Build {
        Build {
            platform: Platform::Virtual,
            ccf_version: v.into(),
            host_data: host.repeat(32),
            measurement: VIRTUAL_MEASUREMENT.into(),
            uvm: None,
        }
    }

    fn world(n: usize) -> (World, Instant) {
        let now = Instant::now();
        let genesis: Vec<_> = (0..n)
            .map(|i| (format!("{i}").repeat(64), 1000 + i as u16))
            .collect();
        let lat = LatencyModel {
            jitter: 0.0,
            ..Default::default()
        };
        (
            World::new(lat, 1, now, &genesis, &build("aa", "ccf-7.0.1"), Vec::new()),
            now,
        )
    }

    fn run(w: &mut World, from: Instant, ms: u64) -> Instant {
        let mut t = from;
        for _ in 0..ms / 10 {
            t += Duration::from_millis(10);
            w.tick(t);
        }
        t
    }

    #[test]
    fn a_node_of_an_unregistered_build_never_appears() {
        let (mut w, t0) = world(3);
        w.launch("f".repeat(64), 2000, build("bb", "ccf-7.0.2"), t0);
        run(&mut w, t0, 2000);
        assert!(!w.table.contains_key(&"f".repeat(64)));
        assert!(
            w.log
                .iter()
                .any(|l| l.contains("host data is not authorised")),
            "{:?}",
            w.log
        );
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

    #[test]
    fn commits_wait_for_latency_and_quorum() {
        let (mut w, t0) = world(3);
        let (v, s) = w.append(Vec::new(), t0);
        assert_eq!(w.tx_status(v, s), "Pending");
        w.tick(t0 + Duration::from_millis(30));
        assert_eq!(w.tx_status(v, s), "Pending");
        w.tick(t0 + Duration::from_millis(70));
        assert_eq!(w.tx_status(v, s), "Committed");
        assert_eq!(w.tx_status(v - 1, s), "Invalid");
        // Two of three down: writes are accepted but never commit.
        w.stop(1, false, t0);
        w.stop(2, false, t0);
        let (v, s) = w.append(Vec::new(), t0 + Duration::from_millis(70));
        run(&mut w, t0 + Duration::from_millis(70), 1000);
        assert_eq!(w.tx_status(v, s), "Pending");
    }

    #[test]
    fn killing_the_primary_elects_another_in_a_higher_view() {
        let (mut w, t0) = world(3);
        let old = w.primary.clone().unwrap();
        let slot = w.node_by_id(&old).unwrap().0;
        w.stop(slot, false, t0);
        w.tick(t0);
        assert!(w.primary.is_none());
        assert!(w.require_primary().is_err());
        run(&mut w, t0, 1500);
        let new = w.primary.clone().unwrap();
        assert_ne!(new, old);
        assert_eq!(w.view, GENESIS_VIEW + 1);
    }
}
