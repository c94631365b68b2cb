//! `noderoll watch` against sandboxes with a local channel file: releases picked up while it
//! runs, packages that do not verify, releases that fail and are skipped, the concurrency
//! limit over two services, resuming after the watcher is killed, maintenance windows.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use noderoll::sandbox::Platform;
use serde_json::{Value, json};

use crate::common::*;

/// A `noderoll watch --output json` process; its events are collected as they come.
struct Watcher {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    /// Lines not valid under `schemas/watch-line.json`, and why.
    off_contract: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Watcher {
    fn start(state: &Path, args: &[&str]) -> Watcher {
        use std::io::{BufRead, Read};
        let mut child = Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .arg("watch")
            .args(args)
            .args(["--output", "json"])
            .env_remove("NODEROLL_PLAN")
            .env("NODEROLL_STATE_DIR", state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (events, stderr, off_contract) = (Arc::default(), Arc::default(), Arc::default());
        let out = child.stdout.take().unwrap();
        let sink: Arc<Mutex<Vec<Value>>> = Arc::clone(&events);
        let refused: Arc<Mutex<Vec<String>>> = Arc::clone(&off_contract);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if let Err(e) = output_schema::check("watch-line", &v) {
                    refused.lock().unwrap().push(e);
                }
                sink.lock().unwrap().push(v);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let text: Arc<Mutex<String>> = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            text.lock().unwrap().push_str(&s);
        });
        Watcher {
            child,
            events,
            off_contract,
            stderr,
        }
    }

    /// `watch --plan PLAN --channel CHANNEL --interval 1s`.
    fn every_second(state: &Path, plan: &Path, channel: &Path) -> Watcher {
        Watcher::start(
            state,
            &[
                "--plan",
                s(plan),
                "--channel",
                s(channel),
                "--interval",
                "1s",
            ],
        )
    }

    /// Wait (bounded) until the upgrade of `plan` has trusted its new nodes.
    async fn until_trusted(&self, plan: &str) {
        self.until("the new nodes trusted", 60, |e| {
            e["type"] == "step_finished"
                && e["plan"] == plan
                && e["description"].as_str().unwrap_or("").starts_with("trust")
        })
        .await;
    }

    /// The events so far (failing the test if one is not on the contract).
    fn events(&self) -> Vec<Value> {
        let refused = self.off_contract.lock().unwrap();
        assert!(refused.is_empty(), "{}", refused.join("\n"));
        self.events.lock().unwrap().clone()
    }

    /// Wait (bounded) until an event matches `pred`.
    async fn until(&self, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        eventually(what, secs, || {
            let found = self.events().into_iter().find(|e| pred(e));
            async move { found }
        })
        .await
    }

