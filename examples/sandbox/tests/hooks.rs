//! Sandbox-only test hooks: added latency, failing and delaying connects, dropping signals,
//! cutting a socket; and the admin API that sets them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use video_handoff_sandbox::ids::uuid;
use video_handoff_sandbox::vendor::rumor::{self, Frame};

fn conn(id: &str) -> String {
    format!("/connection/{id}")
}

/// One Rumor PING answered: two hops.
async fn round_trip(c: &mut Client) -> Duration {
    let t = Instant::now();
    c.send_frame(Frame::new(rumor::PING, vec![], "")).await;
    let pong = c.next_frame_within(Duration::from_secs(3)).await.unwrap();
    assert_eq!(pong.kind, rumor::PONG);
    t.elapsed()
}

#[tokio::test]
async fn added_latency_delays_every_hop_both_ways_and_keeps_order() {
    const HOP: Duration = Duration::from_millis(250);
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let b_id = b.id.clone();
    assert_eq!(sb.hooks(json!({"latencyMs": 250})).await["latencyMs"], 250);

    // Client -> server -> the same client.
    let rtt = round_trip(&mut a).await;
    assert!(rtt >= 2 * HOP, "round trip {rtt:?}");

    // The session info: the request and its answer.
    let t = Instant::now();
    sb.session_info(&sid, &sb.token(&sid, "publisher", ""), &uuid())
        .await
        .unwrap();
    assert!(t.elapsed() >= 2 * HOP, "session info {:?}", t.elapsed());

    // Client -> server alone: the server acts one hop after the client sent.
    let t = Instant::now();
    let st = uuid();
    let uri = format!("{}/stream/{st}", a.base);
    a.send_raptor(&raptor("create", &uri, &camera(&st, "")), &[])
        .await;
    while sb.count_in(&sid, "streams").await == 0 {
        assert!(t.elapsed() < Duration::from_secs(3), "never published");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(t.elapsed() >= HOP, "inbound hop {:?}", t.elapsed());
    a.next_frame_within(Duration::from_secs(3)).await.unwrap(); // its STATUS
    a.expect("created", &format!("/stream/{st}")).await;
    b.expect("created", &format!("/stream/{st}")).await;

    // Server -> client alone: a REST signal.
    let t = Instant::now();
    assert_eq!(
        sb.rest_signal(&sid, Some(&b_id), json!({"data": "rest"}))
            .await,
        204
    );
    assert_eq!(b.next().await.content["data"], "rest");
    assert!(t.elapsed() >= HOP, "outbound hop {:?}", t.elapsed());

    // A -> server -> B, in order.
    let t = Instant::now();
    for i in 0..20 {
        let uri = format!("{}/connection/{b_id}/signal/{}", a.base, uuid());
        a.send_raptor(
            &raptor("signal", &uri, &json!({"data": i.to_string()})),
            &[],
        )
        .await;
    }
    for i in 0..20 {
        assert_eq!(b.next().await.content["data"], i.to_string());
    }
    assert!(t.elapsed() >= 2 * HOP, "relay took {:?}", t.elapsed());
    for _ in 0..20 {
        assert_eq!(
            a.next_frame_within(Duration::from_secs(3))
                .await
                .unwrap()
                .kind,
            rumor::STATUS
        );
    }

    // Reset: no hop is held back any more.
    sb.admin_delete("/admin/hooks").await;
    let rtt = round_trip(&mut a).await;
    assert!(rtt < 2 * HOP, "latency removed: {rtt:?}");
}

#[tokio::test]
async fn fail_connects_fails_the_next_n_attempts_to_that_session_only() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let other = sb.create_session().await;
    let hooks = sb
        .hooks(json!({"failConnects": {"sessionId": sid, "count": 2}}))
        .await;
    assert_eq!(
        hooks["failConnects"],
        json!([{"sessionId": sid, "count": 2, "code": 1006}])
    );

    // Each attempt is three session-info requests (the client's retries of an empty
    // answer); all three fail, and only the attempt counts. The app retries on the same
    // Session object, so the client keeps its connection ID from one attempt to the next.
    let id = uuid();
    for attempt in 1..=2 {
        let r = match sb
            .connect_as(&sid, &sb.token(&sid, "publisher", ""), &id)
            .await
        {
            Ok(_) => panic!("attempt {attempt} connected"),
            Err(r) => r,
        };
        assert_eq!((r.code, r.requests), (1006, 3), "attempt {attempt}: {r:?}");
    }
    let _elsewhere = sb.join(&other, "elsewhere").await;
    let _third = sb
        .connect_as(&sid, &sb.token(&sid, "publisher", "third"), &id)
        .await
        .expect("the third attempt gets in");
    assert_eq!(
        sb.admin_get("/admin/hooks").await["failConnects"],
        json!([])
    );
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
}

#[tokio::test]
async fn fail_connects_gives_the_other_codes_once_per_attempt() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let token = sb.token(&sid, "publisher", "");
    let mut joined = Vec::new();
    for code in [1004, 1005, 2001] {
        sb.hooks(json!({"failConnects": {"sessionId": sid, "code": code}}))
            .await;
        let attempt = uuid();
        let r = match sb.connect_as(&sid, &token, &attempt).await {
            Ok(_) => panic!("{code}: connected"),
            Err(r) => r,
        };
        assert_eq!((r.code, r.requests), (code, 1), "{r:?}");
        assert!(r.message.contains("failConnects"), "{r:?}");
        // The client does not retry an error answer: its next request, even with the same
        // connection ID (an app retrying on the same Session), is a new attempt, let in.
        let again = sb.session_info(&sid, &token, &attempt).await;
        assert!(again.is_ok(), "{code}: {again:?}");
        joined.push(sb.join(&sid, "next attempt").await);
    }
    assert_eq!(sb.count_in(&sid, "connections").await, 3);
}

