//! The one place `schema_version` is written: every JSON document noderoll prints is
//! stamped here, either as a typed document ([`versioned`]) or as a JSON Lines record
//! ([`envelope`], which also adds `at`).

use serde::Serialize;
use serde_json::Value;

/// Version of every JSON document noderoll prints. Bumped only on incompatible changes.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A document with `schema_version` as its first field.
#[derive(Debug, Serialize)]
pub(crate) struct Versioned<T> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The document's own fields, after `schema_version`.
    #[serde(flatten)]
    pub doc: T,
}

/// `doc` stamped with [`SCHEMA_VERSION`].
pub(crate) fn versioned<T: Serialize>(doc: T) -> Versioned<T> {
    Versioned {
        schema_version: SCHEMA_VERSION,
        doc,
    }
}

/// Add `schema_version` to a JSON object.
pub(crate) fn stamp(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
    v
}

/// A JSON Lines record: `schema_version` and `at` (now, RFC 3339) added to a JSON object.
pub(crate) fn envelope(v: Value) -> Value {
    let mut v = stamp(v);
    if let Value::Object(m) = &mut v {
        m.insert("at".into(), jiff::Timestamp::now().to_string().into());
    }
    v
}

/// `doc` as one JSON Lines record (see [`envelope`]).
pub(crate) fn record<T: Serialize>(doc: &T) -> Value {
    envelope(serde_json::to_value(doc).expect("documents serialise"))
}

/// `doc` as a JSON object with `schema_version` (its keys in alphabetical order, as every
/// compact document's are).
pub(crate) fn stamped<T: Serialize>(doc: &T) -> Value {
    stamp(serde_json::to_value(doc).expect("documents serialise"))
}
