//! `noderoll journal`: the service's journal as a table, or its records as JSON Lines (as
//! they are stored).

use crate::ccf::types::short_id;
use crate::journal::Record;

/// The journal's records.
pub(crate) struct JournalView<'a>(pub &'a [Record]);

impl super::Document for JournalView<'_> {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "The journal of this service is empty.\n".into();
        }
        let mut t = super::table();
        t.set_header(vec!["at", "run", "record", "detail"]);
        for r in self.0 {
            let (at, run, kind, detail) = row(r);
            t.add_row(vec![at.clone(), run.clone(), kind.to_string(), detail]);
        }
        format!("{t}\n")
    }

    fn json(&self) -> String {
        self.0.iter().map(super::printer::json_line).collect()
    }
}

/// A record's row: when, which run, what, and its detail.
fn row(r: &Record) -> (&String, &String, &'static str, String) {
    static NO_RUN: String = String::new();
    match r {
        Record::RunStarted {
            at, run_id, target, ..
        } => (at, run_id, "run started", format!("target {target}")),
        Record::LaunchStarted { at, run_id, name } => (at, run_id, "launch started", name.clone()),
        Record::NodeLaunched {
            at, run_id, node, ..
        } => (
            at,
            run_id,
            "node launched",
            format!(
                "{} {}",
                node.node_id.as_deref().map(short_id).unwrap_or("-"),
                node.rpc_address
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        ),
        Record::ProposalStarting {
            at,
            run_id,
            actions,
        } => (at, run_id, "proposing", actions.join(", ")),
        Record::ProposalSubmitted {
            at,
            run_id,
            proposal_id,
        } => (at, run_id, "proposal", short_id(proposal_id).to_string()),
        Record::StepFinished {
            at,
            run_id,
            index,
            description,
        } => (
            at,
            run_id,
            "step finished",
            format!("{index}: {description}"),
        ),
        Record::RunEnded {
            at,
            run_id,
            outcome,
        } => (at, run_id, "run ended", outcome.clone()),
        Record::RollbackStarted {
            at,
            run_id,
            from,
            to,
            reason,
        } => (
            at,
            run_id,
            "rollback started",
            format!("{from} → {to}: {reason}"),
        ),
        Record::ReleaseChosen {
            at,
            run_id,
            release,
        } => (at, run_id, "release chosen", release.target().describe()),
        Record::FailedCleared { at } => (
            at,
            &NO_RUN,
            "failed cleared",
            "every failed target may be tried again".to_string(),
        ),
        Record::TargetFailed {
            at,
            run_id,
            target,
            reason,
            ..
        } => (at, run_id, "target failed", format!("{target}: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Document;
    use crate::plan::Launched;

    /// A launcher may report any node id; a short one must not panic the table.
    #[test]
    fn a_short_node_id_renders_whole() {
        let records = [Record::NodeLaunched {
            run_id: "r1".into(),
            at: "2026-01-01T00:00:00Z".into(),
            node: Launched {
                node_id: Some("abc".into()),
                rpc_address: None,
            },
            name: None,
        }];
        let table = JournalView(&records).human();
        assert!(table.contains("abc"), "{table}");
    }
}
