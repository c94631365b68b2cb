//! `cargo bench --bench upgrade`: complete upgrades of 3-, 5- and 7-node sandboxes by the
//! `noderoll` binary, parallel and sequential, against the sandbox's default latency model
//! (join 400 ms, commit 60 ms, catch-up 300 ms, election 800 ms, ±20 %, speed 1, seed 1) with
//! `soak = "0s"`. Prints a table and writes `target/bench/upgrade.json`. Figures, not
//! assertions: nothing here fails on a slow machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use noderoll::sandbox::{LatencyModel, Platform, Sandbox, SandboxOptions};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_noderoll");

struct Measured {
    wall: Duration,
    requests: u64,
    /// Time commits waited for trusted nodes to catch up (the sandbox's write stall).
    stall: noderoll::sandbox::WriteStall,
    peak_rss_kb: u64,
    reactions: Vec<(String, f64)>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

async fn sandbox(nodes: usize, dir: &Path) -> Sandbox {
    let mut opts = SandboxOptions::new(dir);
    opts.nodes = nodes;
    opts.seed = 1;
    opts.platform = Platform::Virtual;
    opts.latency = LatencyModel::default();
    opts.noderoll_command = quote(BIN);
    opts.soak = "0s".into();
    Sandbox::start(opts).await.expect("sandbox starts")
}

/// VmHWM of a running process, in kB.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn upgrade(nodes: usize, sequential: bool) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(nodes, dir.path()).await;
    let plan = dir.path().join(&sb.info().plan);
    if sequential {
        let text = std::fs::read_to_string(&plan)
            .unwrap()
            .replace("[nodes]\n", "[nodes]\nstrategy = \"sequential\"\n");
        std::fs::write(&plan, text).unwrap();
    }
    let start_ms = sb.with_world(|w| {
        w.request_log = Some(Vec::new());
        w.ms(Instant::now())
    });
    let requests_before = sb.with_world(|w| w.requests);
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args([
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--output",
            "json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss(pid) {
            peak = peak.max(kb);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let wall = started.elapsed();
    assert!(
        status.success(),
        "apply failed: {:?}",
        child.stderr.take().map(|mut e| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            s
        })
    );
    assert!(
        sb.violations().is_empty(),
        "invariant violations: {:?}",
        sb.violations()
    );
    let (requests, events, log) = sb.with_world(|w| {
        (
            w.requests - requests_before,
            w.events.clone(),
            w.request_log.clone().unwrap(),
        )
    });
    let end_ms = start_ms + wall.as_secs_f64() * 1000.0;
    let mut reactions = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.at_ms >= start_ms && e.at_ms <= end_ms)
    {
        let waited_on = |needle: &str| {
            log.iter()
                .any(|r| r.at_ms < e.at_ms && r.path.contains(needle))
        };
        let acts = |r: &&noderoll::sandbox::world::RequestRecord| -> bool {
            match e.kind.as_str() {
                "node_pending" => {
                    r.path
                        .contains(&format!("/node/network/nodes/{}", e.subject))
                        || r.path.starts_with("/node/network/nodes?")
                }
                "tx_committed" => r.path.contains(&format!("transaction_id={}", e.subject)),
                "election_done" => r.path == "/node/network",
                "node_removable" => r.path.starts_with("/node/network/removable_nodes"),
                _ => false,
            }
        };
        // Only changes noderoll was waiting for (most commits are nobody's concern).
        let relevant = match e.kind.as_str() {
            "tx_committed" => waited_on(&format!("transaction_id={}", e.subject)),
            "node_pending" | "election_done" | "node_removable" => true,
            _ => false,
        };
        if !relevant {
            continue;
        }
        if let Some(r) = log.iter().filter(|r| r.at_ms >= e.at_ms).find(acts) {
            reactions.push((e.kind.clone(), r.at_ms - e.at_ms));
        }
    }
    Measured {
        wall,
        requests,
        stall: sb.write_stall(),
        peak_rss_kb: peak,
        reactions,
    }
}

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i]
}

