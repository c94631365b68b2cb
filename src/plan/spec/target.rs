//! What a target needs registered, what finalize and a rollback remove, and whether a node's
//! attestation is the target's.

use serde_json::json;

use super::{CodePlatform, Target, VIRTUAL_MEASUREMENT};
use crate::ccf::actions::{
    ADD_SNP_HOST_DATA, ADD_SNP_MEASUREMENT, ADD_SNP_UVM_ENDORSEMENT, ADD_VIRTUAL_HOST_DATA,
    ADD_VIRTUAL_MEASUREMENT, REMOVE_SNP_HOST_DATA, REMOVE_SNP_MEASUREMENT,
    REMOVE_SNP_UVM_ENDORSEMENT, REMOVE_VIRTUAL_HOST_DATA,
};
use crate::ccf::types::{Action, JoinPolicy, QuoteClaims};

impl Target {
    /// The measurement new nodes must report.
    pub fn measurement(&self) -> &str {
        self.measurement.as_deref().unwrap_or(VIRTUAL_MEASUREMENT)
    }

    /// Whether a node's attestation claims are this target's. A target admitted by UVM
    /// endorsement with no measurement named is identified by its host data alone.
    pub fn matches(&self, claims: &QuoteClaims) -> bool {
        claims.host_data.eq_ignore_ascii_case(&self.host_data)
            && match (self.platform, &self.measurement) {
                (CodePlatform::Virtual, _) | (CodePlatform::Snp, None) => true,
                (CodePlatform::Snp, Some(m)) => claims.measurement.eq_ignore_ascii_case(m),
            }
    }

    /// Whether nodes of this target are admitted by UVM endorsement rather than measurement.
    fn by_endorsement(&self) -> bool {
        self.platform == CodePlatform::Snp && self.uvm_endorsement.is_some()
    }

