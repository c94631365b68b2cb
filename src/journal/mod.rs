//! Durable per-service state: the state directory, the run lock, the journal and where the
//! service's nodes were last seen.

pub(crate) mod addresses;
pub(crate) mod lock;
pub(crate) mod store;

pub(crate) use addresses::{AddressBook, KnownNode};
pub(crate) use lock::{LockError, RunLock, ServiceState};
pub(crate) use store::{Journal, JournalError, JournalReporter, Record, RecordedTarget, Unsettled};
