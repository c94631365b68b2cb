//! `noderoll status` output: a comfy-table for people, one JSON document for machines. The
//! JSON types here are the public contract (documented in the README), separate from the
//! client's internal types.

use serde::Serialize;

use super::schema::{Doc, Versioned, versioned};
use crate::ccf::types::{JoinPolicy, short_id};
use crate::observe::{NodeVersion, Observation};

/// The JSON document (stamped with `schema_version` by [`document`]).
#[derive(Debug, Serialize)]
pub(crate) struct StatusDocument {
    /// Node that answered service-level reads.
    pub answered_by: String,
    /// `Open`, `Opening`, ...
    pub service_status: String,
    /// Current view.
    pub current_view: u64,
    /// Primary node id (null during an election).
    pub primary_id: Option<String>,
    /// Trusted (voting) nodes.
    pub trusted_nodes: usize,
    /// Fault tolerance f = floor((trusted - 1) / 2).
    pub fault_tolerance: usize,
    /// Nodes.
    pub nodes: Vec<StatusNode>,
    /// Registered code versions.
    pub join_policy: JoinPolicy,
    /// Active members / all members.
    pub active_members: usize,
    /// All members.
    pub members: usize,
    /// Open proposals.
    pub open_proposals: Vec<StatusProposal>,
    /// When the service certificate (`service_certificate` of `/node/network`) expires,
    /// RFC 3339 UTC; null if it could not be read.
    pub service_certificate_expires_at: Option<String>,
}

/// A node in the JSON document.
#[derive(Debug, Serialize)]
pub(crate) struct StatusNode {
    /// Full node id.
    pub node_id: String,
    /// `Pending`, `Trusted`, `Retired`.
    pub status: String,
    /// Is the primary.
    pub primary: bool,
    /// RPC address.
    pub rpc_address: Option<String>,
    /// `ccf_version` from the node's own `/node/version`; null if it could not be asked.
    pub ccf_version: Option<String>,
    /// `reachable`, `not_endorsed`, `unreachable`, `not_asked`.
    pub reachability: &'static str,
    /// Why it is unreachable, if so.
    pub unreachable_reason: Option<String>,
    /// `retiredCommitted` from governance.
    pub retired_committed: bool,
    /// Listed by `/node/network/removable_nodes`.
    pub removable: bool,
    /// Host data from the node's attestation, if known.
    pub host_data: Option<String>,
    /// Measurement from the node's attestation, if known.
    pub measurement: Option<String>,
    /// The noderoll launch that started it (`node_data.noderoll_name`, which the launcher
    /// sets from `NODEROLL_NODE_NAME`: `noderoll-<run id>-<index>`), if tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launched_as: Option<String>,
    /// When its service-endorsed certificate (`certificate` of `GET /gov/service/nodes`)
    /// expires, RFC 3339 UTC; null when it has none (Pending) or it could not be read.
    pub certificate_expires_at: Option<String>,
}

/// An open proposal in the JSON document.
#[derive(Debug, Serialize)]
pub(crate) struct StatusProposal {
    /// Proposal id.
    pub proposal_id: String,
    /// Proposer member id.
    pub proposer_id: String,
    /// Ballots so far.
    pub ballot_count: u64,
    /// Action names.
    pub actions: Vec<String>,
}

/// Build the JSON document.
pub(crate) fn document(o: &Observation) -> Versioned<StatusDocument> {
    versioned(Doc::Status, body(o))
}

