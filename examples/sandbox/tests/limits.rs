//! Issue 19: nothing grows without bound, and one session's callbacks never wait for
//! another's. Each test reproduces a finding (it failed before the fix).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use video_handoff_sandbox::config::{MAX_STREAMS_PER_CONNECTION, MAX_SUBSCRIPTIONS_PER_STREAM};
use video_handoff_sandbox::ids::uuid;

/// A callback receiver that answers the callbacks of `slow_sid` only after `delay`, and
/// records when each callback arrived.
async fn slow_receiver(
    slow_sid: Arc<Mutex<String>>,
    delay: Duration,
) -> (String, Arc<Mutex<Vec<(Instant, Value)>>>) {
    use axum::routing::post;
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/callbacks",
        post(move |axum::Json(body): axum::Json<Value>| {
            let (g, slow) = (g.clone(), slow_sid.clone());
            async move {
                g.lock().unwrap().push((Instant::now(), body.clone()));
                if body["sessionId"] == *slow.lock().unwrap() {
                    tokio::time::sleep(delay).await;
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

#[tokio::test]
async fn one_sessions_churn_does_not_delay_another_sessions_rotation_notice() {
    let slow = Arc::new(Mutex::new(String::new()));
    let (url, got) = slow_receiver(slow.clone(), Duration::from_millis(300)).await;
    let sb = TestSandbox::start_with(move |c| c.callback_urls = vec![url]).await;
    let (busy, quiet) = (sb.create_session().await, sb.create_session().await);
    *slow.lock().unwrap() = busy.clone();
    let mut churner = sb.join(&busy, "churner").await;
    // 20 publish/unpublish cycles: 40 callbacks of 300 ms each queue up for `busy`.
    for _ in 0..20 {
        let st = churner.publish("loop").await;
        churner.ok("delete", &stream(&st), json!({})).await;
    }
    let asked = Instant::now();
    let r = sb
        .admin_post(
            &format!("/admin/sessions/{quiet}/rotate"),
            json!({"noticeMs": 60_000}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let deadline = asked + Duration::from_secs(10);
    let arrived = loop {
        let hit = got.lock().unwrap().iter().find_map(|(at, b)| {
            (b["sessionId"] == quiet.as_str() && b["event"] == "sessionNotification").then_some(*at)
        });
        if let Some(at) = hit {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "no rotation notice for the quiet session"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let waited = arrived.duration_since(asked);
    assert!(
        waited < Duration::from_secs(1),
        "the quiet session's notice waited {waited:?} behind the busy one's callbacks"
    );
    let busy_left = 41
        - got
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| b["sessionId"] == busy.as_str())
            .count();
    assert!(
        busy_left > 10,
        "the busy session was still being delivered ({busy_left} left)"
    );
}

#[tokio::test]
async fn a_connection_publishes_at_most_its_cap_of_streams_and_unknown_fields_are_dropped() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let junk = "x".repeat(20_000); // a frame holds 64 kB
    for i in 0..MAX_STREAMS_PER_CONNECTION {
        let st = uuid();
        let mut content = camera(&st, &format!("s{i}"));
        content["junk"] = json!(junk);
        content["channel"][1]["junk"] = json!(junk);
        content["customProperties"] = json!({"initials": "AB"});
        a.ok("create", &stream(&st), content).await;
    }
    let st = uuid();
    let refused = a
        .request("create", &stream(&st), camera(&st, "one too many"))
        .await;
    assert_eq!(refused.code, 429, "{refused:?}");
    // The next joiner's snapshot carries the streams without what the publisher made up.
    let b = sb.join(&sid, "b").await;
    let snapshot = b.snapshot.to_string();
    assert!(!snapshot.contains("junk"), "unknown fields dropped");
    assert!(
        snapshot.len() < 20_000,
        "snapshot of {} bytes",
        snapshot.len()
    );
    assert!(
        snapshot.contains("\"initials\":\"AB\""),
        "the vendor's customProperties kept"
    );
    assert!(
        snapshot.contains("\"fitMode\""),
        "the vendor's channel fields kept"
    );
}

#[tokio::test]
async fn a_connection_holds_a_bounded_number_of_subscriptions_to_a_stream() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut publisher = sb.join(&sid, "p").await;
    let st = publisher.publish("cam").await;
    let mut s = sb.join(&sid, "s").await;
    for _ in 0..MAX_SUBSCRIPTIONS_PER_STREAM {
        s.ok("create", &subscriber(&st, &uuid()), json!({})).await;
    }
    let refused = s
        .request("create", &subscriber(&st, &uuid()), json!({}))
        .await;
    assert_eq!(refused.code, 429, "{refused:?}");
    let state = sb.session_state(&sid).await;
    assert_eq!(
        state["subscriptions"], MAX_SUBSCRIPTIONS_PER_STREAM,
        "{state}"
    );
}

#[tokio::test]
async fn rest_jwts_not_yet_valid_or_expiring_far_ahead_are_refused() {
    let sb = TestSandbox::start().await;
    let create = |jwt: String| {
        let http = sb.http.clone();
        let url = format!("{}/session/create", sb.base);
        async move {
            http.post(url)
                .bearer_auth(jwt)
                .form(&[("p2p.preference", "enabled")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let claims = |extra: Value| {
        let mut c =
            json!({"application_id": APP_ID, "iat": now_s(), "jti": "t", "exp": now_s() + 300});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sign(&keys().private_pem, c)
    };
    assert_eq!(
        create(claims(json!({"nbf": now_s() + 600}))).await,
        401,
        "nbf in the future"
    );
    assert_eq!(
        create(claims(json!({"exp": now_s() + 100 * 365 * 86_400}))).await,
        401,
        "exp 100 years out"
    );
    assert_eq!(create(claims(json!({"nbf": now_s() - 1}))).await, 200);
    assert_eq!(
        create(claims(json!({"exp": now_s() + 900}))).await,
        200,
        "@vonage/auth's 15 min"
    );
    // A client token that expires a year out is refused at connect.
    let sid = sb.create_session().await;
    let mut c = client_claims(&sid, "publisher", "x");
    c["exp"] = json!(now_s() + 365 * 86_400);
    let refused = sb
        .connect(&sid, &sign(&keys().private_pem, c))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.code, 1004, "{refused:?}");
}

#[tokio::test]
async fn connection_ids_outside_the_vendors_character_set_are_refused() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let token = sb.token(&sid, "publisher", "x");
    let own_address = sb.base.trim_start_matches("http://").to_owned();
    for bad in [
        own_address.as_str(),
        "a b",
        "<script>",
        "x".repeat(65).as_str(),
    ] {
        assert!(sb.session_info(&sid, &token, bad).await.is_err(), "{bad}");
        let mut raw = sb.raw_socket(bad, &sid).await;
        assert!(raw.handshake(&token).await.is_err(), "{bad}");
    }
    assert!(sb.connect_as(&sid, &token, &uuid()).await.is_ok());
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
}
