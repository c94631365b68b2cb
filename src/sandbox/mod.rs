//! The built-in sandbox: a simulated CCF service for demos and end-to-end tests, like
//! `vault server -dev`. Each node serves CCF's node and governance APIs over HTTPS on its own
//! 127.0.0.1 port; a latency model, fault injection and an invariant checker make it useful
//! for proving the orchestrator safe. Where it deliberately differs from CCF, the README's
//! sandbox section says so.

pub mod builds;
pub mod constitution;
pub mod control;
pub mod error;
pub mod files;
pub mod http;
pub mod latency;
pub mod pki;
pub mod runtime;
pub mod server;
pub mod world;

pub use builds::{simulated_build, simulated_uvm};
pub use control::{Fault, Launched};
pub use error::SandboxError;
pub use files::SandboxInfo;
pub use latency::LatencyModel;
pub use server::{Sandbox, SandboxOptions};
pub use world::{Build, Platform, UvmEndorsement, Violation, WriteStall};
