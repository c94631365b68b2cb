use super::*;
use crate::ccf::types::{Proposal, ProposalState};
use crate::exec::fixtures::{NEW, node, service, spec};
use crate::plan::planner::Abandon;
use crate::plan::version::Verdict;

fn proposal(id: &str, proposer: &str, actions: &[&str]) -> OpenProposal {
    OpenProposal {
        proposal: Proposal {
            proposal_id: id.into(),
            proposer_id: proposer.into(),
            proposal_state: ProposalState::Open,
            ballot_count: 0,
            ballot_submitters: None,
            final_votes: None,
            vote_failures: None,
            failure: None,
        },
        actions: actions.iter().map(|a| a.to_string()).collect(),
    }
}

#[test]
fn service_open_passes_only_an_open_service() {
    assert!(service_open(ServiceStatus::Open).ok);
    let c = service_open(ServiceStatus::Recovering);
    assert!(!c.ok);
    assert_eq!(c.name, "service open");
    assert!(c.detail.starts_with("service status "));
}

#[test]
fn a_majority_must_answer_and_all_should() {
    let none: Vec<String> = Vec::new();
    let one = vec!["aaaaaaaa".to_string()];
    let two = vec!["a".to_string(), "b".to_string()];
    assert!(majority_running(3, &none).ok);
    assert!(majority_running(3, &one).ok);
    assert!(!majority_running(3, &two).ok);
    assert_eq!(
        majority_running(3, &one).detail,
        "2 of 3 trusted nodes answer"
    );
    assert!(all_reachable(&none).ok);
    let c = all_reachable(&one);
    assert!(!c.ok);
    assert_eq!(c.detail, "not answering: aaaaaaaa");
}

#[test]
fn the_primary_must_be_known_and_agreed() {
    let p = "0123456789abcdef";
    let c = primary_agreed(Some(p), &[]);
    assert!(c.ok);
    assert_eq!(
        (c.name, c.detail.as_str()),
        ("primary known and agreed", "primary 01234567")
    );
    let c = primary_agreed(Some(p), &["bbbbbbbb".into()]);
    assert!(!c.ok);
    assert_eq!(c.detail, "nodes bbbbbbbb see another primary");
    let c = primary_agreed(None, &[]);
    assert!(!c.ok);
    assert_eq!(c.name, "primary known");
}

#[test]
fn configured_members_must_be_active_and_exist() {
    assert!(members_active(&["m1", "m2"], &["m1", "m2", "m3"]).ok);
    let c = members_active(&[], &["m1"]);
    assert!(!c.ok);
    assert_eq!(c.detail, "no [[members]] configured");
    let c = members_active(&["m1", "m4"], &["m1"]);
    assert!(!c.ok);
    assert_eq!(c.detail, "not Active members of this service: m4");
}

#[test]
fn too_few_signers_is_only_said() {
    let c = signers_for_majority(&["m1"], &["m1", "m2", "m3"]);
    assert!(c.ok);
    assert!(c.detail.contains("will wait for other members' votes"));
    let c = signers_for_majority(&["m1", "m2"], &["m1", "m2", "m3"]);
    assert!(c.detail.contains("enough to accept proposals"));
}

