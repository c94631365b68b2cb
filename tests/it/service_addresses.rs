//! A rolling upgrade retires every node the plan's `[service] url` named. Afterwards every
//! command still finds the service, through the node addresses the state directory keeps
//! (`addresses.json`), and says which `url` to use from now on; a member who only votes (no
//! state of its own) is told its nodes moved and how to find them.

use std::path::PathBuf;

use noderoll::ccf::NodeAddr;
use noderoll::ccf::types::{Action, NodeStatus, ProposalBody, ProposalState};
use noderoll::sandbox::Platform;
use noderoll::wait::Cancel;
use serde_json::{Value, json};

use crate::common::*;

/// A run's JSON Lines, each valid under `schemas/run-stream.json`.
fn events(stdout: &str) -> Vec<Value> {
    output_schema::lines("run-stream", stdout)
}

fn writes(r: &RunningSandbox) -> u64 {
    r.sandbox.with_world(|w| w.write_requests)
}

fn url_line(nodes: &[NodeAddr]) -> String {
    let urls: Vec<String> = nodes.iter().map(|n| format!("\"https://{n}\"")).collect();
    format!("url = [{}]", urls.join(", "))
}

/// `text` (a plan) with its `[service] url` replaced by `url`.
fn with_url(text: &str, url: &str) -> String {
    text.lines()
        .map(|l| if l.starts_with("url = ") { url } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The ready plan, naming the original nodes in `[service] url` instead of the sandbox's
/// stable gateway address.
fn plan_naming_the_nodes(r: &RunningSandbox) -> PathBuf {
    let text = std::fs::read_to_string(r.plan_path()).unwrap();
    let path = r.dir.path().join("nodes.toml");
    std::fs::write(&path, with_url(&text, &url_line(&r.original_nodes()))).unwrap();
    path
}

/// The service's Trusted nodes now, asked at the gateway.
async fn trusted_nodes(r: &RunningSandbox) -> Vec<NodeAddr> {
    let at: NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    r.client
        .nodes(&at, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.status == NodeStatus::Trusted)
        .map(|n| n.rpc_address().unwrap().parse().unwrap())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The `url = [...]` the fallback warning in `stderr` names.
fn warned_url_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.contains("none of the configured service addresses answered"))
        .unwrap_or_else(|| panic!("no fallback warning in:\n{stderr}"));
    line[line
        .find("url = [")
        .expect("the warning names the url line")..]
        .to_string()
}

fn urls_in(line: &str) -> Vec<String> {
    sorted(
        line.trim_start_matches("url = [")
            .trim_end_matches(']')
            .split(", ")
            .map(|u| u.trim_matches('"').to_string())
            .collect(),
    )
}

#[tokio::test]
async fn after_an_upgrade_retired_every_node_the_plan_names_every_command_still_finds_the_service()
{
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = plan_naming_the_nodes(&r);
    let plan = plan.to_str().unwrap();

    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let summary = events(&run.stdout).pop().unwrap();
    assert_eq!(summary["outcome"], "upgraded");
    let now: Vec<String> = trusted_nodes(&r)
        .await
        .iter()
        .map(|a| format!("https://{a}"))
        .collect();
    assert_eq!(now.len(), 3);
    let said: Vec<String> = summary["service_urls"]
        .as_array()
        .unwrap_or_else(|| panic!("no service_urls in {summary}"))
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sorted(said),
        sorted(now.clone()),
        "the url to use from now on"
    );

    // The state directory keeps where the service's nodes are now.
    let kept = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().path().join("addresses.json"))
        .find(|p| p.exists())
        .expect("addresses.json in the service's state directory");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let kept_urls: Vec<String> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("https://{}", n["rpc_address"].as_str().unwrap()))
        .collect();
    assert_eq!(sorted(kept_urls), sorted(now.clone()));

    // Every node the plan names is gone: each command falls back on the kept addresses, says
    // so naming the url to use, and carries on.
    let writes_before = writes(&r);
    let status = noderoll_in(state.path(), &["status", "--plan", plan]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains("Service Open"), "{}", status.stdout);
    assert_eq!(
        urls_in(&warned_url_line(&status.stderr)),
        sorted(now.clone())
    );

    let preview = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        preview.stdout.contains("Nothing to do"),
        "{}",
        preview.stdout
    );
    warned_url_line(&preview.stderr);
    let update = preview
        .stdout
        .lines()
        .find(|l| l.starts_with("Update [service] url: url = ["))
        .unwrap_or_else(|| panic!("plan prints the url line:\n{}", preview.stdout));
    assert_eq!(
        urls_in(update.trim_start_matches("Update [service] url: ")),
        sorted(now.clone())
    );
    let preview_json =
        noderoll_in(state.path(), &["plan", "--plan", plan, "--output", "json"]).await;
    assert_eq!(preview_json.code, 0, "{}", preview_json.stderr);
    let doc: Value = serde_json::from_str(&preview_json.stdout).unwrap();
    output_schema::validate("plan", &doc);
    assert_eq!(doc["nothing_to_do"], true);
    assert_eq!(doc["service_urls"].as_array().unwrap().len(), 3);

    let again = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("Nothing to do"), "{}", again.stdout);
    assert!(
        again.stdout.contains("Update [service] url: url = ["),
        "{}",
        again.stdout
    );
    warned_url_line(&again.stderr);

    // The upgrade was finalized, so a rollback is refused as documented (exit 5), but only
    // after the service was found and read: not "unreachable" (69).
    let dry = noderoll_in(state.path(), &["rollback", "--plan", plan, "--dry-run"]).await;
    assert_eq!(dry.code, 5, "{}\n{}", dry.stdout, dry.stderr);
    assert!(dry.stderr.contains("point of no return"), "{}", dry.stderr);
    warned_url_line(&dry.stderr);

    assert_eq!(writes(&r), writes_before, "none of these sent a write");
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_rollback_dry_run_finds_the_service_after_every_named_node_was_retired() {
    // With `finalize = "manual"` every old node is gone but going back is still possible.
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = plan_naming_the_nodes(&r);
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&plan, format!("{text}finalize = \"manual\"\n")).unwrap();
    let plan = plan.to_str().unwrap();

    // Before: plan warns that the upgrade retires every node the url names.
    let preview = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        preview
            .stdout
            .contains("this upgrade retires every node [service] url names"),
        "{}",
        preview.stdout
    );

    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("noderoll finalize"), "{}", run.stdout);
    let update = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Update [service] url: url = ["))
        .unwrap_or_else(|| panic!("apply prints the url line:\n{}", run.stdout));
    let now: Vec<String> = trusted_nodes(&r)
        .await
        .iter()
        .map(|a| format!("https://{a}"))
        .collect();
    assert_eq!(
        urls_in(update.trim_start_matches("Update [service] url: ")),
        sorted(now)
    );

    let writes_before = writes(&r);
    let dry = noderoll_in(state.path(), &["rollback", "--plan", plan, "--dry-run"]).await;
    assert_eq!(dry.code, 2, "{}\n{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains("Rollback (roll forward: "),
        "{}",
        dry.stdout
    );
    warned_url_line(&dry.stderr);
    assert_eq!(writes(&r), writes_before);
}

#[tokio::test]
async fn a_kept_address_whose_node_is_no_longer_trusted_there_is_not_used() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = plan_naming_the_nodes(&r);
    let plan = plan.to_str().unwrap();
    // Keep the addresses (status observes), then retire one node by hand without stopping
    // it: it still answers, with a certificate the service endorses.
    let status = noderoll_in(state.path(), &["status", "--plan", plan]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let info = r.sandbox.info().clone();
    let primary = r
        .client
        .network(&r.entry)
        .await
        .unwrap()
        .primary_id
        .unwrap();
    let backup = info.nodes.iter().find(|n| n.node_id != primary).unwrap();
    r.gov
        .pass(
            &ProposalBody {
                actions: vec![Action::new(
                    "remove_node",
                    json!({"node_id": backup.node_id}),
                )],
            },
            &Cancel::never(),
        )
        .await
        .unwrap();
    // The plan now names a dead address only, and the book only the retired node.
    let dead = format!("127.0.0.1:{}", closed_port());
    let text = std::fs::read_to_string(plan).unwrap();
    std::fs::write(plan, with_url(&text, &format!("url = \"https://{dead}\""))).unwrap();
    let book = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().path().join("addresses.json"))
        .find(|p| p.exists())
        .unwrap();
    std::fs::write(
        &book,
        json!({"schema_version": 1, "updated_at": "2026-01-01T00:00:00Z",
               "nodes": [{"node_id": backup.node_id, "rpc_address": backup.rpc_address}]})
        .to_string(),
    )
    .unwrap();
    let run = noderoll_in(state.path(), &["status", "--plan", plan]).await;
    assert_eq!(run.code, 69, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{} answered but is node {}, which is Retired, not Trusted",
            backup.rpc_address,
            &backup.node_id[..8]
        )),
        "{}",
        run.stderr
    );
}

