//! The watch loop. At start, every upgrade this machine left unsettled (journal) is resumed
//! before anything else; then, every interval, the channel is read once and each idle
//! service judged against it; a service behind the channel is upgraded inside its
//! maintenance windows by a supervised `noderoll channel apply` child (its own lock,
//! journal, preflight, rollback and notifications), one per service and at most
//! `max_concurrent` at once.
//!
//! Children run in their own process group and ignore signals: the supervisor stops them by
//! closing their stdin, which they also see if the supervisor dies, and they stop at their
//! next safe point either way. The loop never prints; it emits [`WatchEvent`]s.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::WatchSettings;
use super::events::{Skipped, Stream, WatchEvent, WatchReporter};
use crate::channel::service::{
    Assessment, LookError, assess, fetch_manifest, open_service, unsettled,
};
use crate::channel::{Manifest, Release};
use crate::exit_codes;
use crate::journal::{Journal, Record};
use crate::wait::Cancel;

/// One watched service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    /// How it is named in output (the plan file's name, or its path if names collide).
    pub label: String,
    /// Its plan file.
    pub plan: PathBuf,
    /// Its `[watch]` table.
    pub settings: WatchSettings,
}

/// What to watch and how.
#[derive(Debug, Clone)]
pub(crate) struct WatchConfig {
    /// The services, in the order given.
    pub services: Vec<Service>,
    /// The channel manifest (file or `https://`).
    pub channel: String,
    /// CA for `https://` channels and packages instead of the system roots.
    pub ca: Option<PathBuf>,
    /// State directory for every service.
    pub state_dir: Option<PathBuf>,
    /// Time between two looks at the channel.
    pub interval: Duration,
    /// Upgrades running at once, at most.
    pub max_concurrent: usize,
    /// One look (after resuming), wait for what it started, then stop.
    pub once: bool,
    /// The noderoll executable the upgrades run as.
    pub program: PathBuf,
    /// Global flags for each upgrade (`--output`, verbosity).
    pub global_args: Vec<String>,
    /// The exit code of a failed look, as the command layer maps it.
    pub exit_code_of: fn(&LookError) -> u8,
}

/// What one service's job was asked to do.
#[derive(Debug, Clone)]
enum Job {
    /// Finish an unsettled upgrade (windows do not apply: it is already running).
    Resume(crate::journal::Unsettled),
    /// Start an upgrade to this release, if a window is still open when a slot frees.
    Upgrade(Release),
}

struct Shared {
    cfg: WatchConfig,
    reporter: Arc<dyn WatchReporter>,
    cancel: Cancel,
    slots: Semaphore,
    busy: Mutex<Vec<bool>>,
}

/// How a run of the loop ended, folded over every job and check.
#[derive(Default)]
struct Tally {
    first_failure: Option<u8>,
    interrupted: bool,
}

impl Tally {
    fn add(&mut self, code: u8) {
        if code == exit_codes::RESUMABLE {
            self.interrupted = true;
        } else if code != exit_codes::SUCCESS && self.first_failure.is_none() {
            self.first_failure = Some(code);
        }
    }
}

/// Run the loop until cancelled (or after one look with `once`). The exit code: 4 if an
/// upgrade was interrupted; with `once`, the first failure's code; else 0.
pub(crate) async fn run(cfg: WatchConfig, reporter: Arc<dyn WatchReporter>, cancel: Cancel) -> u8 {
    let shared = Arc::new(Shared {
        slots: Semaphore::new(cfg.max_concurrent.max(1)),
        busy: Mutex::new(vec![false; cfg.services.len()]),
        cfg,
        reporter,
        cancel: cancel.clone(),
    });
    let cfg = &shared.cfg;
    shared.reporter.report(&WatchEvent::WatchStarted {
        services: cfg.services.iter().map(|s| s.label.clone()).collect(),
        channel: cfg.channel.clone(),
        interval_s: cfg.interval.as_secs_f64(),
        max_concurrent: cfg.max_concurrent,
        once: cfg.once,
    });
    let mut tally = Tally::default();
    let mut jobs: JoinSet<(usize, u8)> = JoinSet::new();
    // Upgrades left unsettled come first, and are finished before any new one starts.
    for (i, s) in cfg.services.iter().enumerate() {
        match unsettled(&s.plan, cfg.state_dir.as_ref()) {
            Ok(Some(u)) => start(&shared, &mut jobs, i, resume_job(&shared, i, u)),
            Ok(None) => {}
            Err(e) => tally.add(check_failed(&shared, Some(i), &e)),
        }
    }
    drain(&shared, &mut jobs, &mut tally).await;
    while !cancel.is_cancelled() {
        look(&shared, &mut jobs, &mut tally).await;
        if cfg.once {
            drain(&shared, &mut jobs, &mut tally).await;
            break;
        }
        let next = tokio::time::Instant::now() + cfg.interval;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => break,
                _ = cancel.cancelled() => break,
                Some(done) = jobs.join_next() => finished(&shared, done, &mut tally),
            }
        }
    }
    if cancel.is_cancelled() {
        shared.reporter.report(&WatchEvent::Stopping {
            running: jobs.len(),
        });
        drain(&shared, &mut jobs, &mut tally).await;
    }
    let exit_code = match (tally.interrupted, cfg.once) {
        (true, _) => exit_codes::RESUMABLE,
        (false, true) => tally.first_failure.unwrap_or(exit_codes::SUCCESS),
        // Running until stopped: failures were reported and retried; stopping is success.
        (false, false) => exit_codes::SUCCESS,
    };
    shared
        .reporter
        .report(&WatchEvent::WatchStopped { exit_code });
    exit_code
}

