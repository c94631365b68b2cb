//! What to do after a command that did not succeed: one next step per outcome (continue, roll
//! back, fix a named thing, wait), printed as the last line on stderr for people and carried
//! as `next_step` in the JSON documents that end a run (`summary`) or a `plan`.

pub(crate) use crate::output::next_step::{Action, NextStep, print_stderr};

use crate::errors::{AppError, Noted};
use crate::exec::EngineError;
use crate::exit_codes;

/// `error`, with `next` attached.
pub(crate) fn noted(error: AppError, next: NextStep) -> AppError {
    AppError::Next(Box::new(Noted { error, next }))
}

/// The commands a next step names, for the command that was run.
#[derive(Debug, Clone)]
pub(crate) struct Commands {
    /// The command that runs this one again (and continues it).
    pub again: String,
    /// The plan file, as given.
    pub plan: Option<String>,
    /// The flags of this command line that the commands named must carry.
    kept: Kept,
}

impl Commands {
    /// From the process's arguments (`args[0]` is the program): the same command again, with
    /// the plan file from `--plan` (or `NODEROLL_PLAN`).
    pub(crate) fn from_args(args: &[String]) -> Commands {
        let words: Vec<String> = args.iter().skip(1).map(|a| shell_word(a)).collect();
        let mut plan = None;
        for (i, a) in args.iter().enumerate() {
            if a == "--plan" {
                plan = args.get(i + 1).cloned();
            } else if let Some(p) = a.strip_prefix("--plan=") {
                plan = Some(p.to_string());
            }
        }
        let plan = plan.or_else(|| std::env::var(crate::env_vars::PLAN).ok());
        Commands {
            again: format!("noderoll {}", words.join(" ")),
            plan,
            kept: Kept::from_args(args),
        }
    }

    /// A run's: `again` is the command that resumes it (without the note a saved plan's
    /// resume command carries, which is no part of the command).
    pub(crate) fn of_run(again: &str, plan: &std::path::Path) -> Commands {
        let kept = Kept::of_process();
        let again = again.split(" (the saved plan ").next().unwrap_or(again);
        Commands {
            again: kept.carried_by(again),
            plan: Some(plan.display().to_string()),
            kept,
        }
    }

    fn again(&self) -> Option<String> {
        Some(self.again.clone())
    }

    /// The command is `noderoll rollback` (its first word that is not a flag).
    fn rolling_back(&self) -> bool {
        self.again
            .split_whitespace()
            .skip(1)
            .find(|w| !w.starts_with('-'))
            == Some("rollback")
    }

    /// What continues when run again: the rollback, or the command.
    fn continues(&self) -> &'static str {
        if self.rolling_back() {
            "the rollback continues"
        } else {
            "the command continues"
        }
    }

    /// ` (to roll back instead: …)`, unless this already is a rollback.
    fn or_roll_back(&self) -> String {
        if self.rolling_back() {
            String::new()
        } else {
            format!(" (to roll back instead: {})", self.rollback())
        }
    }

    fn plan_arg(&self) -> String {
        match &self.plan {
            Some(p) => format!(" --plan {}", shell_word(p)),
            None => String::new(),
        }
    }

    /// `noderoll rollback --plan P --yes`.
    pub(crate) fn rollback(&self) -> String {
        let command = format!("noderoll rollback{} --yes", self.plan_arg());
        self.kept.carried_by(&command)
    }

    /// `noderoll finalize --plan P --yes`.
    pub(crate) fn finalize(&self) -> String {
        let command = format!("noderoll finalize{} --yes", self.plan_arg());
        self.kept.carried_by(&command)
    }

    /// `noderoll apply --plan P --yes`.
    fn apply(&self) -> String {
        let command = format!("noderoll apply{} --yes", self.plan_arg());
        self.kept.carried_by(&command)
    }

    /// This command again, confirmed (`--yes`).
    fn confirmed(&self) -> String {
        let words: Vec<&str> = self.again.split(' ').collect();
        if words.contains(&"--yes") || words.contains(&"-y") {
            return self.again.clone();
        }
        format!("{} --yes", self.again)
    }

    /// This command again, trying a target that failed here before.
    fn retry_failed(&self) -> String {
        let base = self.again.replace(" --retry-failed-target", "");
        format!("{base} --retry-failed-target")
    }
}

