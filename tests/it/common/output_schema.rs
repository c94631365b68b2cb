//! The JSON Schemas noderoll publishes (`schemas/` at the repository root): every JSON
//! document a test reads is checked against its schema, so the schemas stay the contract.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// `schemas/<name>.json`.
fn schema_path(name: &str) -> PathBuf {
    super::repo_root()
        .join("schemas")
        .join(format!("{name}.json"))
}

fn validator(name: &str, schema: &Value) -> jsonschema::Validator {
    // The schemas refer to each other by relative path, resolved next to this file.
    let base = format!("file://{}", schema_path(name).display());
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_base_uri(base)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("schemas/{name}.json does not compile: {e}"))
}

/// The schema file `schemas/<name>.json`, parsed.
pub(crate) fn schema(name: &str) -> Value {
    let path = schema_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The compiled `schemas/<name>.json` (compiled once per test process).
fn compiled(name: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(validator(name, &schema(name))))
        .clone()
}

/// Why `doc` is not valid under `schemas/<name>.json`, if it is not.
pub(crate) fn check(name: &str, doc: &Value) -> Result<(), String> {
    let errors: Vec<String> = compiled(name)
        .iter_errors(doc)
        .map(|e| format!("{} (at {})", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "not valid under schemas/{name}.json:\n  {}\n{}document: {doc}",
        errors.join("\n  "),
        branch_errors(doc)
    ))
}

/// Fail the test unless `doc` is valid under `schemas/<name>.json`.
pub(crate) fn validate(name: &str, doc: &Value) {
    if let Err(e) = check(name, doc) {
        panic!("{e}");
    }
}

/// Each line of `stdout` parsed and validated under `schemas/<name>.json`.
pub(crate) fn lines(name: &str, stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            validate(name, &v);
            v
        })
        .collect()
}

/// A `oneOf` only says that no branch matched: the errors of the branch the document's
/// `type` names, for the failure message.
fn branch_errors(doc: &Value) -> String {
    let Some(kind) = doc.get("type").and_then(Value::as_str) else {
        return String::new();
    };
    for name in [
        "event",
        "summary",
        "rollback-plan",
        "channel-resuming",
        "watch-line",
        "journal-line",
        "vote",
    ] {
        if schema(name)["$defs"].get(kind).is_none() {
            continue;
        }
        let branch =
            json!({"$ref": format!("{name}.json#/$defs/{kind}"), "unevaluatedProperties": false});
        // Its own (unused) name: the schema it refers to is read from its file.
        let errors: Vec<String> = validator("branch", &branch)
            .iter_errors(doc)
            .map(|e| format!("{} (at {})", e, e.instance_path()))
            .collect();
        return format!(
            "as a {kind} ({name}.json#/$defs/{kind}):\n  {}\n",
            errors.join("\n  ")
        );
    }
    String::new()
}