/// Read the channel once and judge every idle service against it.
async fn look(shared: &Arc<Shared>, jobs: &mut JoinSet<(usize, u8)>, tally: &mut Tally) {
    let cfg = &shared.cfg;
    let manifest: Manifest = match fetch_manifest(&cfg.channel, cfg.ca.as_deref()).await {
        Ok(m) => m,
        Err(e) => {
            tally.add(check_failed(shared, None, &e));
            return;
        }
    };
    for (i, s) in cfg.services.iter().enumerate() {
        if shared.cancel.is_cancelled() {
            return;
        }
        if shared.busy.lock().unwrap_or_else(|e| e.into_inner())[i] {
            continue;
        }
        let seen = assess(
            manifest.clone(),
            &s.plan,
            cfg.state_dir.as_ref(),
            shared.cancel.clone(),
        )
        .await;
        match seen {
            // Stopping cut the look short: not the service's fault.
            Err(_) if shared.cancel.is_cancelled() => return,
            Err(e) => tally.add(check_failed(shared, Some(i), &e)),
            Ok(Assessment::Unsettled(u)) => {
                let job = resume_job(shared, i, u);
                start(shared, jobs, i, job);
            }
            Ok(Assessment::Judged {
                judged,
                upgrade: None,
                running,
            }) => {
                let mut versions = running.versions.clone();
                versions.sort();
                versions.dedup();
                shared.reporter.report(&WatchEvent::Current {
                    service: s.label.clone(),
                    running_versions: versions,
                    skipped: judged
                        .into_iter()
                        .filter(|j| j.failed_here)
                        .map(|j| Skipped {
                            ccf_version: j.release.ccf_version,
                            reason: j.reason,
                        })
                        .collect(),
                });
            }
            Ok(Assessment::Judged {
                upgrade: Some(r), ..
            }) => {
                let now = jiff::Timestamp::now();
                if s.settings.open_at(now) {
                    shared.reporter.report(&WatchEvent::UpgradeAvailable {
                        service: s.label.clone(),
                        release: r.clone(),
                    });
                    start(shared, jobs, i, Job::Upgrade(r));
                } else {
                    deferred(shared, i, &r, now);
                }
            }
        }
    }
}

fn resume_job(shared: &Shared, i: usize, u: crate::journal::Unsettled) -> Job {
    shared.reporter.report(&WatchEvent::Resuming {
        service: shared.cfg.services[i].label.clone(),
        target: u.target.clone(),
        rolling_back: u.rolling_back,
    });
    Job::Resume(u)
}

fn deferred(shared: &Shared, i: usize, release: &Release, now: jiff::Timestamp) {
    let s = &shared.cfg.services[i];
    shared.reporter.report(&WatchEvent::Deferred {
        service: s.label.clone(),
        release: release.clone(),
        next_window: s.settings.next_opening(now).map(|t| t.to_string()),
    });
}

fn check_failed(shared: &Shared, i: Option<usize>, e: &LookError) -> u8 {
    let exit_code = (shared.cfg.exit_code_of)(e);
    shared.reporter.report(&WatchEvent::CheckFailed {
        service: i.map(|i| shared.cfg.services[i].label.clone()),
        error: crate::error_chain::document(e),
        exit_code,
    });
    exit_code
}

/// Mark service `i` busy and run `job` for it once a slot is free.
fn start(shared: &Arc<Shared>, jobs: &mut JoinSet<(usize, u8)>, i: usize, job: Job) {
    shared.busy.lock().unwrap_or_else(|e| e.into_inner())[i] = true;
    let shared = shared.clone();
    jobs.spawn(async move {
        let code = run_job(&shared, i, job).await;
        (i, code)
    });
}