/// The flags of a command line that a command a next step names must carry to do what this
/// one did: `--retry-failed-target` and `--allow-*` (for `apply`, `plan` and `channel
/// apply`, which take them), `--output json` and `--state-dir` (for every command). "The
/// same command" means the same flags: without them it would be refused, or write to
/// another state directory, or print for people in a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    retry_failed: bool,
    allow: Vec<&'static str>,
    json: bool,
    state_dir: Option<String>,
}

impl Kept {
    /// From this process's command line.
    pub(crate) fn of_process() -> Kept {
        Kept::from_args(&std::env::args().collect::<Vec<_>>())
    }

    /// From `args` (`args[0]` is the program).
    pub(crate) fn from_args(args: &[String]) -> Kept {
        let mut kept = Kept::default();
        let value = |i: usize, flag: &str| {
            let a = &args[i];
            match a.strip_prefix(&format!("{flag}=")) {
                Some(v) => Some(v.to_string()),
                None if a == flag => args.get(i + 1).cloned(),
                None => None,
            }
        };
        for (i, a) in args.iter().enumerate().skip(1) {
            match a.as_str() {
                "--retry-failed-target" => kept.retry_failed = true,
                "--allow-downgrade" => kept.allow.push("--allow-downgrade"),
                "--allow-version-jump" => kept.allow.push("--allow-version-jump"),
                _ => {}
            }
            if let Some(v) = value(i, "--output") {
                kept.json = v == "json";
            }
            if let Some(v) = value(i, "--state-dir") {
                kept.state_dir = Some(v);
            }
        }
        kept
    }

    /// `command` with the flags it takes of these that it lacks, appended.
    pub(crate) fn carried_by(&self, command: &str) -> String {
        let takes_apply_flags = ["noderoll apply", "noderoll plan"]
            .iter()
            .any(|c| command == *c || command.starts_with(&format!("{c} ")));
        let channel_apply = command.starts_with("noderoll channel apply ");
        let words: Vec<&str> = command.split(' ').collect();
        let mut out = command.to_string();
        let mut add = |flag: &str, value: Option<&str>| {
            if !words.contains(&flag) {
                out.push(' ');
                out.push_str(flag);
                if let Some(v) = value {
                    out.push(' ');
                    out.push_str(&shell_word(v));
                }
            }
        };
        if self.retry_failed && (takes_apply_flags || channel_apply) {
            add("--retry-failed-target", None);
        }
        if takes_apply_flags {
            for flag in &self.allow {
                add(flag, None);
            }
        }
        if let Some(dir) = &self.state_dir {
            add("--state-dir", Some(dir));
        }
        if self.json && !command.contains("--output=json") {
            add("--output", Some("json"));
        }
        out
    }
}

/// A command refused because it would have asked and there is no terminal to ask on
/// (`message` says so): the next step is the same command with `--yes`, once what it does
/// is reviewed (`review` says how).
pub(crate) fn needs_confirmation(message: String, review: &str) -> AppError {
    let c = Commands::from_args(&std::env::args().collect::<Vec<_>>());
    let next = NextStep::new(
        Action::Fix,
        Some(c.confirmed()),
        format!(
            "the missing confirmation: no terminal to ask on, so --yes confirms; {review} (nothing was changed)"
        ),
    );
    noted(AppError::Usage(message), next)
}

