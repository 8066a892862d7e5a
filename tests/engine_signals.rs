//! Scenarios: which handoff signals are obeyed. Every rejection reason, duplicates,
//! stale signals, signals from clients, and a newer signal superseding a move.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

/// Given live in A, when `data` arrives from the server, then only `SignalRejected{reason}`.
fn assert_rejected(data: &str, rejection: Rejection) {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.signal(data);
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected { rejection }],
        "for {data:?}"
    );
    assert!(commands(&outs).is_empty());
    assert_eq!(h.engine.state(), State::Live);
    assert_eq!(h.engine.poll_timeout(), None, "nothing scheduled");
    assert_eq!(
        parse_signal(data).err(),
        if data.len() > 8192 {
            Some(RejectReason::TooLarge.into())
        } else {
            Some(rejection)
        }
    );
}

#[test]
fn every_malformed_signal_is_rejected_with_its_reason_and_changes_nothing() {
    let wrong = Rejection::wrong_type;
    let cases: Vec<(String, Rejection)> = vec![
        ("not json".into(), RejectReason::NotJson.into()),
        ("[1,2]".into(), RejectReason::NotJson.into()),
        ("\"B\"".into(), RejectReason::NotJson.into()),
        (
            r#"{"v":1,"sessionId":"B""#.into(),
            RejectReason::NotJson.into(),
        ),
        (
            r#"{"v":1,"sessionId":"B"} trailing"#.into(),
            RejectReason::NotJson.into(),
        ),
        (
            r#"{"sessionId":"B"}"#.into(),
            RejectReason::UnsupportedVersion.into(),
        ),
        (
            r#"{"v":2,"sessionId":"B"}"#.into(),
            RejectReason::UnsupportedVersion.into(),
        ),
        (
            r#"{"v":"1","sessionId":"B"}"#.into(),
            RejectReason::UnsupportedVersion.into(),
        ),
        (
            r#"{"v":1.5,"sessionId":"B"}"#.into(),
            RejectReason::UnsupportedVersion.into(),
        ),
        (r#"{"v":1}"#.into(), RejectReason::MissingSessionId.into()),
        (
            r#"{"v":1,"sessionId":null}"#.into(),
            RejectReason::MissingSessionId.into(),
        ),
        (
            r#"{"v":1,"sessionId":""}"#.into(),
            RejectReason::EmptySessionId.into(),
        ),
        (
            format!(r#"{{"v":1,"sessionId":"{}"}}"#, "x".repeat(257)),
            RejectReason::OversizeSessionId.into(),
        ),
        (
            r#"{"v":1,"sessionId":"<img src=x onerror=alert(1)>"}"#.into(),
            RejectReason::BadSessionId.into(),
        ),
        (
            r#"{"v":1,"sessionId":"2_MX4 abc"}"#.into(),
            RejectReason::BadSessionId.into(),
        ),
        (
            r#"{"v":1,"sessionId":"2_MX4\u0000abc"}"#.into(),
            RejectReason::BadSessionId.into(),
        ),
        (
            r#"{"v":1,"sessionId":"2_MX4é"}"#.into(),
            RejectReason::BadSessionId.into(),
        ),
        (r#"{"v":1,"sessionId":42}"#.into(), wrong("sessionId")),
        (
            r#"{"v":1,"sessionId":"B","token":7}"#.into(),
            wrong("token"),
        ),
        (
            format!(
                r#"{{"v":1,"sessionId":"B","token":"{}"}}"#,
                "t".repeat(4097)
            ),
            wrong("token"),
        ),
        (
            r#"{"v":1,"sessionId":"B","reason":{}}"#.into(),
            wrong("reason"),
        ),
        (
            format!(
                r#"{{"v":1,"sessionId":"B","reason":"{}"}}"#,
                "r".repeat(129)
            ),
            wrong("reason"),
        ),
        (
            r#"{"v":1,"sessionId":"B","deadline":"soon"}"#.into(),
            wrong("deadline"),
        ),
        (
            r#"{"v":1,"sessionId":"B","deadline":-5}"#.into(),
            wrong("deadline"),
        ),
        (
            r#"{"v":1,"sessionId":"B","deadline":1e400}"#.into(),
            RejectReason::NotJson.into(), // beyond f64: serde_json refuses it (JSON.parse: Infinity, wrongType)
        ),
        (
            r#"{"v":1,"sessionId":"B","spreadMs":600000.5}"#.into(),
            wrong("spreadMs"),
        ),
        (
            format!(
                r#"{{"v":1,"sessionId":"B","x":{}1{}}}"#,
                "[".repeat(32),
                "]".repeat(32)
            ),
            RejectReason::NotJson.into(), // nested deeper than MAX_DEPTH
        ),
        (
            r#"{"v":1,"sessionId":"B","spreadMs":true}"#.into(),
            wrong("spreadMs"),
        ),
        (
            r#"{"v":1,"sessionId":"B","spreadMs":600001}"#.into(),
            wrong("spreadMs"),
        ),
        (r#"{"v":1,"sessionId":"B","id":[]}"#.into(), wrong("id")),
        (
            format!(r#"{{"v":1,"sessionId":"B","id":"{}"}}"#, "i".repeat(129)),
            wrong("id"),
        ),
        (
            format!(r#"{{"v":1,"sessionId":"B","pad":"{}"}}"#, "x".repeat(8200)),
            RejectReason::TooLarge.into(),
        ),
    ];
    for (data, reason) in cases {
        assert_rejected(&data, reason);
    }
}

#[test]
fn reject_reasons_read_as_sentences_with_stable_codes() {
    let r = Rejection::wrong_type("spreadMs");
    assert_eq!(r.reason, RejectReason::WrongType);
    assert_eq!(r.field, Some("spreadMs"));
    assert!(r.to_string().contains("spreadMs"));
    assert!(Rejection::from(RejectReason::NotFromServer)
        .to_string()
        .contains("only the app server"));
    assert!(HandoffError::NoToken.to_string().contains("tokenProvider"));
}

#[test]
fn numbers_are_json_numbers_and_fractions_of_a_millisecond_are_floored() {
    let req =
        parse_signal(r#"{"v":1.0,"sessionId":"B","deadline":1.8e12,"spreadMs":2500.9}"#).unwrap();
    assert_eq!(req.deadline, Some(1_800_000_000_000));
    assert_eq!(req.spread_ms, 2500);
    let req = parse_signal(r#"{"v":1,"sessionId":"B","deadline":1800000000000.75}"#).unwrap();
    assert_eq!(req.deadline, Some(1_800_000_000_000));
}

#[test]
fn the_same_checks_hold_for_every_move_request_and_only_signals_need_v() {
    // moveTo and resolveSession give no `v`; a signal must.
    let mut fields = MoveFields {
        spread_ms: Field::from(100.0),
        ..MoveFields::to("B")
    };
    assert_eq!(
        fields.clone().signal(),
        Err(RejectReason::UnsupportedVersion.into())
    );
    assert_eq!(fields.clone().request().unwrap().spread_ms, 100);
    fields.token = Field::Bool(true);
    assert_eq!(fields.request(), Err(Rejection::wrong_type("token")));
    assert_eq!(
        MoveFields::default().request(),
        Err(RejectReason::MissingSessionId.into())
    );
    assert_eq!(
        Rejection::wrong_type("token").problem(),
        "\"token\" must be a string of at most 4096 bytes"
    );
}

#[test]
fn nesting_is_counted_outside_strings_only() {
    // Brackets in a string are text: this is an over-long id, not deep nesting.
    let brackets = format!(r#"{{"v":1,"sessionId":"B","id":"{}"}}"#, "[".repeat(200));
    assert_eq!(parse_signal(&brackets), Err(Rejection::wrong_type("id")));
    let ok = format!(
        r#"{{"v":1,"sessionId":"B","x":"{}\"{}"}}"#,
        "[".repeat(50),
        "{".repeat(50)
    );
    assert_eq!(check_signal_text(&ok), Ok(()));
    let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
    assert_eq!(check_signal_text(&deep), Err(RejectReason::NotJson.into()));
    let at_limit = format!("{}{}", "[".repeat(32), "]".repeat(32));
    assert_eq!(check_signal_text(&at_limit), Ok(()));
}

#[test]
fn unknown_fields_and_null_optionals_are_accepted() {
    let req = parse_signal(
        r#"{"v":1,"sessionId":"B","future":{"x":[1]},"token":null,"spreadMs":600000}"#,
    )
    .unwrap();
    assert_eq!(req.session, sid("B"));
    assert_eq!(req.token, None);
    assert_eq!(req.spread_ms, 600_000);
}

#[test]
fn a_signal_from_a_client_is_rejected_as_not_from_server() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.input(Input::Signal {
        from: Some(conn("p1", "A")),
        body: wire(&handoff_to("EVIL", "")),
    });
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected {
            rejection: RejectReason::NotFromServer.into()
        }]
    );
    assert!(commands(&outs).is_empty());
}

#[test]
fn a_client_signal_is_rejected_before_its_data_is_looked_at() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.input(Input::Signal {
        from: Some(conn("p1", "A")),
        body: wire("not json"),
    });
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected {
            rejection: RejectReason::NotFromServer.into()
        }]
    );
}

#[test]
fn a_signal_naming_the_live_session_or_the_target_is_a_duplicate_and_changes_nothing() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.signal(&handoff_to("A", ""));
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected {
            rejection: RejectReason::Duplicate.into()
        }]
    );

    h.signal(&handoff_to("B", ""));
    h.connected("B");
    let timer = h.engine.poll_timeout();
    let outs = h.signal(&handoff_to(
        "B",
        r#""spreadMs":9000,"deadline":9999999999999"#,
    ));
    assert_eq!(
        outs,
        vec![Output::Event(Event::SignalRejected {
            rejection: RejectReason::Duplicate.into()
        })]
    );
    assert_eq!(h.engine.poll_timeout(), timer, "timers untouched");
    assert_eq!(h.engine.target_session(), Some(&sid("B")));
}

