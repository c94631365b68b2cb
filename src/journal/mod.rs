//! Durable per-service state: the state directory and the run lock.

pub mod lock;
pub mod store;

pub use lock::{LockError, RunLock, ServiceState};
pub use store::{Journal, JournalError, JournalReporter, Record, Unsettled};
