//! The one place `schema_version` is written: every JSON document noderoll prints is
//! stamped here, either as a typed document ([`versioned`]) or as a JSON Lines record
//! ([`envelope`], which also adds `at`). Each document has its own version (and its own JSON
//! Schema under `schemas/` in the repository).

use serde::Serialize;
use serde_json::Value;

/// A kind of document, by the version its `schema_version` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doc {
    /// `plan --output json` (`schemas/plan.json`).
    Plan,
    /// `status --output json`, its `--watch` lines and a summary's `service`
    /// (`schemas/status.json`).
    Status,
    /// A run's events (`schemas/event.json`) and the notifications made of them.
    Event,
    /// The `summary` that ends a run (`schemas/summary.json`).
    Summary,
    /// `rollback --dry-run` (`schemas/rollback-plan.json`).
    RollbackPlan,
    /// `journal --output json` lines (`schemas/journal-line.json`).
    Journal,
    /// `channel check`, `channel clear-failed`, and `channel apply`'s `resuming` notice.
    Channel,
    /// The watch loop's own events (`schemas/watch-line.json`).
    Watch,
    /// `vote`'s documents (`schemas/vote.json`).
    Vote,
    /// `sandbox check` (`schemas/sandbox-check.json`).
    Sandbox,
}

impl Doc {
    /// This document's `schema_version`: bumped only on incompatible changes of it. Version 2
    /// (issue 18): targets as `{platform, host_data, ccf_version}` objects, durations named by
    /// their unit (`elapsed_s`, `duration_ms`), errors as `{message, causes}`, journal lines and
    /// `vote`'s documents with `type`, one meaning per field name (`summary.steps_run`, a
    /// skipped proposal's `reason`) and one JSON type per field name across documents
    /// (`release` always the whole channel release).
    pub(crate) const fn version(self) -> u32 {
        match self {
            Doc::Plan
            | Doc::Event
            | Doc::Summary
            | Doc::RollbackPlan
            | Doc::Journal
            | Doc::Channel
            | Doc::Watch
            | Doc::Vote => 2,
            Doc::Status | Doc::Sandbox => 1,
        }
    }
}

/// A document with `schema_version` as its first field.
#[derive(Debug, Serialize)]
pub(crate) struct Versioned<T> {
    /// Its [`Doc::version`].
    pub schema_version: u32,
    /// The document's own fields, after `schema_version`.
    #[serde(flatten)]
    pub doc: T,
}

/// `doc`, a `kind` document, stamped with its version.
pub(crate) fn versioned<T: Serialize>(kind: Doc, doc: T) -> Versioned<T> {
    Versioned {
        schema_version: kind.version(),
        doc,
    }
}

/// Add `schema_version` (of a `kind` document) to a JSON object.
pub(crate) fn stamp(kind: Doc, mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("schema_version".into(), kind.version().into());
    }
    v
}

/// A JSON Lines record: `schema_version` and `at` (now, RFC 3339) added to a JSON object.
pub(crate) fn envelope(kind: Doc, v: Value) -> Value {
    let mut v = stamp(kind, v);
    if let Value::Object(m) = &mut v {
        m.insert("at".into(), jiff::Timestamp::now().to_string().into());
    }
    v
}

/// `doc` as one JSON Lines record (see [`envelope`]).
pub(crate) fn record<T: Serialize>(kind: Doc, doc: &T) -> Value {
    envelope(
        kind,
        serde_json::to_value(doc).expect("documents serialise"),
    )
}

/// `doc` as a JSON object with `schema_version` (its keys in alphabetical order, as every
/// compact document's are).
pub(crate) fn stamped<T: Serialize>(kind: Doc, doc: &T) -> Value {
    stamp(
        kind,
        serde_json::to_value(doc).expect("documents serialise"),
    )
}
