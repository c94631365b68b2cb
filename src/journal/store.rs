//! The journal: the durable "upgrade in progress" record of one service, as JSON Lines in its
//! state directory, appended and fsynced record by record, plus an atomically replaced
//! snapshot (`state.json`) of the latest run. It is a hint for resuming (the service is the
//! truth) and never holds key material: ids, addresses, action names, step descriptions.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::lock::ServiceState;
use crate::exec::{Event, Reporter};
use crate::plan::Launched;

/// Format version written by this noderoll; journals with a newer one are not written to.
pub const FORMAT_VERSION: u32 = 1;

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A run began (after preflight).
    RunStarted {
        /// Format version.
        format_version: u32,
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Target, described.
        target: String,
        /// SHA-256 of the plan file.
        plan_sha256: String,
        /// A rollback's run (its target is the version gone back to).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
    },
    /// The run's target is a channel release (`noderoll channel apply`, `noderoll watch`):
    /// the whole release, so a restart resumes that release even if the channel moved on.
    ReleaseChosen {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// The release as the channel published it (no secrets: identities and a URL).
        release: crate::channel::Release,
    },
    /// A launch command is about to run.
    LaunchStarted {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// The node's name.
        name: String,
    },
    /// A node was launched.
    NodeLaunched {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// What the launcher reported.
        node: Launched,
        /// The name its launch was given (`NODEROLL_NODE_NAME`; absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A proposal was submitted.
    ProposalSubmitted {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Proposal id.
        proposal_id: String,
    },
    /// A step finished.
    StepFinished {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Position.
        index: usize,
        /// Description.
        description: String,
    },
    /// The run gave up its target and began rolling back.
    RollbackStarted {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// The abandoned target, described.
        from: String,
        /// The version rolled back to, described.
        to: String,
        /// Why.
        reason: String,
    },
    /// A target failed (a new node did not join, attest, catch up or stay healthy) and was
    /// rolled back: later runs refuse it unless `--retry-failed-target`.
    TargetFailed {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// [`crate::plan::Target::key`].
        key: String,
        /// The target, described.
        target: String,
        /// The failure, rendered.
        reason: String,
    },
    /// An operator cleared every failed-target mark (`noderoll channel clear-failed`).
    FailedCleared {
        /// RFC 3339.
        at: String,
    },
    /// The run ended.
    RunEnded {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// `upgraded`, `finalize_pending`, `nothing_to_do`, `rolled_back`, `failed`,
        /// `interrupted`.
        outcome: String,
    },
}

/// A journal problem.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Unreadable or unwritable.
    #[error("journal {}", .path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Written by a newer noderoll.
    #[error("journal {} was written by a newer noderoll (format {found}, this one writes {FORMAT_VERSION}); upgrade noderoll", .path.display())]
    Newer {
        /// File.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    snapshot: PathBuf,
    file: Mutex<File>,
    records: Vec<Record>,
}