    fn signal(&self, sig: &str) {
        Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// SIGKILL the watcher (not its upgrades) and wait until it is gone.
    async fn kill(mut self) {
        self.signal("-KILL");
        eventually("the killed watch to be gone", 30, || {
            let gone = self.child.try_wait().unwrap().map(|_| ());
            async move { gone }
        })
        .await;
    }

    /// SIGTERM with no upgrade running: a clean stop (exit 0); its events.
    async fn stop_idle(self) -> Vec<Value> {
        self.signal("-TERM");
        let (code, stderr, events) = self.exit().await;
        assert_eq!(code, 0, "{stderr}");
        events
    }

    /// Wait (bounded) for the process to exit; its exit code and stderr.
    async fn exit(mut self) -> (i32, String, Vec<Value>) {
        let status = eventually("watch to exit", 120, || {
            let s = self.child.try_wait().unwrap();
            async move { s }
        })
        .await;
        // The reader threads end with the pipes; give them a bounded moment to drain.
        let events = eventually("watch's output to be read", 10, || {
            let done = self
                .events()
                .iter()
                .any(|e| e["type"] == "watch_stopped")
                .then(|| self.events());
            async move { done }
        })
        .await;
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), stderr, events)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LOOP_EVENTS: &[&str] = &[
    "watch_started",
    "watch_resuming",
    "watch_current",
    "watch_deferred",
    "watch_upgrade_available",
    "watch_upgrade_started",
    "watch_upgrade_ended",
    "watch_check_failed",
    "watch_stopping",
    "watch_stopped",
];

/// The loop's own events (not the upgrades' passed-through ones), as `(type, service)`.
fn decisions(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| LOOP_EVENTS.contains(&e["type"].as_str().unwrap_or("")))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["plan"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

fn is(e: &Value, kind: &str, service: &str) -> bool {
    e["type"] == kind && e["plan"] == service
}

/// A channel file with the sandbox's current build and `releases` (version, host data).
fn write_channel(path: &Path, r: &RunningSandbox, releases: &[Value]) {
    let cur = r.sandbox.info().current_build.clone();
    let mut all = vec![json!({
        "ccf_version": cur.ccf_version, "platform": "virtual", "host_data": cur.host_data
    })];
    all.extend(releases.iter().cloned());
    let doc = json!({"schema_version": 1, "channel": "stable", "releases": all});
    // Replaced atomically: the watcher may be reading it.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, doc.to_string()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn release(version: &str, host: &str) -> Value {
    json!({"ccf_version": version, "platform": "virtual", "host_data": host.repeat(32)})
}

/// The channel plan of `r` (no [target]) with extra TOML appended and edits applied.
fn watched_plan(r: &RunningSandbox, name: &str, extra: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(channel_plan(r)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in the plan");
        text = text.replace(from, to);
    }
    let path = r.dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

async fn versions(r: &RunningSandbox) -> Vec<String> {
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let mut out = Vec::new();
    for n in r.client.nodes(&at, &Default::default()).await.unwrap() {
        let addr: noderoll::ccf::NodeAddr = n.rpc_address().unwrap().parse().unwrap();
        out.push(r.client.version(&addr).await.unwrap().ccf_version);
    }
    out
}

/// `channel apply --plan PLAN --channel CHANNEL --yes`.
fn channel_apply<'a>(plan: &'a Path, channel: &'a Path) -> [&'a str; 7] {
    [
        "channel",
        "apply",
        "--plan",
        s(plan),
        "--channel",
        s(channel),
        "--yes",
    ]
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn a_release_published_while_watching_is_applied_then_the_service_is_current() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let channel = r.dir.path().join("stable.json");
    write_channel(&channel, &r, &[]);
    // A window that is always open: the upgrade is not deferred.
    let plan = watched_plan(&r, "svc", "[watch]\nwindows = [\"00:00-24:00 UTC\"]\n", &[]);
    let w = Watcher::every_second(state.path(), &plan, &channel);
    w.until("the service judged current", 30, |e| {
        is(e, "watch_current", "svc")
    })
    .await;
    assert_eq!(r.launched_and_no_duplicate_proposal().0, 0);

    write_channel(&channel, &r, &[release("ccf-7.0.3", "c3")]);
    let ended = w
        .until("the upgrade to end", 60, |e| {
            is(e, "watch_upgrade_ended", "svc")
        })
        .await;
    assert_eq!(ended["outcome"], "upgraded", "{}", w.stderr.lock().unwrap());
    // The upgrade's own events pass through, marked with their service.
    assert!(
        w.events()
            .iter()
            .any(|e| e["type"] == "run_started" && e["plan"] == "svc"),
        "{:?}",
        w.events()
    );
    // The next look finds it current, running the release.
    w.until("current on ccf-7.0.3", 30, |e| {
        is(e, "watch_current", "svc") && e["running_versions"] == json!(["ccf-7.0.3"])
    })
    .await;
    assert!(versions(&r).await.iter().all(|v| v == "ccf-7.0.3"));

    let events = w.stop_idle().await;
    let started = count(&events, "watch_upgrade_started");
    assert_eq!(started, 1, "one upgrade, then current: {events:?}");
    assert_eq!(r.launched_and_no_duplicate_proposal(), (3, true));
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_package_that_does_not_match_is_refused_without_change_and_skipped_after() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let ca = ServiceIdentity::new();
    let ca_file = r.dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let router = axum::Router::new().route(
        "/pkg.tar.gz",
        axum::routing::get(|| async { "not the announced bytes" }),
    );
    let server = TestServer::start(router, &ca.node_cert()).await;
    let announced = sha256_hex(b"the announced bytes");
    let mut bad = release("ccf-7.0.3", "00");
    bad["host_data"] = announced.clone().into();
    bad["package"] = json!({
        "url": format!("https://{}/pkg.tar.gz", server.addr),
        "sha256": announced,
    });
    let channel = r.dir.path().join("stable.json");
    write_channel(&channel, &r, &[bad]);
    let plan = watched_plan(&r, "svc", "", &[]);
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let args = [
        "--plan",
        s(&plan),
        "--channel",
        s(&channel),
        "--ca",
        s(&ca_file),
        "--once",
    ];

    let (code, stderr, events) = Watcher::start(state.path(), &args).exit().await;
    assert_eq!(code, 5, "{stderr}");
    let ended = events
        .iter()
        .find(|e| is(e, "watch_upgrade_ended", "svc"))
        .unwrap();
    assert_eq!(ended["outcome"], "refused");
    // The upgrade's error reaches the stream, marked with its service.
    assert!(
        events.iter().any(|e| is(e, "watch_output", "svc")
            && e["stream"] == "stderr"
            && e["line"].as_str().unwrap().starts_with("error:")),
        "{events:?}"
    );
    assert_eq!(
        r.sandbox.with_world(|w| w.write_requests),
        writes,
        "nothing changed"
    );

    // The next look skips it (recorded as failed here) and changes nothing either.
    let (code, stderr, events) = Watcher::start(state.path(), &args).exit().await;
    assert_eq!(code, 0, "{stderr}");
    let current = events
        .iter()
        .find(|e| is(e, "watch_current", "svc"))
        .unwrap();
    assert_eq!(current["skipped"][0]["ccf_version"], "ccf-7.0.3");
    assert!(!events.iter().any(|e| e["type"] == "watch_upgrade_started"));
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
}

/// A sandbox whose channel offers ccf-7.0.3, whose next new node never joins (found out
/// within a 3 s step timeout): its state dir, channel and plan.
async fn a_release_that_never_joins() -> (RunningSandbox, tempfile::TempDir, PathBuf, PathBuf) {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let channel = r.dir.path().join("stable.json");
    write_channel(&channel, &r, &[release("ccf-7.0.3", "c3")]);
    let notify = "[notify]\ncommand = \"cat >> notified.jsonl\"\nevents = [\"rolled_back\"]\n";
    let plan = watched_plan(
        &r,
        "svc",
        notify,
        &[("step_timeout = \"2m\"", "step_timeout = \"3s\"")],
    );
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::NeverJoinNext,
    )
    .unwrap();
    (r, state, channel, plan)
}

#[tokio::test]
async fn a_release_whose_node_never_joins_is_rolled_back_and_skipped_on_the_next_look() {
    let (r, state, channel, plan) = a_release_that_never_joins().await;
    let w = Watcher::every_second(state.path(), &plan, &channel);
    let ended = w
        .until("the failed upgrade to end", 60, |e| {
            is(e, "watch_upgrade_ended", "svc")
        })
        .await;
    assert_eq!(ended["outcome"], "rolled_back");
    assert_eq!(ended["exit_code"], 7);
    // The next look skips the release: the service stays on its build.
    let current = w
        .until("the next look", 30, |e| is(e, "watch_current", "svc"))
        .await;
    assert_eq!(
        current["skipped"][0]["ccf_version"], "ccf-7.0.3",
        "{current}"
    );
    assert!(
        current["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("failed on this service"),
        "{current}"
    );
    let old = r.sandbox.info().current_build.ccf_version.clone();
    assert!(versions(&r).await.iter().all(|v| *v == old));
    let events = w.stop_idle().await;
    let started = count(&events, "watch_upgrade_started");
    assert_eq!(started, 1, "never tried again: {events:?}");
    // The plan's notification went out as it does for `apply`.
    let sent = std::fs::read_to_string(r.dir.path().join("notified.jsonl")).unwrap();
    let sent = output_schema::lines("run-stream", &sent).remove(0);
    assert_eq!(sent["outcome"], "rolled_back", "{sent}");
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// Two sandboxes (`alpha`, `beta`) on the same build, a channel offering ccf-7.0.3.
struct Fleet {
    a: RunningSandbox,
    b: RunningSandbox,
    state: tempfile::TempDir,
    channel: PathBuf,
    pa: PathBuf,
    pb: PathBuf,
}

impl Fleet {
    /// `watch --plan alpha --plan beta --once --max-concurrent LIMIT`.
    fn watch_once(&self, limit: &str) -> Watcher {
        Watcher::start(
            self.state.path(),
            &[
                "--plan",
                s(&self.pa),
                "--plan",
                s(&self.pb),
                "--channel",
                s(&self.channel),
                "--once",
                "--max-concurrent",
                limit,
            ],
        )
    }
}

async fn two_services_behind() -> Fleet {
    let (a, b) = tokio::join!(
        start_sandbox(3, Platform::Virtual, 5.0),
        start_sandbox(3, Platform::Virtual, 5.0)
    );
    let channel = a.dir.path().join("stable.json");
    write_channel(&channel, &a, &[release("ccf-7.0.3", "c3")]);
    let (pa, pb) = (
        watched_plan(&a, "alpha", "", &[]),
        watched_plan(&b, "beta", "", &[]),
    );
    Fleet {
        a,
        b,
        state: tempfile::tempdir().unwrap(),
        channel,
        pa,
        pb,
    }
}

#[tokio::test]
async fn two_services_are_upgraded_within_the_concurrency_limit() {
    let fleet = two_services_behind().await;
    let Fleet { a, b, channel, .. } = &fleet;
    let (code, stderr, events) = fleet.watch_once("1").exit().await;
    assert_eq!(code, 0, "{stderr}");
    // One slot: each upgrade ends before the other starts.
    assert_eq!(
        upgrades(&events),
        [
            ("watch_upgrade_started", "alpha"),
            ("watch_upgrade_ended", "alpha"),
            ("watch_upgrade_started", "beta"),
            ("watch_upgrade_ended", "beta"),
        ]
    );
    for r in [&a, &b] {
        assert!(versions(r).await.iter().all(|v| v == "ccf-7.0.3"));
    }

    // A newer release: with room for two, both upgrades run at once.
    write_channel(channel, a, &[release("ccf-7.0.4", "c4")]);
    let (code, stderr, events) = fleet.watch_once("2").exit().await;
    assert_eq!(code, 0, "{stderr}");
    let kinds: Vec<&str> = upgrades(&events).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            "watch_upgrade_started",
            "watch_upgrade_started",
            "watch_upgrade_ended",
            "watch_upgrade_ended"
        ]
    );
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == "watch_upgrade_ended")
            .all(|e| e["outcome"] == "upgraded"),
        "{events:?}"
    );
    for r in [&a, &b] {
        assert!(versions(r).await.iter().all(|v| v == "ccf-7.0.4"));
        assert_eq!(r.sandbox.violations(), vec![]);
    }
}

