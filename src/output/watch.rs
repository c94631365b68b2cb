//! Rendering `noderoll watch`: human lines (time-stamped; each upgrade's own lines prefixed
//! with its service) or JSON Lines (each upgrade's events carry a `service` field).

use std::io::Write;

use serde_json::Value;

use super::events::write_line;
use super::schema::{Doc, record};
use crate::watch::events::{Stream, WatchEvent, WatchReporter};

/// Human lines: the loop's on stdout, each upgrade's on the stream it used.
pub(crate) struct HumanWatchReporter {
    /// Hide routine lines (started, current); keep decisions, outcomes and failures.
    pub quiet: bool,
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

/// `600` → `10m`, `3600` → `1h`, `1.5` → `1.5s`.
fn interval(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if (seconds - whole as f64).abs() > f64::EPSILON || whole < 60 {
        format!("{seconds}s")
    } else if whole.is_multiple_of(3600) {
        format!("{}h", whole / 3600)
    } else if whole.is_multiple_of(60) {
        format!("{}m", whole / 60)
    } else {
        format!("{whole}s")
    }
}

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

fn err(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
}

impl WatchReporter for HumanWatchReporter {
    fn report(&self, e: &WatchEvent) {
        match self.line(e) {
            Some((Stream::Stdout, line)) => out(&line),
            Some((Stream::Stderr, line)) => err(&line),
            None => {}
        }
    }
}

impl HumanWatchReporter {
    /// The line for `e` and the stream it goes to (none: quiet, or nothing to say).
    fn line(&self, e: &WatchEvent) -> Option<(Stream, String)> {
        let t = now();
        match e {
            WatchEvent::WatchStarted {
                services,
                channel,
                interval_s,
                max_concurrent,
                once,
            } if !self.quiet => stdout_line(&format!(
                "{t} watching {} on channel {channel} {}, at most {} at once",
                services.join(", "),
                if *once {
                    "once".to_string()
                } else {
                    format!("every {}", interval(*interval_s))
                },
                super::count(*max_concurrent, "upgrade")
            )),
            WatchEvent::WatchStarted { .. } => None,
            WatchEvent::Resuming {
                service,
                target,
                rolling_back,
            } => stdout_line(&format!(
                "{t} [{service}] resuming the {} {} that an earlier run left unfinished",
                if *rolling_back {
                    "rollback from"
                } else {
                    "upgrade to"
                },
                target.describe()
            )),
            WatchEvent::Current {
                service,
                running_versions,
                skipped,
            } if !self.quiet || !skipped.is_empty() => {
                let mut line = format!(
                    "{t} [{service}] current: runs {}",
                    running_versions.join(", ")
                );
                for s in skipped {
                    line.push_str(&format!("; skipping {}: {}", s.ccf_version, s.reason));
                }
                stdout_line(&line)
            }
            WatchEvent::Current { .. } => None,
            WatchEvent::Deferred {
                service,
                release,
                next_window,
            } => stdout_line(&format!(
                "{t} [{service}] {} is available; deferred: no maintenance window is open{}",
                release.ccf_version,
                next_window
                    .as_deref()
                    .map(|w| format!(" (next opens {w})"))
                    .unwrap_or_default()
            )),
            WatchEvent::UpgradeAvailable { service, release } => stdout_line(&format!(
                "{t} [{service}] {} is available",
                release.ccf_version
            )),
            _ => upgrade_line(e, &t),
        }
    }
}

/// The lines of upgrades and of the loop's end.
fn upgrade_line(e: &WatchEvent, t: &str) -> Option<(Stream, String)> {
    match e {
        WatchEvent::UpgradeStarted {
            service,
            target,
            release,
            resuming,
        } => stdout_line(&format!(
            "{t} [{service}] {} {}",
            if *resuming {
                "resuming"
            } else {
                "upgrading to"
            },
            // A channel's release by its version; a plan file's own target described.
            release
                .as_ref()
                .map_or_else(|| target.describe(), |r| r.ccf_version.clone())
        )),
        WatchEvent::Output {
            service,
            stream: Stream::Stdout,
            line,
        } => stdout_line(&format!("[{service}] {line}")),
        WatchEvent::Output {
            service,
            stream: Stream::Stderr,
            line,
        } => stderr_line(&format!("[{service}] {line}")),
        WatchEvent::UpgradeEnded {
            service,
            outcome,
            exit_code,
        } => stdout_line(&format!(
            "{t} [{service}] upgrade ended: {outcome} (exit {exit_code})"
        )),
        WatchEvent::CheckFailed {
            service,
            error,
            exit_code: _,
        } => stderr_line(&format!(
            "{t} [{}] could not look; trying again next interval: {}",
            service.as_deref().unwrap_or("channel"),
            error.render()
        )),
        WatchEvent::Stopping { running } => stdout_line(&format!(
            "{t} stopping: {} {} at {} next safe point",
            super::count(*running, "upgrade"),
            if *running == 1 { "stops" } else { "stop" },
            if *running == 1 { "its" } else { "their" },
        )),
        WatchEvent::WatchStopped { exit_code } => {
            stdout_line(&format!("{t} stopped (exit {exit_code})"))
        }
        // The loop's own events are `line`'s.
        _ => None,
    }
}

fn stdout_line(line: &str) -> Option<(Stream, String)> {
    Some((Stream::Stdout, line.to_string()))
}

fn stderr_line(line: &str) -> Option<(Stream, String)> {
    Some((Stream::Stderr, line.to_string()))
}

/// JSON Lines: the loop's events as `watch_*`-style records; an upgrade's own JSON events
/// pass through with a `plan` field added (the service's label;
/// their own `service` field, in summaries, is the service's status document).
pub(crate) struct JsonWatchReporter;

impl WatchReporter for JsonWatchReporter {
    fn report(&self, e: &WatchEvent) {
        if let WatchEvent::Output {
            service,
            stream: Stream::Stdout,
            line,
        } = e
            && let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(line)
        {
            m.insert("plan".into(), service.clone().into());
            write_line(&Value::Object(m));
            return;
        }
        write_line(&record(Doc::Watch, e));
    }
}

#[cfg(test)]
mod tests {
    use super::{HumanWatchReporter, interval};
    use crate::output::events::tests::assert_lines_cover_the_schema;
    use crate::output::schema::{Doc, record};
    use crate::watch::events::{Skipped, Stream, WatchEvent};

