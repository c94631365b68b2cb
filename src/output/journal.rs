//! `noderoll journal`: the service's journal as a table, or its records as JSON Lines: each
//! as it is stored, its kind as `type` (stored as `record`) and with `schema_version`, like
//! every other stream.

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
            t.add_row(vec![
                to_the_second(at),
                run.clone(),
                kind.to_string(),
                detail,
            ]);
        }
        format!("{}\n", super::render(t))
    }

    fn json(&self) -> String {
        self.0
            .iter()
            .map(|r| super::printer::json_line(&line(r)))
            .collect()
    }
}

/// A record's time to the second (`2026-12-01T08:17:34Z`): enough to read a run by, and
/// narrow enough for the table to fit 80 columns whole (`--output json` has it in full).
fn to_the_second(at: &str) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => at.to_string(),
    }
}

/// A record as a `journal --output json` line.
fn line(r: &Record) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("records serialise");
    if let serde_json::Value::Object(m) = &mut v
        && let Some(kind) = m.remove("record")
    {
        m.insert("type".into(), kind);
    }
    super::schema::stamp(super::schema::Doc::Journal, v)
}

/// A launched node's id (shortened) and address.
fn launched(node: &crate::plan::Launched) -> String {
    format!(
        "{} {}",
        node.node_id.as_deref().map(short_id).unwrap_or("-"),
        node.rpc_address
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    )
}

/// What a `failed_cleared` record cleared.
fn cleared(target: Option<&crate::journal::RecordedTarget>) -> String {
    match target {
        Some(t) => format!(
            "{}: no longer marked failed (reached with --retry-failed-target)",
            t.describe()
        ),
        None => "every failed target may be tried again".to_string(),
    }
}

/// A record's row: when, which run, what, and its detail.
fn row(r: &Record) -> (&String, &String, &'static str, String) {
    static NO_RUN: String = String::new();
    match r {
        Record::RunStarted {
            at, run_id, target, ..
        } => (
            at,
            run_id,
            "run started",
            format!("target {}", target.describe()),
        ),
        Record::ProposalStarting {
            at,
            run_id,
            actions,
        } => (at, run_id, "proposing", actions.join(", ")),
        Record::LaunchStarted { at, run_id, name } => (at, run_id, "launch started", name.clone()),
        Record::NodeLaunched {
            at, run_id, node, ..
        } => (at, run_id, "node launched", launched(node)),
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
            format!("{} → {}: {reason}", from.describe(), to.describe()),
        ),
        Record::ReleaseChosen {
            at,
            run_id,
            release,
        } => (at, run_id, "release chosen", release.target().describe()),
        Record::FailedCleared { at, target } => {
            (at, &NO_RUN, "failed cleared", cleared(target.as_ref()))
        }
        Record::TargetFailed {
            at,
            run_id,
            target,
            reason,
            ..
        } => (
            at,
            run_id,
            "target failed",
            format!("{}: {reason}", target.describe()),
        ),
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

    /// A journal written before targets were recorded whole (format 1) is still read, and
    /// its lines are still on the published contract.
    #[test]
    fn a_format_1_record_is_read_and_printed_on_the_contract() {
        let old = r#"{"record":"run_started","format_version":1,"run_id":"r1","at":"2026-01-01T00:00:00Z","target":"virtual abababab… (ccf-7.0.2)","plan_sha256":"x"}"#;
        let r: Record = serde_json::from_str(old).unwrap();
        let Record::RunStarted { target, .. } = &r else {
            panic!("{r:?}")
        };
        let whole = crate::plan::TargetRef {
            platform: crate::plan::CodePlatform::Virtual,
            host_data: "ab".repeat(32),
            ccf_version: Some("ccf-7.0.2".into()),
        };
        assert!(target.is(&whole), "named by its description");
        let new = Record::RunStarted {
            format_version: crate::journal::store::FORMAT_VERSION,
            run_id: "r2".into(),
            at: "2026-01-01T00:00:01Z".into(),
            target: whole.into(),
            plan_sha256: "x".into(),
            rollback: false,
            from: None,
        };
        let (_, validator) = crate::output::events::tests::schema("journal-line");
        for record in [r, new] {
            let printed: serde_json::Value =
                serde_json::from_str(&JournalView(&[record]).json()).unwrap();
            assert_eq!(printed["type"], "run_started");
            assert!(printed.get("record").is_none());
            let errors: Vec<String> = validator
                .iter_errors(&printed)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{printed}: {errors:?}");
        }
    }
}
