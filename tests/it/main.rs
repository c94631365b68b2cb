//! The single integration-test binary.

mod common;

mod bad_input;
mod certs;
mod channel;
mod cli_status;
mod client;
mod contract;
mod crash;
mod fault_matrix;
mod generated;
mod governance;
mod human_output;
mod interop;
mod next_commands;
mod operator;
mod outcomes;
mod output_schemas;
mod planner_props;
mod real_ccf;
mod rollback;
mod sandbox_ccf;
mod sandbox_cli;
mod sandbox_conformance;
mod sandbox_faults;
mod sandbox_upgrade;
mod security;
mod service_addresses;
mod signing;
mod snapshots;
mod snp_tcb;
mod tidy;
mod upgrade;
mod version_paths;
mod vote;
mod watch;