/// The document's fields.
fn body(o: &Observation) -> StatusDocument {
    StatusDocument {
        answered_by: o.answered_by.to_string(),
        service_status: o.network.service_status.to_string(),
        current_view: o.network.current_view,
        primary_id: o.network.primary_id.clone(),
        trusted_nodes: o.trusted(),
        fault_tolerance: o.fault_tolerance(),
        nodes: o
            .nodes
            .iter()
            .map(|n| {
                let (ccf_version, reachability, reason) = match &n.version {
                    NodeVersion::Reported(v) => (Some(v.clone()), "reachable", None),
                    NodeVersion::NotEndorsed => (None, "not_endorsed", None),
                    NodeVersion::Unreachable(r) => (None, "unreachable", Some(r.clone())),
                    NodeVersion::NotAsked => (None, "not_asked", None),
                };
                // The node's own quote first; CCF's /gov/service/nodes carries details only in some
                // releases.
                let gov_details = n
                    .gov
                    .as_ref()
                    .and_then(|g| g.quote_info.as_ref())
                    .and_then(|q| q.details.as_ref());
                let host_data = n
                    .attestation
                    .as_ref()
                    .map(|a| a.host_data.clone())
                    .or_else(|| gov_details.and_then(|d| d.host_data.clone()));
                let measurement = n
                    .attestation
                    .as_ref()
                    .map(|a| a.measurement.clone())
                    .or_else(|| gov_details.and_then(|d| d.measurement.clone()));
                StatusNode {
                    node_id: n.info.node_id.clone(),
                    status: n.info.status.to_string(),
                    primary: o.network.primary_id.as_deref() == Some(n.info.node_id.as_str()),
                    rpc_address: n.address.as_ref().map(ToString::to_string),
                    ccf_version,
                    reachability,
                    unreachable_reason: reason,
                    retired_committed: n.gov.as_ref().is_some_and(|g| g.retired_committed),
                    removable: n.removable,
                    host_data,
                    measurement,
                    launched_as: n
                        .info
                        .node_data
                        .get("noderoll_name")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                    certificate_expires_at: expires_at(
                        n.gov.as_ref().and_then(|g| g.certificate.as_deref()),
                    ),
                }
            })
            .collect(),
        join_policy: o.join_policy.clone(),
        active_members: o.active_members(),
        members: o.members.len(),
        open_proposals: o
            .open_proposals
            .iter()
            .map(|p| StatusProposal {
                proposal_id: p.proposal.proposal_id.clone(),
                proposer_id: p.proposal.proposer_id.clone(),
                ballot_count: p.proposal.ballot_count,
                actions: p.actions.clone(),
            })
            .collect(),
        service_certificate_expires_at: expires_at(Some(&o.network.service_certificate)),
    }
}

/// A certificate's `notAfter`, RFC 3339 UTC.
fn expires_at(pem: Option<&str>) -> Option<String> {
    crate::ccf::tls::cert_not_after(pem?).map(|t| t.to_string())
}

/// `noderoll status`: the table for people, the pretty document for machines.
pub(crate) struct StatusView<'a>(pub &'a Observation);

impl super::Document for StatusView<'_> {
    fn human(&self) -> String {
        render_human(self.0)
    }
    fn json(&self) -> String {
        super::printer::json_pretty(&document(self.0))
    }
}

/// One redraw of `noderoll status --watch`: the table under a heading for people (the screen
/// cleared first on a terminal), one JSON Lines record for machines.
pub(crate) struct WatchFrame<'a> {
    /// The service as seen now.
    pub obs: &'a Observation,
    /// Stdout is a terminal.
    pub tty: bool,
    /// `--interval`, as given.
    pub interval: &'a str,
}

impl super::Document for WatchFrame<'_> {
    fn human(&self) -> String {
        let shown = render_human(self.obs);
        if self.tty {
            let changed = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
            format!(
                "\x1b[2J\x1b[HLast change: {changed} (watching every {})\n{shown}",
                self.interval
            )
        } else {
            format!("--- {}\n{shown}", jiff::Timestamp::now())
        }
    }
    fn json(&self) -> String {
        // A line of a stream: `type` and `at` like every other.
        let mut frame = super::schema::record(Doc::Status, &body(self.obs));
        frame["type"] = "status".into();
        super::printer::json_line(&frame)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "-" }
}