/// The voter's plan: only `[service]` (with `url`) and its own `[[members]]` entry.
fn voter_plan(r: &RunningSandbox, member: usize, url: &str) -> PathBuf {
    let info = r.sandbox.info();
    let m = &info.members[member];
    let text = format!(
        "[service]\n{url}\nservice_cert = \"{}\"\n\n[[members]]\ncert = \"{}\"\nkey = \"{}\"\n",
        info.service_cert, m.cert, m.key
    );
    let path = r.dir.path().join(format!("member{member}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The operator's plan (member 0 only), naming `url`.
fn operator_plan(r: &RunningSandbox, url: &str) -> PathBuf {
    let text = std::fs::read_to_string(r.plan_path()).unwrap();
    let mut out = String::new();
    for block in text.split("\n\n") {
        if block.starts_with("[[members]]") && !block.contains("member0_cert.pem") {
            continue;
        }
        out.push_str(block);
        out.push_str("\n\n");
    }
    let path = r.dir.path().join("operator.toml");
    std::fs::write(&path, with_url(&out, url)).unwrap();
    path
}

/// Two members: the operator (member 0) applies, naming the original nodes; member 1 votes
/// from another machine (a state directory of its own, empty) with a plan file of only
/// `[service]` and `[[members]]` naming the same nodes. Its last vote, on the proposal that
/// removes the old code version, comes after every one of those nodes was retired: it is
/// told the nodes moved and how to find them, and votes once its plan names them.
#[tokio::test]
async fn a_voter_whose_plan_names_only_retired_nodes_is_told_they_moved() {
    let r = start_sandbox_with_members(3, 2, Platform::Virtual, 5.0).await;
    let nodes_url = url_line(&r.original_nodes());
    let op = operator_plan(&r, &nodes_url);
    let voter = voter_plan(&r, 1, &nodes_url);
    let (op_state, voter_state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let apply = {
        let (op, state) = (op.clone(), op_state.path().to_path_buf());
        tokio::spawn(async move {
            noderoll_in(
                &state,
                &[
                    "apply",
                    "--plan",
                    op.to_str().unwrap(),
                    "--yes",
                    "--output",
                    "json",
                ],
            )
            .await
        })
    };
    let at: NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let mut voted = std::collections::BTreeSet::new();
    let (mut votes_cast, mut told) = (0, false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !apply.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the upgrade did not finish"
        );
        for p in r.client.proposals(&at).await.unwrap_or_default() {
            if p.proposal_state != ProposalState::Open || !voted.insert(p.proposal_id.clone()) {
                continue;
            }
            let id = p.proposal_id.clone();
            let vote = |plan: PathBuf| {
                let (state, id) = (voter_state.path().to_path_buf(), id.clone());
                async move {
                    noderoll_in(
                        &state,
                        &["vote", &id, "--plan", plan.to_str().unwrap(), "--yes"],
                    )
                    .await
                }
            };
            let run = vote(voter.clone()).await;
            if run.code == 0 {
                // A vote that lands between noderoll's proposal and its own ballot leaves
                // the proposal Open; noderoll's ballot then accepts it.
                assert!(
                    run.stdout.contains("Accepted") || run.stdout.contains("Open"),
                    "{}",
                    run.stdout
                );
                votes_cast += 1;
                continue;
            }
            // Only the last proposal comes after every node the voter's plan names is gone.
            assert_eq!(run.code, 69, "{}\n{}", run.stdout, run.stderr);
            assert_eq!(votes_cast, 6, "register, trust 2 then 1, three retirements");
            let actions = r.client.proposal_actions(&at, &id).await.unwrap().unwrap();
            assert!(
                actions
                    .actions
                    .iter()
                    .any(|a| a.name == "remove_virtual_host_data"),
                "the last proposal removes the old code version"
            );
            for says in [
                "no node of the service answered",
                "they have moved",
                "noderoll status --plan FILE",
                "on the machine that ran the upgrade",
                "a stable address",
            ] {
                assert!(run.stderr.contains(says), "{says:?} in:\n{}", run.stderr);
            }
            // The operator's status names the nodes; the voter puts them in its plan.
            let status =
                noderoll_in(op_state.path(), &["status", "--plan", op.to_str().unwrap()]).await;
            assert_eq!(status.code, 0, "{}", status.stderr);
            let line = warned_url_line(&status.stderr);
            let moved = voter_plan(&r, 1, &line);
            let run = vote(moved).await;
            assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
            assert!(
                run.stdout.contains("Accepted") || run.stdout.contains("Open"),
                "{}",
                run.stdout
            );
            told = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let run = apply.await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(told, "the voter's last vote found no node of its plan");
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// A host name in `[service] url` that does not resolve (`.invalid` never does, RFC 6761;
/// no network needed) is final at once: not retried, the name said, exit 69 as for any
/// unreachable service, nothing written.
#[tokio::test]
async fn a_host_name_that_does_not_resolve_fails_at_once_naming_it() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let text = std::fs::read_to_string(r.plan_path()).unwrap();
    let path = r.dir.path().join("typo.toml");
    let url = "url = \"https://no-such-host.invalid:8000\"";
    std::fs::write(&path, with_url(&text, url)).unwrap();
    let state = tempfile::tempdir().unwrap();
    let before = writes(&r);
    for args in [&["status"][..], &["plan"], &["apply", "--yes"]] {
        let mut args = args.to_vec();
        args.extend(["--plan", path.to_str().unwrap()]);
        let started = std::time::Instant::now();
        let run = noderoll_in(state.path(), &args).await;
        let took = started.elapsed();
        assert_eq!(run.code, 69, "{args:?}: {}", run.stderr);
        for says in [
            "no node of the service answered (tried no-such-host.invalid:8000)",
            "the host name no-such-host.invalid does not resolve",
        ] {
            assert!(
                run.stderr.contains(says),
                "{args:?}: {says:?} in:\n{}",
                run.stderr
            );
        }
        // A bound, not a benchmark: retried as transient, this took 5 s (status) to 21 s (apply).
        assert!(
            took < std::time::Duration::from_secs(5),
            "{args:?} took {took:?}"
        );
    }
    assert_eq!(writes(&r), before, "the service was changed");
}
