//! Durable per-service state: the state directory and the run lock.

pub mod lock;

pub use lock::{LockError, RunLock, ServiceState};
