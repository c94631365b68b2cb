//! The published JSON Schemas (`schemas/`): each compiles as draft 2020-12, each is linked
//! from the README, and a document off the contract is refused. (Every test that reads
//! `--output json` validates what it reads through `common::output_schema`.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::common::*;

fn schema_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn every_schema_is_draft_2020_12_compiles_and_is_linked_from_the_readme() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let names = schema_names();
    assert!(names.len() >= 14, "{names:?}");
    for name in names {
        let schema = output_schema::schema(&name);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        // Compiling resolves every reference to its sibling files.
        output_schema::check(&name, &json!(null)).ok();
        assert!(
            readme.contains(&format!("(schemas/{name}.json)")),
            "README does not link schemas/{name}.json"
        );
    }
}

#[test]
fn a_summary_off_the_contract_is_refused() {
    let ok = json!({
        "schema_version": 2, "type": "summary", "at": "2026-12-01T00:00:00Z",
        "outcome": "failed", "steps_run": 0, "elapsed_s": 1.5,
        "error": {"message": "step 3 failed", "causes": ["timed out"]},
        "resume": null, "service": null, "service_urls": null,
        "next_step": {"action": "fix", "command": "noderoll apply --plan p.toml", "reason": "the launcher"}
    });
    output_schema::validate("summary", &ok);
    output_schema::validate("run-stream", &ok);
    let off = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut doc = ok.clone();
        change(&mut doc);
        output_schema::check("summary", &doc).is_err()
    };
    assert!(
        off(&|d| d["error"] = "error: step 3 failed".into()),
        "rendered text"
    );
    assert!(off(&|d| d["steps"] = 0.into()), "the old name");
    assert!(off(&|d| d["schema_version"] = 1.into()), "the old version");
    assert!(
        off(&|d| {
            d.as_object_mut().unwrap().remove("resume");
        }),
        "a finished run has every field"
    );
    assert!(off(&|d| d["at"] = "yesterday".into()), "RFC 3339");
    assert!(
        off(&|d| d["next_step"] = serde_json::Value::Null),
        "a failed run says what to do next"
    );
    assert!(
        off(&|d| d["next_step"]["action"] = "retry".into()),
        "an action of the contract's"
    );
    // Finalize pending: the next step is finalize, never null.
    let pending = |next: serde_json::Value| {
        let mut doc = ok.clone();
        doc["outcome"] = "finalize_pending".into();
        doc["error"] = serde_json::Value::Null;
        doc["next_step"] = next;
        output_schema::check("summary", &doc)
    };
    pending(json!({"action": "finalize", "command": "noderoll finalize --plan p.toml --yes", "reason": "manual"}))
        .unwrap();
    assert!(
        pending(serde_json::Value::Null).is_err(),
        "finalize pending names finalize"
    );
    // Nothing to do before anything ran: only type, outcome and steps_run.
    output_schema::validate(
        "summary",
        &json!({"schema_version": 2, "type": "summary", "at": "2026-12-01T00:00:00Z",
                "outcome": "nothing_to_do", "steps_run": 0}),
    );
}

/// The JSON types a property schema admits (null aside), its references followed.
fn kinds(schema: &Value, file: &str, out: &mut BTreeSet<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let (f, pointer) = r.split_once('#').unwrap_or((r, ""));
        let f = if f.is_empty() {
            file
        } else {
            f.trim_end_matches(".json")
        };
        let target = output_schema::schema(f).pointer(pointer).unwrap().clone();
        return kinds(&target, f, out);
    }
    for key in ["oneOf", "anyOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            kinds(branch, file, out);
        }
    }
    let named = |v: &Value| match v {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    };
    match schema.get("type") {
        Some(Value::String(t)) => {
            out.insert(t.clone());
        }
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str).map(String::from)),
        _ => {}
    }
    if let Some(c) = schema.get("const") {
        out.insert(named(c).into());
    }
    for v in schema
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.insert(named(v).into());
    }
    out.remove("null");
    if out.remove("integer") {
        out.insert("number".into());
    }
}

/// Every property name under `schema`, with the types it admits and where.
fn properties(
    schema: &Value,
    file: &str,
    out: &mut BTreeMap<String, BTreeMap<BTreeSet<String>, String>>,
) {
    match schema {
        Value::Object(m) => {
            for (name, prop) in m
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let mut k = BTreeSet::new();
                kinds(prop, file, &mut k);
                // A constraint that only narrows (`"type": "null"` in a condition) says nothing.
                if !k.is_empty() {
                    out.entry(name.clone())
                        .or_default()
                        .insert(k, file.to_string());
                }
            }
            m.values().for_each(|v| properties(v, file, out));
        }
        Value::Array(a) => a.iter().for_each(|v| properties(v, file, out)),
        _ => {}
    }
}

#[test]
fn a_field_name_has_one_type_across_every_document() {
    let mut seen = BTreeMap::new();
    for name in schema_names() {
        properties(&output_schema::schema(&name), &name, &mut seen);
    }
    // Two uses with no type in common (a journal's target may also be a format-1 string).
    let mixed: Vec<_> = seen
        .iter()
        .filter(|(_, uses)| uses.keys().any(|a| uses.keys().any(|b| a.is_disjoint(b))))
        .collect();
    assert!(mixed.is_empty(), "one type per name: {mixed:?}");
}
