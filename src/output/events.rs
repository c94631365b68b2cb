//! The JSON Lines reporter (`--output json`): one object per event on stdout, each with
//! `schema_version`, `type` and `at` (RFC 3339), ending with one `summary` record that the
//! command writes. The event fields are those of [`crate::exec::Event`].

use std::io::Write;

use serde_json::Value;

use crate::exec::{Event, Reporter};

/// Writes events as JSON Lines to stdout.
pub(crate) struct JsonReporter;

/// Write one JSON line to stdout (a closed stdout is ignored: the run goes on).
pub(crate) fn write_line(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

impl Reporter for JsonReporter {
    fn report(&self, e: &Event) {
        write_line(&record(e));
    }
}

/// An event as one JSON Lines record (printed, or sent to the `[notify]` command).
pub(crate) fn record(e: &Event) -> Value {
    super::schema::record(super::schema::Doc::Event, e)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::record;
    use crate::exec::Event;
    use crate::plan::gates::Gate;
    use crate::plan::{CodePlatform, PlannedStep, Step, TargetRef};

    fn target(v: &str) -> TargetRef {
        TargetRef {
            platform: CodePlatform::Virtual,
            host_data: "ab".repeat(32),
            ccf_version: Some(v.into()),
        }
    }

    /// One event of every type. The match has no wildcard: a new variant does not compile
    /// until it is given an index here, and then fails `covered` until it has an example.
    fn examples() -> Vec<Event> {
        let mut examples = run_examples();
        examples.extend(node_examples());
        let mut covered = [false; 19];
        for e in &examples {
            covered[index(e)] = true;
        }
        assert!(covered.iter().all(|c| *c), "an event type has no example");
        examples
    }

    /// Events about the run as a whole.
    fn run_examples() -> Vec<Event> {
        let s = String::from;
        let step = PlannedStep {
            step: Step::Soak {
                duration: Duration::from_millis(1500),
            },
            trusted_after: 3,
            f_after: 1,
            f_during_catch_up: None,
            stalls_writes: false,
            gate: Gate::Soak,
            point_of_no_return: false,
        };
        vec![
            Event::RunStarted {
                run_id: s("r1"),
                target: target("ccf-7.0.2"),
                steps: vec![step],
                rollback: false,
                from: Some(target("ccf-7.0.1")),
            },
            Event::PreflightChecked {
                check: s("c"),
                ok: true,
                detail: s("d"),
            },
            Event::StepStarted {
                index: 1,
                description: s("d"),
                f_after: 1,
            },
            Event::Waiting { what: s("w") },
            Event::ProposalStarting {
                actions: vec![s("trigger_snapshot")],
            },
            Event::SnapshotReady {
                name: Some(s("snapshot_10_12.committed")),
                seqno: 10,
            },
            Event::ProposalSubmitted {
                proposal_id: s("p"),
                actions: vec![s("transition_node_to_trusted")],
            },
            Event::ProposalCommitted {
                proposal_id: s("p"),
            },
            Event::WaitingForMembers {
                proposal_id: s("p"),
                needed: 2,
                votes_cast: 1,
            },
            Event::HookRan {
                hook: s("after_trust"),
            },
            Event::RollbackStarted {
                run_id: s("r2"),
                from: target("ccf-7.0.2"),
                to: TargetRef {
                    ccf_version: None,
                    ..target("")
                },
                kind: s("clean"),
                reason: s("r"),
            },
            Event::Warning { message: s("m") },
        ]
    }

    /// Events about nodes and steps.
    fn node_examples() -> Vec<Event> {
        let s = String::from;
        vec![
            Event::LaunchStarted { name: s("n") },
            Event::NodeLaunched {
                name: s("n"),
                node_id: None,
                rpc_address: Some(s("127.0.0.1:1")),
            },
            Event::NodePending { node_id: s("n") },
            Event::NodeServing {
                node_id: s("n"),
                ccf_version: s("ccf-7.0.2"),
            },
            Event::ElectionObserved {
                previous: s("a"),
                primary: s("b"),
                view: 3,
            },
            Event::NodeRemoved { node_id: s("n") },
            Event::StepFinished {
                index: 1,
                description: s("d"),
                elapsed: Duration::from_millis(1234),
            },
        ]
    }

    /// Each variant's index (no wildcard: a new variant must be given one).
    fn index(e: &Event) -> usize {
        match e {
            Event::RunStarted { .. } => 0,
            Event::PreflightChecked { .. } => 1,
            Event::StepStarted { .. } => 2,
            Event::Waiting { .. } => 3,
            Event::ProposalSubmitted { .. } => 4,
            Event::ProposalCommitted { .. } => 5,
            Event::WaitingForMembers { .. } => 6,
            Event::LaunchStarted { .. } => 7,
            Event::NodeLaunched { .. } => 8,
            Event::NodePending { .. } => 9,
            Event::NodeServing { .. } => 10,
            Event::ElectionObserved { .. } => 11,
            Event::NodeRemoved { .. } => 12,
            Event::StepFinished { .. } => 13,
            Event::HookRan { .. } => 14,
            Event::RollbackStarted { .. } => 15,
            Event::Warning { .. } => 16,
            Event::ProposalStarting { .. } => 17,
            Event::SnapshotReady { .. } => 18,
        }
    }

    /// `schemas/<name>.json`, compiled (its references resolved next to it).
    pub(crate) fn schema(name: &str) -> (serde_json::Value, jsonschema::Validator) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas")
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_base_uri(format!("file://{}", path.display()))
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        (schema, validator)
    }

    /// The `type`s a schema's `oneOf` (at `pointer`) has a branch for.
    pub(crate) fn branches(schema: &serde_json::Value, pointer: &str) -> BTreeSet<String> {
        schema
            .pointer(pointer)
            .and_then(|v| v.as_array())
            .unwrap()
            .iter()
            .map(|b| {
                let r = b["$ref"].as_str().unwrap();
                r.trim_start_matches("#/$defs/").to_string()
            })
            .collect()
    }

    /// Every line is valid under `schemas/<name>.json`, and their `type`s are exactly the
    /// branches of its `oneOf` at `pointer`.
    pub(crate) fn assert_lines_cover_the_schema(
        name: &str,
        pointer: &str,
        lines: impl IntoIterator<Item = serde_json::Value>,
    ) {
        let (schema, validator) = schema(name);
        let mut types = BTreeSet::new();
        for line in lines {
            let errors: Vec<String> = validator
                .iter_errors(&line)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{line}: {errors:?}");
            types.insert(line["type"].as_str().unwrap().to_string());
        }
        assert_eq!(types, branches(&schema, pointer));
    }

    #[test]
    fn every_event_type_has_a_schema_branch_and_every_branch_an_event() {
        assert_lines_cover_the_schema("event", "/$defs/event/oneOf", examples().iter().map(record));
    }

    #[test]
    fn the_schema_refuses_a_display_string_for_a_target() {
        let (_, validator) = schema("event");
        let mut line = record(&examples()[0]);
        assert!(validator.is_valid(&line));
        line["target"] = "virtual abababab… (ccf-7.0.2)".into();
        assert!(!validator.is_valid(&line));
        let mut line = record(&examples()[0]);
        line["unknown"] = 1.into();
        assert!(
            !validator.is_valid(&line),
            "closed: no field the schema does not name"
        );
    }
}