    /// The "add" actions still needed to register this code version (empty: registered).
    pub fn register_actions(&self, policy: &JoinPolicy) -> Vec<Action> {
        let mut out = Vec::new();
        match self.platform {
            CodePlatform::Virtual => {
                let v = policy.virtual_.clone().unwrap_or_default();
                if !v.measurements.iter().any(|m| m == VIRTUAL_MEASUREMENT) {
                    out.push(Action::new(
                        ADD_VIRTUAL_MEASUREMENT,
                        json!({ "measurement": VIRTUAL_MEASUREMENT }),
                    ));
                }
                if !v
                    .host_data
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&self.host_data))
                {
                    // One version of CCF's virtual_attestation_actions.js checks
                    // `checkType(args.metadata, "string", "metadata")`, the other ignores it:
                    // an empty string satisfies both.
                    out.push(Action::new(
                        ADD_VIRTUAL_HOST_DATA,
                        json!({ "host_data": self.host_data, "metadata": "" }),
                    ));
                }
            }
            CodePlatform::Snp => {
                let s = policy.snp.clone().unwrap_or_default();
                if let Some(m) = &self.measurement
                    && !s.measurements.iter().any(|r| r.eq_ignore_ascii_case(m))
                {
                    out.push(Action::new(
                        ADD_SNP_MEASUREMENT,
                        json!({ "measurement": m }),
                    ));
                }
                if !s
                    .host_data
                    .keys()
                    .any(|h| h.eq_ignore_ascii_case(&self.host_data))
                {
                    out.push(Action::new(
                        ADD_SNP_HOST_DATA,
                        json!({ "host_data": self.host_data, "security_policy": self.security_policy.clone().unwrap_or_default() }),
                    ));
                }
                // Registered, or registered with a lower minimum svn than the target's:
                // (re)setting it raises the minimum (CCF admits svn ≥ the registered one).
                if let Some(u) = &self.uvm_endorsement {
                    let registered = s
                        .uvm_endorsements
                        .get(&u.did)
                        .and_then(|f| f.get(&u.feed))
                        .map(|e| match e.get("svn") {
                            Some(serde_json::Value::String(v)) => v.clone(),
                            Some(v) => v.to_string(),
                            None => String::new(),
                        });
                    let lower = |r: &str| match (r.parse::<u64>(), u.svn.parse::<u64>()) {
                        (Ok(r), Ok(t)) => r < t,
                        _ => false,
                    };
                    if registered.as_deref().is_none_or(lower) {
                        out.push(Action::new(
                            ADD_SNP_UVM_ENDORSEMENT,
                            json!({ "did": u.did, "feed": u.feed, "svn": u.svn }),
                        ));
                    }
                }
            }
        }
        out
    }

    /// The "remove" actions that leave only this code version registered (finalize).
    pub fn finalize_actions(&self, policy: &JoinPolicy) -> Vec<Action> {
        let mut out = Vec::new();
        match self.platform {
            CodePlatform::Virtual => {
                for h in policy.virtual_.iter().flat_map(|v| &v.host_data) {
                    if !h.eq_ignore_ascii_case(&self.host_data) {
                        out.push(Action::new(
                            REMOVE_VIRTUAL_HOST_DATA,
                            json!({ "host_data": h }),
                        ));
                    }
                }
            }
            CodePlatform::Snp => {
                if let Some(s) = &policy.snp {
                    for h in s
                        .host_data
                        .keys()
                        .filter(|h| !h.eq_ignore_ascii_case(&self.host_data))
                    {
                        out.push(Action::new(REMOVE_SNP_HOST_DATA, json!({ "host_data": h })));
                    }
                    // A target admitted by endorsement pins no measurement: the table is
                    // not consulted for its nodes, and others' entries are not ours to drop.
                    if !self.by_endorsement() {
                        for m in s
                            .measurements
                            .iter()
                            .filter(|m| !m.eq_ignore_ascii_case(self.measurement()))
                        {
                            out.push(Action::new(
                                REMOVE_SNP_MEASUREMENT,
                                json!({ "measurement": m }),
                            ));
                        }
                    }
                    // UVM endorsements are never removed: one the plan did not name may be
                    // what admits every future joiner (Azure confidential containers), and
                    // removing it locks them out ("UVM endorsements are not authorised").
                }
            }
        }
        out
    }

    /// What identifies this code version across runs (journal's failed targets).
    pub fn key(&self) -> String {
        let platform = self.platform.as_str();
        match self.platform {
            CodePlatform::Virtual => format!("{platform}:{}", self.host_data.to_ascii_lowercase()),
            CodePlatform::Snp => format!(
                "{platform}:{}:{}",
                self.host_data.to_ascii_lowercase(),
                self.measurement().to_ascii_lowercase()
            ),
        }
    }

    /// The "remove" actions that take back what registering this code version added, keeping
    /// whatever `keep` (the version rolled back to) needs: a rollback's last step.
    pub fn deregister_actions(&self, policy: &JoinPolicy, keep: &Target) -> Vec<Action> {
        let mut out = Vec::new();
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match self.platform {
            CodePlatform::Virtual => {
                let registered = policy.virtual_.iter().flat_map(|v| &v.host_data);
                for h in registered.filter(|h| same(h, &self.host_data)) {
                    if !same(h, &keep.host_data) {
                        out.push(Action::new(
                            REMOVE_VIRTUAL_HOST_DATA,
                            json!({ "host_data": h }),
                        ));
                    }
                }
            }
            CodePlatform::Snp => {
                if let Some(s) = &policy.snp {
                    for h in s.host_data.keys().filter(|h| same(h, &self.host_data)) {
                        if !same(h, &keep.host_data) {
                            out.push(Action::new(REMOVE_SNP_HOST_DATA, json!({ "host_data": h })));
                        }
                    }
                    for m in s
                        .measurements
                        .iter()
                        .filter(|m| same(m, self.measurement()))
                    {
                        if !same(m, keep.measurement()) {
                            out.push(Action::new(
                                REMOVE_SNP_MEASUREMENT,
                                json!({ "measurement": m }),
                            ));
                        }
                    }
                    if let Some(u) = &self.uvm_endorsement
                        && s.uvm_endorsements
                            .get(&u.did)
                            .is_some_and(|f| f.contains_key(&u.feed))
                        && keep
                            .uvm_endorsement
                            .as_ref()
                            .is_none_or(|k| k.did != u.did || k.feed != u.feed)
                    {
                        out.push(Action::new(
                            REMOVE_SNP_UVM_ENDORSEMENT,
                            json!({ "did": u.did, "feed": u.feed }),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Short description, e.g. `virtual d6a0a114… (ccf-7.0.2)`.
    pub fn describe(&self) -> String {
        self.reference().describe()
    }

    /// This target as documents, events and the journal name it.
    pub fn reference(&self) -> super::TargetRef {
        super::TargetRef {
            platform: self.platform,
            host_data: self.host_data.clone(),
            ccf_version: self.ccf_version.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::spec::UvmEndorsement;

    #[test]
    fn register_and_finalize_actions() {
        let t = Target {
            platform: CodePlatform::Virtual,
            host_data: "bb".repeat(32),
            ccf_version: None,
            measurement: None,
            security_policy: None,
            uvm_endorsement: None,
            node_cert_validity_days: None,
        };
        let mut jp = JoinPolicy {
            virtual_: Some(crate::ccf::types::VirtualPolicy {
                measurements: vec![VIRTUAL_MEASUREMENT.into()],
                host_data: vec!["aa".repeat(32)],
            }),
            ..Default::default()
        };
        let reg = t.register_actions(&jp);
        assert_eq!(reg.len(), 1);
        assert_eq!(reg[0].name, "add_virtual_host_data");
        jp.virtual_
            .as_mut()
            .unwrap()
            .host_data
            .push("bb".repeat(32));
        assert!(t.register_actions(&jp).is_empty());
        let fin = t.finalize_actions(&jp);
        assert_eq!(
            fin,
            vec![Action::new(
                "remove_virtual_host_data",
                json!({"host_data": "aa".repeat(32)})
            )]
        );
    }

    fn snp_target(uvm_svn: &str) -> Target {
        Target {
            platform: CodePlatform::Snp,
            host_data: "bb".repeat(32),
            ccf_version: None,
            measurement: None,
            security_policy: None,
            uvm_endorsement: Some(UvmEndorsement {
                did: "did:x509:acme".into(),
                feed: "ContainerPlat-AMD-UVM".into(),
                svn: uvm_svn.into(),
            }),
            node_cert_validity_days: None,
        }
    }

    fn snp_policy(svn: &str, others: &[(&str, &str)]) -> JoinPolicy {
        let mut uvm: std::collections::BTreeMap<_, std::collections::BTreeMap<_, _>> =
            Default::default();
        uvm.entry("did:x509:acme".to_string())
            .or_default()
            .insert("ContainerPlat-AMD-UVM".to_string(), json!({ "svn": svn }));
        for (did, feed) in others {
            uvm.entry(did.to_string())
                .or_default()
                .insert(feed.to_string(), json!({ "svn": "1" }));
        }
        JoinPolicy {
            snp: Some(crate::ccf::types::SnpPolicy {
                measurements: vec!["cd".repeat(48)],
                host_data: [("aa".repeat(32), String::new())].into(),
                uvm_endorsements: uvm,
                tcb_versions: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn nodes_admitted_by_uvm_endorsement_pin_no_measurement() {
        let t = snp_target("101");
        let jp = snp_policy("101", &[]);
        let names: Vec<String> = t
            .register_actions(&jp)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["add_snp_host_data"], "no measurement added");
        let claims = QuoteClaims {
            measurement: "ef".repeat(48),
            host_data: "bb".repeat(32),
            report_data: String::new(),
        };
        assert!(t.matches(&claims), "any measurement: CCF does not check it");
        let fin: Vec<String> = t
            .finalize_actions(&jp)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(
            fin,
            ["remove_snp_host_data"],
            "measurements and endorsements stay"
        );
    }

    #[test]
    fn a_higher_target_svn_raises_the_registered_minimum() {
        let t = snp_target("102");
        let reg = t.register_actions(&snp_policy("101", &[]));
        assert!(
            reg.iter()
                .any(|a| a.name == "add_snp_uvm_endorsement" && a.args["svn"] == "102"),
            "{reg:?}"
        );
        // Equal or higher already registered: nothing to raise.
        let reg = snp_target("101").register_actions(&snp_policy("101", &[]));
        assert!(!reg.iter().any(|a| a.name == "add_snp_uvm_endorsement"));
        let reg = snp_target("100").register_actions(&snp_policy("101", &[]));
        assert!(!reg.iter().any(|a| a.name == "add_snp_uvm_endorsement"));
    }

    #[test]
    fn finalize_never_removes_an_endorsement_the_plan_did_not_name() {
        let t = snp_target("101");
        let jp = snp_policy("101", &[("did:x509:other", "Other-Feed")]);
        assert!(
            !t.finalize_actions(&jp)
                .iter()
                .any(|a| a.name == "remove_snp_uvm_endorsement")
        );
    }

    #[test]
    fn add_virtual_host_data_carries_empty_metadata() {
        let t = crate::plan::fixtures::spec().target;
        let reg = t.register_actions(&JoinPolicy::default());
        let add = reg
            .iter()
            .find(|a| a.name == "add_virtual_host_data")
            .unwrap();
        assert_eq!(add.args["metadata"], "");
    }
}
