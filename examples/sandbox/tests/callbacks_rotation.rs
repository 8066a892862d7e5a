//! Session-monitoring callbacks (order, field names, retries) and the rotation timeline.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

async fn with_receiver() -> (TestSandbox, Receiver) {
    let rx = Receiver::start().await;
    let url = rx.url.clone();
    let sb = TestSandbox::start_with(move |c| c.callback_urls = vec![url]).await;
    (sb, rx)
}

#[tokio::test]
async fn callbacks_arrive_in_order_with_the_vendors_field_names() {
    let (sb, rx) = with_receiver().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "name=a").await;
    a.send(json!({"t": "publish", "name": "cam", "videoType": "camera"}))
        .await;
    let stream = a.expect("published").await["stream"].clone();
    a.send(json!({"t": "disconnect"})).await;
    a.ended().await;

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
        json!({"id": a.id, "createdAt": got[0]["connection"]["createdAt"], "data": "name=a"})
    );
    assert_eq!(got[1]["stream"]["id"], stream["streamId"]);
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
async fn rotation_notifies_then_destroys_the_session_at_the_end_of_the_notice() {
    let (sb, rx) = with_receiver().await;
    let sid = sb.create_session().await;
    let mut stayer = sb.join(&sid, "stayer").await;
    let mut leaver = sb.join(&sid, "leaver").await;
    stayer.expect("connectionCreated").await;
    stayer.send(json!({"t": "publish"})).await;
    let stream_id = stayer.expect("published").await["stream"]["streamId"].clone();
    leaver.expect("streamCreated").await;
    rx.wait_for(3, Duration::from_secs(3)).await;

    let started = Instant::now();
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{sid}/rotate"),
            json!({"noticeMs": 600}),
        )
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["noticeMs"], 600);
    let note = &rx.wait_for(4, Duration::from_secs(3)).await[3];
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
        sb.admin_post(&format!("/admin/sessions/{sid}/rotate"), json!({}))
            .await
            .status(),
        409
    );

    // During the notice the session works as before; one client moves away.
    stayer.expect_silence(100).await;
    leaver.send(json!({"t": "disconnect"})).await;
    leaver.ended().await;
    stayer.expect("connectionDestroyed").await;

    // At the end: the stayer gets its stream destroyed and sessionDisconnected.
    let sd = stayer.next_within(Duration::from_secs(2)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "not before the notice ends"
    );
    assert_eq!(
        (
            sd["t"].as_str(),
            sd["stream"]["streamId"].clone(),
            sd["reason"].as_str()
        ),
        (Some("streamDestroyed"), stream_id, Some("serverRotation"))
    );
    let disc = stayer.expect("sessionDisconnected").await;
    assert_eq!(disc["reason"], "serverRotation");
    assert_eq!(stayer.ended().await, Ended::Closed(1000));

    let all = rx.wait_for(9, Duration::from_secs(3)).await;
    let tail: Vec<(String, Option<String>)> = all[4..]
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
            r("sessionDestroyed", "serverRotation"),
        ]
    );

    // The destroyed session refuses everything.
    let (_, first) = sb.connect(&sid, &sb.token(&sid, "publisher", "")).await;
    assert_eq!(
        (first["code"].as_u64(), first["name"].as_str()),
        (Some(1005), Some("OT_INVALID_SESSION_ID"))
    );
    let res = sb
        .http
        .post(sb.project_url(&format!("/session/{sid}/signal")))
        .bearer_auth(sb.rest_jwt())
        .json(&json!({"type": "x", "data": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
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
            st["connections"].as_array().unwrap().len()
        ),
        (Some(true), 0)
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
    let res = sb
        .http
        .post(format!("{}/admin/sessions/{sid}/rotate", sb.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["noticeMs"], 250);
    assert_eq!(
        a.expect("sessionDisconnected").await["reason"],
        "serverRotation"
    );
    let log = sb.admin_get(&format!("/admin/sessions/{sid}/events")).await;
    let events: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "connectionCreated",
            "sessionNotification",
            "sessionNotification",
            "connectionDestroyed",
            "sessionDestroyed"
        ]
    );
}
