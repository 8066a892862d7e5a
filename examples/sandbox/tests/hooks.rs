//! Sandbox-only test hooks: added latency, failing and delaying connects, dropping signals,
//! cutting a socket.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn added_latency_delays_every_hop_and_keeps_order() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    let hooks: Value = sb
        .admin_post("/admin/hooks", json!({"latencyMs": 150}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hooks["latencyMs"], 150);

    // Client -> server -> same client: two hops.
    let t = Instant::now();
    a.send(json!({"t": "ping", "id": 1})).await;
    a.expect("pong").await;
    let rtt = t.elapsed();
    assert!(rtt >= Duration::from_millis(300), "round trip {rtt:?}");

    // A -> server -> B: two hops, in order.
    let t = Instant::now();
    for i in 0..20 {
        a.send(json!({"t": "signal", "to": b.id, "type": "n", "data": i.to_string()}))
            .await;
    }
    for i in 0..20 {
        assert_eq!(b.expect("signal").await["data"], i.to_string());
    }
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "relay took {:?}",
        t.elapsed()
    );

    // REST -> client: one hop.
    let t = Instant::now();
    sb.http
        .post(sb.project_url(&format!("/session/{sid}/connection/{}/signal", b.id)))
        .bearer_auth(sb.rest_jwt())
        .json(&json!({"data": "rest"}))
        .send()
        .await
        .unwrap();
    assert_eq!(b.expect("signal").await["data"], "rest");
    let one_hop = t.elapsed();
    assert!(one_hop >= Duration::from_millis(150), "one hop {one_hop:?}");

    sb.http
        .delete(format!("{}/admin/hooks", sb.base))
        .send()
        .await
        .unwrap();
    let t = Instant::now();
    a.send(json!({"t": "ping"})).await;
    for _ in 0..20 {
        if a.next().await["t"] == "pong" {
            break;
        }
    }
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "latency removed: {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn fail_connects_fails_the_next_n_connects_to_that_session_only() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let other = sb.create_session().await;
    sb.admin_post(
        "/admin/hooks",
        json!({"failConnects": {"sessionId": sid, "count": 2}}),
    )
    .await;

    for _ in 0..2 {
        let (mut c, first) = sb.connect(&sid, &sb.token(&sid, "publisher", "")).await;
        assert_eq!(
            (first["code"].as_u64(), first["name"].as_str()),
            (Some(1006), Some("OT_CONNECT_FAILED"))
        );
        assert_eq!(c.ended().await, Ended::Closed(4006));
    }
    sb.join(&other, "elsewhere").await;
    sb.join(&sid, "third time").await;
    assert_eq!(
        sb.admin_get("/admin/hooks").await["failConnects"],
        json!([])
    );
}

#[tokio::test]
async fn delay_connects_holds_back_connected_and_the_join() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    sb.admin_post(
        "/admin/hooks",
        json!({"delayConnects": {"sessionId": sid, "ms": 400}}),
    )
    .await;

    let t = Instant::now();
    let slow = tokio::spawn({
        let token = sb.token(&sid, "publisher", "slow");
        let base = sb.base.clone();
        let sid = sid.clone();
        async move {
            let mut c = Client::open(&base).await;
            c.send(json!({"t": "connect", "sessionId": sid, "token": token}))
                .await;
            c.next().await
        }
    });
    a.expect_silence(250).await;
    assert_eq!(
        a.expect("connectionCreated").await["connection"]["data"],
        "slow"
    );
    let first = slow.await.unwrap();
    assert_eq!(first["t"], "connected");
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );

    sb.admin_post(
        "/admin/hooks",
        json!({"delayConnects": {"sessionId": sid, "ms": 0}}),
    )
    .await;
    let t = Instant::now();
    sb.join(&sid, "fast").await;
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn drop_signals_silently_drops_deliveries_to_one_connection() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    a.send(json!({"t": "publish"})).await;
    let stream_id = a.expect("published").await["stream"]["streamId"].clone();
    b.expect("streamCreated").await;
    sb.admin_post(
        "/admin/hooks",
        json!({"dropSignals": {"connectionId": b.id, "type": "lost"}}),
    )
    .await;

    a.send(json!({"t": "signal", "reqId": 1, "type": "lost", "data": "1"}))
        .await;
    assert_eq!(
        a.expect("signal").await["data"],
        "1",
        "the sender still gets its broadcast"
    );
    assert_eq!(
        a.expect("signalAck").await["reqId"],
        1,
        "the sender is not told"
    );
    a.send(json!({"t": "signal", "to": b.id, "type": "kept", "data": "2"}))
        .await;
    a.expect("signalAck").await;
    assert_eq!(b.expect("signal").await["data"], "2", "other types pass");
    sb.http
        .post(sb.project_url(&format!("/session/{sid}/signal")))
        .bearer_auth(sb.rest_jwt())
        .json(&json!({"type": "lost", "data": "3"}))
        .send()
        .await
        .unwrap();
    a.expect("signal").await;
    b.expect_silence(150).await;

    // rtc frames pass unless the rule says rtc.
    let rtc =
        json!({"t": "rtc", "to": b.id, "streamId": stream_id, "subscriberId": "s", "payload": {}});
    a.send(rtc.clone()).await;
    b.expect("rtc").await;
    sb.admin_post(
        "/admin/hooks",
        json!({"dropSignals": {"connectionId": b.id, "rtc": true}}),
    )
    .await;
    a.send(rtc).await;
    a.send(json!({"t": "signal", "to": b.id, "type": "any", "data": "4"}))
        .await;
    a.expect("signalAck").await;
    b.expect_silence(150).await;
}

#[tokio::test]
async fn cut_drops_the_socket_without_a_close_frame() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;

    let res = sb
        .http
        .post(format!("{}/admin/connections/{}/cut", sb.base, b.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(b.ended().await, Ended::Dropped);
    let cd = a.expect("connectionDestroyed").await;
    assert_eq!(
        (
            cd["connection"]["connectionId"].as_str(),
            cd["reason"].as_str()
        ),
        (Some(b.id.as_str()), Some("networkDisconnected"))
    );
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
    let again = sb
        .http
        .post(format!("{}/admin/connections/{}/cut", sb.base, b.id))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn hooks_can_be_read_reset_and_refuse_bad_bodies() {
    let sb = TestSandbox::start().await;
    sb.admin_post(
        "/admin/hooks",
        json!({"latencyMs": 5, "failConnects": {"sessionId": "s"},
        "delayConnects": {"sessionId": "s", "ms": 10}, "dropSignals": {"connectionId": "c"}}),
    )
    .await;
    let h = sb.admin_get("/admin/hooks").await;
    assert_eq!(h["latencyMs"], 5);
    assert_eq!(h["failConnects"], json!([{"sessionId": "s", "count": 1}]));
    assert_eq!(h["delayConnects"], json!([{"sessionId": "s", "ms": 10}]));
    assert_eq!(
        h["dropSignals"],
        json!([{"connectionId": "c", "type": null, "rtc": false}])
    );
    let bad = sb.admin_post("/admin/hooks", json!({"latency": 5})).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("latency"));
    let reset: Value = sb
        .http
        .delete(format!("{}/admin/hooks", sb.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reset,
        json!({"latencyMs": 0, "failConnects": [], "delayConnects": [], "dropSignals": []})
    );
}
