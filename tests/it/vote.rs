//! `noderoll vote` run as another member would run it: by the 8-character id the progress
//! lines show, with the proposal's actions shown first, and by the command `apply` prints
//! while it waits for other members' votes.

use std::io::BufRead;
use std::path::Path;

use noderoll::ccf::governance::BALLOT_YES;
use noderoll::ccf::types::{Action, ProposalBody};
use noderoll::sandbox::Platform;
use serde_json::{Value, json};

use crate::common::*;

fn writes(r: &RunningSandbox) -> u64 {
    r.sandbox.with_world(|w| w.write_requests)
}

/// A proposal member0 opened and voted for: with two members it needs member1's vote too.
async fn open_proposal(r: &RunningSandbox) -> String {
    let member = r.gov.members()[0].clone();
    let body = ProposalBody {
        actions: vec![Action::new(
            "add_virtual_host_data",
            json!({ "host_data": "cd".repeat(32), "metadata": "" }),
        )],
    };
    let id = r.gov.propose(&member, &body).await.unwrap().proposal_id;
    let (state, _) = r.gov.vote(&member, &id, BALLOT_YES).await.unwrap();
    assert_eq!(state, Some(noderoll::ccf::types::ProposalState::Open));
    id
}

async fn vote(voter: &Path, args: &[&str]) -> Ran {
    let state = tempfile::tempdir().unwrap();
    let mut all = vec!["vote"];
    all.extend(args);
    all.extend(["--plan", voter.to_str().unwrap()]);
    noderoll_in(state.path(), &all).await
}

