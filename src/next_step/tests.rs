//! Which next step follows which error, and the commands named.

use super::*;

fn commands() -> Commands {
    Commands::from_args(&[
        "noderoll".into(),
        "apply".into(),
        "--plan".into(),
        "my plan.toml".into(),
        "--yes".into(),
    ])
}

#[test]
fn the_commands_name_the_plan_as_given() {
    let c = commands();
    assert_eq!(c.again, "noderoll apply --plan 'my plan.toml' --yes");
    assert_eq!(
        c.rollback(),
        "noderoll rollback --plan 'my plan.toml' --yes"
    );
    assert_eq!(
        c.retry_failed(),
        "noderoll apply --plan 'my plan.toml' --yes --retry-failed-target"
    );
}

#[test]
fn a_saved_plans_resume_note_is_no_part_of_the_command() {
    let c = Commands::of_run(
        "noderoll apply --plan p.toml --yes (the saved plan s.json is now stale)",
        std::path::Path::new("p.toml"),
    );
    assert_eq!(c.again, "noderoll apply --plan p.toml --yes");
    assert_eq!(
        c.retry_failed(),
        "noderoll apply --plan p.toml --yes --retry-failed-target"
    );
}

#[test]
fn every_exit_code_gets_a_next_step() {
    let c = commands();
    let cases: Vec<(AppError, Action)> = vec![
        (AppError::Usage("bad".into()), Action::Fix),
        (AppError::Declined, Action::Continue),
        (AppError::Timeout("no".into()), Action::Wait),
        (
            AppError::Engine(EngineError::Cancelled { step: "x".into() }),
            Action::Continue,
        ),
        (
            AppError::Engine(EngineError::Preflight {
                failed: vec!["a: b".into()],
            }),
            Action::Fix,
        ),
        (AppError::Violations(1), Action::Report),
    ];
    for (e, action) in cases {
        let next = after_error(&e, &c);
        assert_eq!(next.action, action, "{e}");
        assert!(!next.human().is_empty());
    }
}

#[test]
fn a_failing_hook_during_a_rollback_continues_the_rollback() {
    let hook = || {
        AppError::Engine(EngineError::Step {
            step: "retire".into(),
            new_node: false,
            source: crate::exec::StepError::Hook(crate::exec::hooks::HookError {
                hook: "before_retire",
                command: "false".into(),
                detail: "exit status 1".into(),
                cannot_run: false,
            }),
        })
    };
    let back = Commands::from_args(&[
        "noderoll".into(),
        "-v".into(),
        "rollback".into(),
        "--plan".into(),
        "p.toml".into(),
    ]);
    let why = after_error(&hook(), &back).reason;
    assert!(
        why.contains("the rollback continues from this step"),
        "{why}"
    );
    assert!(!why.contains("roll back instead"), "{why}");
    let why = after_error(&hook(), &commands()).reason;
    assert!(
        why.contains(
            "the command continues from this step (to roll back instead: noderoll rollback"
        ),
        "{why}"
    );
}

#[test]
fn the_human_line_leads_with_what_to_do() {
    let next = NextStep::new(Action::Continue, Some("noderoll apply".into()), "why");
    assert_eq!(next.human(), "To continue: noderoll apply\n  why\n");
    let fix = NextStep::new(Action::Fix, Some("noderoll apply".into()), "the hook");
    assert_eq!(fix.human(), "Fix: the hook\n  then: noderoll apply\n");
}

#[test]
fn a_saved_plan_that_no_longer_holds_is_planned_again_into_the_same_file() {
    let c = Commands::from_args(&[
        "noderoll".into(),
        "apply".into(),
        "s.json".into(),
        "--output".into(),
        "json".into(),
    ]);
    let stale = AppError::SavedPlan(crate::plan::saved::SavedPlanError::Stale {
        created_at: "2026-12-01T00:00:00Z".into(),
        plan_file: "/plans/up grade.toml".into(),
        saved: "s.json".into(),
    });
    let next = after_error(&stale, &c);
    assert_eq!(next.action, Action::Fix);
    assert_eq!(
        next.command.as_deref(),
        Some("noderoll plan --plan '/plans/up grade.toml' --out s.json --output json")
    );
    assert!(
        next.reason
            .contains("`noderoll apply s.json --output json`"),
        "{}",
        next.reason
    );
}

#[test]
fn confirming_adds_yes_once() {
    let c = Commands::from_args(&["noderoll".into(), "vote".into(), "abcdef12".into()]);
    assert_eq!(c.confirmed(), "noderoll vote abcdef12 --yes");
    assert_eq!(commands().confirmed(), commands().again);
}
