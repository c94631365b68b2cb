//! The default constitution's `apply()`: the accepted actions an upgrade uses, applied to the
//! service state in order, all or nothing (`samples/constitutions/default/actions.js`,
//! `samples/constitutions/virtual/virtual_attestation_actions.js`).

use std::time::Instant;

use serde_json::Value;

use super::World;
use super::attestation::JoinPolicy;
use super::consensus::Effect;
use crate::sandbox::constitution::Action;

/// `maximum_node_certificate_validity_days`.
pub const MAX_NODE_CERT_VALIDITY_DAYS: u64 = 365;

impl World {
    /// Apply accepted actions in order, all or nothing.
    pub(super) fn apply_actions(
        &mut self,
        actions: &[Action],
        now: Instant,
    ) -> Result<Vec<Effect>, String> {
        // Preconditions first, so a failure leaves no partial effect.
        for a in actions {
            self.check_precondition(a)?;
        }
        let mut effects = Vec::new();
        let mut trusted = Vec::new();
        for a in actions {
            if apply_to_join_policy(&mut self.join_policy, a) {
                continue;
            }
            let id = string_arg(a, "node_id");
            match a.name.as_str() {
                "transition_node_to_trusted" if self.trust(&id, now) => trusted.push(id),
                "remove_node" if self.remove(&id, now) => effects.push(Effect::Retire(id)),
                "set_node_data" => {
                    self.table.get_mut(&id).expect("checked above").node_data =
                        a.args.get("node_data").cloned().unwrap_or(Value::Null);
                }
                "set_constitution" => self.constitution = string_arg(a, "constitution"),
                "set_js_app" => self.js_app = a.args.get("bundle").cloned().unwrap_or(Value::Null),
                "trigger_snapshot" => self.snapshot_at_next_signature = true,
                _ => {}
            }
        }
        if !trusted.is_empty() {
            effects.push(Effect::Trust(trusted));
        }
        if !effects.is_empty() {
            self.add_configuration();
        }
        Ok(effects)
    }

    /// What `apply()` would throw for this action on the current state.
    fn check_precondition(&self, a: &Action) -> Result<(), String> {
        let node_id = a.args.get("node_id").and_then(Value::as_str);
        match a.name.as_str() {
            "transition_node_to_trusted" => {
                let id = node_id.unwrap_or_default();
                if !self.table.contains_key(id) {
                    return Err(format!("No such node: {id}"));
                }
                if let Some(days) = a.args.get("validity_period_days").and_then(Value::as_u64)
                    && days > MAX_NODE_CERT_VALIDITY_DAYS
                {
                    return Err(format!(
                        "Validity period {days} is not allowed: max allowed is {MAX_NODE_CERT_VALIDITY_DAYS}"
                    ));
                }
            }
            "set_node_data" => {
                let id = node_id.unwrap_or_default();
                if !self.table.contains_key(id) {
                    return Err(format!("No such node: {id}"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A string argument of a validated action ("" when absent).
fn string_arg(a: &Action, k: &str) -> String {
    a.args
        .get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The actions that change registered code versions. Returns false for any other action.
fn apply_to_join_policy(jp: &mut JoinPolicy, a: &Action) -> bool {
    let s = |k: &str| string_arg(a, k);
    match a.name.as_str() {
        "add_virtual_host_data" => {
            jp.virtual_host_data.insert(s("host_data"));
        }
        "remove_virtual_host_data" => {
            jp.virtual_host_data.remove(&s("host_data"));
        }
        "add_virtual_measurement" => {
            jp.virtual_measurements.insert(s("measurement"));
        }
        "remove_virtual_measurement" => {
            jp.virtual_measurements.remove(&s("measurement"));
        }
        "add_snp_measurement" => {
            jp.snp_measurements.insert(s("measurement"));
        }
        "remove_snp_measurement" => {
            jp.snp_measurements.remove(&s("measurement"));
        }
        "add_snp_host_data" => {
            jp.snp_host_data
                .insert(s("host_data"), s("security_policy"));
        }
        "remove_snp_host_data" => {
            jp.snp_host_data.remove(&s("host_data"));
        }
        "add_snp_uvm_endorsement" => {
            jp.snp_uvm
                .entry(s("did"))
                .or_default()
                .insert(s("feed"), s("svn"));
        }
        "remove_snp_uvm_endorsement" => {
            let did = s("did");
            if let Some(feeds) = jp.snp_uvm.get_mut(&did) {
                feeds.remove(&s("feed"));
                if feeds.is_empty() {
                    jp.snp_uvm.remove(&did);
                }
            }
        }
        _ => return false,
    }
    true
}
