//! The parts of CCF's default constitution an upgrade touches: `validate()` of action names
//! and arguments, which actions drop other open proposals, and `resolve()` (strict majority
//! of Active members). Applying actions to the service state is the world's (`world/actions.rs`):
//! this module knows nothing of the service state.

use serde_json::Value;
use sha2::Digest;

use crate::ccf::actions::UPGRADE_ACTIONS;

/// Actions the sandbox implements besides the ones an upgrade proposes ([`UPGRADE_ACTIONS`]).
const ALSO_SUPPORTED: &[&str] = &[
    "set_node_data",
    "set_constitution",
    "set_js_app",
    "set_snp_minimum_tcb_version_hex",
    "set_snp_minimum_tcb_version",
    "remove_snp_minimum_tcb_version",
];

/// Actions the sandbox implements: the ones an upgrade uses, then [`ALSO_SUPPORTED`].
fn supported() -> impl Iterator<Item = &'static str> {
    UPGRADE_ACTIONS.iter().chain(ALSO_SUPPORTED).copied()
}

/// The sandbox's constitution text, served by `GET /gov/service/constitution`. Like CCF's
/// `actions.js` it names every action in an `actions` map, which is what tools look for.
pub fn constitution_text() -> String {
    let entries: String = supported()
        .map(|a| format!("  [\"{a}\", new Action(/* native in the noderoll sandbox */)],\n"))
        .collect();
    format!(
        "// noderoll sandbox: CCF's default constitution semantics, implemented natively.\n\
         export const actions = new Map([\n{entries}]);\n\
         export function validate(input) {{ /* actions.js */ }}\n\
         export function resolve(proposal, proposerId, votes) {{ /* strict majority of Active members */ }}\n\
         export function apply(proposal, proposalId) {{ /* actions in order */ }}\n"
    )
}

/// Actions of the real default constitution that the sandbox does not implement.
const NOT_SIMULATED: &[&str] = &[
    "set_member",
    "remove_member",
    "set_member_data",
    "set_user",
    "remove_user",
    "set_user_data",
    "set_recovery_threshold",
    "trigger_recovery_shares_refresh",
    "trigger_ledger_rekey",
    "transition_service_to_open",
    "set_ca_cert_bundle",
    "remove_ca_cert_bundle",
    "set_jwt_issuer",
    "set_jwt_public_signing_keys",
    "remove_jwt_issuer",
    "set_service_configuration",
    "trigger_ledger_chunk",
    "trigger_acme_refresh",
    "assert_service_identity",
    "remove_js_app",
    "refresh_js_app_bytecode_cache",
    "set_js_runtime_options",
    "set_node_certificate_validity",
    "set_all_nodes_certificate_validity",
    "set_service_certificate_validity",
];

/// A validated action.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Name.
    pub name: String,
    /// Arguments (an object).
    pub args: Value,
}

/// True if accepting an action with this name drops every other open proposal (it changes
/// what may join, or the constitution itself).
pub fn drops_other_proposals(name: &str) -> bool {
    matches!(
        name,
        "add_virtual_measurement"
            | "add_virtual_host_data"
            | "add_snp_measurement"
            | "add_snp_host_data"
            | "add_snp_uvm_endorsement"
            | "add_node_code"
            | "set_snp_minimum_tcb_version_hex"
            | "set_snp_minimum_tcb_version"
            | "set_constitution"
    )
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn string_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str, String> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{key} must be a string"))
}

fn check(name: &str, args: &Value) -> Result<(), String> {
    if !args.is_object() {
        return Err("args must be an object".into());
    }
    match name {
        "add_virtual_host_data" | "remove_virtual_host_data" => {
            let h = string_arg(args, "host_data")?;
            if !is_hex(h, 64) {
                return Err(format!("host_data {h:?} is not a hex SHA-256 digest"));
            }
        }
        "add_virtual_measurement" | "remove_virtual_measurement" => {
            string_arg(args, "measurement")?;
        }
        "add_snp_measurement" | "remove_snp_measurement" => {
            let m = string_arg(args, "measurement")?;
            if !is_hex(m, 96) {
                return Err(format!("measurement {m:?} is not 96 hex characters"));
            }
        }
        "add_snp_host_data" => check_snp_host_data(args)?,
        "remove_snp_host_data" => {
            string_arg(args, "host_data")?;
        }
        "add_snp_uvm_endorsement" => {
            string_arg(args, "did")?;
            string_arg(args, "feed")?;
            string_arg(args, "svn")?;
        }
        "remove_snp_uvm_endorsement" => {
            string_arg(args, "did")?;
            string_arg(args, "feed")?;
        }
        "transition_node_to_trusted" => check_trust(args)?,
        "remove_node" => {
            let id = string_arg(args, "node_id")?;
            if !is_hex(id, 64) {
                return Err(format!("node_id {id:?} is not a node id"));
            }
        }
        "set_node_data" => {
            string_arg(args, "node_id")?;
            if args.get("node_data").is_none() {
                return Err("node_data is required".into());
            }
        }
        "set_constitution" => {
            string_arg(args, "constitution")?;
        }
        "set_js_app" => check_js_app(args)?,
        "set_snp_minimum_tcb_version_hex"
        | "set_snp_minimum_tcb_version"
        | "remove_snp_minimum_tcb_version" => check_tcb(name, args)?,
        // actions.js: `validate` takes no arguments; `apply` calls ccf.node.triggerSnapshot().
        "trigger_snapshot" => {}
        other if NOT_SIMULATED.contains(&other) => {
            return Err("not supported by the noderoll sandbox".into());
        }
        _ => return Err("no such action".into()),
    }
    Ok(())
}

