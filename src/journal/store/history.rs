//! What a journal's records say about earlier runs: unfinished, unsettled or failed ones.

use super::{Journal, Record, RecordedTarget};
use crate::plan::Launched;

impl Journal {
    /// The nodes launched by runs that did not finish, and the names of the launches still
    /// in flight when they stopped (started, no answer recorded): what a new run must adopt
    /// or cancel rather than launch again.
    pub(crate) fn unfinished_launches(&self) -> (Vec<Launched>, Vec<String>) {
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

impl Journal {
    /// The `ccf_version` last recorded for the build `host_data`: what an upgrade's run found
    /// the service running, or a run's target. A rollback after every old node is gone has
    /// no node left to ask.
    pub(crate) fn ccf_version_of(&self, host_data: &str) -> Option<String> {
        let named = |t: &RecordedTarget| match t {
            RecordedTarget::Target(t) if t.host_data.eq_ignore_ascii_case(host_data) => {
                t.ccf_version.clone()
            }
            _ => None,
        };
        self.records.iter().rev().find_map(|r| match r {
            Record::RunStarted { target, from, .. } => {
                from.as_ref().and_then(named).or_else(|| named(target))
            }
            _ => None,
        })
    }
}

/// An upgrade left unsettled by a run of this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsettled {
    /// Its target.
    pub target: RecordedTarget,
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
    pub(crate) fn in_progress(&self) -> bool {
        let mut dirty = false;
        for r in &self.records {
            match r {
                // ProposalStarting: a crash between journaling a proposal and recording its id
                // may have left it open on the service, ours to finish.
                Record::LaunchStarted { .. }
                | Record::NodeLaunched { .. }
                | Record::ProposalStarting { .. }
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
    pub(crate) fn unsettled(&self) -> Option<Unsettled> {
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
                        release: chosen
                            .filter(|c| target.is(&c.target().reference()))
                            .cloned(),
                        rolling_back: false,
                    });
                    chosen = None;
                }
                Record::RollbackStarted { from, .. } => {
                    let release = match (&out, chosen) {
                        (_, Some(c)) if from.is(&c.target().reference()) => Some(c.clone()),
                        (Some(u), _) if u.target.same(from) => u.release.clone(),
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
    pub(crate) fn failed_targets(&self) -> Vec<(RecordedTarget, String, String)> {
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
    pub(crate) fn failed_target(&self, key: &str) -> Option<(String, String)> {
        let mut failed: Option<(String, String, RecordedTarget)> = None;
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
                Record::FailedCleared { target: None, .. } => failed = None,
                Record::FailedCleared {
                    target: Some(cleared),
                    ..
                } if failed.as_ref().is_some_and(|f| f.2.same(cleared)) => failed = None,
                // Retried and reached: no longer failed.
                Record::RunEnded {
                    outcome, run_id, ..
                } if outcome == "upgraded"
                    && failed
                        .as_ref()
                        .is_some_and(|f| targets.get(run_id).is_some_and(|t| f.2.same(t))) =>
                {
                    failed = None;
                }
                _ => {}
            }
        }
        failed.map(|(at, reason, _)| (at, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ServiceState;
    use crate::journal::store::FORMAT_VERSION;

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
            from: None,
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
                from: tx.as_str().into(),
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
                from: None,
            },
            step("b"),
        ]);
        let u = j.unsettled().unwrap();
        assert_eq!(
            (
                u.release.as_ref(),
                u.rolling_back,
                u.target.describe().as_str()
            ),
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
        assert_eq!(
            (u.release, u.target.describe().as_str()),
            (None, "plan target")
        );
        // Settled: nothing.
        let j = journal(vec![
            chosen("a", &x),
            started("a", &tx),
            step("a"),
            ended("a", "upgraded"),
        ]);
        assert_eq!(j.unsettled(), None);
    }

    #[test]
    fn a_whole_target_names_its_release_and_rollback() {
        let x = release("ccf-7.0.3", "ab");
        let whole = x.target().reference();
        let started = Record::RunStarted {
            format_version: FORMAT_VERSION,
            run_id: "a".into(),
            at: "t".into(),
            target: whole.clone().into(),
            plan_sha256: String::new(),
            rollback: false,
            from: None,
        };
        let j = journal(vec![chosen("a", &x), started.clone(), step("a")]);
        assert_eq!(j.unsettled().unwrap().release.as_ref(), Some(&x));
        let back = Record::RollbackStarted {
            run_id: "a".into(),
            at: "t".into(),
            from: whole.into(),
            to: "old".into(),
            reason: "never joined".into(),
        };
        let j = journal(vec![chosen("a", &x), started, step("a"), back]);
        let u = j.unsettled().unwrap();
        assert_eq!((u.release.as_ref(), u.rolling_back), (Some(&x), true));
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
        // Crashed after journaling a proposal, before its id was recorded: it may be open.
        let starting = Record::ProposalStarting {
            run_id: "a".into(),
            at: "t".into(),
            actions: vec!["trigger_snapshot".into()],
        };
        assert!(journal(vec![started("a", "T"), starting]).in_progress());
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

    #[test]
    fn a_clear_naming_a_target_clears_only_that_one_and_old_records_clear_all() {
        let failed = |key: &str, target: &str| Record::TargetFailed {
            run_id: "a".into(),
            at: "when".into(),
            key: key.into(),
            target: target.into(),
            reason: "never joined".into(),
        };
        let cleared: Record = serde_json::from_value(serde_json::json!({
            "record": "failed_cleared", "at": "t", "target": "T"
        }))
        .unwrap();
        let records = vec![
            failed("virtual:bb", "T"),
            failed("virtual:cc", "U"),
            cleared,
        ];
        let j = journal(records.clone());
        assert_eq!(j.failed_target("virtual:bb"), None);
        assert!(j.failed_target("virtual:cc").is_some());
        // A record written before the target was recorded: every mark.
        let old: Record =
            serde_json::from_str(r#"{"record": "failed_cleared", "at": "t"}"#).unwrap();
        assert_eq!(
            old,
            Record::FailedCleared {
                at: "t".into(),
                target: None
            }
        );
        let j = journal(vec![records[0].clone(), records[1].clone(), old]);
        assert!(j.failed_targets().is_empty());
    }
}
