//! The status view at the widths people have: every column when there is room, five at 80
//! columns, never an id, address, version or date broken across lines.

use super::*;

fn node(
    id: &str,
    status: &str,
    addr: &str,
    version: Option<&str>,
    expires: Option<&str>,
) -> StatusNode {
    StatusNode {
        node_id: id.repeat(8),
        status: status.into(),
        primary: false,
        rpc_address: Some(addr.into()),
        ccf_version: version.map(str::to_string),
        reachability: if version.is_some() {
            "reachable"
        } else {
            "not_endorsed"
        },
        unreachable_reason: None,
        retired_committed: false,
        removable: false,
        host_data: None,
        measurement: None,
        launched_as: None,
        certificate_expires_at: expires.map(str::to_string),
    }
}

/// The README's example service.
fn example() -> StatusDocument {
    let expires = Some("2027-03-01T23:59:59Z");
    let mut nodes = vec![
        node(
            "00000000",
            "Trusted",
            "10.0.0.4:8000",
            Some("ccf-7.0.1"),
            expires,
        ),
        node(
            "11111111",
            "Trusted",
            "10.0.0.5:8000",
            Some("ccf-7.0.1"),
            expires,
        ),
        node("33333333", "Pending", "10.0.0.7:8000", None, None),
        node(
            "44444444",
            "Retired",
            "10.0.0.8:8000",
            None,
            Some("2026-06-01T23:59:59Z"),
        ),
        node("55555555", "Trusted", "10.0.0.9:8000", None, expires),
    ];
    for n in &mut nodes {
        n.node_id.truncate(64);
    }
    nodes[1].primary = true;
    nodes[3].reachability = "not_asked";
    (nodes[3].retired_committed, nodes[3].removable) = (true, true);
    nodes[4].reachability = "unreachable";
    nodes[4].unreachable_reason = Some("Connection refused".into());
    let policy =
        serde_json::json!({"virtual": {"hostData": ["ab".repeat(32)], "measurements": []}});
    StatusDocument {
        answered_by: "10.0.0.4:8000".into(),
        service_status: "Open".into(),
        current_view: 4,
        primary_id: Some("1".repeat(64)),
        trusted_nodes: 3,
        fault_tolerance: 1,
        nodes,
        join_policy: serde_json::from_value(policy).unwrap(),
        active_members: 1,
        members: 1,
        open_proposals: vec![StatusProposal {
            proposal_id: "9".repeat(64),
            proposer_id: "8".repeat(64),
            ballot_count: 1,
            actions: vec!["remove_node".into(), "add_virtual_host_data".into()],
        }],
        service_certificate_expires_at: Some("2027-01-15T09:12:33Z".into()),
    }
}

/// Each of `words` is on some line of `text`, whole.
fn assert_whole(text: &str, words: &[&str]) {
    for word in words {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().any(|w| w.contains(word))),
            "{word:?} whole in\n{text}"
        );
    }
}

#[test]
fn at_80_columns_the_status_fits_with_every_token_whole() {
    let text = render_doc(&example(), Some(80));
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}\n{text}",
            line.chars().count()
        );
    }
    assert_whole(
        &text,
        &[
            "00000000",
            "11111111",
            "33333333",
            "44444444",
            "55555555",
            "10.0.0.4:8000",
            "10.0.0.9:8000",
            "ccf-7.0.1",
            "2027-03-01",
            "2026-06-01",
            "add_virtual_host_data",
            &"ab".repeat(32),
        ],
    );
    // What moved is said, and where to see it.
    let statuses: Vec<String> = narrow_table(&example(), Some(80))
        .row_iter()
        .map(|r| r.cell_iter().nth(1).unwrap().content())
        .collect();
    assert_eq!(
        statuses,
        [
            "Trusted",
            "Trusted, primary",
            "Pending",
            "Retired, committed, removable",
            "Trusted"
        ]
    );
    assert!(text.contains("--output json"), "{text}");
    assert!(!text.contains("T23:59:59Z"), "expiry is a date\n{text}");
}

#[test]
fn with_room_or_piped_every_column_is_shown() {
    for width in [None, Some(200)] {
        let text = render_doc(&example(), width);
        for header in [
            "primary",
            "retired committed",
            "removable",
            "certificate expires",
        ] {
            assert!(text.contains(header), "{header:?} at {width:?}\n{text}");
        }
        assert_whole(&text, &["2027-03-01T23:59:59Z"]);
        assert!(!text.contains("Narrowed"), "{text}");
    }
}