/// The next step after `e`, whose run is re-run by `c.again`.
pub(crate) fn after_error(e: &AppError, c: &Commands) -> NextStep {
    use Action::*;
    let one = |e: &(dyn std::error::Error + 'static)| crate::errors::one_line(e);
    match e {
        AppError::Next(n) => n.next.clone(),
        _ if e.exit_code() == exit_codes::RESUMABLE => NextStep::new(
            Continue,
            c.again(),
            "interrupted at a safe point; the same command continues where it stopped",
        ),
        AppError::Engine(EngineError::Observe(_)) => by_exit_code(e, c),
        AppError::Engine(engine) => after_engine(engine, c),
        AppError::RolledBack { failure, to, .. } => NextStep::new(
            Fix,
            Some(c.retry_failed()),
            format!(
                "why the new node failed ({}); the service runs {to} again and the target is recorded as failed",
                one(failure.as_ref())
            ),
        ),
        AppError::RollbackFailed { rollback, .. } => NextStep::new(
            RollBack,
            Some(c.rollback()),
            format!(
                "the automatic rollback failed ({}); running it again finishes it (`{}` continues the upgrade instead)",
                one(rollback.as_ref()),
                c.apply()
            ),
        ),
        // The error above says why it failed; say only what to do.
        AppError::FailedTarget { .. } => NextStep::new(
            Fix,
            Some(c.retry_failed()),
            "the cause of the earlier failure named above, then try the target again with --retry-failed-target (or aim [target] elsewhere)",
        ),
        AppError::RollbackImpossible(why) => after_rollback_impossible(why, c),
        AppError::Declined => NextStep::new(
            Continue,
            c.again(),
            "nothing was changed; run it again and answer 'yes' to go ahead",
        ),
        AppError::SavedPlan(saved) if saved.replan().is_some() => replan(saved, c),
        AppError::Lock(crate::journal::LockError::Held { .. }) => NextStep::new(
            Wait,
            c.again(),
            "the other run named above to end (`noderoll status` shows the service meanwhile; a lock whose run died is taken over)",
        ),
        AppError::Lock(_) => NextStep::new(
            Fix,
            c.again(),
            "the state directory named above (--state-dir or NODEROLL_STATE_DIR): it must be a directory this user can write",
        ),
        AppError::Timeout(what) => NextStep::new(
            Wait,
            Some(longer_timeout(&c.again, what)),
            "what the command waited for; this command waits twice as long",
        ),
        AppError::Violations(_) | AppError::Output(_) => {
            NextStep::new(Report, None, crate::errors::one_line(e))
        }
        _ => by_exit_code(e, c),
    }
}

/// After a saved plan that no longer holds (the service or its plan file changed): the
/// plan it came from, planned again into the same file.
fn replan(e: &crate::plan::saved::SavedPlanError, c: &Commands) -> NextStep {
    let (plan, saved) = e.replan().expect("a saved plan to make afresh");
    let word = |p: &std::path::Path| shell_word(&p.display().to_string());
    let command = format!("noderoll plan --plan {} --out {}", word(plan), word(saved));
    let changed = match e {
        crate::plan::saved::SavedPlanError::Stale { .. } => "the service",
        _ => "its plan file",
    };
    NextStep::new(
        Action::Fix,
        Some(c.kept.carried_by(&command)),
        format!(
            "{changed} changed since the plan was saved: plan again into the same file, review it, then `{}`",
            c.kept
                .carried_by(&format!("noderoll apply {}", word(saved)))
        ),
    )
}

/// After a rollback that cannot be done: nothing is left to fix when the upgrade was
/// finalized (going back is a new upgrade to the older build); otherwise the reason names
/// what to settle first.
fn after_rollback_impossible(why: &str, c: &Commands) -> NextStep {
    if why.contains("finalized") {
        return NextStep::new(
            Action::Fix,
            Some(c.kept.carried_by(&format!("noderoll plan{}", c.plan_arg()))),
            "nothing to fix: the upgrade is finalized and the service runs its target, so a rollback is no longer possible. To go back, put the previous build in [target] of a plan file and apply it with --allow-downgrade (plan shows the steps first)",
        );
    }
    NextStep::new(
        Action::Fix,
        None,
        "the service's builds first (the error above names them), then roll back",
    )
}

/// `command` with its `--timeout` doubled: the one `what` (the timeout's message, `--timeout
/// X passed …`) names, which is the default when the command gave none.
fn longer_timeout(command: &str, what: &str) -> String {
    let waited = what
        .strip_prefix("--timeout ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| crate::plan::spec::parse_duration(v).ok());
    let Some(waited) = waited else {
        return command.to_string();
    };
    let doubled = format!("{}s", (waited * 2).as_secs().max(1));
    let mut words: Vec<String> = command
        .split(' ')
        .filter(|w| !w.starts_with("--timeout="))
        .map(str::to_string)
        .collect();
    match words.iter().position(|w| w == "--timeout") {
        Some(i) if i + 1 < words.len() => words[i + 1] = doubled,
        _ => words.extend(["--timeout".to_string(), doubled]),
    }
    words.join(" ")
}

/// The next step after a command that exited `code` without an error of its own (a watch
/// whose service's run failed, a `status --until` or `vote --follow` stopped, a sandbox's
/// invariant check).
pub(crate) fn after_exit(code: u8, c: &Commands) -> Option<NextStep> {
    use Action::*;
    let sandbox = c.again.starts_with("noderoll sandbox ");
    Some(match code {
        exit_codes::SUCCESS => return None,
        exit_codes::RESUMABLE => NextStep::new(
            Continue,
            c.again(),
            "stopped before it was done; the same command carries on",
        ),
        _ if sandbox => NextStep::new(
            Report,
            None,
            "the sandbox recorded the invariant violations listed above",
        ),
        _ => NextStep::new(
            Fix,
            c.again(),
            "what the failing run above names (each service's run ends with its own next step)",
        ),
    })
}

/// The next step after a run that stopped.
fn after_engine(e: &EngineError, c: &Commands) -> NextStep {
    use Action::*;
    match e {
        EngineError::Preflight { failed } => NextStep::new(
            Fix,
            c.again(),
            format!(
                "the failed preflight {}: {} (nothing was changed)",
                crate::english::noun_for(failed.len(), "check"),
                failed.join("; ")
            ),
        ),
        EngineError::NotReadyToFinalize { .. } => NextStep::new(
            Apply,
            Some(c.apply()),
            "the upgrade's other steps come before finalize",
        ),
        EngineError::Blocked { step, reason } => NextStep::new(
            Wait,
            c.again(),
            format!(
                "the gate of `{step}` to hold: {reason}; {}{}",
                c.continues(),
                c.or_roll_back()
            ),
        ),
        EngineError::Step { source, .. } => NextStep::new(
            Fix,
            c.again(),
            format!(
                "{}; once fixed, {} from this step{}",
                crate::errors::one_line(source),
                c.continues(),
                c.or_roll_back()
            ),
        ),
        EngineError::LaunchBudgetSpent { .. } => NextStep::new(
            Fix,
            c.again(),
            format!(
                "the launcher or the build (each launched node's fate is named above); {} and launches afresh{}",
                c.continues(),
                c.or_roll_back()
            ),
        ),
        EngineError::Cancelled { .. } => NextStep::new(
            Continue,
            c.again(),
            "interrupted at a safe point; the same command continues where it stopped",
        ),
        EngineError::Observe(_) => NextStep::new(
            Fix,
            c.again(),
            "the way to the service (network, nodes, [service] url); running again continues from where the run stopped",
        ),
        EngineError::Config(why) => NextStep::new(
            Fix,
            c.again(),
            format!("the plan file: {why} (nothing was changed)"),
        ),
    }
}

/// The next step of everything else, by what its exit code says.
fn by_exit_code(e: &AppError, c: &Commands) -> NextStep {
    use Action::*;
    let plan = c.plan.as_deref().unwrap_or("the plan file");
    let input = match e {
        AppError::Settings(_) => "the plan file or option named above".to_string(),
        AppError::Trust(_) => {
            format!("the service certificate named above ([service] service_cert in {plan})")
        }
        AppError::Identity(_) => {
            format!("the member certificate, key or signer named above ([[members]] in {plan})")
        }
        _ => "the input named above".to_string(),
    };
    match e.exit_code() {
        exit_codes::USAGE => NextStep::new(
            Fix,
            c.again(),
            format!("{input} (nothing was sent to the service)"),
        ),
        exit_codes::SERVICE_UNAVAILABLE => NextStep::new(
            Fix,
            c.again(),
            format!(
                "the way to the service: [service] url and service_cert in {plan}, the network, or the nodes themselves"
            ),
        ),
        exit_codes::LOCKED => NextStep::new(
            Fix,
            None,
            "the state directory named above belongs to a newer noderoll: use that version",
        ),
        exit_codes::PREFLIGHT_FAILED => NextStep::new(
            Fix,
            c.again(),
            format!("{} (nothing was changed)", crate::errors::one_line(e)),
        ),
        exit_codes::INTERNAL => NextStep::new(Report, None, crate::errors::one_line(e)),
        _ => NextStep::new(Fix, c.again(), crate::errors::one_line(e)),
    }
}

/// `word` as one shell word: as is when it needs no quoting, else single-quoted.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+:,=@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests;
