//! Session-monitoring callbacks (order, field names, retries), the rotation timeline, and
//! forgetting old sessions.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use video_handoff_sandbox::state::now_ms;

async fn with_receiver() -> (TestSandbox, Receiver) {
    let rx = Receiver::start().await;
    let url = rx.url.clone();
    let sb = TestSandbox::start_with(move |c| c.callback_urls = vec![url]).await;
    (sb, rx)
}

fn conn(id: &str) -> String {
    format!("/connection/{id}")
}

fn stream(id: &str) -> String {
    format!("/stream/{id}")
}

async fn event_names(sb: &TestSandbox, sid: &str) -> Vec<String> {
    let log = sb.admin_get(&format!("/admin/sessions/{sid}/events")).await;
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn callbacks_arrive_in_order_with_the_vendors_field_names() {
    let (sb, rx) = with_receiver().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "name=a").await;
    let st = a.publish("cam").await;
    a.expect("created", &stream(&st)).await;
    a.disconnect().await;
    assert_eq!(a.ended().await, Ended::Closed(1000));

    let got = rx.wait_for(4, Duration::from_secs(3)).await;
    assert_eq!(
        rx.events(),
        [
            "connectionCreated",
            "streamCreated",
            "streamDestroyed",
            "connectionDestroyed"
        ]
    );
    for cb in &got {
        assert_eq!(cb["sessionId"], sid);
        assert_eq!(cb["projectId"], APP_ID);
        assert!(cb["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    }
    assert_eq!(
        got[0]["connection"],
        json!({"id": a.id, "createdAt": a.me["creationTime"], "data": "name=a"})
    );
    assert_eq!(got[1]["stream"]["id"], st.as_str());
    assert_eq!(got[1]["stream"]["connection"]["id"], a.id.as_str());
    assert_eq!(
        (
            got[1]["stream"]["name"].as_str(),
            got[1]["stream"]["videoType"].as_str()
        ),
        (Some("cam"), Some("camera"))
    );
    assert_eq!(got[2]["reason"], "clientDisconnected");
    assert_eq!(got[3]["reason"], "clientDisconnected");

    // The same bodies make up the session's event log.
    let log = sb.admin_get(&format!("/admin/sessions/{sid}/events")).await;
    assert_eq!(log["events"], Value::Array(got));
    assert_eq!(
        (&log["destroyed"], &log["dropped"]),
        (&json!(false), &json!(0))
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_and_order_is_kept() {
    let (sb, rx) = with_receiver().await;
    rx.fail_next.store(3, Ordering::SeqCst);
    let sid = sb.create_session().await;
    let a = sb.join(&sid, "a").await;
    let _b = sb.join(&sid, "b").await;
    a.close().await;
    rx.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(
        rx.events(),
        [
            "connectionCreated",
            "connectionCreated",
            "connectionDestroyed"
        ]
    );
    assert_eq!(
        rx.attempts.load(Ordering::SeqCst),
        3 + 3,
        "three refused attempts, then each delivered once"
    );
}

#[tokio::test]
async fn rotation_notifies_then_ends_each_connection_at_the_end_of_the_notice() {
    let (sb, rx) = with_receiver().await;
    let sid = sb.create_session().await;
    let mut stayer = sb.join(&sid, "stayer").await;
    let mut other = sb.join_as(&sid, "subscriber", "other").await;
    let mut leaver = sb.join(&sid, "leaver").await;
    stayer.expect("created", &conn(&other.id)).await;
    for c in [&mut stayer, &mut other] {
        c.expect("created", &conn(&leaver.id)).await;
    }
    let st = stayer.publish("cam").await;
    for c in [&mut stayer, &mut other, &mut leaver] {
        c.expect("created", &stream(&st)).await;
    }
    rx.wait_for(4, Duration::from_secs(3)).await;

    let started = Instant::now();
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{sid}/rotate"),
            json!({"noticeMs": 600}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (&body["sessionId"], &body["noticeMs"]),
        (&json!(sid), &json!(600))
    );
    let note = &rx.wait_for(5, Duration::from_secs(3)).await[4];
    assert_eq!(
        (
            note["event"].as_str(),
            note["reason"].as_str(),
            note["remainingTime"].as_u64()
        ),
        (
            Some("sessionNotification"),
            Some("serverRotation"),
            Some(600)
        )
    );
    assert_eq!(
        sb.session_state(&sid).await["rotationEndsAt"],
        body["endsAt"]
    );
    let again = sb
        .admin_post(&format!("/admin/sessions/{sid}/rotate"), json!({}))
        .await;
    assert_eq!(again.status(), 409);

    // During the notice the session works as before (clients are told nothing); one leaves.
    stayer.expect_silence(100).await;
    leaver.disconnect().await;
    leaver.ended().await;
    for c in [&mut stayer, &mut other] {
        let gone = c.expect("deleted", &conn(&leaver.id)).await;
        assert_eq!(gone.reason.as_deref(), Some("clientDisconnected"));
    }

    // At the end each connection hears only its own end: its streams, then itself.
    let sd = stayer.next_within(Duration::from_secs(2)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "not before the notice ends"
    );
    assert_eq!(
        (sd.method.as_str(), sd.path.as_str(), sd.reason.as_deref()),
        ("deleted", stream(&st).as_str(), Some("serverRotation"))
    );
    for c in [&mut stayer, &mut other] {
        let own = conn(&c.id);
        let cd = c.expect("deleted", &own).await;
        assert_eq!(cd.reason.as_deref(), Some("serverRotation"));
        assert_eq!(c.ended().await, Ended::Closed(1000));
    }

    let all = rx.wait_for(11, Duration::from_secs(3)).await;
    let tail: Vec<(String, Option<String>)> = all[5..]
        .iter()
        .map(|c| {
            (
                c["event"].as_str().unwrap().to_owned(),
                c["reason"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let r = |e: &str, why: &str| (e.to_owned(), Some(why.to_owned()));
    assert_eq!(
        tail,
        [
            r("connectionDestroyed", "clientDisconnected"),
            // The platform's second notice, a quarter of the notice before the end.
            r("sessionNotification", "serverRotation"),
            r("streamDestroyed", "serverRotation"),
            r("connectionDestroyed", "serverRotation"),
            r("connectionDestroyed", "serverRotation"),
            r("sessionDestroyed", "serverRotation"),
        ]
    );

    // The destroyed session refuses everything.
    let refused = match sb.connect(&sid, &sb.token(&sid, "publisher", "")).await {
        Ok(_) => panic!("connected to a destroyed session"),
        Err(r) => r,
    };
    assert_eq!(refused.code, 1005, "{refused:?}");
    assert_eq!(
        sb.rest_signal(&sid, None, json!({"type": "x", "data": "y"}))
            .await,
        404
    );
    assert_eq!(
        sb.admin_post(&format!("/admin/sessions/{sid}/rotate"), json!({}))
            .await
            .status(),
        404
    );
    let st = sb.session_state(&sid).await;
    assert_eq!(
        (
            st["destroyed"].as_bool(),
            st["connections"].as_array().unwrap().len(),
            &st["rotationEndsAt"]
        ),
        (Some(true), 0, &Value::Null)
    );
}

#[tokio::test]
async fn rotation_of_an_unknown_session_is_404_and_the_default_notice_comes_from_settings() {
    let sb = TestSandbox::start_with(|c| c.rotation_notice_ms = 250).await;
    assert_eq!(
        sb.admin_post("/admin/sessions/2_MX4nope/rotate", json!({}))
            .await
            .status(),
        404
    );
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    // No body at all (with the JSON content type the admin API requires).
    let res = sb
        .admin(
            reqwest::Method::POST,
            &format!("/admin/sessions/{sid}/rotate"),
        )
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["noticeMs"], 250);
    let own = a.expect("deleted", &conn(&a.id.clone())).await;
    assert_eq!(own.reason.as_deref(), Some("serverRotation"));
    assert_eq!(a.ended().await, Ended::Closed(1000));
    assert_eq!(
        event_names(&sb, &sid).await,
        [
            "connectionCreated",
            "sessionNotification",
            "sessionNotification",
            "connectionDestroyed",
            "sessionDestroyed"
        ]
    );
}

#[tokio::test]
async fn a_notice_over_a_week_is_refused_and_schedules_nothing() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let week = 7 * 24 * 3600 * 1000_u64;
    let path = format!("/admin/sessions/{sid}/rotate");
    let res = sb.admin_post(&path, json!({"noticeMs": week + 1})).await;
    assert_eq!(res.status(), 400);
    let msg = res.json::<Value>().await.unwrap()["message"].clone();
    assert!(msg.as_str().unwrap().contains("noticeMs"), "{msg}");
    let bad = sb.admin_post(&path, json!({"notice": 5})).await;
    assert_eq!(bad.status(), 400, "unknown field");
    assert_eq!(sb.session_state(&sid).await["rotationEndsAt"], Value::Null);
    assert_eq!(event_names(&sb, &sid).await, Vec::<String>::new());

    let res = sb.admin_post(&path, json!({"noticeMs": week})).await;
    assert_eq!(res.status(), 202, "a week is allowed");
    assert_eq!(event_names(&sb, &sid).await, ["sessionNotification"]);
}

#[tokio::test]
async fn the_sweep_forgets_destroyed_and_idle_sessions_only() {
    const HOUR: u64 = 3600 * 1000;
    let sb = TestSandbox::start().await;
    let idle = sb.create_session().await;
    let busy = sb.create_session().await;
    let rotating = sb.create_session().await;
    let gone = sb.create_session().await;
    let _member = sb.join(&busy, "still here").await;
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{rotating}/rotate"),
            json!({"noticeMs": 3 * 24 * HOUR}),
        )
        .await;
    assert_eq!(res.status(), 202);
    sb.destroy(&gone).await;
    let sweep = |later: u64| sb.running.sandbox.sweep(now_ms() + later);
    // Sorted: sessions made in the same millisecond have no creation order to compare.
    let ids = |st: Value| -> Vec<String> {
        let mut v: Vec<String> = st["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sessionId"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    assert_eq!(sweep(0), 0);
    // A destroyed session is kept an hour (its log stays readable), then forgotten.
    assert_eq!(sweep(HOUR - 60_000), 0);
    sb.admin_get(&format!("/admin/sessions/{gone}/events"))
        .await;
    assert_eq!(sweep(HOUR + 60_000), 1);
    assert_eq!(
        ids(sb.state().await),
        sorted(vec![idle.clone(), busy.clone(), rotating.clone()])
    );
    // A session nobody joined for a day is forgotten; one with members or a rotation due is not.
    assert_eq!(sweep(24 * HOUR - 60_000), 0);
    assert_eq!(sweep(24 * HOUR + 60_000), 1);
    assert_eq!(
        ids(sb.state().await),
        sorted(vec![busy.clone(), rotating.clone()])
    );
    assert_eq!(sweep(30 * 24 * HOUR), 0);

    // Forgotten sessions are unknown everywhere.
    let res = sb
        .admin(
            reqwest::Method::GET,
            &format!("/admin/sessions/{gone}/events"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let refused = match sb.connect(&idle, &sb.token(&idle, "publisher", "")).await {
        Ok(_) => panic!("connected to a forgotten session"),
        Err(r) => r,
    };
    assert_eq!(
        (refused.code, refused.message.as_str()),
        (1005, "no such session")
    );
}