impl Journal {
    /// Open (creating) the journal of a service; refuse one written by a newer format.
    pub fn open(state: &ServiceState) -> Result<Journal, JournalError> {
        let path = state.dir().join("journal.jsonl");
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let mut records = Vec::new();
        if let Ok(f) = File::open(&path) {
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(io)?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(found) = v.get("format_version").and_then(|x| x.as_u64())
                    && found as u32 > FORMAT_VERSION
                {
                    return Err(JournalError::Newer {
                        path,
                        found: found as u32,
                    });
                }
                // A torn last line (killed mid-write) or an unknown record is skipped.
                if let Ok(r) = serde_json::from_str::<Record>(&line) {
                    records.push(r);
                }
            }
        }
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Journal {
            snapshot: state.dir().join("state.json"),
            path,
            file: Mutex::new(file),
            records,
        })
    }

    /// Every record, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Append a record and fsync it; then replace the snapshot atomically.
    pub fn append(&self, r: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let line = serde_json::to_string(r).expect("records serialise");
        f.write_all(format!("{line}\n").as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        drop(f);
        write_atomically(
            &self.snapshot,
            &serde_json::to_string_pretty(r).expect("records serialise"),
        )
        .map_err(|source| JournalError::Io {
            path: self.snapshot.clone(),
            source,
        })
    }

    /// Whether the latest run started and never recorded its end (crashed or killed).
    pub fn has_unfinished_run(&self) -> bool {
        let last_start = self
            .records
            .iter()
            .rposition(|r| matches!(r, Record::RunStarted { .. }));
        let last_end = self
            .records
            .iter()
            .rposition(|r| matches!(r, Record::RunEnded { .. }));
        match (last_start, last_end) {
            (Some(s), Some(e)) => s > e,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The nodes launched by runs that did not finish, and the names of the launches still
    /// in flight when they stopped (started, no answer recorded): what a new run must adopt
    /// or cancel rather than launch again.
    pub fn unfinished_launches(&self) -> (Vec<Launched>, Vec<String>) {
        let (mut launched, mut started, mut nameless) = (Vec::new(), Vec::new(), 0usize);
        for r in &self.records {
            match r {
                Record::LaunchStarted { name, .. } => started.push(name.clone()),
                Record::NodeLaunched { node, name, .. } => {
                    launched.push(node.clone());
                    match name {
                        Some(n) => started.retain(|s| s != n),
                        None => nameless += 1,
                    }
                }
                Record::RunEnded { outcome, .. } if settles(outcome) => {
                    launched.clear();
                    started.clear();
                    nameless = 0;
                }
                _ => {}
            }
        }
        // An older journal does not say which launch answered: count them off.
        let in_flight = started.into_iter().skip(nameless).collect();
        (launched, in_flight)
    }
}

/// An upgrade left unsettled by a run of this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettled {
    /// Its target, described (empty if the run's start was not recorded).
    pub target: String,
    /// The channel release it was aimed at, if it came from a channel.
    pub release: Option<crate::channel::Release>,
    /// Its last run had given the target up and was rolling back.
    pub rolling_back: bool,
}

/// Outcomes after which no upgrade of this machine is under way.
fn settles(outcome: &str) -> bool {
    matches!(
        outcome,
        "upgraded" | "nothing_to_do" | "finalize_pending" | "rolled_back"
    )
}

impl Journal {
    /// Whether a run of this machine changed the service and no later run settled it
    /// (crashed, interrupted or failed mid-upgrade): the service's mixed state is this
    /// journal's to continue. Runs refused before their first write do not count.
    pub fn in_progress(&self) -> bool {
        let mut dirty = false;
        for r in &self.records {
            match r {
                Record::LaunchStarted { .. }
                | Record::NodeLaunched { .. }
                | Record::ProposalSubmitted { .. }
                | Record::StepFinished { .. }
                | Record::RollbackStarted { .. } => dirty = true,
                Record::RunEnded { outcome, .. } if settles(outcome) => dirty = false,
                _ => {}
            }
        }
        dirty
    }

    /// The upgrade this machine left unsettled (see [`Journal::in_progress`]), if any: whether
    /// its last run was rolling back, and the channel release it was aimed at (`None` for a
    /// plan file's own `[target]`).
    pub fn unsettled(&self) -> Option<Unsettled> {
        if !self.in_progress() {
            return None;
        }
        let (mut chosen, mut out): (Option<&crate::channel::Release>, Option<Unsettled>) =
            (None, None);
        for r in &self.records {
            match r {
                Record::ReleaseChosen { release, .. } => chosen = Some(release),
                // A forward run: toward the release just chosen, or a plan file's own target.
                Record::RunStarted {
                    target,
                    rollback: false,
                    ..
                } => {
                    out = Some(Unsettled {
                        target: target.clone(),
                        release: chosen.filter(|c| c.target().describe() == *target).cloned(),
                        rolling_back: false,
                    });
                    chosen = None;
                }
                Record::RollbackStarted { from, .. } => {
                    let release = match (&out, chosen) {
                        (_, Some(c)) if c.target().describe() == *from => Some(c.clone()),
                        (Some(u), _) if u.target == *from => u.release.clone(),
                        _ => None,
                    };
                    out = Some(Unsettled {
                        target: from.clone(),
                        release,
                        rolling_back: true,
                    });
                    chosen = None;
                }
                Record::RunEnded { outcome, .. } if settles(outcome) => out = None,
                _ => {}
            }
        }
        out
    }

    /// Every target still marked failed: (target, when, why), oldest first.
    pub fn failed_targets(&self) -> Vec<(String, String, String)> {
        let mut keys: Vec<&str> = Vec::new();
        for r in &self.records {
            if let Record::TargetFailed { key, .. } = r
                && !keys.contains(&key.as_str())
            {
                keys.push(key);
            }
        }
        keys.into_iter()
            .filter_map(|k| {
                let (at, reason) = self.failed_target(k)?;
                let target = self.records.iter().rev().find_map(|r| match r {
                    Record::TargetFailed { key, target, .. } if key == k => Some(target.clone()),
                    _ => None,
                })?;
                Some((target, at, reason))
            })
            .collect()
    }

    /// When and why `key` last failed, unless a later run upgraded to it.
    pub fn failed_target(&self, key: &str) -> Option<(String, String)> {
        let mut failed: Option<(String, String, String)> = None;
        let mut targets = std::collections::BTreeMap::new();
        for r in &self.records {
            match r {
                Record::RunStarted { run_id, target, .. } => {
                    targets.insert(run_id.clone(), target.clone());
                }
                Record::TargetFailed {
                    key: k,
                    at,
                    reason,
                    target,
                    ..
                } if k == key => failed = Some((at.clone(), reason.clone(), target.clone())),
                Record::FailedCleared { .. } => failed = None,
                // Retried and reached: no longer failed.
                Record::RunEnded {
                    outcome, run_id, ..
                } if outcome == "upgraded"
                    && failed
                        .as_ref()
                        .is_some_and(|f| targets.get(run_id) == Some(&f.2)) =>
                {
                    failed = None;
                }
                _ => {}
            }
        }
        failed.map(|(at, reason, _)| (at, reason))
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Records the events that matter for resuming, then passes every event on.
pub struct JournalReporter {
    inner: std::sync::Arc<dyn Reporter>,
    journal: std::sync::Arc<Journal>,
    run_id: Mutex<String>,
    plan_sha256: String,
}

impl JournalReporter {
    /// Wrap `inner`.
    pub fn new(
        inner: std::sync::Arc<dyn Reporter>,
        journal: std::sync::Arc<Journal>,
        plan_sha256: String,
    ) -> Self {
        JournalReporter {
            inner,
            journal,
            run_id: Mutex::new(String::new()),
            plan_sha256,
        }
    }

    fn record(&self, r: Record) {
        if let Err(e) = self.journal.append(&r) {
            tracing::error!("{}", crate::errors::render(&e));
        }
    }

    /// Record that the target failed and is being rolled back.
    pub fn target_failed(&self, target: &crate::plan::Target, reason: &str) {
        let run_id = self
            .run_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.record(Record::TargetFailed {
            run_id,
            at: jiff::Timestamp::now().to_string(),
            key: target.key(),
            target: target.describe(),
            reason: reason.into(),
        });
    }

    /// Record how the run ended.
    pub fn ended(&self, outcome: &str) {
        let run_id = self
            .run_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !run_id.is_empty() {
            self.record(Record::RunEnded {
                run_id,
                at: jiff::Timestamp::now().to_string(),
                outcome: outcome.into(),
            });
        }
    }
}

impl Reporter for JournalReporter {
    fn report(&self, e: &Event) {
        let at = jiff::Timestamp::now().to_string();
        let run_id = || {
            self.run_id
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        match e {
            Event::RunStarted {
                run_id: id,
                target,
                rollback,
                ..
            } => {
                *self.run_id.lock().unwrap_or_else(|e| e.into_inner()) = id.clone();
                self.record(Record::RunStarted {
                    format_version: FORMAT_VERSION,
                    run_id: id.clone(),
                    at,
                    target: target.clone(),
                    plan_sha256: self.plan_sha256.clone(),
                    rollback: *rollback,
                });
            }
            Event::LaunchStarted { name } => self.record(Record::LaunchStarted {
                run_id: run_id(),
                at: at.clone(),
                name: name.clone(),
            }),
            Event::NodeLaunched {
                name,
                node_id,
                rpc_address,
            } => self.record(Record::NodeLaunched {
                run_id: run_id(),
                at,
                node: Launched {
                    node_id: node_id.clone(),
                    rpc_address: rpc_address.as_deref().and_then(|a| a.parse().ok()),
                },
                name: Some(name.clone()),
            }),
            Event::ProposalSubmitted { proposal_id, .. } => {
                self.record(Record::ProposalSubmitted {
                    run_id: run_id(),
                    at,
                    proposal_id: proposal_id.clone(),
                })
            }
            Event::RollbackStarted {
                from, to, reason, ..
            } => self.record(Record::RollbackStarted {
                run_id: run_id(),
                at,
                from: from.clone(),
                to: to.clone(),
                reason: reason.clone(),
            }),
            Event::StepFinished {
                index, description, ..
            } => self.record(Record::StepFinished {
                run_id: run_id(),
                at,
                index: *index,
                description: description.clone(),
            }),
            _ => {}
        }
        self.inner.report(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(records: Vec<Record>) -> Journal {
        let dir = tempfile::tempdir().unwrap();
        let state = ServiceState::open(dir.path(), &"ab".repeat(32)).unwrap();
        let mut j = Journal::open(&state).unwrap();
        j.records = records;
        j
    }

    fn started(run: &str, target: &str) -> Record {
        Record::RunStarted {
            format_version: FORMAT_VERSION,
            run_id: run.into(),
            at: "t".into(),
            target: target.into(),
            plan_sha256: String::new(),
            rollback: false,
        }
    }

    fn release(version: &str, host: &str) -> crate::channel::Release {
        serde_json::from_value(serde_json::json!({
            "ccf_version": version, "platform": "virtual", "host_data": host.repeat(32)
        }))
        .unwrap()
    }

    fn chosen(run: &str, r: &crate::channel::Release) -> Record {
        Record::ReleaseChosen {
            run_id: run.into(),
            at: "t".into(),
            release: r.clone(),
        }
    }

    #[test]
    fn unsettled_names_the_release_and_whether_it_was_rolling_back() {
        let x = release("ccf-7.0.3", "ab");
        let tx = x.target().describe();
        // A channel run interrupted mid-upgrade: resume that release.
        let j = journal(vec![
            chosen("a", &x),
            started("a", &tx),
            step("a"),
            ended("a", "interrupted"),
        ]);
        let u = j.unsettled().unwrap();
        assert_eq!((u.release.as_ref(), u.rolling_back), (Some(&x), false));
        // Its automatic rollback interrupted: the rollback run has another id and target.
        let j = journal(vec![
            chosen("a", &x),
            started("a", &tx),
            step("a"),
            Record::RollbackStarted {
                run_id: "a".into(),
                at: "t".into(),
                from: tx.clone(),
                to: "old".into(),
                reason: "never joined".into(),
            },
            Record::RunStarted {
                format_version: FORMAT_VERSION,
                run_id: "b".into(),
                at: "t".into(),
                target: "old".into(),
                plan_sha256: String::new(),
                rollback: true,
            },
            step("b"),
        ]);
        let u = j.unsettled().unwrap();
        assert_eq!(
            (u.release.as_ref(), u.rolling_back, u.target.as_str()),
            (Some(&x), true, tx.as_str())
        );
        // A plan file's own target after a settled channel run: no release.
        let j = journal(vec![
            chosen("a", &x),
            started("a", &tx),
            step("a"),
            ended("a", "upgraded"),
            started("c", "plan target"),
            step("c"),
        ]);
        let u = j.unsettled().unwrap();
        assert_eq!((u.release, u.target.as_str()), (None, "plan target"));
        // Settled: nothing.
        let j = journal(vec![
            chosen("a", &x),
            started("a", &tx),
            step("a"),
            ended("a", "upgraded"),
        ]);
        assert_eq!(j.unsettled(), None);
    }

    fn ended(run: &str, outcome: &str) -> Record {
        Record::RunEnded {
            run_id: run.into(),
            at: "t".into(),
            outcome: outcome.into(),
        }
    }

    fn step(run: &str) -> Record {
        Record::StepFinished {
            run_id: run.into(),
            at: "t".into(),
            index: 1,
            description: "d".into(),
        }
    }

    #[test]
    fn in_progress_means_a_write_no_later_run_settled() {
        assert!(!journal(vec![]).in_progress());
        // Refused before its first write: not in progress.
        assert!(!journal(vec![started("a", "T"), ended("a", "failed")]).in_progress());
        assert!(journal(vec![started("a", "T"), step("a"), ended("a", "failed")]).in_progress());
        assert!(journal(vec![started("a", "T"), step("a")]).in_progress());
        assert!(
            !journal(vec![
                started("a", "T"),
                step("a"),
                ended("a", "interrupted"),
                started("b", "T"),
                ended("b", "rolled_back")
            ])
            .in_progress()
        );
    }

    #[test]
    fn a_failed_target_is_remembered_until_an_upgrade_reaches_it() {
        let failed = Record::TargetFailed {
            run_id: "a".into(),
            at: "when".into(),
            key: "virtual:bb".into(),
            target: "T".into(),
            reason: "never joined".into(),
        };
        let mut records = vec![started("a", "T"), step("a"), failed];
        records.extend([started("b", "P"), ended("b", "upgraded")]);
        let j = journal(records.clone());
        assert_eq!(
            j.failed_target("virtual:bb"),
            Some(("when".into(), "never joined".into())),
            "an upgrade to another target does not clear it"
        );
        assert_eq!(j.failed_target("virtual:cc"), None);
        records.extend([started("c", "T"), ended("c", "upgraded")]);
        assert_eq!(journal(records).failed_target("virtual:bb"), None);
    }
}
