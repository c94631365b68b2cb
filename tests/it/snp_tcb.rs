//! SNP minimum TCB version (issue 16, part 1, last rule): an SNP service whose join policy has
//! no `nodes.snp.tcb_versions` (one coming from 5.x) refuses new SNP nodes at join (CCF
//! `verify_tcb_version_against_store`, as the sandbox models it). noderoll refuses such an upgrade before any write,
//! naming the proposal that fixes it; once it is passed, the upgrade runs.

use noderoll::ccf::types::{Action, ProposalBody};
use noderoll::sandbox::Platform;
use noderoll::sandbox::world::Lifecycle;
use noderoll::wait::Cancel;
use serde_json::json;

use crate::common::*;

fn fix() -> ProposalBody {
    ProposalBody {
        actions: vec![Action::new(
            "set_snp_minimum_tcb_version_hex",
            json!({"cpuid": "00a00f11", "tcb_version": "d315000000000004"}),
        )],
    }
}

/// Unlike an attestation refused for its host data, measurement or UVM endorsement (401, which
/// a 6.x/7.0 joiner takes as fatal), a TCB failure is `quote_verification_error`'s default,
/// 500 (`node_frontend.h`): the joiner retries (`node_state.h`, `initiate_join`), so the same
/// node joins once the minimum is set.
#[tokio::test]
async fn the_sandbox_refuses_an_snp_joiner_without_a_minimum_tcb_version_until_one_is_set() {
    let r = start_sandbox_with(1, Platform::Snp, 5.0, |o| o.snp_without_tcb_versions = true).await;
    let build = r.sandbox.info().current_build.clone();
    let (id, _) = r.sandbox.launch(build).unwrap();
    let refused = eventually("the joiner refused", 10, || {
        let id = id.clone();
        let found = r.sandbox.with_world(|w| {
            w.nodes
                .iter()
                .find(|n| n.node_id == id)
                .and_then(|n| match &n.lifecycle {
                    Lifecycle::Refused { reason } => Some(reason.clone()),
                    _ => None,
                })
        });
        async move { found }
    })
    .await;
    assert!(refused.contains("FailedInvalidCPUID"), "{refused}");
    assert!(
        r.sandbox
            .with_world(|w| w.nodes.iter().any(|n| n.node_id == id && n.running)),
        "a 500 does not shut the joiner down"
    );
    r.gov.pass(&fix(), &Cancel::never()).await.unwrap();
    wait_pending(&r.client, &r.entry, &id).await;
}

#[tokio::test]
async fn an_snp_upgrade_without_a_minimum_tcb_version_is_refused_naming_the_fix() {
    let r = start_sandbox_with(3, Platform::Snp, 5.0, |o| o.snp_without_tcb_versions = true).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    let preview = noderoll_in(state.path(), &["plan", "--plan", plan.to_str().unwrap()]).await;
    assert_eq!(preview.code, 5, "{}\n{}", preview.stdout, preview.stderr);
    for part in [
        "Preflight FAILED: SNP minimum TCB version set",
        "FailedInvalidCPUID",
        "set_snp_minimum_tcb_version_hex {\"cpuid\"",
    ] {
        assert!(preview.stdout.contains(part), "{}", preview.stdout);
    }
    // Not a version jump: the flag does not let it through.
    let run = noderoll_in(
        state.path(),
        &[
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--allow-version-jump",
        ],
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("set_snp_minimum_tcb_version_hex"),
        "{}",
        run.stderr
    );
    assert_eq!(r.sandbox.with_world(|w| w.created_proposals.len()), 0);
    // The proposal it names, then the upgrade.
    r.gov.pass(&fix(), &Cancel::never()).await.unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan.to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(r.sandbox.violations(), vec![]);
}