#[tokio::test]
async fn vote_takes_the_8_character_id_and_refuses_unknown_or_short_ones_before_any_write() {
    let r = start_sandbox_with_members(3, 2, Platform::Virtual, 5.0).await;
    let (_, voter) = r.split_member_plans();
    let id = open_proposal(&r).await;
    let before = writes(&r);
    let other = format!(
        "{}{}",
        if id.starts_with('0') { "1" } else { "0" },
        &id[1..8]
    );
    let run = vote(&voter, &[&other, "--yes"]).await;
    assert_eq!(run.code, 64, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("no open proposal starts with") && run.stderr.contains(&id),
        "names the open ones: {}",
        run.stderr
    );
    let run = vote(&voter, &[&id[..7], "--yes"]).await;
    assert_eq!(run.code, 64, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("at least its first 8"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&r), before, "nothing written for bad input");
    let run = vote(&voter, &[&id[..8], "--yes"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Voted yes as 1 member; the proposal is now Accepted."),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn vote_shows_the_actions_before_voting_and_puts_them_in_its_json() {
    let r = start_sandbox_with_members(3, 2, Platform::Virtual, 5.0).await;
    let (_, voter) = r.split_member_plans();
    let id = open_proposal(&r).await;
    let host_data = "cd".repeat(32);
    // No terminal and no --yes: refused after the actions are shown, nothing voted.
    let run = vote(&voter, &[&id[..8]]).await;
    assert_eq!(run.code, 64, "{}\n{}", run.stdout, run.stderr);
    for says in [
        " with 1 ballot; its actions:",
        "add_virtual_host_data",
        &format!("host_data={host_data}"),
        "metadata=\"\"",
    ] {
        assert!(run.stdout.contains(says), "{says:?} in:\n{}", run.stdout);
    }
    let voter_arg = voter.to_str().unwrap();
    assert!(
        run.stderr.ends_with(&format!(
            "then: noderoll vote {} --plan {voter_arg} --yes\n",
            &id[..8]
        )),
        "{}",
        run.stderr
    );
    // The command the JSON refusal names votes, run as printed.
    let run = vote(&voter, &[&id[..8], "--output", "json"]).await;
    assert_eq!(run.code, 64, "{}\n{}", run.stdout, run.stderr);
    let refused: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let printed = refused["next_step"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        printed,
        format!(
            "noderoll vote {} --output json --plan {voter_arg} --yes",
            &id[..8]
        )
    );
    let state = tempfile::tempdir().unwrap();
    let words: Vec<&str> = printed.split(' ').skip(1).collect();
    let run = noderoll_in(state.path(), &words).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    output_schema::validate("vote", &doc);
    assert_eq!(doc["type"], "voted");
    assert_eq!(doc["proposal_id"], id.as_str());
    assert_eq!(doc["state"], "Accepted");
    assert_eq!(doc["ballots_submitted"], 1);
    assert_eq!(
        doc["actions"],
        json!([{ "name": "add_virtual_host_data", "args": { "host_data": host_data, "metadata": "" } }])
    );
}

/// `apply` as member0 with human output (progress on stderr, no terminal); each time it
/// prints the vote command for other members, that command is run as printed, with only
/// the documented placeholder replaced by member1's plan file.
#[tokio::test]
async fn the_vote_command_apply_prints_works_as_printed() {
    let r = start_sandbox_with_members(3, 2, Platform::Virtual, 5.0).await;
    let (plan, voter) = r.split_member_plans();
    let state = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args(["apply", "--plan", plan.to_str().unwrap(), "--yes"])
        .env_remove("NODEROLL_PLAN")
        .env("NODEROLL_STATE_DIR", state.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let (mut hints, mut log) = (0, String::new());
    let deadline = std::time::Duration::from_secs(90);
    while let Some(line) = tokio::time::timeout(deadline, rx.recv())
        .await
        .expect("apply printed nothing for 90s")
    {
        log.push_str(&line);
        log.push('\n');
        let Some(command) = line.trim().strip_prefix("noderoll ") else {
            continue;
        };
        if hints == 0 {
            // As printed, placeholder and all: refused, saying what to replace.
            let as_is: Vec<&str> = command.split_whitespace().collect();
            let elsewhere = tempfile::tempdir().unwrap();
            let run = noderoll_in(elsewhere.path(), &as_is).await;
            assert_eq!(run.code, 64, "{}\n{}", run.stdout, run.stderr);
            assert!(run.stderr.contains("replace MEMBER_PLAN"), "{}", run.stderr);
        }
        let command = command.replace("MEMBER_PLAN", voter.to_str().unwrap());
        let args: Vec<&str> = command.split_whitespace().collect();
        let voter_state = tempfile::tempdir().unwrap();
        let run = noderoll_in(voter_state.path(), &args).await;
        assert_eq!(run.code, 0, "{command}\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("now Accepted"), "{}", run.stdout);
        hints += 1;
    }
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{log}");
    assert_eq!(
        hints, 7,
        "register, trust 2 then 1, three retirements, finalize:\n{log}"
    );
}

/// `vote --follow` started before the upgrade: it waits for it, votes on each of its
/// proposals as they appear, never on one carrying another action, and ends once the
/// service shows the upgrade over.
#[tokio::test]
async fn vote_follow_votes_on_each_upgrade_proposal_and_nothing_else_then_ends() {
    let r = start_sandbox_with_members(3, 2, Platform::Virtual, 5.0).await;
    let (plan, voter) = r.split_member_plans();
    let follow = {
        let voter = voter.clone();
        tokio::spawn(async move {
            let state = tempfile::tempdir().unwrap();
            let args = ["vote", "--follow", "--plan", voter.to_str().unwrap()];
            let settle = ["--settle", "1s", "--timeout", "2m", "--output", "json"];
            noderoll_in(state.path(), &[&args[..], &settle[..]].concat()).await
        })
    };
    let apply = tokio::spawn(async move {
        let state = tempfile::tempdir().unwrap();
        let args = ["apply", "--plan", plan.to_str().unwrap(), "--yes"];
        noderoll_in(state.path(), &[&args[..], &["--output", "json"]].concat()).await
    });
    // Once the new code version is registered (accepting a registration drops every other
    // open proposal, as in CCF), member0 opens a proposal that is not an upgrade's.
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    eventually("the new code version to be registered", 60, || async {
        let p = r.client.join_policy(&at).await.ok()?;
        (p.virtual_?.host_data.len() == 2).then_some(())
    })
    .await;
    let member = r.gov.members()[0].clone();
    let other = ProposalBody {
        actions: vec![Action::new(
            "set_node_data",
            json!({ "node_id": r.sandbox.info().nodes[0].node_id, "node_data": { "x": 1 } }),
        )],
    };
    let other_id = r.gov.propose(&member, &other).await.unwrap().proposal_id;
    let apply = apply.await.unwrap();
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    // The upgrade's stream while another member votes: every line on the contract.
    let events = output_schema::lines("run-stream", &apply.stdout);
    assert!(
        events.iter().any(|e| e["type"] == "waiting_for_members"),
        "{}",
        apply.stdout
    );
    let run = tokio::time::timeout(std::time::Duration::from_secs(60), follow)
        .await
        .expect("vote --follow did not end after the upgrade")
        .unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let docs = output_schema::lines("vote", &run.stdout);
    let voted: Vec<&Value> = docs
        .iter()
        .filter(|d| d["ballots_submitted"] == 1)
        .collect();
    assert_eq!(
        voted.len(),
        7,
        "register, trust 2 then 1, three retirements, finalize:\n{}",
        run.stdout
    );
    for d in &voted {
        for a in d["actions"].as_array().unwrap() {
            assert_ne!(a["name"], "set_node_data", "{d}");
        }
    }
    assert!(
        docs.iter()
            .any(|d| d["proposal_id"] == other_id.as_str() && d["reason"].is_string()),
        "{}",
        run.stdout
    );
    let last = docs.last().unwrap();
    assert_eq!(last["outcome"], "upgrade_over", "{last}");
    assert_eq!(last["skipped"], json!([other_id]));
    let p = r.client.proposal(&at, &other_id).await.unwrap().unwrap();
    assert_eq!(p.proposal_state, noderoll::ccf::types::ProposalState::Open);
    assert_eq!(p.ballot_count, 0, "nobody voted on the other proposal");
}

/// With no upgrade in progress `vote --follow` waits for one, for at most `--timeout`.
#[tokio::test]
async fn vote_follow_without_an_upgrade_gives_up_after_its_timeout() {
    let r = start_sandbox_with_members(3, 2, Platform::Virtual, 5.0).await;
    let (_, voter) = r.split_member_plans();
    let before = writes(&r);
    let run = vote(&voter, &["--follow", "--timeout", "1s"]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("No upgrade was seen (timed out)"),
        "{}",
        run.stdout
    );
    // It never saw one: not "before the upgrade was over".
    assert!(
        run.stderr
            .contains("no upgrade was seen within --timeout 1s: no upgrade proposal was open"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("upgrade was over"), "{}", run.stderr);
    assert_eq!(writes(&r), before);
    let run = vote(&voter, &["--follow", "--settle", "soon"]).await;
    assert_eq!(run.code, 64, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("--settle"), "{}", run.stderr);
}