/// Host data must be the SHA-256 of the security policy, when one is given.
fn check_snp_host_data(args: &Value) -> Result<(), String> {
    let h = string_arg(args, "host_data")?;
    let policy = string_arg(args, "security_policy")?;
    if !is_hex(h, 64) {
        return Err(format!("host_data {h:?} is not a hex SHA-256 digest"));
    }
    if !policy.is_empty() {
        let digest = hex::encode(sha2::Sha256::digest(policy.as_bytes()));
        if digest != h.to_ascii_lowercase() {
            return Err(format!(
                "The hash of raw policy {digest} does not match digest {h}"
            ));
        }
    }
    Ok(())
}

/// `checkValidCpuid` (8 lower-case hex characters) and, by action, `checkValidTcbVersionHex`
/// (16 hex characters) or the object form's four numbers (`samples/constitutions/default/
/// actions.js`).
fn check_tcb(name: &str, args: &Value) -> Result<(), String> {
    let cpuid = string_arg(args, "cpuid")?;
    if !is_hex(cpuid, 8) || cpuid.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "cpuid {cpuid:?} must be 8 lower-case hex characters"
        ));
    }
    match name {
        "set_snp_minimum_tcb_version_hex" => {
            let t = string_arg(args, "tcb_version")?;
            // `checkValidTcbVersionHex`: 8 bytes of lower-case hex.
            if !is_hex(t, 16) || t.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(format!(
                    "tcb_version {t:?} must be 16 lower-case hex characters"
                ));
            }
        }
        "set_snp_minimum_tcb_version" => {
            for k in ["boot_loader", "tee", "snp", "microcode"] {
                if args["tcb_version"].get(k).and_then(Value::as_u64).is_none() {
                    return Err(format!("tcb_version.{k} must be of type number"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_trust(args: &Value) -> Result<(), String> {
    let id = string_arg(args, "node_id")?;
    if !is_hex(id, 64) {
        return Err(format!("node_id {id:?} is not a node id"));
    }
    string_arg(args, "valid_from")?;
    if let Some(d) = args.get("validity_period_days") {
        // `checkType(…, "integer")` then `checkBounds(…, 1, null)`, with CCF's own texts.
        match d.as_i64() {
            Some(n) if n >= 1 => {}
            Some(_) => return Err("validity_period_days must be greater than 1".into()),
            None => return Err("validity_period_days must be an integer".into()),
        }
    }
    Ok(())
}

fn check_js_app(args: &Value) -> Result<(), String> {
    let bundle = args.get("bundle").ok_or("bundle is required")?;
    let modules: Vec<&str> = bundle
        .get("modules")
        .and_then(Value::as_array)
        .ok_or("bundle.modules must be an array")?
        .iter()
        .map(|m| {
            m.get("name")
                .and_then(Value::as_str)
                .ok_or("each module needs a name")
        })
        .collect::<Result<_, _>>()?;
    let endpoints = bundle
        .get("metadata")
        .and_then(|m| m.get("endpoints"))
        .and_then(Value::as_object)
        .ok_or("bundle.metadata.endpoints must be an object")?;
    for (path, methods) in endpoints {
        for (method, info) in methods
            .as_object()
            .ok_or("endpoint methods must be an object")?
        {
            let module = info
                .get("js_module")
                .and_then(Value::as_str)
                .ok_or("js_module is required")?;
            if !modules.contains(&module) {
                return Err(format!(
                    "{method} {path}: module {module} is not in the bundle"
                ));
            }
        }
    }
    Ok(())
}

/// `validate()`: parse `{"actions": [...]}` and check each action. The error is CCF's
/// description (`<action>: <problem>`).
pub fn validate(body: &[u8]) -> Result<Vec<Action>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("proposal is not JSON: {e}"))?;
    let actions = v
        .get("actions")
        .and_then(Value::as_array)
        .ok_or("proposal must have an actions array")?;
    let mut out = Vec::with_capacity(actions.len());
    let mut errors = Vec::new();
    for a in actions {
        let Some(name) = a.get("name").and_then(Value::as_str) else {
            errors.push("action without a name".to_string());
            continue;
        };
        let args = a
            .get("args")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        match check(name, &args) {
            Ok(()) => out.push(Action {
                name: name.to_string(),
                args,
            }),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

/// Evaluate a ballot. CCF runs the ballot's `vote()` in JavaScript; the sandbox has no JS
/// engine and evaluates only constant ballots (`return true` / `return false`).
pub fn evaluate_ballot(js: &str) -> Result<bool, String> {
    let compact: String = js.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |needle: &str| compact.contains(needle);
    if !has("function vote") {
        return Err("ballot does not export a vote function".into());
    }
    match (has("return true"), has("return false")) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(
            "the noderoll sandbox evaluates only constant ballots (return true / return false)"
                .into(),
        ),
    }
}

/// `resolve()` of the default constitution: Accepted once yes votes are a strict majority of
/// Active members.
pub fn resolve(yes_votes: usize, active_members: usize) -> bool {
    yes_votes > active_members / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names_and_arguments() {
        let ok = br#"{"actions":[{"name":"add_virtual_host_data","args":{"host_data":"ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"}}]}"#;
        assert_eq!(validate(ok).unwrap()[0].name, "add_virtual_host_data");
        let e = validate(br#"{"actions":[{"name":"add_node_kode","args":{}}]}"#).unwrap_err();
        assert_eq!(e, "add_node_kode: no such action");
        let e = validate(br#"{"actions":[{"name":"remove_node","args":{"node_id":"x"}}]}"#)
            .unwrap_err();
        assert!(e.starts_with("remove_node: node_id"), "{e}");
        let e = validate(br#"{"actions":[{"name":"set_member","args":{}}]}"#).unwrap_err();
        assert!(e.contains("not supported by the noderoll sandbox"));
        let policy = "package policy";
        let digest = hex::encode(sha2::Sha256::digest(policy));
        let good = format!(
            r#"{{"actions":[{{"name":"add_snp_host_data","args":{{"host_data":"{digest}","security_policy":"{policy}"}}}}]}}"#
        );
        assert!(validate(good.as_bytes()).is_ok());
        let bad = format!(
            r#"{{"actions":[{{"name":"add_snp_host_data","args":{{"host_data":"{}","security_policy":"{policy}"}}}}]}}"#,
            "0".repeat(64)
        );
        assert!(
            validate(bad.as_bytes())
                .unwrap_err()
                .contains("does not match digest")
        );
        let e = validate(br#"{"actions":[{"name":"set_js_app","args":{"bundle":{"metadata":{"endpoints":{"/x":{"get":{"js_module":"m.js"}}}},"modules":[]}}}]}"#).unwrap_err();
        assert!(e.contains("not in the bundle"), "{e}");
    }

    #[test]
    fn tcb_hex_must_be_lower_case_and_validity_uses_ccfs_texts() {
        let tcb = |t: &str| {
            validate(format!(r#"{{"actions":[{{"name":"set_snp_minimum_tcb_version_hex","args":{{"cpuid":"00a00f11","tcb_version":"{t}"}}}}]}}"#).as_bytes())
        };
        assert!(tcb("d315000000000004").is_ok());
        let e = tcb("D315000000000004").unwrap_err();
        assert!(e.contains("lower-case hex"), "{e}");
        let trust = |d: &str| {
            validate(format!(r#"{{"actions":[{{"name":"transition_node_to_trusted","args":{{"node_id":"{}","valid_from":"20260101000000Z","validity_period_days":{d}}}}}]}}"#, "a".repeat(64)).as_bytes())
        };
        assert!(trust("1").is_ok());
        assert!(
            trust("0")
                .unwrap_err()
                .ends_with("validity_period_days must be greater than 1")
        );
        assert!(
            trust("-3")
                .unwrap_err()
                .ends_with("validity_period_days must be greater than 1")
        );
        assert!(
            trust("\"x\"")
                .unwrap_err()
                .ends_with("validity_period_days must be an integer")
        );
    }

    #[test]
    fn ballots_and_resolution() {
        assert_eq!(
            evaluate_ballot("export function vote (proposal, proposerId) { return true }"),
            Ok(true)
        );
        assert_eq!(
            evaluate_ballot("export function vote(p, id) {\n  return false;\n}"),
            Ok(false)
        );
        assert!(evaluate_ballot("export function vote(p) { return p.length > 3 }").is_err());
        assert!(!resolve(1, 3));
        assert!(resolve(2, 3));
        assert!(resolve(1, 1));
        assert!(!resolve(2, 4));
        assert!(resolve(3, 4));
    }
}