/// Render the human view.
pub(crate) fn render_human(o: &Observation) -> String {
    render_doc(&body(o), crate::output::width())
}

/// The human view of `doc`, fitted to `width` columns (`None`: as wide as it is).
fn render_doc(doc: &StatusDocument, width: Option<u16>) -> String {
    let mut out = String::new();
    out.push_str(&nodes_table(doc, width));
    out.push_str(&fault_tolerance(doc));
    out.push_str(&join_policy(&doc.join_policy, width));
    out.push_str(&open_proposals(doc, width));
    out
}

/// The heading and one row per node.
fn nodes_table(doc: &StatusDocument, width: Option<u16>) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Service {}  view {}  primary {}  (read from {})\n",
        doc.service_status,
        doc.current_view,
        doc.primary_id
            .as_deref()
            .map(short_id)
            .unwrap_or("none (election in progress)"),
        doc.answered_by
    ));
    let (table, layout) =
        crate::output::render_first_fitting(vec![full_table(doc, width), narrow_table(doc, width)]);
    out.push_str(&table);
    out.push('\n');
    if layout == 1 {
        out.push_str(&crate::output::wrap(NARROWED, width));
    }
    out.push_str(&format!(
        "Service certificate expires: {}\n",
        doc.service_certificate_expires_at
            .as_deref()
            .unwrap_or("unknown (not readable)")
    ));
    out
}

/// Under the narrow table: what moved, and where to see it all.
const NARROWED: &str = "(Narrowed to fit the terminal: the status column also says primary, \
retirement committed and removable; certificate expiry is a date. A wider terminal shows every \
column, --output json every field.)\n";

/// The node's version, or why there is none.
fn version_cell(n: &StatusNode) -> String {
    match (&n.ccf_version, n.reachability) {
        (Some(v), _) => v.clone(),
        (None, "not_endorsed") => "(self-signed cert: not joined yet)".into(),
        (None, "unreachable") => format!(
            "unreachable: {}",
            n.unreachable_reason.as_deref().unwrap_or("?")
        ),
        _ => "-".into(),
    }
}