fn time_process(args: &[&str], runs: usize) -> f64 {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(BIN)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(out.code().is_some());
    }
    percentile(times, 0.5)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    noderoll::ccf::tls::ensure_crypto_provider();
    let model = LatencyModel::default();
    let mut rows = Vec::new();
    println!(
        "noderoll upgrade benchmark (sandbox latency model: join 400 ms, commit 60 ms, catch-up 300 ms, election 800 ms, ±20 %)\n"
    );
    println!(
        "{:>5} {:>9} {:>9} {:>6} {:>10} {:>8} {:>9} {:>9} {:>9} {:>8} {:>12} {:>12} {:>9}",
        "nodes",
        "wall s",
        "CP s",
        "ratio",
        "seq wall s",
        "speedup",
        "stall ms",
        "seq stall",
        "requests",
        "req/s",
        "react med ms",
        "react p95 ms",
        "peak MB"
    );
    for n in [3usize, 5, 7] {
        let par = upgrade(n, false).await;
        let seq = upgrade(n, true).await;
        let cp = model.critical_path(n).as_secs_f64();
        let wall = par.wall.as_secs_f64();
        let reacts: Vec<f64> = par.reactions.iter().map(|(_, ms)| *ms).collect();
        let by_kind = |k: &str| {
            percentile(
                par.reactions
                    .iter()
                    .filter(|(kind, _)| kind == k)
                    .map(|(_, ms)| *ms)
                    .collect(),
                0.5,
            )
        };
        let row = json!({
            "nodes": n,
            "wall_s": wall,
            "critical_path_s": cp,
            "ratio": wall / cp,
            "sequential_wall_s": seq.wall.as_secs_f64(),
            "sequential_critical_path_s": model.critical_path_sequential(n).as_secs_f64(),
            "speedup": seq.wall.as_secs_f64() / wall,
            "write_stall_ms": par.stall.total_ms,
            "sequential_write_stall_ms": seq.stall.total_ms,
            "requests": par.requests,
            "requests_per_s": par.requests as f64 / wall,
            "reaction_median_ms": percentile(reacts.clone(), 0.5),
            "reaction_p95_ms": percentile(reacts.clone(), 0.95),
            "reaction_samples": reacts.len(),
            "reaction_median_ms_by_change": {
                "node_pending": by_kind("node_pending"),
                "proposal_committed": by_kind("tx_committed"),
                "election_done": by_kind("election_done"),
                "node_removable": by_kind("node_removable"),
            },
            "peak_rss_mb": par.peak_rss_kb as f64 / 1024.0,
        });
        println!(
            "{:>5} {:>9.2} {:>9.2} {:>6.2} {:>10.2} {:>8.2} {:>9} {:>9} {:>9} {:>8.1} {:>12.1} {:>12.1} {:>9.1}",
            n,
            wall,
            cp,
            wall / cp,
            seq.wall.as_secs_f64(),
            row["speedup"].as_f64().unwrap(),
            par.stall.total_ms,
            seq.stall.total_ms,
            par.requests,
            row["requests_per_s"].as_f64().unwrap(),
            row["reaction_median_ms"].as_f64().unwrap(),
            row["reaction_p95_ms"].as_f64().unwrap(),
            row["peak_rss_mb"].as_f64().unwrap()
        );
        rows.push(row);
    }
    let help_ms = time_process(&["--help"], 21);
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(5, dir.path()).await;
    let plan = dir.path().join(&sb.info().plan);
    let plan_ms = time_process(&["plan", "--plan", plan.to_str().unwrap()], 11);
    drop(sb);
    println!(
        "\nnoderoll --help: {help_ms:.1} ms (median of 21)   noderoll plan (5-node sandbox): {plan_ms:.1} ms (median of 11)"
    );
    let doc = json!({
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS },
        "latency_model": { "join_ms": 400, "commit_ms": 60, "catch_up_ms": 300, "election_ms": 800, "jitter": 0.2, "speed": 1.0, "seed": 1 },
        "upgrades": rows,
        "help_ms": help_ms,
        "plan_ms": plan_ms,
    });
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("upgrade.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    println!("wrote {}", path.display());
    let _: Value = doc;
}
