//! The human reporter: a spinner with the current step and what it waits for on a terminal
//! (stderr), plain lines otherwise. Lines are printed through the progress bar so logs never
//! tear it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ccf::types::short_id;
use crate::exec::{Event, Reporter};

/// The spinner currently drawn, if any: log lines are printed through it so they never tear
/// it.
static ACTIVE_BAR: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);

/// A `tracing` writer for stderr that suspends the active spinner while a line is written.
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE_BAR.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(b) => b
                .suspend(|| std::io::stderr().write_all(buf))
                .map(|_| buf.len()),
            None => std::io::stderr().write_all(buf).map(|_| buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Colours only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
pub(crate) fn use_color() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os(crate::env_vars::NO_COLOR).is_none_or(|v| v.is_empty())
}

/// The placeholder in [`vote_command`] for the voting member's own plan file.
pub(crate) const MEMBER_PLAN: &str = "MEMBER_PLAN";

/// The command another member runs to vote yes on `proposal_id`, as printed while noderoll
/// waits for them: it works as printed once [`MEMBER_PLAN`] is replaced (`--yes`: the voter
/// may have no terminal to confirm on; the actions are shown before the ballot all the same).
pub(crate) fn vote_command(proposal_id: &str) -> String {
    format!("noderoll vote {proposal_id} --plan {MEMBER_PLAN} --yes")
}

/// Renders events for people.
pub(crate) struct HumanReporter {
    bar: Option<ProgressBar>,
    quiet: bool,
    /// `-v`: a line for every preflight check, not only for those that fail.
    verbose: bool,
    step: Mutex<String>,
    /// The preflight checks reported and not yet summed up: (passed, failed).
    preflight: Mutex<Option<(usize, usize)>>,
}

