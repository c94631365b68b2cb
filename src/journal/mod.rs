//! Durable per-service state: the state directory, the run lock, the journal and where the
//! service's nodes were last seen.

pub mod addresses;
pub mod lock;
pub mod store;

pub use addresses::{AddressBook, KnownNode};
pub use lock::{LockError, RunLock, ServiceState};
pub use store::{Journal, JournalError, JournalReporter, Record, Unsettled};