    fn release() -> crate::channel::Release {
        crate::channel::Release {
            ccf_version: "ccf-7.0.3".into(),
            platform: crate::plan::CodePlatform::Virtual,
            host_data: "c3".repeat(32),
            measurement: None,
            security_policy: None,
            package: None,
        }
    }

    /// One event of every type (the match has no wildcard: a new variant does not compile
    /// until it is given an index, and then fails `covered` until it has an example).
    fn examples() -> Vec<WatchEvent> {
        let s = String::from;
        let target = crate::plan::TargetRef {
            platform: crate::plan::CodePlatform::Snp,
            host_data: "cd".repeat(32),
            ccf_version: None,
        };
        let release = release();
        let examples = vec![
            WatchEvent::WatchStarted {
                services: vec![s("a")],
                channel: s("stable"),
                interval_s: 600.0,
                max_concurrent: 1,
                once: false,
            },
            WatchEvent::Resuming {
                service: s("a"),
                target: target.into(),
                rolling_back: true,
            },
            WatchEvent::Current {
                service: s("a"),
                running_versions: vec![s("ccf-7.0.2")],
                skipped: vec![Skipped {
                    ccf_version: s("ccf-7.0.3"),
                    reason: s("r"),
                }],
            },
            WatchEvent::Deferred {
                service: s("a"),
                release: release.clone(),
                next_window: Some(s("2026-12-05T22:00:00Z")),
            },
            WatchEvent::UpgradeAvailable {
                service: s("a"),
                release: release.clone(),
            },
            WatchEvent::UpgradeStarted {
                service: s("a"),
                target: release.target().reference().into(),
                release: Some(release),
                resuming: false,
            },
            WatchEvent::Output {
                service: s("a"),
                stream: Stream::Stderr,
                line: s("error: x"),
            },
            WatchEvent::UpgradeEnded {
                service: s("a"),
                outcome: s("upgraded"),
                exit_code: 0,
            },
            WatchEvent::CheckFailed {
                service: None,
                error: crate::error_chain::ErrorDoc {
                    message: s("cannot fetch"),
                    causes: vec![s("refused")],
                },
                exit_code: 69,
            },
            WatchEvent::Stopping { running: 1 },
            WatchEvent::WatchStopped { exit_code: 4 },
        ];
        let mut covered = [false; 11];
        for e in &examples {
            covered[index(e)] = true;
        }
        assert!(
            covered.iter().all(|c| *c),
            "a watch event type has no example"
        );
        examples
    }

    /// Each variant's index (no wildcard: a new variant must be given one).
    fn index(e: &WatchEvent) -> usize {
        match e {
            WatchEvent::WatchStarted { .. } => 0,
            WatchEvent::Resuming { .. } => 1,
            WatchEvent::Current { .. } => 2,
            WatchEvent::Deferred { .. } => 3,
            WatchEvent::UpgradeAvailable { .. } => 4,
            WatchEvent::UpgradeStarted { .. } => 5,
            WatchEvent::Output { .. } => 6,
            WatchEvent::UpgradeEnded { .. } => 7,
            WatchEvent::CheckFailed { .. } => 8,
            WatchEvent::Stopping { .. } => 9,
            WatchEvent::WatchStopped { .. } => 10,
        }
    }

    #[test]
    fn every_watch_event_type_has_a_schema_branch_and_every_branch_an_event() {
        assert_lines_cover_the_schema(
            "watch-line",
            "/$defs/watch_event/oneOf",
            examples().iter().map(|e| record(Doc::Watch, e)),
        );
    }

    #[test]
    fn human_lines_name_a_release_by_its_version_and_a_plan_target_by_its_description() {
        let reporter = HumanWatchReporter { quiet: false };
        // The line after its timestamp.
        let text = |e: &WatchEvent| {
            reporter
                .line(e)
                .unwrap()
                .1
                .split_once(' ')
                .unwrap()
                .1
                .to_string()
        };
        let examples = examples();
        let lines: Vec<String> = examples[2..=5].iter().map(text).collect();
        assert_eq!(
            lines,
            [
                "[a] current: runs ccf-7.0.2; skipping ccf-7.0.3: r",
                "[a] ccf-7.0.3 is available; deferred: no maintenance window is open (next opens 2026-12-05T22:00:00Z)",
                "[a] ccf-7.0.3 is available",
                "[a] upgrading to ccf-7.0.3",
            ]
        );
        let WatchEvent::Resuming { target, .. } = &examples[1] else {
            panic!("examples[1] is watch_resuming")
        };
        let resumed = WatchEvent::UpgradeStarted {
            service: "a".into(),
            target: target.clone(),
            release: None,
            resuming: true,
        };
        assert_eq!(
            text(&resumed),
            format!("[a] resuming {}", target.describe())
        );
    }

    #[test]
    fn intervals_read_as_they_were_written() {
        assert_eq!(interval(600.0), "10m");
        assert_eq!(interval(3600.0), "1h");
        assert_eq!(interval(90.0), "90s");
        assert_eq!(interval(1.0), "1s");
        assert_eq!(interval(1.5), "1.5s");
    }
}
