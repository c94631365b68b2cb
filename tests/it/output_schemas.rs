//! The published JSON Schemas (`schemas/`): each compiles as draft 2020-12, each is linked
//! from the README, and a document off the contract is refused. (Every test that reads
//! `--output json` validates what it reads through `common::output_schema`.)

use serde_json::json;

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
        "resume": null, "service": null, "service_urls": null
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
    // Nothing to do before anything ran: only type, outcome and steps_run.
    output_schema::validate(
        "summary",
        &json!({"schema_version": 2, "type": "summary", "at": "2026-12-01T00:00:00Z",
                "outcome": "nothing_to_do", "steps_run": 0}),
    );
}
