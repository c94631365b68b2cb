//! The names of the constitution actions an upgrade proposes, as CCF's default constitution
//! (`actions.js`) spells them. One list, so that what noderoll proposes, what its preflight
//! looks for and what the sandbox implements cannot drift apart.

/// Registers a virtual build's host data.
pub(crate) const ADD_VIRTUAL_HOST_DATA: &str = "add_virtual_host_data";
/// Removes a virtual build's host data.
pub(crate) const REMOVE_VIRTUAL_HOST_DATA: &str = "remove_virtual_host_data";
/// Registers a virtual measurement.
pub(crate) const ADD_VIRTUAL_MEASUREMENT: &str = "add_virtual_measurement";
/// Removes a virtual measurement.
pub(crate) const REMOVE_VIRTUAL_MEASUREMENT: &str = "remove_virtual_measurement";
/// Registers an SNP measurement.
pub(crate) const ADD_SNP_MEASUREMENT: &str = "add_snp_measurement";
/// Removes an SNP measurement.
pub(crate) const REMOVE_SNP_MEASUREMENT: &str = "remove_snp_measurement";
/// Registers an SNP build's host data (with its security policy).
pub(crate) const ADD_SNP_HOST_DATA: &str = "add_snp_host_data";
/// Removes an SNP build's host data.
pub(crate) const REMOVE_SNP_HOST_DATA: &str = "remove_snp_host_data";
/// Registers an SNP UVM endorsement.
pub(crate) const ADD_SNP_UVM_ENDORSEMENT: &str = "add_snp_uvm_endorsement";
/// Removes an SNP UVM endorsement.
pub(crate) const REMOVE_SNP_UVM_ENDORSEMENT: &str = "remove_snp_uvm_endorsement";
/// Trusts a Pending node.
pub(crate) const TRANSITION_NODE_TO_TRUSTED: &str = "transition_node_to_trusted";
/// Retires a node.
pub(crate) const REMOVE_NODE: &str = "remove_node";
/// Snapshots at the next signature (`[nodes] fresh_snapshot`), no arguments.
pub(crate) const TRIGGER_SNAPSHOT: &str = "trigger_snapshot";

/// Every action an upgrade proposes: an open proposal with one of them is part of an upgrade.
pub(crate) const UPGRADE_ACTIONS: &[&str] = &[
    ADD_VIRTUAL_HOST_DATA,
    REMOVE_VIRTUAL_HOST_DATA,
    ADD_VIRTUAL_MEASUREMENT,
    REMOVE_VIRTUAL_MEASUREMENT,
    ADD_SNP_MEASUREMENT,
    REMOVE_SNP_MEASUREMENT,
    ADD_SNP_HOST_DATA,
    REMOVE_SNP_HOST_DATA,
    ADD_SNP_UVM_ENDORSEMENT,
    REMOVE_SNP_UVM_ENDORSEMENT,
    TRANSITION_NODE_TO_TRUSTED,
    REMOVE_NODE,
    TRIGGER_SNAPSHOT,
];
