//! Code identity and the join policy: the build a node attests (platform, host data,
//! measurement, UVM endorsement) and the registered code versions (`public:ccf.gov.nodes.*`)
//! it is checked against, as CCF's `verify_quote_against_store` (`src/node/quote.cpp`) and
//! `matches_uvm_roots_of_trust` (`src/node/uvm_endorsements.cpp`) do.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The virtual platform's fixed measurement.
pub const VIRTUAL_MEASUREMENT: &str = "Insecure hard-coded virtual measurement v1";

/// Attestation platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Virtual (no TEE).
    Virtual,
    /// AMD SEV-SNP.
    Snp,
}

impl Platform {
    /// Quote format name.
    pub fn quote_format(self) -> &'static str {
        match self {
            Platform::Virtual => "Insecure_Virtual",
            Platform::Snp => "AMD_SEV_SNP_v1",
        }
    }
}

/// What a node runs: the code identity it attests and the version it reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// Platform.
    pub platform: Platform,
    /// `/node/version` `ccf_version`.
    pub ccf_version: String,
    /// Host data (virtual: SHA-256 of the package; SNP: of the security policy).
    pub host_data: String,
    /// Measurement (virtual: the fixed string; SNP: 96 hex).
    pub measurement: String,
    /// SNP only: the UVM endorsement the node presents (Azure confidential containers). When
    /// present CCF admits the node by it instead of by its measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uvm: Option<UvmEndorsement>,
}

/// A UVM endorsement: issuer DID, feed and security version number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UvmEndorsement {
    /// Issuer DID (`did:x509:...`).
    pub did: String,
    /// Feed (e.g. `ContainerPlat-AMD-UVM`).
    pub feed: String,
    /// SVN, a decimal string as CCF stores it.
    pub svn: String,
}

impl UvmEndorsement {
    /// The raw endorsement a node presents (synthetic but stable: a real one is a COSE Sign1
    /// envelope from the UVM's issuer).
    pub fn raw(&self) -> Vec<u8> {
        format!(
            "noderoll sandbox UVM endorsement\ndid={}\nfeed={}\nsvn={}\n",
            self.did, self.feed, self.svn
        )
        .into_bytes()
    }
}

/// CCF `matches_uvm_roots_of_trust` (`src/node/uvm_endorsements.cpp`): same DID and feed, and
/// the registered minimum svn ≤ the endorsement's svn (both parsed as unsigned integers).
fn uvm_matches(
    registered: &BTreeMap<String, BTreeMap<String, String>>,
    e: &UvmEndorsement,
) -> bool {
    let Ok(svn) = e.svn.parse::<u64>() else {
        return false;
    };
    registered
        .get(&e.did)
        .and_then(|feeds| feeds.get(&e.feed))
        .and_then(|min| min.parse::<u64>().ok())
        .is_some_and(|min| min <= svn)
}

/// Registered code versions (`public:ccf.gov.nodes.*`).
#[derive(Debug, Clone, Default)]
pub struct JoinPolicy {
    /// `nodes.virtual.measurements`.
    pub virtual_measurements: BTreeSet<String>,
    /// `nodes.virtual.host_data`.
    pub virtual_host_data: BTreeSet<String>,
    /// `nodes.snp.measurements`.
    pub snp_measurements: BTreeSet<String>,
    /// `nodes.snp.host_data` → security policy.
    pub snp_host_data: BTreeMap<String, String>,
    /// `nodes.snp.uvm_endorsements`: DID → feed → svn.
    pub snp_uvm: BTreeMap<String, BTreeMap<String, String>>,
    /// `nodes.snp.tcb_versions`: CPUID (8 hex) → minimum TCB version.
    pub snp_tcb_versions: BTreeMap<String, serde_json::Value>,
}

/// The CPU every simulated SNP node reports: AMD Milan (family 19h, model 01h, stepping 1).
pub(crate) const SANDBOX_SNP_CPUID: &str = "00a00f11";

/// The minimum a 6.x service records in its genesis transaction (and on recovery): CCF's
/// `create` (`src/node/rpc/node_frontend.h`, Start and Recover) calls
/// `InternalTablesAccess::trust_node_snp_tcb_version` (`src/service/internal_tables_access.h`),
/// which records the starting node's own CPUID and reported TCB. Every simulated SNP node is
/// a Milan (`00a00f11`) reporting `d315000000000004`, so that is this entry.
/// (`trust_static_snp_tcb_version`, Milan and Milan-X at `d315000000000004`, is only the
/// fallback for an attestation version below 3 or a CPUID that does not match the report.)
fn genesis_node_tcb() -> serde_json::Value {
    serde_json::json!({"boot_loader": 4, "tee": 0, "snp": 21, "microcode": 211,
                       "hexstring": "d315000000000004"})
}

