//! The built-in sandbox: a simulated CCF service for demos and end-to-end tests, like
//! `vault server -dev`. Each node serves CCF's node and governance APIs over HTTPS on its own
//! 127.0.0.1 port; a latency model, fault injection and an invariant checker make it useful
//! for proving the orchestrator safe. Where it deliberately differs from CCF, the README's
//! sandbox section says so.

pub mod constitution;
pub mod control;
pub mod http;
pub mod latency;
pub mod pki;
pub mod server;
pub mod world;

pub use control::{Fault, Launched};
pub use latency::LatencyModel;
pub use server::{
    Sandbox, SandboxError, SandboxInfo, SandboxOptions, simulated_build, simulated_uvm,
};
pub use world::{Build, Platform, UvmEndorsement, Violation, WriteStall};
