use super::*;

#[test]
fn parse_and_order() {
    let v = |s| CcfVersion::parse(s).unwrap();
    assert!(v("ccf-7.0.2") > v("ccf-7.0.1"));
    assert!(v("ccf-7.0.0") > v("ccf-7.0.0-rc1"));
    assert!(v("6.0.28") < v("ccf-7.0.0"));
    assert_eq!(v("ccf-7.0.2").to_string(), "ccf-7.0.2");
    assert!(CcfVersion::parse("latest").is_none());
}

#[test]
fn strict_parse_takes_ccf_release_tags_only() {
    for ok in [
        "ccf-7.0.2",
        "ccf-6.0.21",
        "ccf-10.12.130",
        "ccf-6.0.0-rc0",
        "ccf-7.0.0-rc1",
        "ccf-5.0.0-dev17",
    ] {
        let v = CcfVersion::parse_strict(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(v.to_string(), ok);
        assert_eq!(Some(v), CcfVersion::parse(ok), "the same version as parse");
    }
    for bad in [
        "7.0.3",
        "7.0.2",
        "ccf-7.0",
        "ccf-7",
        "banana",
        "",
        "CCF-7.0.2",
        " ccf-7.0.2",
        "ccf-7.0.2 ",
        "ccf-7.0.2.1",
        "ccf-7.0.x",
        "ccf-+7.0.2",
        "ccf-7..2",
        "ccf-7.0.2-",
        "ccf-7.0.2-beta1",
        "ccf-7.0.2-rc",
        "ccf-7.0.2-rc1-3-gabcdef",
        "ccf-99999999999999999999.0.0",
    ] {
        let e = CcfVersion::parse_strict(bad).unwrap_err();
        assert!(
            e.contains(&format!("{bad:?}")) && e.contains("ccf-X.Y.Z, e.g. ccf-7.0.2"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn guard() {
    let running = vec!["ccf-6.0.28".to_string(), "ccf-6.0.28".to_string()];
    assert!(matches!(
        check(Some("ccf-7.0.2"), &running),
        Verdict::Allowed(_)
    ));
    assert!(matches!(
        check(Some("ccf-6.0.27"), &running),
        Verdict::Downgrade(_)
    ));
    assert!(matches!(
        check(Some("ccf-8.0.0"), &running),
        Verdict::MajorJump(_)
    ));
    assert!(matches!(check(None, &running), Verdict::Allowed(_)));
    assert!(matches!(check(Some("ccf-7.0.2"), &[]), Verdict::Allowed(_)));
}

fn refused(target: &str, running: &[&str]) -> String {
    let running: Vec<String> = running.iter().map(|s| s.to_string()).collect();
    match check(Some(target), &running) {
        Verdict::MajorJump(j) => {
            assert!(
                j.allowed.contains("is allowed by --allow-version-jump")
                    && !j.allowed.contains("refused")
                    && j.allowed
                        .ends_with(&j.refused[j.refused.find("path: ").unwrap() + 6..]),
                "{j:?}"
            );
            j.refused
        }
        other => panic!("{target} from {running:?}: {other:?}"),
    }
}

fn allowed(target: &str, running: &[&str]) {
    let running: Vec<String> = running.iter().map(|s| s.to_string()).collect();
    assert!(
        matches!(check(Some(target), &running), Verdict::Allowed(_)),
        "{target} from {running:?}: {:?}",
        check(Some(target), &running)
    );
}

#[test]
fn every_rule_cites_a_source_and_names_are_unique() {
    let mut ids: Vec<&str> = UPGRADE_PATH_RULES.iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), UPGRADE_PATH_RULES.len());
    for r in UPGRADE_PATH_RULES {
        assert!(!r.source.is_empty() && !r.why.is_empty(), "{}", r.id);
    }
}

#[test]
fn from_5_x_go_straight_to_6_0_2_or_later() {
    let d = refused("ccf-6.0.1", &["ccf-5.0.12"; 3]);
    assert!(d.contains("ccf-5.0.12 → ccf-6.0.1 is refused"), "{d}");
    assert!(
        d.contains("Failed to deserialise") && d.contains("#7002"),
        "{d}"
    );
    assert!(d.contains("upgrade to 6.0.2 or later instead"), "{d}");
    assert!(
        d.contains("path: ccf-5.0.12 → ccf-6.0.2 (or later 6.0.x)"),
        "{d}"
    );
    refused("ccf-6.0.0", &["ccf-5.0.12"]);
    allowed("ccf-6.0.2", &["ccf-5.0.12"; 3]);
    allowed("ccf-6.0.30", &["ccf-5.0.0"]);
    // A mixed 5.x / 6.0.1 service must not take more 6.0.1 nodes either.
    refused("ccf-6.0.1", &["ccf-5.0.12", "ccf-6.0.1"]);
    // Once no 5.x node runs, patches of 6.0 are free.
    allowed("ccf-6.0.1", &["ccf-6.0.0"]);
}

#[test]
fn every_node_runs_6_0_21_before_7_x_joins() {
    let d = refused("ccf-7.0.2", &["ccf-6.0.20"; 3]);
    assert!(d.contains("ccf-6.0.20 → ccf-7.0.2 is refused"), "{d}");
    assert!(d.contains("6.0.21 or later before 7.x nodes join"), "{d}");
    assert!(d.contains("upgrade to 6.0.21+ first"), "{d}");
    assert!(
        d.contains("path: ccf-6.0.20 → ccf-6.0.21 (or later 6.0.x) → ccf-7.0.2"),
        "{d}"
    );
    // The laggard counts, not the newest node.
    refused("ccf-7.0.2", &["ccf-6.0.25", "ccf-6.0.20"]);
    allowed("ccf-7.0.2", &["ccf-6.0.21"; 3]);
    allowed("ccf-7.0.0", &["ccf-6.0.28", "ccf-6.0.21"]);
}

#[test]
fn an_snp_service_without_a_minimum_tcb_version_is_refused_with_the_fix() {
    let empty = std::collections::BTreeMap::new();
    let d = snp_minimum_tcb(Some(&empty), None, CcfVersion::parse("ccf-6.0.9").as_ref()).unwrap();
    assert!(d.contains("FailedInvalidCPUID") && d.contains("snp-minimum-tcb-version"));
    assert!(
        d.contains("set_snp_minimum_tcb_version_hex {\"cpuid\""),
        "{d}"
    );
    let old = snp_tcb_fix(None, CcfVersion::parse("ccf-6.0.8").as_ref());
    assert!(old.starts_with("set_snp_minimum_tcb_version {") && old.contains("boot_loader"));
    let c = "[\"set_snp_minimum_tcb_version\", new Action(...)]";
    assert!(snp_tcb_fix(Some(c), None).starts_with("set_snp_minimum_tcb_version {"));
    // A known constitution without either action: replace it first, on its own.
    let bare = "[\"transition_node_to_trusted\", new Action(...)]";
    let f = snp_tcb_fix(Some(bare), CcfVersion::parse("ccf-6.0.9").as_ref());
    assert!(
        f.starts_with("set_constitution {\"constitution\"")
            && f.contains("actions.js")
            && f.contains("on its own), then a proposal with set_snp_minimum_tcb_version_hex {"),
        "{f}"
    );
    let mut one = empty.clone();
    one.insert("00a00f11".to_string(), serde_json::json!({}));
    assert_eq!(snp_minimum_tcb(Some(&one), None, None), None);
}

#[test]
fn four_x_reaches_4_0_19_before_5_x() {
    let d = refused("ccf-5.0.0", &["ccf-4.0.18"]);
    assert!(d.contains("4.0.19"), "{d}");
    assert!(
        d.contains("path: ccf-4.0.18 → ccf-4.0.19 (or later 4.0.x) → ccf-5.0.0"),
        "{d}"
    );
    allowed("ccf-5.0.0", &["ccf-4.0.19"]);
}

#[test]
fn a_skipped_major_version_shows_the_whole_path() {
    let d = refused("ccf-7.0.2", &["ccf-5.0.3"]);
    assert!(d.contains("skips a major version"), "{d}");
    assert!(
        d.contains("path: ccf-5.0.3 → ccf-6.0.21 (or later 6.0.x) → ccf-7.0.2"),
        "{d}"
    );
    // A mixed 5.x/6.x service adding 7.x nodes skips a major version for its 5.x nodes.
    refused("ccf-7.0.2", &["ccf-6.0.28", "ccf-5.0.3"]);
    assert_eq!(
        upgrade_path(
            &CcfVersion::parse("ccf-4.0.2").unwrap(),
            &CcfVersion::parse("ccf-7.0.1").unwrap()
        ),
        [
            "ccf-4.0.2",
            "ccf-4.0.19 (or later 4.0.x)",
            "ccf-5.0.x",
            "ccf-6.0.21 (or later 6.0.x)",
            "ccf-7.0.1"
        ]
    );
}