/// Why the join handler refuses a quote: the status and message of its `InvalidQuote` error
/// (CCF `node_frontend.h`, `quote_verification_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status: 401 for the failures `quote_verification_error` names, 500 for the rest
    /// (its `default`, which the TCB checks fall into).
    pub status: u16,
    /// CCF's message, with what the sandbox adds to say which value did not match.
    pub reason: String,
}

impl Refusal {
    fn unauthorised(reason: String) -> Refusal {
        Refusal {
            status: 401,
            reason,
        }
    }
}

impl JoinPolicy {
    /// Whether a node of this build may join, and if not how the join handler refuses it.
    ///
    /// CCF `AttestationProvider::verify_quote_against_store` (`src/node/quote.cpp`): host data
    /// first, then the measurement; on SNP a node presenting UVM endorsements is checked against
    /// `nodes.snp.uvm_endorsements` *instead of* `nodes.snp.measurements`.
    pub fn admits(&self, b: &Build) -> Result<(), Refusal> {
        let host_data_ok = match b.platform {
            Platform::Virtual => self.virtual_host_data.contains(&b.host_data),
            Platform::Snp => self.snp_host_data.contains_key(&b.host_data),
        };
        if !host_data_ok {
            return Err(Refusal::unauthorised(format!(
                "Quote host data is not authorised ({})",
                b.host_data
            )));
        }
        match (b.platform, &b.uvm) {
            (Platform::Snp, Some(uvm)) => {
                if !uvm_matches(&self.snp_uvm, uvm) {
                    return Err(Refusal::unauthorised(format!(
                        "UVM endorsements are not authorised (did {}, feed {}, svn {})",
                        uvm.did, uvm.feed, uvm.svn
                    )));
                }
            }
            (Platform::Snp, None) => {
                if !self.snp_measurements.contains(&b.measurement) {
                    return Err(Refusal::unauthorised(format!(
                        "Quote does not contain known enclave measurement ({})",
                        b.measurement
                    )));
                }
            }
            (Platform::Virtual, _) => {
                if !self.virtual_measurements.contains(&b.measurement) {
                    return Err(Refusal::unauthorised(format!(
                        "Quote does not contain known enclave measurement ({})",
                        b.measurement
                    )));
                }
            }
        }
        // `verify_tcb_version_against_store`: no minimum for the node's CPU model is
        // `FailedInvalidCPUID`, which `quote_verification_error` answers with its default,
        // 500 (not a 4xx: the joiner retries, CCF `node_state.h` `initiate_join`). Every
        // simulated node reports the genesis minimum itself, so only a missing entry refuses.
        if b.platform == Platform::Snp && !self.snp_tcb_versions.contains_key(SANDBOX_SNP_CPUID) {
            return Err(Refusal {
                status: 500,
                reason: format!(
                    "Unknown quote verification error (FailedInvalidCPUID: nodes.snp.tcb_versions has no minimum TCB version for CPUID {SANDBOX_SNP_CPUID})"
                ),
            });
        }
        Ok(())
    }

    /// Register `b` (what a starting node does for its own build in the genesis transaction).
    pub fn allow(&mut self, b: &Build) {
        match b.platform {
            Platform::Virtual => {
                self.virtual_measurements.insert(b.measurement.clone());
                self.virtual_host_data.insert(b.host_data.clone());
            }
            Platform::Snp => {
                // node_frontend.h (create): "For improved serviceability on SNP, do not record
                // trusted measurements if UVM endorsements are available"; the endorsements
                // themselves are recorded (trust_node_uvm_endorsements).
                match &b.uvm {
                    Some(u) => {
                        self.snp_uvm
                            .entry(u.did.clone())
                            .or_default()
                            .insert(u.feed.clone(), u.svn.clone());
                    }
                    None => {
                        self.snp_measurements.insert(b.measurement.clone());
                    }
                }
                self.snp_host_data
                    .insert(b.host_data.clone(), String::new());
                self.snp_tcb_versions
                    .insert(SANDBOX_SNP_CPUID.into(), genesis_node_tcb());
            }
        }
    }
}