#[tokio::test]
async fn delay_connects_holds_back_the_session_info_and_so_the_join() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    sb.hooks(json!({"delayConnects": {"sessionId": sid, "ms": 400}}))
        .await;
    let token = sb.token(&sid, "publisher", "slow");

    let t = Instant::now();
    let info = sb.session_info(&sid, &token, &uuid()).await.unwrap();
    assert_eq!(info["session_id"], sid);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );

    // A whole connect: nobody sees the newcomer before the delay is over.
    let t = Instant::now();
    let (slow, ()) = tokio::join!(sb.connect(&sid, &token), a.expect_silence(300));
    let slow = slow.expect("connects after the delay");
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    let seen = a.expect("created", &conn(&slow.id)).await;
    assert_eq!(seen.content["data"], "slow");

    sb.hooks(json!({"delayConnects": {"sessionId": sid, "ms": 0}}))
        .await;
    let t = Instant::now();
    sb.join(&sid, "fast").await;
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn drop_signals_silently_drops_deliveries_to_one_connection() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let (a_id, b_id) = (a.id.clone(), b.id.clone());
    // b subscribes to a's stream: the negotiation runs from a to b.
    let st = a.publish("cam").await;
    a.expect("created", &format!("/stream/{st}")).await;
    b.expect("created", &format!("/stream/{st}")).await;
    let sub = uuid();
    let path = format!("/stream/{st}/subscriber/{sub}");
    b.ok("create", &path, json!({"id": sub})).await;
    a.expect("generateoffer", &path).await;
    sb.hooks(json!({"dropSignals": {"connectionId": b_id, "type": "lost"}}))
        .await;

    // The sender still gets its own copy and a 200: it is not told.
    assert_eq!(a.signal(None, "lost", "1").await.code, 200);
    assert_eq!(a.next().await.content["data"], "1");
    assert_eq!(a.signal(Some(&b_id), "kept", "2").await.code, 200);
    assert_eq!(b.next().await.content["data"], "2", "other types pass");
    assert_eq!(
        sb.rest_signal(&sid, None, json!({"type": "lost", "data": "3"}))
            .await,
        204
    );
    assert_eq!(a.next().await.content["data"], "3");
    b.expect_silence(150).await;

    // The negotiation passes unless the rule says rtc.
    let offer = json!({"type": "offer", "sdp": "v=0"});
    a.ok("offer", &path, offer.clone()).await;
    assert_eq!(b.expect("offer", &path).await.from, a_id);
    sb.hooks(json!({"dropSignals": {"connectionId": b_id, "rtc": true}}))
        .await;
    a.ok("offer", &path, offer).await;
    assert_eq!(a.signal(Some(&b_id), "any", "4").await.code, 200);
    b.expect_silence(150).await;
    // Only deliveries to b are dropped.
    b.ok("answer", &path, json!({"type": "answer", "sdp": "v=0"}))
        .await;
    assert_eq!(a.expect("answer", &path).await.from, b_id);
}

#[tokio::test]
async fn cut_drops_the_socket_without_a_close_frame() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;

    let cut = format!("/admin/connections/{}/cut", b.id);
    assert_eq!(sb.admin_post(&cut, json!({})).await.status(), 204);
    assert_eq!(b.ended().await, Ended::Dropped);
    let cd = a.expect("deleted", &conn(&b.id)).await;
    assert_eq!(cd.reason.as_deref(), Some("networkDisconnected"));
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
    assert_eq!(sb.admin_post(&cut, json!({})).await.status(), 404);
}

#[tokio::test]
async fn hooks_can_be_read_reset_and_refuse_bad_bodies() {
    let sb = TestSandbox::start().await;
    let all = json!({
        "latencyMs": 5, "failConnects": {"sessionId": "s"},
        "delayConnects": {"sessionId": "s", "ms": 10}, "dropSignals": {"connectionId": "c"},
    });
    let set = sb.hooks(all).await;
    let expected = json!({
        "latencyMs": 5,
        "failConnects": [{"sessionId": "s", "count": 1, "code": 1006}],
        "delayConnects": [{"sessionId": "s", "ms": 10}],
        "dropSignals": [{"connectionId": "c", "type": null, "rtc": false}],
    });
    assert_eq!(set, expected);
    assert_eq!(sb.admin_get("/admin/hooks").await, expected);

    // Refused bodies say which field, and change nothing.
    for (body, why) in [
        (json!({"latency": 5}), "latency"),
        (json!({"latencyMs": 10_001}), "latencyMs"),
        (
            json!({"failConnects": {"sessionId": "s", "code": 1234}}),
            "failConnects.code",
        ),
        (
            json!({"delayConnects": {"sessionId": "s", "ms": 120_001}}),
            "delayConnects.ms",
        ),
        (json!({"dropSignals": {"type": "x"}}), "connectionId"),
        (json!([1]), "body"),
    ] {
        let res = sb.admin_post("/admin/hooks", body.clone()).await;
        assert_eq!(res.status(), 400, "{body}");
        let msg = res.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains(why), "{body}: {msg}");
    }
    assert_eq!(sb.admin_get("/admin/hooks").await, expected);

    // failConnects count 0 disarms one session's rule.
    let h = sb
        .hooks(json!({"failConnects": {"sessionId": "s", "count": 0}}))
        .await;
    assert_eq!(h["failConnects"], json!([]));
    let reset = sb.admin_delete("/admin/hooks").await;
    assert_eq!(
        reset,
        json!({"latencyMs": 0, "failConnects": [], "delayConnects": [], "dropSignals": []})
    );
    assert_eq!(sb.admin_get("/admin/hooks").await, reset);
}
