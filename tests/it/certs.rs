//! Certificate validity (issue 16, part 3): trust proposals carry `validity_period_days`
//! (the service's maximum by default, the plan's when set, refused above the maximum before
//! any proposal), the sandbox issues endorsed certificates with it, `status` shows every
//! certificate's expiry, and preflight warns about one that expires during the upgrade.

use noderoll::sandbox::Platform;
use serde_json::Value;

use crate::common::*;

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The sandbox's plan with `line` added to its `[target]`.
fn plan_with_target_line(r: &RunningSandbox, name: &str, line: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(r.plan_path()).unwrap();
    let text = text.replacen("[target]\n", &format!("[target]\n{line}\n"), 1);
    let path = r.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `validity_period_days` of every trust proposal the service received.
fn trust_validities(r: &RunningSandbox) -> Vec<Value> {
    r.sandbox.with_world(|w| {
        w.created_proposals
            .iter()
            .filter_map(|b| serde_json::from_slice::<Value>(b).ok())
            .flat_map(|b| b["actions"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["name"] == "transition_node_to_trusted")
            .map(|a| a["args"]["validity_period_days"].clone())
            .collect()
    })
}

async fn apply_ok(plan: &std::path::Path) -> Vec<Value> {
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(
        state.path(),
        &[
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    events(&run.stdout)
}

async fn status_json(plan: &std::path::Path) -> Value {
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(
        state.path(),
        &[
            "status",
            "--plan",
            plan.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// Start of today (UTC) + `days` − 1 s: what CCF's `compute_cert_valid_to_string` gives for
/// the `valid_from` noderoll sends (the start of the day).
fn expected_expiry(days: i64) -> jiff::Timestamp {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .unwrap()
        .timestamp();
    today
        .checked_add(
            jiff::SignedDuration::from_hours(24 * days) - jiff::SignedDuration::from_secs(1),
        )
        .unwrap()
}

fn assert_trusted_expire_at(status: &Value, days: i64) {
    let trusted: Vec<&Value> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["status"] == "Trusted")
        .collect();
    assert!(!trusted.is_empty(), "{status}");
    for n in trusted {
        let at: jiff::Timestamp = n["certificate_expires_at"]
            .as_str()
            .unwrap_or_else(|| panic!("no expiry: {n}"))
            .parse()
            .unwrap();
        assert_eq!(at, expected_expiry(days), "{n}");
    }
}

#[tokio::test]
async fn trust_proposals_carry_the_services_maximum_by_default_and_status_shows_expiries() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    apply_ok(&plan).await;
    let sent = trust_validities(&r);
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|v| v == 365), "{sent:?}");
    let status = status_json(&plan).await;
    assert_trusted_expire_at(&status, 365);
    let service: jiff::Timestamp = status["service_certificate_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(service > jiff::Timestamp::now(), "{status}");
    // For people: a column and a line.
    let state = tempfile::tempdir().unwrap();
    let human = noderoll_in(state.path(), &["status", "--plan", plan.to_str().unwrap()]).await;
    assert!(
        human.stdout.contains("certificate expires"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(&format!(
            "Service certificate expires: {}",
            status["service_certificate_expires_at"].as_str().unwrap()
        )),
        "{}",
        human.stdout
    );
}

#[tokio::test]
async fn a_configured_validity_is_sent_and_shown_by_plan() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let plan = plan_with_target_line(&r, "thirty.toml", "node_cert_validity_days = 30");
    let state = tempfile::tempdir().unwrap();
    let preview = noderoll_in(state.path(), &["plan", "--plan", plan.to_str().unwrap()]).await;
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        preview
            .stdout
            .contains("the certificates of the nodes it launches: valid 30 days ([target] node_cert_validity_days"),
        "{}",
        preview.stdout
    );
    apply_ok(&plan).await;
    assert_eq!(trust_validities(&r), vec![Value::from(30)]);
    assert_trusted_expire_at(&status_json(&plan).await, 30);
}

#[tokio::test]
async fn a_validity_above_the_services_maximum_is_refused_before_any_proposal() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let plan = plan_with_target_line(&r, "long.toml", "node_cert_validity_days = 400");
    let state = tempfile::tempdir().unwrap();
    for cmd in ["plan", "apply"] {
        let mut args = vec![cmd, "--plan", plan.to_str().unwrap()];
        if cmd == "apply" {
            args.push("--yes");
        }
        let run = noderoll_in(state.path(), &args).await;
        assert_eq!(run.code, 64, "{cmd}: {}\n{}", run.stdout, run.stderr);
        for part in [
            "node_cert_validity_days = 400",
            "maximum of 365 days",
            "set it to 365 or less",
        ] {
            assert!(run.stderr.contains(part), "{cmd}: {}", run.stderr);
        }
    }
    assert_eq!(r.sandbox.with_world(|w| w.created_proposals.len()), 0);
}

#[tokio::test]
async fn preflight_warns_when_the_service_certificate_expires_within_the_upgrade() {
    // A service whose certificate was never renewed: CCF's initial one lasts a day.
    let r = start_sandbox_with(1, Platform::Virtual, 5.0, |o| o.service_cert_days = 1).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(
        state.path(),
        &["plan", "--plan", plan.to_str().unwrap(), "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "a warning, not a failure: {}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let warning = doc["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["notice"] == "warning")
        .unwrap_or_else(|| panic!("no warning: {doc}"))
        .clone();
    assert_eq!(warning["ok"], true);
    let detail = warning["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("the service certificate expires on ")
            && detail.contains("set_service_certificate_validity"),
        "{detail}"
    );
    // apply says it too, and goes on.
    let evs = apply_ok(&plan).await;
    assert!(
        evs.iter().any(|e| e["type"] == "warning"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("set_service_certificate_validity")),
        "{evs:?}"
    );
}

#[tokio::test]
async fn a_renewed_service_certificate_gives_no_warning() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(
        state.path(),
        &["plan", "--plan", plan.to_str().unwrap(), "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = doc["preflight"].as_array().unwrap();
    assert!(!checks.iter().any(|c| c["notice"] == "warning"), "{doc}");
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "certificates outlast the upgrade" && c["ok"] == true),
        "{doc}"
    );
}

#[tokio::test]
async fn preflight_warns_about_a_node_the_upgrade_retires_whose_certificate_expires_first() {
    // Every genesis node is retired by the plan, but each serves until its retire step:
    // clients that check dates (noderoll's own included) refuse it once expired.
    let r = start_sandbox_with(1, Platform::Virtual, 5.0, |o| o.genesis_node_cert_days = 1).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(
        state.path(),
        &["plan", "--plan", plan.to_str().unwrap(), "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "a warning, not a failure: {}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let genesis = &r.sandbox.info().nodes[0].node_id;
    let warned = doc["preflight"].as_array().unwrap().iter().any(|c| {
        c["notice"] == "warning"
            && c["detail"].as_str().is_some_and(|d| {
                d.starts_with(&format!("node {}'s certificate expires on ", &genesis[..8]))
                    && d.contains(&format!(
                        "set_node_certificate_validity {{\"node_id\": \"{genesis}\""
                    ))
            })
    });
    assert!(warned, "{doc}");
}
