//! Callbacks as a deployed app server receives them: signed (HS256 JWT over the exact body),
//! spread round robin over several receivers, on the platform's two-notice rotation schedule,
//! and, when a test asks, duplicated and out of order. No client socket is needed here: the
//! sessions and rotations are driven through REST and the admin API.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use video_handoff_sandbox::config::CallbackFaults;

const SECRET: &str = "test-signature-secret";

/// One delivery as a receiver saw it.
#[derive(Clone, Debug)]
struct Delivery {
    receiver: usize,
    authorization: Option<String>,
    body: Vec<u8>,
    at: Instant,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn event(&self) -> String {
        self.json()["event"].as_str().unwrap().to_owned()
    }
}

/// `n` receivers on free ports, recording raw bytes and headers into one list.
async fn receivers(n: usize) -> (Vec<String>, Arc<Mutex<Vec<Delivery>>>) {
    use axum::http::HeaderMap;
    use axum::routing::post;
    let got = Arc::new(Mutex::new(Vec::new()));
    let mut urls = Vec::new();
    for receiver in 0..n {
        let g = got.clone();
        let app = axum::Router::new().route(
            "/callbacks",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let g = g.clone();
                async move {
                    g.lock().unwrap().push(Delivery {
                        receiver,
                        authorization: headers
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned()),
                        body: body.to_vec(),
                        at: Instant::now(),
                    });
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!(
            "http://{}/callbacks",
            listener.local_addr().unwrap()
        ));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }
    (urls, got)
}

async fn wait_for(got: &Arc<Mutex<Vec<Delivery>>>, n: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = got.lock().unwrap().clone();
        if now.len() >= n {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} deliveries",
            now.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn claims(d: &Delivery, secret: &str) -> jsonwebtoken::errors::Result<Value> {
    let auth = d.authorization.as_deref().expect("an Authorization header");
    let token = auth.strip_prefix("Bearer ").expect("a bearer token");
    let mut v = Validation::new(Algorithm::HS256);
    v.set_required_spec_claims(&["exp", "iat"]);
    decode::<Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &v).map(|t| t.claims)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn rotate(sb: &TestSandbox, sid: &str, notice_ms: u64) {
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{sid}/rotate"),
            json!({"noticeMs": notice_ms}),
        )
        .await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn every_callback_is_signed_over_its_exact_bytes_and_receivers_take_turns() {
    let (urls, got) = receivers(2).await;
    let sb = TestSandbox::start_with(|c| {
        c.callback_urls = urls;
        c.signature_secret = Some(SECRET.into());
    })
    .await;
    let a = sb.create_session().await;
    let b = sb.create_session().await;
    rotate(&sb, &a, 400).await;
    rotate(&sb, &b, 400).await;
    // Per session: notice, second notice, destroyed.
    let all = wait_for(&got, 6).await;

    let mut jtis = std::collections::HashSet::new();
    for (i, d) in all.iter().enumerate() {
        assert_eq!(d.receiver, i % 2, "round robin: delivery {i}");
        let c = claims(d, SECRET).expect("verifies with the application's secret");
        assert_eq!(c["iss"], "Vonage");
        assert_eq!(c["application_id"], APP_ID);
        assert_eq!(c["payload_hash"], hex_sha256(&d.body));
        let iat = c["iat"].as_u64().unwrap();
        assert!(iat.abs_diff(now_s()) <= 2, "iat is now");
        assert_eq!(c["exp"].as_u64().unwrap(), iat + 300);
        assert!(
            jtis.insert(c["jti"].as_str().unwrap().to_owned()),
            "jti unique"
        );
        assert!(
            claims(d, "another-secret").is_err(),
            "a different secret does not verify"
        );
    }
}

#[tokio::test]
async fn a_rotation_notifies_at_the_notice_and_again_at_a_quarter_of_it_before_the_end() {
    let (urls, got) = receivers(1).await;
    let sb = TestSandbox::start_with(|c| {
        c.callback_urls = urls;
    })
    .await;
    let sid = sb.create_session().await;
    let started = Instant::now();
    rotate(&sb, &sid, 800).await;
    let all = wait_for(&got, 3).await;
    let events: Vec<String> = all.iter().map(Delivery::event).collect();
    assert_eq!(
        events,
        [
            "sessionNotification",
            "sessionNotification",
            "sessionDestroyed"
        ]
    );
    assert!(
        all[0].authorization.is_none(),
        "no secret: unsigned, as with signed callbacks off"
    );
    let first = all[0].json();
    let second = all[1].json();
    assert_eq!(first["remainingTime"], 800);
    let remaining = second["remainingTime"].as_u64().unwrap();
    assert!(
        (1..=200).contains(&remaining),
        "second notice {remaining} ms before the end"
    );
    let second_after = all[1].at - started;
    assert!(
        second_after >= Duration::from_millis(600),
        "second notice after {second_after:?}"
    );
    // Both name the same end: timestamp + remainingTime.
    let end = |v: &Value| v["timestamp"].as_u64().unwrap() + v["remainingTime"].as_u64().unwrap();
    assert!(end(&first).abs_diff(end(&second)) <= 20);
    assert!(all[2].at - started >= Duration::from_millis(800));
}

#[tokio::test]
async fn a_test_can_ask_for_duplicate_and_out_of_order_deliveries() {
    let (urls, got) = receivers(1).await;
    let sb = TestSandbox::start_with(|c| {
        c.callback_urls = urls;
        c.signature_secret = Some(SECRET.into());
        c.callback_faults = CallbackFaults {
            duplicate: true,
            reorder: true,
        };
    })
    .await;
    let sid = sb.create_session().await;
    // The second notice comes 90 ms after the first, within the 200 ms hold.
    rotate(&sb, &sid, 120).await;
    // Three callbacks, each twice.
    let all = wait_for(&got, 6).await;
    let events: Vec<String> = all.iter().map(Delivery::event).collect();
    // The first notice is held until the second overtakes it; the destroyed one, with nothing
    // after it, is delivered when the hold ends.
    assert_eq!(
        events,
        [
            "sessionNotification",
            "sessionNotification",
            "sessionNotification",
            "sessionNotification",
            "sessionDestroyed",
            "sessionDestroyed"
        ]
    );
    let remaining: Vec<u64> = all[..4]
        .iter()
        .map(|d| d.json()["remainingTime"].as_u64().unwrap())
        .collect();
    assert!(remaining[0] < 120 && remaining[2] == 120, "{remaining:?}");
    // A duplicate is the same body, signed anew.
    assert_eq!(all[0].body, all[1].body);
    assert_ne!(all[0].authorization, all[1].authorization);
    for d in &all {
        claims(d, SECRET).unwrap();
    }
}
