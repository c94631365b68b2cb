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
                "transition_node_to_trusted" if self.trust(&id, now) => {
                    self.request_endorsement(&id, a);
                    trusted.push(id);
                }
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

    /// `transition_node_to_trusted` of a Pending node: its endorsed certificate, valid from
    /// `valid_from` for `validity_period_days` (default: the maximum), issued by the runtime
    /// (`ccf.network.generateEndorsedCertificate`).
    fn request_endorsement(&mut self, id: &str, a: &Action) {
        let days = a
            .args
            .get("validity_period_days")
            .and_then(Value::as_u64)
            .unwrap_or(MAX_NODE_CERT_VALIDITY_DAYS);
        let from = parse_valid_from(&string_arg(a, "valid_from"))
            .unwrap_or_else(std::time::SystemTime::now);
        if let Some(row) = self.table.get(id) {
            self.endorsements.push((row.slot, from, days));
        }
    }

    /// Endorsed certificates to issue (taken: each is issued once).
    pub fn take_endorsements(&mut self) -> Vec<(usize, std::time::SystemTime, u64)> {
        std::mem::take(&mut self.endorsements)
    }

    /// What `apply()` would throw for this action on the current state.
    fn check_precondition(&self, a: &Action) -> Result<(), String> {
        let node_id = a.args.get("node_id").and_then(Value::as_str);
        match a.name.as_str() {
            "transition_node_to_trusted" => {
                let id = node_id.unwrap_or_default();
                let Some(row) = self.table.get(id) else {
                    return Err(format!("No such node: {id}"));
                };
                // Checked only where a certificate is issued: a Pending node (every
                // simulated node has a CSR); trusting a Trusted node is a no-op in CCF.
                if let Some(days) = a.args.get("validity_period_days").and_then(Value::as_u64)
                    && days > MAX_NODE_CERT_VALIDITY_DAYS
                    && row.status == super::nodes::Status::Pending
                {
                    return Err(format!(
                        "Validity period {days} is not allowed: max allowed is {MAX_NODE_CERT_VALIDITY_DAYS}"
                    ));
                }
            }
            "remove_snp_minimum_tcb_version" => {
                let cpuid = string_arg(a, "cpuid");
                if !self.join_policy.snp_tcb_versions.contains_key(&cpuid) {
                    return Err(format!("CPUID {cpuid} not found"));
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

/// `valid_from` as CCF reads it (`ccf::ds::time_point_from_string`): ASN.1 UTCTime
/// `YYMMDDhhmmssZ` (what noderoll sends), GeneralizedTime `YYYYMMDDhhmmssZ`, or an RFC 3339
/// / ISO 8601 time (CCF's harness sends Python's `str(datetime)`).
fn parse_valid_from(s: &str) -> Option<std::time::SystemTime> {
    let ts = ["%y%m%d%H%M%SZ", "%Y%m%d%H%M%SZ"]
        .iter()
        .find_map(|f| jiff::civil::DateTime::strptime(f, s).ok())
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .or_else(|| s.parse::<jiff::Timestamp>().ok())
        .or_else(|| s.replace(' ', "T").parse::<jiff::Timestamp>().ok())?;
    Some(ts.into())
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
        // `set_snp_minimum_tcb_version_hex` stores the policy `ccf.tcbHexToPolicy` expands;
        // the sandbox keeps the hex string (its CPU model's fields are not simulated).
        "set_snp_minimum_tcb_version_hex" => {
            jp.snp_tcb_versions.insert(
                s("cpuid"),
                serde_json::json!({ "hexstring": s("tcb_version") }),
            );
        }
        "set_snp_minimum_tcb_version" => {
            let v = a.args.get("tcb_version").cloned().unwrap_or(Value::Null);
            jp.snp_tcb_versions.insert(s("cpuid"), v);
        }
        "remove_snp_minimum_tcb_version" => {
            jp.snp_tcb_versions.remove(&s("cpuid"));
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_world::world;
    use crate::sandbox::constitution::Action;

    fn trust(id: &str, days: u64) -> Action {
        Action {
            name: "transition_node_to_trusted".into(),
            args: json!({"node_id": id, "valid_from": "20260101000000Z", "validity_period_days": days}),
        }
    }

    #[test]
    fn the_maximum_is_checked_only_when_a_certificate_is_issued() {
        let (mut w, t0) = world(3);
        let trusted = "0".repeat(64);
        // A Trusted node: CCF's apply() does nothing, so no maximum check.
        assert!(w.apply_actions(&[trust(&trusted, 1000)], t0).is_ok());
        let pending = "9".repeat(64);
        w.launch(
            pending.clone(),
            2000,
            super::super::test_world::build("aa", "ccf-7.0.1"),
            t0,
        );
        let t = super::super::test_world::run(&mut w, t0, 2000);
        assert!(w.table.contains_key(&pending), "{:?}", w.log);
        let e = w.apply_actions(&[trust(&pending, 1000)], t).unwrap_err();
        assert_eq!(e, "Validity period 1000 is not allowed: max allowed is 365");
    }
}