impl HumanReporter {
    /// A spinner when stderr is a terminal (and not `quiet`), plain lines otherwise; every
    /// preflight check's line when `verbose`.
    pub(crate) fn new(quiet: bool, verbose: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(125));
            *ACTIVE_BAR.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
            bar
        });
        HumanReporter {
            bar,
            quiet,
            verbose,
            step: Mutex::new(String::new()),
            preflight: Mutex::new(None),
        }
    }

    /// A preflight check: its line if it failed (or with `-v`), counted for the summary.
    fn preflight_checked(&self, check: &str, ok: bool, detail: &str) {
        let mut counts = self.preflight.lock().unwrap_or_else(|e| e.into_inner());
        let (passed, failed) = counts.get_or_insert((0, 0));
        if ok {
            *passed += 1;
        } else {
            *failed += 1;
        }
        if !ok || self.verbose {
            let mark = if ok { "ok" } else { "FAILED" };
            self.line(&format!("{mark} preflight: {check}: {detail}"));
        }
    }

    /// The preflight's one line, once its checks are all reported (the next event, or the
    /// end of the run, tells).
    fn preflight_summary(&self) {
        let counts = self
            .preflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match counts {
            None => {}
            Some((passed, 0)) => self.line(&format!(
                "preflight: all {} pass",
                super::count(passed, "check")
            )),
            Some((passed, failed)) => self.line(&format!(
                "preflight: {failed} of {} FAILED",
                super::count(passed + failed, "check")
            )),
        }
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(text),
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{text}");
            }
        }
    }

    fn status(&self, text: String) {
        match &self.bar {
            Some(b) => b.set_message(text),
            None => self.line(&format!("  {text}")),
        }
    }

    /// Remove the spinner (before printing results).
    pub(crate) fn finish(&self) {
        self.preflight_summary();
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            *ACTIVE_BAR.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

impl Reporter for HumanReporter {
    fn report(&self, e: &Event) {
        if !matches!(e, Event::PreflightChecked { .. }) {
            self.preflight_summary();
        }
        match e {
            Event::RunStarted { target, steps, run_id, rollback, .. } => self.line(&format!(
                "{} {}: {} planned (run {run_id})",
                if *rollback { "Rolling back to" } else { "Upgrading to" },
                target.describe(),
                super::count(steps.len(), "step")
            )),
            Event::RollbackStarted { from, to, kind, reason, .. } => self.line(&format!(
                "rolling back ({}) from {} to {}: {reason}",
                if kind == "clean" {
                    "clean: no node of the previous version was retired; the abandoned upgrade's nodes are removed"
                } else {
                    "roll-forward: nodes of the previous version were retired; as many are launched again"
                },
                from.describe(),
                to.describe()
            )),
            Event::PreflightChecked { check, ok, detail } => self.preflight_checked(check, *ok, detail),
            Event::StepStarted { index, description, f_after } => {
                *self.step.lock().unwrap_or_else(|e| e.into_inner()) = format!("step {index}: {description}");
                self.line(&format!("-> step {index}: {description} (f after: {f_after})"));
                if let Some(b) = &self.bar {
                    b.set_message(format!("step {index}: {description}"));
                }
            }
            Event::Waiting { what } => {
                let step = self.step.lock().unwrap_or_else(|e| e.into_inner()).clone();
                match &self.bar {
                    Some(b) => b.set_message(format!("{step}: waiting for {what}")),
                    None => self.line(&format!("   waiting for {what}")),
                }
            }
            Event::ProposalSubmitted { proposal_id, .. } => self.status(format!("proposal {} submitted", short_id(proposal_id))),
            Event::ProposalCommitted { proposal_id } => {
                self.line(&format!("   proposal {} accepted and committed", short_id(proposal_id)))
            }
            Event::WaitingForMembers { proposal_id, needed, votes_cast } => {
                self.line(&waiting_for_members(proposal_id, *needed, *votes_cast))
            }
            Event::NodeLaunched {
                node_id,
                rpc_address,
                ..
            } => self.line(&format!(
                "   launched {}",
                node_id.as_deref().map(short_id).or(rpc_address.as_deref()).unwrap_or("a node")
            )),
            Event::NodePending { node_id } => self.line(&format!("   node {} is Pending", short_id(node_id))),
            Event::NodeServing { node_id, ccf_version } => {
                self.line(&format!("   node {} is trusted and serving ({ccf_version})", short_id(node_id)))
            }
            Event::ElectionObserved { previous, primary, view } => self.line(&format!(
                "   election: {} is primary in view {view} (was {})",
                short_id(primary),
                short_id(previous)
            )),
            Event::NodeRemoved { node_id } => self.line(&format!("   node {} stopped and deleted", short_id(node_id))),
            Event::StepFinished { index, description, elapsed } => {
                self.line(&format!("ok step {index}: {description} ({:.1}s)", elapsed.as_secs_f64()))
            }
            Event::LaunchStarted { .. } | Event::ProposalStarting { .. } => {}
            Event::SnapshotReady { name: Some(name), .. } => {
                self.line(&format!("   snapshot {name} committed: launches get it as NODEROLL_SNAPSHOT_NAME"))
            }
            Event::SnapshotReady { name: None, seqno } => self.line(&format!(
                "   snapshot triggered at seqno {seqno}: launches get NODEROLL_SNAPSHOT_SEQNO={seqno} (the service lists no snapshots)"
            )),
            Event::HookRan { hook } => self.line(&format!("   {hook} hook passed")),
            Event::Warning { message } => self.line(&format!("warning: {message}")),
        }
    }
}

/// The line of a proposal that needs other members' votes: how many more, and the command
/// each can vote with.
fn waiting_for_members(proposal_id: &str, needed: usize, voted: usize) -> String {
    format!(
        "   proposal {} needs {} more {} ({voted} of the {needed} needed cast by this run): waiting for other members; each can vote with its own plan file as {} (on every proposal of this upgrade: `noderoll vote --follow --plan {}`):\n     {}",
        short_id(proposal_id),
        needed.saturating_sub(voted),
        crate::english::noun_for(needed.saturating_sub(voted), "yes vote"),
        MEMBER_PLAN,
        MEMBER_PLAN,
        vote_command(proposal_id)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_proposal_waiting_for_members_says_how_many_more_votes() {
        let line = super::waiting_for_members("abcdef0123456789", 2, 1);
        assert!(
            line.contains("needs 1 more yes vote (1 of the 2 needed cast by this run)"),
            "{line}"
        );
        let line = super::waiting_for_members("abcdef0123456789", 3, 1);
        assert!(
            line.contains("needs 2 more yes votes (1 of the 3"),
            "{line}"
        );
    }
}