#[test]
fn a_signal_whose_deadline_has_passed_is_stale() {
    let mut h = live_in_a_with(&[], at_once());
    let outs = h.signal(&handoff_to("B", &format!(r#""deadline":{}"#, h.now)));
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected {
            rejection: RejectReason::Stale.into()
        }]
    );
}

#[test]
fn a_signal_naming_a_session_already_left_is_stale() {
    let mut h = live_in_a_with(&[], at_once());
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    h.published("B"); // A left
    assert_eq!(h.engine.live_session(), Some(&sid("B")));
    let outs = h.signal(&handoff_to("A", ""));
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected {
            rejection: RejectReason::Stale.into()
        }]
    );
    // The app may still move back explicitly (breakout rooms).
    let outs = h.input(Input::Move(HandoffRequest {
        session: sid("A"),
        token: Some("t".into()),
        reason: None,
        deadline: None,
        spread_ms: 0,
        id: None,
    }));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("A"),
            token: "t".into()
        }
    ));
}

#[test]
fn a_newer_signal_supersedes_the_move_leaving_the_half_joined_session() {
    // Given a move A -> B where p1 has already swapped to B and p2 has not.
    let mut h = live_in_a_with(&["p1", "p2"], at_once());
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    h.arrives("p1", "B");
    h.arrives("p2", "B");
    h.first_frame("p1", "B");
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));

    // When the server names C instead...
    let outs = h.signal(&handoff_to("C", ""));
    // ...then p1 goes back to A (resubscribed), B's subscribers go, B is left, and C is joined.
    assert_eq!(
        commands(&outs),
        vec![
            Command::Subscribe {
                session: sid("A"),
                stream: cam("p1", "A"),
                key: key("p1")
            },
            Command::Show {
                key: key("p1"),
                session: sid("A"),
                stream: cam("p1", "A"),
                replaces: Some(src("B", cam("p1", "B")))
            },
            Command::Unsubscribe {
                session: sid("B"),
                stream: cam("p1", "B")
            },
            Command::Unsubscribe {
                session: sid("B"),
                stream: cam("p2", "B")
            },
            Command::Disconnect { session: sid("B") },
            Command::Connect {
                session: sid("C"),
                token: "token-C".into()
            },
            Command::PreparePublish { session: sid("C") },
        ]
    );
    assert!(has_event(
        &outs,
        &Event::HandoffStarted {
            from: sid("A"),
            to: sid("C"),
            reason: None,
            id: None
        }
    ));
    assert_eq!(h.tile("p2"), Some(src("A", cam("p2", "A"))));
    assert_eq!(h.engine.state(), State::Handoff);
    // B is now stale.
    let outs = h.signal(&handoff_to("B", ""));
    assert_eq!(
        events(&outs),
        vec![Event::SignalRejected {
            rejection: RejectReason::Stale.into()
        }]
    );
    // And the move to C completes normally.
    h.connected("C");
    h.published("C");
    h.moves("p1", "A", "C");
    h.moves("p2", "A", "C");
    h.first_frame("p1", "C");
    let outs = h.first_frame("p2", "C");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
    assert!(!h
        .events_so_far()
        .iter()
        .any(|e| matches!(e, Event::ParticipantLeft { .. })));
}

#[test]
fn superseding_while_still_waiting_out_the_spread_needs_no_disconnect() {
    let mut h = live_in_a_with(&[], at_once());
    h.signal(&handoff_to("B", r#""spreadMs":60000"#));
    let outs = h.signal(&handoff_to("C", ""));
    assert!(!touches_session(&outs, "B"));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("C"),
            token: "token-C".into()
        }
    ));
}