/// The upgrades' starts and ends, in order: `(type, service)`.
fn upgrades(events: &[Value]) -> Vec<(&str, &str)> {
    events
        .iter()
        .filter(|e| e["type"] == "watch_upgrade_started" || e["type"] == "watch_upgrade_ended")
        .map(|e| (e["type"].as_str().unwrap(), e["plan"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn killed_mid_upgrade_a_restarted_watch_resumes_that_upgrade_first() {
    let fleet = two_services_behind().await;
    let Fleet {
        a,
        b,
        state,
        channel,
        pa,
        ..
    } = &fleet;
    // Only alpha at first: killed once its new nodes are trusted.
    let w = Watcher::every_second(state.path(), pa, channel);
    w.until_trusted("alpha").await;
    w.kill().await;
    // Its upgrade saw the watcher die (stdin closed) and stopped at a safe point.
    eventually("alpha's run to record its interruption", 60, || {
        let state = state.path().to_path_buf();
        let plan = pa.clone();
        async move {
            let run =
                noderoll_in(&state, &["journal", "--plan", s(&plan), "--output", "json"]).await;
            run.stdout
                .lines()
                .last()
                .filter(|l| l.contains("\"outcome\":\"interrupted\""))
                .map(|_| ())
        }
    })
    .await;
    // `channel check` says so (and that it comes first), in JSON with the target whole.
    let check = noderoll_in(
        state.path(),
        &[
            "channel",
            "check",
            "--plan",
            s(pa),
            "--channel",
            s(channel),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(check.code, 2, "{}", check.stderr);
    let doc = output_schema::lines("channel-check", &check.stdout).remove(0);
    assert_eq!(doc["in_progress"]["rolling_back"], false, "{doc}");
    assert_eq!(doc["in_progress"]["target"]["platform"], "virtual", "{doc}");
    assert_eq!(
        doc["in_progress"]["release"]["ccf_version"], "ccf-7.0.3",
        "{doc}"
    );
    let check = noderoll_in(
        state.path(),
        &["channel", "check", "--plan", s(pa), "--channel", s(channel)],
    )
    .await;
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(
        check
            .stdout
            .contains("In progress: an earlier run of this machine left the upgrade to"),
        "{}",
        check.stdout
    );
    let mid = a.launched_and_no_duplicate_proposal().0;
    assert_eq!(mid, 3, "the three new nodes were launched before the kill");

    // Restarted with both services: alpha's upgrade is finished before beta is looked at.
    let (code, stderr, events) = fleet.watch_once("2").exit().await;
    assert_eq!(code, 0, "{stderr}");
    let decisions = decisions(&events);
    let expected: Vec<(String, String)> = [
        ("watch_started", ""),
        ("watch_resuming", "alpha"),
        ("watch_upgrade_started", "alpha"),
        ("watch_upgrade_ended", "alpha"),
        ("watch_current", "alpha"),
        ("watch_upgrade_available", "beta"),
        ("watch_upgrade_started", "beta"),
        ("watch_upgrade_ended", "beta"),
        ("watch_stopped", ""),
    ]
    .iter()
    .map(|(k, s)| (k.to_string(), s.to_string()))
    .collect();
    assert_eq!(decisions, expected);
    // Alpha's upgrade is a resume, beta's a new one; both name the release whole.
    let started: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "watch_upgrade_started")
        .map(|e| {
            (
                e["plan"].clone(),
                e["resuming"].clone(),
                e["release"]["ccf_version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        started,
        [
            (json!("alpha"), json!(true), json!("ccf-7.0.3")),
            (json!("beta"), json!(false), json!("ccf-7.0.3"))
        ]
    );
    for r in [&a, &b] {
        assert!(versions(r).await.iter().all(|v| v == "ccf-7.0.3"));
        assert_eq!(r.sandbox.violations(), vec![]);
    }
    // Nothing launched twice, no proposal made twice.
    assert_eq!(a.launched_and_no_duplicate_proposal(), (3, true));
}

#[tokio::test]
async fn outside_its_windows_an_upgrade_is_deferred_and_nothing_changes() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let channel = r.dir.path().join("stable.json");
    write_channel(&channel, &r, &[release("ccf-7.0.3", "c3")]);
    // A one-hour window three days from now: not open today, nor still open from yesterday.
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::ToSpan::days(3))
        .unwrap()
        .strftime("%a")
        .to_string();
    let window = format!("[watch]\nwindows = [\"{day} 02:00-03:00 UTC\"]\n");
    let plan = watched_plan(&r, "svc", &window, &[]);
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let (code, stderr, events) = Watcher::start(
        state.path(),
        &["--plan", s(&plan), "--channel", s(&channel), "--once"],
    )
    .exit()
    .await;
    assert_eq!(code, 0, "{stderr}");
    let deferred = events
        .iter()
        .find(|e| is(e, "watch_deferred", "svc"))
        .unwrap();
    // The release whole, as the channel published it.
    assert_eq!(deferred["release"], release("ccf-7.0.3", "c3"));
    let next: jiff::Timestamp = deferred["next_window"].as_str().unwrap().parse().unwrap();
    let next = next.to_zoned(jiff::tz::TimeZone::UTC);
    assert_eq!(
        (next.strftime("%a").to_string(), next.hour(), next.minute()),
        (day, 2, 0)
    );
    assert!(!events.iter().any(|e| e["type"] == "watch_upgrade_started"));
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
}

#[tokio::test]
async fn channel_apply_finishes_an_interrupted_rollback_of_a_release_before_anything_else() {
    let (r, state, channel, plan) = a_release_that_never_joins().await;
    let apply = channel_apply(&plan, &channel);
    // Killed as soon as its automatic rollback has begun removing what it launched.
    let kill = Trigger::new("step_started", 1, "", |_, pid| {
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
    });
    let started = Trigger::new("rollback_started", 1, "", |_, _| {});
    let (_, fired) = run_with(&apply, state.path(), vec![started, kill]).await;
    assert_eq!(fired, 2, "the rollback never started");

    // Meanwhile the channel publishes something newer: the rollback still comes first.
    write_channel(
        &channel,
        &r,
        &[release("ccf-7.0.3", "c3"), release("ccf-7.0.4", "c4")],
    );
    let (run, _) = run_with(&apply, state.path(), vec![]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    output_schema::lines("run-stream", &run.stdout);
    let first: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "resuming", "{}", run.stdout);
    assert_eq!(first["target"]["ccf_version"], "ccf-7.0.3", "{first}");
    assert_eq!(first["rolling_back"], true);
    assert_eq!(first["release"], release("ccf-7.0.3", "c3"), "{first}");
    let last: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "rolled_back", "{}", run.stdout);
    let old = r.sandbox.info().current_build.ccf_version.clone();
    assert!(versions(&r).await.iter().all(|v| *v == old));
    assert_eq!(r.sandbox.violations(), vec![]);

    // Settled: the next apply moves to the newest release (ccf-7.0.3 stays skipped).
    let (run, _) = run_with(&apply, state.path(), vec![]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(versions(&r).await.iter().all(|v| v == "ccf-7.0.4"));
}

#[tokio::test]
async fn bad_watch_input_is_refused_at_start_naming_the_fix() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let channel = r.dir.path().join("stable.json");
    write_channel(&channel, &r, &[release("ccf-7.0.3", "c3")]);
    let good = watched_plan(&r, "svc", "", &[]);
    let bad_window = watched_plan(
        &r,
        "late",
        "[watch]\nwindows = [\"Sat 22:00-26:00 UTC\"]\n",
        &[],
    );
    let same_service = r.dir.path().join("again.toml");
    std::fs::copy(&good, &same_service).unwrap();
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["watch", "--plan", s(&bad_window), "--channel", s(&channel)],
            "[watch] windows: window \"Sat 22:00-26:00 UTC\": `26:00` is not a time",
        ),
        // Every command that loads the plan refuses it, not only watch.
        (
            vec![
                "channel",
                "check",
                "--plan",
                s(&bad_window),
                "--channel",
                s(&channel),
            ],
            "`26:00` is not a time",
        ),
        (
            vec![
                "watch",
                "--plan",
                s(&good),
                "--plan",
                s(&same_service),
                "--channel",
                s(&channel),
            ],
            "name the same service",
        ),
        (
            vec![
                "watch",
                "--plan",
                s(&good),
                "--channel",
                s(&channel),
                "--interval",
                "0s",
            ],
            "--interval: at least 1s",
        ),
        (
            vec![
                "watch",
                "--plan",
                s(&good),
                "--channel",
                s(&channel),
                "--max-concurrent",
                "0",
            ],
            "--max-concurrent",
        ),
    ];
    for (args, words) in cases {
        let run = noderoll_in(state.path(), &args).await;
        assert_eq!(run.code, 64, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
}

#[tokio::test]
async fn sigterm_mid_upgrade_stops_it_at_a_safe_point_and_exits_resumable() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let channel = r.dir.path().join("stable.json");
    write_channel(&channel, &r, &[release("ccf-7.0.3", "c3")]);
    let plan = watched_plan(&r, "svc", "", &[]);
    let w = Watcher::every_second(state.path(), &plan, &channel);
    w.until_trusted("svc").await;
    w.signal("-TERM");
    let (code, stderr, events) = w.exit().await;
    assert_eq!(code, 4, "{stderr}");
    let tail: Vec<(String, String)> = decisions(&events).into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            ("watch_stopped".to_string(), String::new()),
            ("watch_upgrade_ended".to_string(), "svc".to_string()),
            ("watch_stopping".to_string(), String::new()),
        ]
    );
    let ended = events
        .iter()
        .find(|e| is(e, "watch_upgrade_ended", "svc"))
        .unwrap();
    assert_eq!(ended["outcome"], "interrupted");
    // The upgrade's own summary says where it stopped and how to go on.
    let summary = events
        .iter()
        .find(|e| e["type"] == "summary" && e["plan"] == "svc")
        .unwrap();
    assert_eq!(summary["outcome"], "interrupted");
    assert!(
        summary["resume"]
            .as_str()
            .unwrap()
            .starts_with("noderoll channel apply --plan"),
        "{summary}"
    );
    // Continued by hand, as it says: the same release, nothing launched twice.
    let run = noderoll_in(state.path(), &channel_apply(&plan, &channel)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(versions(&r).await.iter().all(|v| v == "ccf-7.0.3"));
    assert_eq!(r.launched_and_no_duplicate_proposal(), (3, true));
    assert_eq!(r.sandbox.violations(), vec![]);
}
