//! The simulated builds: a code identity per CCF version, stable across runs, and the versions
//! the sandbox starts on and upgrades to.

use sha2::Digest;

use super::world::{Build, Platform, UvmEndorsement, VIRTUAL_MEASUREMENT};

/// A simulated build's identity (derived from its version so it is stable across runs).
pub fn simulated_build(platform: Platform, ccf_version: &str) -> Build {
    let package = format!("noderoll sandbox package {ccf_version}");
    match platform {
        Platform::Virtual => Build {
            platform,
            ccf_version: ccf_version.into(),
            host_data: hex::encode(sha2::Sha256::digest(package.as_bytes())),
            measurement: VIRTUAL_MEASUREMENT.into(),
            uvm: None,
        },
        Platform::Snp => Build {
            platform,
            ccf_version: ccf_version.into(),
            host_data: hex::encode(sha2::Sha256::digest(snp_policy(ccf_version).as_bytes())),
            measurement: hex::encode(sha2::Sha384::digest(package.as_bytes())),
            uvm: None,
        },
    }
}

/// The UVM endorsement simulated SNP nodes present with `--uvm`: the DID and feed of Azure's
/// ContainerPlat UVM, at `svn`.
pub fn simulated_uvm(svn: &str) -> UvmEndorsement {
    UvmEndorsement {
        did: "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2".into(),
        feed: "ContainerPlat-AMD-UVM".into(),
        svn: svn.into(),
    }
}

/// The SVN of the UVM endorsement simulated builds carry with `--uvm`.
pub const SIMULATED_UVM_SVN: &str = "101";

/// The security policy text of a simulated SNP build (its SHA-256 is the host data).
pub fn snp_policy(ccf_version: &str) -> String {
    format!(
        "package policy\n\napi_version := \"0.10.0\"\nframework_svn := \"noderoll sandbox {ccf_version}\"\n"
    )
}

/// The version the sandbox starts on, and the one its ready plan upgrades to.
pub const CURRENT_VERSION: &str = "ccf-7.0.1";
/// See [`CURRENT_VERSION`].
pub const NEXT_VERSION: &str = "ccf-7.0.2";