async fn run_job(shared: &Shared, i: usize, job: Job) -> u8 {
    let service = &shared.cfg.services[i];
    let _slot = tokio::select! {
        slot = shared.slots.acquire() => match slot {
            Ok(s) => s,
            Err(_) => return exit_codes::INTERNAL,
        },
        _ = shared.cancel.cancelled() => return exit_codes::SUCCESS,
    };
    let (target, release, resuming) = match job {
        Job::Resume(u) => (u.target, u.release, true),
        Job::Upgrade(release) => {
            // The slot may have come after the window closed.
            let now = jiff::Timestamp::now();
            if !service.settings.open_at(now) {
                deferred(shared, i, &release, now);
                return exit_codes::SUCCESS;
            }
            (release.target().reference().into(), Some(release), false)
        }
    };
    shared.reporter.report(&WatchEvent::UpgradeStarted {
        service: service.label.clone(),
        target,
        release,
        resuming,
    });
    let records_before = journal_len(shared, service);
    let exit_code = run_child(shared, service).await;
    let outcome = match exit_code {
        exit_codes::SUCCESS => {
            last_outcome(shared, service, records_before).unwrap_or_else(|| "succeeded".into())
        }
        exit_codes::RESUMABLE => "interrupted".into(),
        exit_codes::PREFLIGHT_FAILED => "refused".into(),
        exit_codes::LOCKED => "busy".into(),
        exit_codes::ROLLED_BACK => "rolled_back".into(),
        _ => "failed".into(),
    };
    shared.reporter.report(&WatchEvent::UpgradeEnded {
        service: service.label.clone(),
        outcome,
        exit_code,
    });
    exit_code
}

fn journal_of(shared: &Shared, service: &Service) -> Option<Journal> {
    let (_, _, state) = open_service(&service.plan, shared.cfg.state_dir.as_ref()).ok()?;
    Journal::open(&state).ok()
}

fn journal_len(shared: &Shared, service: &Service) -> usize {
    journal_of(shared, service).map_or(0, |j| j.records().len())
}

/// How the upgrade's last run ended, from the journal (the one record every output format
/// shares), if it recorded an end after `since` records.
fn last_outcome(shared: &Shared, service: &Service, since: usize) -> Option<String> {
    let journal = journal_of(shared, service)?;
    journal
        .records()
        .get(since..)?
        .iter()
        .rev()
        .find_map(|r| match r {
            Record::RunEnded { outcome, .. } => Some(outcome.clone()),
            _ => None,
        })
        .or_else(|| Some("nothing_to_do".into()))
}

/// `noderoll --supervised channel apply --plan P --channel C --yes`, its output forwarded
/// line by line. Cancelling closes its stdin: it stops at its next safe point.
async fn run_child(shared: &Shared, service: &Service) -> u8 {
    let cfg = &shared.cfg;
    let mut cmd = Command::new(&cfg.program);
    cmd.args(&cfg.global_args)
        .arg("--supervised")
        .args(["channel", "apply", "--yes", "--plan"])
        .arg(&service.plan)
        .arg("--channel")
        .arg(&cfg.channel);
    if let Some(ca) = &cfg.ca {
        cmd.arg("--ca").arg(ca);
    }
    if let Some(dir) = &cfg.state_dir {
        cmd.arg("--state-dir").arg(dir);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Out of the terminal's process group: Ctrl-C reaches the supervisor only.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            shared.reporter.report(&WatchEvent::Output {
                service: service.label.clone(),
                stream: Stream::Stderr,
                line: format!("error: cannot run {}: {e}", cfg.program.display()),
            });
            return exit_codes::INTERNAL;
        }
    };
    let stdin = child.stdin.take();
    let out = forward(shared, service, Stream::Stdout, child.stdout.take());
    let err = forward(shared, service, Stream::Stderr, child.stderr.take());
    let status = async {
        let waited = tokio::select! {
            s = child.wait() => Some(s),
            _ = shared.cancel.cancelled() => None,
        };
        match waited {
            Some(s) => s,
            None => {
                drop(stdin);
                child.wait().await
            }
        }
    };
    let (status, (), ()) = tokio::join!(status, out, err);
    match status.ok().and_then(|s| s.code()) {
        Some(code) => u8::try_from(code).unwrap_or(exit_codes::INTERNAL),
        // Killed by a signal: whatever it was doing is resumable from its journal.
        None => exit_codes::RESUMABLE,
    }
}

async fn forward(
    shared: &Shared,
    service: &Service,
    stream: Stream,
    from: Option<impl AsyncRead + Unpin>,
) {
    let Some(from) = from else { return };
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        shared.reporter.report(&WatchEvent::Output {
            service: service.label.clone(),
            stream,
            line,
        });
    }
}

fn finished(shared: &Shared, done: Result<(usize, u8), tokio::task::JoinError>, tally: &mut Tally) {
    match done {
        Ok((i, code)) => {
            shared.busy.lock().unwrap_or_else(|e| e.into_inner())[i] = false;
            tally.add(code);
        }
        // A job panicked: its service stays busy (never two upgrades at once); say so.
        Err(e) => {
            shared.reporter.report(&WatchEvent::CheckFailed {
                service: None,
                error: crate::error_chain::ErrorDoc {
                    message: "an upgrade job ended abnormally".into(),
                    causes: vec![e.to_string()],
                },
                exit_code: exit_codes::INTERNAL,
            });
            tally.add(exit_codes::INTERNAL);
        }
    }
}

async fn drain(shared: &Shared, jobs: &mut JoinSet<(usize, u8)>, tally: &mut Tally) {
    while let Some(done) = jobs.join_next().await {
        finished(shared, done, tally);
    }
}
