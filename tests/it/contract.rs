//! Contract tests: the client's types against CCF's own published OpenAPI schemas and example
//! responses (vendored under `tests/data/ccf`).

use std::collections::{BTreeMap, BTreeSet};

use noderoll::ccf::types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::common::{ccf_file, ccf_reference};

fn example(name: &str) -> Value {
    let rel = format!("doc/schemas/gov/2024-07-01/examples/{name}.json");
    serde_json::from_str(&ccf_file(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn body(ex: &Value) -> Value {
    ex["responses"]["200"]["body"].clone()
}

/// Parse and re-serialise: every field of CCF's example survives, with the same name.
fn round_trips<T: DeserializeOwned + Serialize>(name: &str) {
    let b = body(&example(name));
    let parsed: T = serde_json::from_value(b.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_value(&parsed).unwrap();
    assert_eq!(again, b, "{name}: a field was lost or renamed");
}

#[test]
fn every_governance_example_is_covered() {
    // Examples noderoll parses, and those it deliberately does not use.
    let parsed: &[&str] = &[
        "Ballots_Submit",
        "Proposals_Create",
        "Proposals_Get",
        "Proposals_GetActions",
        "Proposals_List",
        "Proposals_Withdraw",
        "ServiceState_GetConstitution",
        "ServiceState_GetJoinPolicies",
        "ServiceState_GetMember",
        "ServiceState_GetNode",
        "ServiceState_GetServiceInfo",
        "ServiceState_ListMembers",
        "ServiceState_ListNodes",
        "Transactions_Get",
    ];
    let unused: &[&str] = &[
        "Ballots_Get",              // the ballot JS of a member: not needed to drive an upgrade
        "EncryptedShares_Get",      // recovery
        "Shares_Submit",            // recovery
        "ServiceState_GetJsApp",    // application bundle
        "ServiceState_GetJwkInfo",  // JWT keys
        "StateDigests_Acknowledge", // member activation, done once by operators
        "StateDigests_Get",
        "StateDigests_Update",
        "Transactions_GetCommit", // noderoll reads /node/commit per node instead
    ];
    let dir = ccf_reference().join("doc/schemas/gov/2024-07-01/examples");
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().to_string()
        })
        .collect();
    for name in &found {
        assert!(
            parsed.contains(&name.as_str()) || unused.contains(&name.as_str()),
            "example {name} is neither parsed nor listed as unused"
        );
    }
    // And the other way: every listed example is vendored (an empty or partial copy fails).
    for name in parsed.iter().chain(unused) {
        assert!(
            found.contains(*name),
            "example {name} is missing from {}",
            dir.display()
        );
    }
}

#[test]
fn proposal_examples_round_trip() {
    for name in [
        "Proposals_Create",
        "Proposals_Get",
        "Proposals_Withdraw",
        "Ballots_Submit",
    ] {
        round_trips::<Proposal>(name);
    }
    round_trips::<ProposalList>("Proposals_List");
    round_trips::<ProposalBody>("Proposals_GetActions");
    let p: Proposal =
        serde_json::from_value(body(&example("Proposals_List"))["value"][0].clone()).unwrap();
    assert_eq!(p.proposal_state, ProposalState::Open);
    assert_eq!(p.ballot_count, 2);
    assert_eq!(p.final_votes.unwrap().len(), 2);
}

#[test]
fn service_state_examples_round_trip() {
    round_trips::<Member>("ServiceState_GetMember");
    round_trips::<ValueList<Member>>("ServiceState_ListMembers");
    round_trips::<GovNode>("ServiceState_GetNode");
    round_trips::<ValueList<GovNode>>("ServiceState_ListNodes");
    round_trips::<JoinPolicy>("ServiceState_GetJoinPolicies");
    round_trips::<ServiceInfo>("ServiceState_GetServiceInfo");
    round_trips::<GovTxStatus>("Transactions_Get");

    let nodes: ValueList<GovNode> =
        serde_json::from_value(body(&example("ServiceState_ListNodes"))).unwrap();
    assert!(
        nodes
            .value
            .iter()
            .any(|n| n.status == NodeStatus::Retired && n.retired_committed)
    );
    let jp: JoinPolicy =
        serde_json::from_value(body(&example("ServiceState_GetJoinPolicies"))).unwrap();
    assert!(
        jp.snp
            .unwrap()
            .tcb_versions
            .unwrap()
            .contains_key("00a00f11")
    );
    let info: ServiceInfo =
        serde_json::from_value(body(&example("ServiceState_GetServiceInfo"))).unwrap();
    assert_eq!(info.status, ServiceStatus::Open);
    assert_eq!(info.creation_transaction_id.unwrap().to_string(), "7.1672");
    let c = body(&example("ServiceState_GetConstitution"));
    let js =
        noderoll::ccf::client::constitution_from_body(&serde_json::to_vec(&c).unwrap()).unwrap();
    assert!(js.starts_with("export function validate"), "{js}");
    // What CCF actually serves: raw text/javascript.
    assert_eq!(
        noderoll::ccf::client::constitution_from_body(b"export function apply() {}").unwrap(),
        "export function apply() {}"
    );
}

#[test]
fn examples_use_the_api_version_the_client_sends() {
    for name in [
        "Proposals_Create",
        "ServiceState_ListNodes",
        "Transactions_Get",
    ] {
        assert_eq!(
            example(name)["parameters"]["api-version"],
            noderoll::ccf::GOV_API_VERSION
        );
    }
}

// ----- node API: minimal instances generated from node_openapi.json --------------------------

struct Schemas(Value);

impl Schemas {
    fn load() -> Self {
        let text = ccf_file("doc/schemas/node_openapi.json");
        Schemas(serde_json::from_str(&text).unwrap())
    }

    fn get(&self, name: &str) -> &Value {
        &self.0["components"]["schemas"][name]
    }

    /// An instance with only the required properties, each with a plausible value.
    fn minimal(&self, schema: &Value, name: &str) -> Value {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let target = r.rsplit('/').next().unwrap();
            return self.minimal(self.get(target), target);
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            return e[0].clone();
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => {
                let mut out = serde_json::Map::new();
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for prop in required {
                    out.insert(
                        prop.to_string(),
                        self.minimal(&schema["properties"][prop], prop),
                    );
                }
                Value::Object(out)
            }
            Some("array") => Value::Array(vec![]),
            Some("string") if name == "TransactionId" => Value::String("2.17".into()),
            Some("string") => Value::String("a".repeat(64)),
            Some("integer") | Some("number") => Value::from(1),
            Some("boolean") => Value::Bool(false),
            _ => Value::Null,
        }
    }
}

fn parses_minimal<T: DeserializeOwned>(s: &Schemas, schema: &str) -> T {
    let v = s.minimal(s.get(schema), schema);
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{schema}: {e}\ninstance: {v}"))
}

#[test]
fn node_api_schemas_parse_into_client_types() {
    let s = Schemas::load();
    let n: NetworkInfo = parses_minimal(&s, "GetNetworkInfo__Out");
    assert_eq!(n.current_view, 1);
    let _: NodeInfo = parses_minimal(&s, "GetNode__NodeInfo");
    let _: NodeList = parses_minimal(&s, "GetNodes__Out");
    let _: VersionInfo = parses_minimal(&s, "GetVersion__Out");
    let _: NodeStateInfo = parses_minimal(&s, "GetState__Out");
    let c: CommitInfo = parses_minimal(&s, "GetCommit__Out");
    assert_eq!(c.transaction_id.to_string(), "2.17");
    let _: TxStatusInfo = parses_minimal(&s, "GetTxStatus__Out");
    let _: ConsensusInfo = parses_minimal(&s, "ConsensusConfigDetails");
    let _: Quote = parses_minimal(&s, "Quote");
}

#[test]
fn client_field_names_exist_in_the_node_schemas() {
    // Every field the client requires must be a property CCF documents, spelled the same.
    let s = Schemas::load();
    let cases: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "GetNetworkInfo__Out",
            &[
                "service_status",
                "service_certificate",
                "current_view",
                "primary_id",
            ][..],
        ),
        (
            "GetNode__NodeInfo",
            &[
                "node_id",
                "status",
                "primary",
                "rpc_interfaces",
                "node_data",
                "last_written",
            ][..],
        ),
        (
            "GetVersion__Out",
            &["ccf_version", "quickjs_version", "unsafe"][..],
        ),
        (
            "GetState__Out",
            &[
                "node_id",
                "state",
                "last_signed_seqno",
                "startup_seqno",
                "stop_notice",
            ][..],
        ),
        ("GetTxStatus__Out", &["transaction_id", "status"][..]),
        ("Quote", &["node_id", "raw", "endorsements", "format"][..]),
    ]);
    for (schema, fields) in cases {
        let props = s.get(schema)["properties"].as_object().unwrap();
        for f in fields {
            assert!(props.contains_key(*f), "{schema} has no property {f}");
        }
    }
    let statuses: Vec<String> = s.get("NodeStatus")["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for st in ["Pending", "Trusted", "Retired"] {
        assert!(statuses.contains(&st.to_string()));
        let parsed: NodeStatus = serde_json::from_value(Value::String(st.into())).unwrap();
        assert_eq!(parsed.as_str(), st);
    }
}