#[test]
fn the_constitution_must_name_every_action_needed() {
    let needed = ["remove_node", "transition_node_to_trusted"];
    let c = constitution_has(
        &needed,
        Ok(r#"case "remove_node": ... 'transition_node_to_trusted'"#),
    );
    assert!(c.ok);
    assert_eq!(c.detail, "2 actions present");
    let c = constitution_has(&needed, Ok(r#""remove_node""#));
    assert!(!c.ok);
    assert_eq!(c.detail, "missing: transition_node_to_trusted");
    let c = constitution_has(&needed, Err("HTTP 500"));
    assert!(!c.ok);
    assert_eq!(c.detail, "cannot read it: HTTP 500");
}

#[test]
fn needed_actions_follow_the_platform_and_registered_measurements() {
    let spec = spec();
    let view = service(vec![node(1, NodeStatus::Trusted, "aa")], &["aa"]);
    let v = needed_actions(&spec, &view);
    assert!(v.contains(&"add_virtual_host_data") && !v.contains(&"add_virtual_measurement"));
    let mut bare = view.clone();
    bare.join_policy.virtual_ = None;
    assert!(needed_actions(&spec, &bare).contains(&"add_virtual_measurement"));
    let mut snp = spec.clone();
    snp.target.platform = CodePlatform::Snp;
    let v = needed_actions(&snp, &view);
    assert!(v.contains(&"add_snp_measurement") && !v.contains(&"add_virtual_host_data"));
}

#[test]
fn the_fault_tolerance_floor_must_be_reachable() {
    assert!(fault_tolerance_floor(3, 1, EndsWith::NewNodes).ok);
    let c = fault_tolerance_floor(2, 1, EndsWith::NewNodes);
    assert!(!c.ok);
    assert_eq!(c.detail, "2 new nodes give f = 0; the minimum is 1");
}

#[test]
fn a_rollbacks_floor_counts_the_previous_versions_nodes() {
    let c = fault_tolerance_floor(3, 1, EndsWith::Relaunched);
    assert!(c.ok);
    assert_eq!(
        c.detail,
        "the rollback ends with 3 nodes of the previous version: f = 1; the minimum is 1"
    );
    let c = fault_tolerance_floor(3, 1, EndsWith::Remaining);
    assert!(c.ok);
    assert_eq!(
        c.detail,
        "nothing to launch: the 3 nodes of the previous version that stay give f = 1; the minimum is 1"
    );
    assert!(!fault_tolerance_floor(2, 1, EndsWith::Remaining).ok);
}

#[test]
fn the_version_guard_passes_what_the_flags_or_a_rollback_allow() {
    let default = RunOptions::default();
    assert!(version_guard(Verdict::Allowed("ok".into()), &default).ok);
    let c = version_guard(Verdict::Downgrade("older".into()), &default);
    assert!(!c.ok);
    assert_eq!(
        c.detail,
        "older; pass --allow-downgrade if this is intended"
    );
    let jump = || {
        Verdict::MajorJump(crate::plan::version::Jump {
            refused: "a → c is refused; path: a → b → c".into(),
            allowed: "a → c is allowed by --allow-version-jump; path: a → b → c".into(),
        })
    };
    let c = version_guard(jump(), &default);
    assert!(!c.ok);
    assert!(
        c.detail
            .ends_with("pass --allow-version-jump if this is intended")
    );
    let allowed = RunOptions {
        allow_downgrade: true,
        allow_version_jump: true,
        ..Default::default()
    };
    let c = version_guard(Verdict::Downgrade("older".into()), &allowed);
    assert!(c.ok);
    assert_eq!(c.detail, "older (allowed by --allow-downgrade)");
    // Allowed, it no longer reads as refused, and is shown as a note.
    let c = version_guard(jump(), &allowed);
    assert!(c.ok && c.notice == Some(Notice::Note));
    assert_eq!(
        c.detail,
        "a → c is allowed by --allow-version-jump; path: a → b → c"
    );
    let rollback = RunOptions {
        rollback: Some(Abandon {
            target: spec().target,
            launched: Vec::new(),
        }),
        ..Default::default()
    };
    let c = version_guard(Verdict::Downgrade("older".into()), &rollback);
    assert!(c.ok);
    assert_eq!(
        c.detail,
        "older: a rollback returns to the previous version"
    );
    assert!(version_guard(jump(), &rollback).ok);
}

#[test]
fn running_versions_are_those_of_the_nodes_not_of_the_target() {
    let mut nodes = vec![
        node(1, NodeStatus::Trusted, "aa"),
        node(2, NodeStatus::Trusted, NEW),
        node(3, NodeStatus::Retired, "aa"),
    ];
    for (n, v) in nodes
        .iter_mut()
        .zip(["ccf-6.0.0", "ccf-7.0.2", "ccf-5.0.0"])
    {
        n.version = Some(v.into());
    }
    let view = service(nodes, &["aa", NEW]);
    assert_eq!(
        running_versions(&view, &spec()),
        vec!["ccf-6.0.0".to_string()]
    );
}

#[test]
fn open_upgrade_proposals_conflict_unless_they_are_our_members_to_finish() {
    let open = vec![
        proposal("p1000000000", "ours", &["transition_node_to_trusted"]),
        proposal("p2000000000", "theirs", &["set_user"]),
    ];
    assert!(!is_upgrade_proposal(&open[1]));
    let c = no_conflicting_upgrade(&open, &["ours"], false);
    assert!(!c.ok);
    assert_eq!(
        c.detail,
        "open proposals: p1000000 (transition_node_to_trusted)"
    );
    assert!(no_conflicting_upgrade(&open, &["ours"], true).ok);
    let theirs = vec![proposal("p3", "theirs", &["remove_node"])];
    assert!(!no_conflicting_upgrade(&theirs, &["ours"], true).ok);
    assert_eq!(
        no_conflicting_upgrade(&[], &[], false).detail,
        "no open upgrade proposals"
    );
}

#[test]
fn another_members_trigger_snapshot_does_not_block_a_run() {
    let trigger = vec![proposal("p4000000000", "theirs", &["trigger_snapshot"])];
    // Still an upgrade action for vote --follow and for withdrawing our own.
    assert!(is_upgrade_proposal(&trigger[0]));
    assert!(no_conflicting_upgrade(&trigger, &["ours"], false).ok);
    assert!(no_conflicting_upgrade(&trigger, &["ours"], true).ok);
    let mixed = vec![proposal(
        "p5000000000",
        "theirs",
        &["trigger_snapshot", "remove_node"],
    )];
    assert!(!no_conflicting_upgrade(&mixed, &["ours"], false).ok);
}

#[test]
fn signs_of_an_upgrade_elsewhere_refuse() {
    assert!(no_upgrade_elsewhere(&[]).ok);
    let c = no_upgrade_elsewhere(&["two builds".into()]);
    assert!(!c.ok);
    assert!(
        c.detail
            .starts_with("two builds: an upgrade seems to be under way")
    );
}

#[test]
fn the_launcher_verdict_is_the_commands_check() {
    const NAME: &str = "launch and stop commands resolve";
    let c = commands_resolve(NAME, Ok("launch: ./l".into()));
    assert!(c.ok);
    assert_eq!((c.name, c.detail.as_str()), (NAME, "launch: ./l"));
    let c = commands_resolve(NAME, Err("stop command `x`: not found".into()));
    assert!(!c.ok);
    assert_eq!(c.detail, "stop command `x`: not found");
}

#[test]
fn commands_needed_by_the_remaining_steps() {
    assert_eq!(commands_of(&[]), (false, false));
    let launch = Step::LaunchNodes { count: 1 };
    let retire = Step::RemoveRetired {
        node_id: "n".into(),
        address: None,
    };
    let stop_launched = Step::StopLaunched {
        node: crate::plan::Launched {
            node_id: None,
            rpc_address: None,
        },
    };
    assert_eq!(commands_of(&[&launch]), (true, false));
    assert_eq!(commands_of(&[&launch, &retire]), (true, true));
    // A never-joined node's stop is not counted: its failure is a warning.
    assert_eq!(commands_of(&[&stop_launched]), (false, false));
}

#[test]
fn with_every_node_on_the_target_the_version_guard_says_so() {
    // Finalize: every trusted node runs the target and reports it.
    let mut nodes: Vec<_> = (1..=3).map(|i| node(i, NodeStatus::Trusted, NEW)).collect();
    for n in &mut nodes {
        n.version = Some("ccf-7.0.2".into());
    }
    let view = service(nodes, &["aa", NEW]);
    let c = guard::version_guard_of(&view, &spec(), &RunOptions::default());
    assert!(c.ok);
    assert_eq!(
        c.detail,
        "every trusted node reports ccf-7.0.2: every trusted node already runs the target; nothing to compare"
    );
    // A rollback whose new nodes never joined: the nodes that stay are the previous version.
    let rollback = RunOptions {
        rollback: Some(Abandon {
            target: spec().target,
            launched: Vec::new(),
        }),
        ..Default::default()
    };
    let c = guard::version_guard_of(&view, &spec(), &rollback);
    assert!(c.detail.contains("the rollback returns to"), "{}", c.detail);
    assert!(!c.detail.contains("comparable"), "{}", c.detail);
}