/// Every column: for a terminal wide enough, or none (piped).
fn full_table(doc: &StatusDocument, width: Option<u16>) -> comfy_table::Table {
    let mut t = crate::output::table_at(width);
    t.set_header(vec![
        "node",
        "status",
        "primary",
        "rpc address",
        "ccf_version",
        "retired committed",
        "removable",
        "certificate expires",
    ]);
    for n in &doc.nodes {
        t.add_row(vec![
            short_id(&n.node_id).to_string(),
            n.status.clone(),
            yes_no(n.primary).to_string(),
            n.rpc_address.clone().unwrap_or_else(|| "-".into()),
            version_cell(n),
            yes_no(n.retired_committed).to_string(),
            yes_no(n.removable).to_string(),
            n.certificate_expires_at
                .clone()
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    t
}

/// Five columns for an 80-column terminal: the yes/no columns said in the status column,
/// certificate expiry as a date (its day is what an operator plans by).
fn narrow_table(doc: &StatusDocument, width: Option<u16>) -> comfy_table::Table {
    let mut t = crate::output::table_at(width);
    t.set_header(vec![
        "node",
        "status",
        "rpc address",
        "ccf_version",
        "cert expires",
    ]);
    for n in &doc.nodes {
        let flags: Vec<&str> = [
            (n.primary, "primary"),
            // Only a Retired node's retirement is committed: "Retired, committed".
            (n.retired_committed, "committed"),
            (n.removable, "removable"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect();
        let status = if flags.is_empty() {
            n.status.clone()
        } else {
            format!("{}, {}", n.status, flags.join(", "))
        };
        t.add_row(vec![
            short_id(&n.node_id).to_string(),
            status,
            n.rpc_address.clone().unwrap_or_else(|| "-".into()),
            version_cell(n),
            n.certificate_expires_at
                .as_deref()
                .and_then(|at| at.split('T').next())
                .unwrap_or("-")
                .to_string(),
        ]);
    }
    t
}

/// Who launched each Pending node, fault tolerance and members.
fn fault_tolerance(doc: &StatusDocument) -> String {
    let mut out = String::new();
    let pending = doc.nodes.iter().filter(|n| n.status == "Pending").count();
    // Who launched each Pending node: a node left Pending is an upgrade's loose end.
    for n in doc.nodes.iter().filter(|n| n.status == "Pending") {
        out.push_str(&format!(
            "Pending {}: {}\n",
            short_id(&n.node_id),
            match &n.launched_as {
                Some(name) => format!("launched by noderoll as {name}"),
                None => "not launched by noderoll (no noderoll_name in its node_data)".into(),
            }
        ));
    }
    out.push_str(&format!(
        "Fault tolerance: f = {} ({}, a majority is {}){}\n",
        doc.fault_tolerance,
        crate::english::count(doc.trusted_nodes, "trusted node"),
        doc.trusted_nodes / 2 + 1,
        if pending > 0 {
            format!("; {pending} pending")
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "Members: {} active of {}\n",
        doc.active_members, doc.members
    ));
    out
}

/// A join policy line: `label` and `value` on one line, or the value under the label when
/// the line would be wider than the terminal (a digest is never broken).
fn entry(label: &str, value: &str, width: Option<u16>) -> String {
    let line = format!("  {label:<20} {value}\n");
    match width {
        Some(w) if line.trim_end().chars().count() > usize::from(w) => {
            format!("  {label}\n    {value}\n")
        }
        _ => line,
    }
}

/// The registered code versions.
fn join_policy(jp: &JoinPolicy, width: Option<u16>) -> String {
    let mut out = String::from("Join policy (registered code versions):\n");
    let mut any = false;
    if let Some(v) = &jp.virtual_
        && (!v.host_data.is_empty() || !v.measurements.is_empty())
    {
        any = true;
        for h in &v.host_data {
            out.push_str(&entry("virtual host data", h, width));
        }
        for m in &v.measurements {
            out.push_str(&entry("virtual measurement", m, width));
        }
    }
    if let Some(s) = &jp.snp
        && (!s.host_data.is_empty() || !s.measurements.is_empty() || !s.uvm_endorsements.is_empty())
    {
        any = true;
        for h in s.host_data.keys() {
            out.push_str(&entry("snp host data", h, width));
        }
        for m in &s.measurements {
            out.push_str(&entry("snp measurement", m, width));
        }
        for (did, feeds) in &s.uvm_endorsements {
            for (feed, v) in feeds {
                out.push_str(&entry(
                    "snp uvm endorsement",
                    &format!("{did} {feed} {v}"),
                    width,
                ));
            }
        }
    }
    if let Some(s) = &jp.sgx {
        for m in &s.measurements {
            any = true;
            out.push_str(&entry("sgx measurement", m, width));
        }
    }
    if !any {
        out.push_str("  (empty)\n");
    }
    out
}

/// The open proposals.
fn open_proposals(doc: &StatusDocument, width: Option<u16>) -> String {
    let mut out = String::new();
    if doc.open_proposals.is_empty() {
        out.push_str("Open proposals: none\n");
    } else {
        let mut t = crate::output::table_at(width);
        t.set_header(vec!["proposal", "proposer", "ballots", "actions"]);
        for p in &doc.open_proposals {
            t.add_row(vec![
                short_id(&p.proposal_id).to_string(),
                short_id(&p.proposer_id).to_string(),
                p.ballot_count.to_string(),
                p.actions.join(", "),
            ]);
        }
        out.push_str(&format!(
            "Open proposals: {}\n{}\n",
            doc.open_proposals.len(),
            crate::output::render(t)
        ));
    }
    out
}

#[cfg(test)]
mod tests;
