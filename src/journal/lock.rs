//! One directory per service under the state directory (keyed by the service certificate's
//! SHA-256), and an exclusive lock in it so two runs never act on one service at once.
//!
//! The lock is an OS file lock (`flock`), which the kernel releases when its process dies, so a
//! crashed run never leaves the service locked; `lock.json` beside it names the holder (host,
//! pid, run id, start time) for the refusal message, and a leftover one from a dead process is
//! reported and replaced.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A problem with the state directory or the lock.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    /// Another run holds the lock.
    #[error(
        "another noderoll run is acting on this service: host {}, pid {}, run {}, since {} (lock {}); \
         wait for it to finish, or stop it first",
        .holder.host, .holder.pid, .holder.run_id, .holder.started_at, .path.display()
    )]
    Held {
        /// Who holds it.
        holder: Holder,
        /// The lock file.
        path: PathBuf,
    },
    /// The state directory is unusable.
    #[error("cannot use the state directory {}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Who holds a lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Holder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Run id.
    pub run_id: String,
    /// RFC 3339.
    pub started_at: String,
}

/// The state directory of one service.
#[derive(Debug, Clone)]
pub(crate) struct ServiceState {
    dir: PathBuf,
}

/// The default state directory: `$NODEROLL_STATE_DIR`, else `$XDG_DATA_HOME/noderoll`, else
/// `~/.local/share/noderoll`.
pub(crate) fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(crate::env_vars::STATE_DIR) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os(crate::env_vars::XDG_DATA_HOME) {
        return PathBuf::from(d).join("noderoll");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/noderoll")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl ServiceState {
    /// The directory for the service whose certificate has this SHA-256 (created if needed).
    pub(crate) fn open(
        state_dir: &Path,
        service_cert_sha256: &str,
    ) -> Result<ServiceState, LockError> {
        let dir = Self::dir_for(state_dir, service_cert_sha256);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(ServiceState { dir })
    }

    /// Where the directory of that service is, without creating it.
    pub(crate) fn dir_for(state_dir: &Path, service_cert_sha256: &str) -> PathBuf {
        state_dir.join(format!(
            "service-{}",
            &service_cert_sha256[..16.min(service_cert_sha256.len())]
        ))
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take the run lock, or say who holds it. `on_stale` hears about a leftover holder record
    /// of a process that is gone.
    pub(crate) fn lock(
        &self,
        run_id: &str,
        on_stale: impl FnOnce(&Holder),
    ) -> Result<RunLock, LockError> {
        let path = self.dir.join("lock");
        let info_path = self.dir.join("lock.json");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let previous: Option<Holder> = std::fs::read_to_string(&info_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        match try_lock_patiently(&file) {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = previous.unwrap_or(Holder {
                    host: "?".into(),
                    pid: 0,
                    run_id: "?".into(),
                    started_at: "?".into(),
                });
                return Err(LockError::Held { holder, path });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        if let Some(p) = &previous {
            // We hold the OS lock, so whoever wrote this record is gone (crashed or killed).
            on_stale(p);
        }
        let me = Holder {
            host: hostname(),
            pid: std::process::id(),
            run_id: run_id.to_string(),
            started_at: jiff::Timestamp::now().to_string(),
        };
        let tmp = self.dir.join("lock.json.tmp");
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(
            serde_json::to_string_pretty(&me)
                .expect("holder serialises")
                .as_bytes(),
        )
        .map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &info_path).map_err(io(&info_path))?;
        Ok(RunLock { file, info_path })
    }
}

impl ServiceState {
    /// Who holds the run lock now, if anyone (for `plan`, which never takes it). A shared
    /// lock is tried and dropped at once: it fails only while a run holds the exclusive one.
    pub(crate) fn holder(&self) -> Option<Holder> {
        let file = File::open(self.dir.join("lock")).ok()?;
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(_) => Some(
                std::fs::read_to_string(self.dir.join("lock.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or(Holder {
                        host: "?".into(),
                        pid: 0,
                        run_id: "?".into(),
                        started_at: "?".into(),
                    }),
            ),
        }
    }
}

/// `plan` probes the lock with a shared lock it holds for microseconds (`holder`); a run
/// starting at that instant must not be refused for it, so a busy lock is tried again for a
/// moment before it counts as held. A run holds it for minutes, so the wait costs nothing.
fn try_lock_patiently(file: &File) -> Result<(), std::fs::TryLockError> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_millis(250);
    const PAUSE: std::time::Duration = std::time::Duration::from_millis(5);
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(PAUSE)
            }
            other => return other,
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The held lock; released (and its holder record removed) on drop.
#[derive(Debug)]
pub(crate) struct RunLock {
    file: File,
    info_path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.info_path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_starting_while_plan_probes_the_lock_is_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let st = ServiceState::open(dir.path(), &"cd".repeat(32)).unwrap();
        std::fs::write(st.dir().join("lock"), "").unwrap();
        for _ in 0..20 {
            // What `holder` does: a shared lock, dropped at once.
            let probe = File::open(st.dir().join("lock")).unwrap();
            probe.try_lock_shared().unwrap();
            let start = std::sync::Arc::new(std::sync::Barrier::new(2));
            let run = {
                let (st, start) = (st.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    st.lock("run", |_| {}).map(drop)
                })
            };
            start.wait();
            probe.unlock().unwrap();
            run.join().unwrap().expect("the probe is no holder");
        }
    }

    #[test]
    fn one_holder_at_a_time_and_stale_records_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let st = ServiceState::open(dir.path(), &"ab".repeat(32)).unwrap();
        let first = st.lock("run-1", |_| panic!("no stale holder yet")).unwrap();
        match st.lock("run-2", |_| {}) {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.run_id, "run-1");
                assert_eq!(holder.pid, std::process::id());
            }
            other => panic!("expected the lock to be held, got {other:?}"),
        }
        assert_eq!(st.holder().map(|h| h.run_id), Some("run-1".into()));
        drop(first);
        assert_eq!(st.holder(), None);
        // A record left by a crashed process: the lock is free, the record is reported.
        let dead = Holder {
            host: "h".into(),
            pid: 999_999,
            run_id: "crashed".into(),
            started_at: "t".into(),
        };
        std::fs::write(
            st.dir().join("lock.json"),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let mut seen = None;
        let _second = st.lock("run-3", |h| seen = Some(h.clone())).unwrap();
        assert_eq!(seen, Some(dead));
    }
}
