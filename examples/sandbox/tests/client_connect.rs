//! Connecting with the vendor protocol (docs/vendor-protocol.md): the session info and the
//! vendor's refusal codes, the socket's own token check, the handshake's order, and the frames
//! the sandbox refuses before and after a client has joined.

mod common;

use common::*;
use serde_json::{json, Value};
use video_handoff_sandbox::ids::uuid;
use video_handoff_sandbox::vendor::rumor::{self, Frame};

#[tokio::test]
async fn the_session_info_names_the_socket_the_server_and_relayed_media() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let token = sb.token(&sid, "publisher", "");
    let info = sb.session_info(&sid, &token, &uuid()).await.unwrap();
    assert_eq!(info["session_id"], sid);
    assert_eq!(info["partner_id"], APP_ID);
    // Behind the proxy this is ws://<sandbox>/messaging.sandbox.invalid/rumor (SOCKET_PATH).
    assert_eq!(
        info["messaging_url"],
        "wss://messaging.sandbox.invalid/rumor"
    );
    assert_eq!(info["symphony_address"], "symphony.sandbox.invalid");
    assert_eq!(info["properties"]["p2p"]["preference"]["value"], "enabled");
    assert_eq!(info["ice_servers"], json!([]));

    // Without the headers the client always sends: an error element (400: the client's 1005).
    let bare: Value = sb
        .http
        .get(format!("{}/anvil.opentok.com/session/{sid}", sb.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bare[0]["error"]["code"], 400, "{bare}");
    let long_id = "c".repeat(129);
    assert_eq!(
        sb.session_info(&sid, &token, &long_id).await.unwrap_err().0,
        1005
    );
}

#[tokio::test]
async fn refused_connects_get_the_vendors_codes_and_join_nothing() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let other = sb.create_session().await;
    let gone = sb.create_session().await;
    sb.destroy(&gone).await;
    let with = |key: &str, val: Value| {
        let mut c = client_claims(&sid, "publisher", "");
        c[key] = val;
        sign(&keys().private_pem, c)
    };
    let cases: Vec<(&str, &str, String, u32, &str)> = vec![
        (
            "unknown session",
            "2_MX4nope",
            sb.token("2_MX4nope", "publisher", ""),
            1005,
            "no such session",
        ),
        (
            "destroyed session",
            &gone,
            sb.token(&gone, "publisher", ""),
            1005,
            "destroyed",
        ),
        (
            "other session's token",
            &sid,
            sb.token(&other, "publisher", ""),
            1004,
            "another session",
        ),
        (
            "wrong key",
            &sid,
            sign(
                &stranger_keys().private_pem,
                client_claims(&sid, "publisher", ""),
            ),
            1004,
            "signature",
        ),
        (
            "expired",
            &sid,
            with("exp", json!(now_s() - 5)),
            1004,
            "expired",
        ),
        ("bad role", &sid, with("role", json!("admin")), 1004, "role"),
        (
            "other app",
            &sid,
            with("application_id", json!("x")),
            1004,
            "application",
        ),
        (
            "bad scope",
            &sid,
            with("scope", json!("session.moderate")),
            1004,
            "scope",
        ),
        ("garbage", &sid, "abc".into(), 1004, "well-formed"),
    ];
    for (what, to, token, code, why) in cases {
        let r = match sb.connect(to, &token).await {
            Ok(_) => panic!("{what}: connected"),
            Err(r) => r,
        };
        // An error element is final: the client does not retry it.
        assert_eq!((r.code, r.requests), (code, 1), "{what}: {r:?}");
        assert!(r.message.contains(why), "{what}: {r:?}");
    }
    assert_eq!(sb.count_in(&sid, "connections").await, 0);
}

#[tokio::test]
async fn the_socket_checks_the_token_itself() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let other = sb.create_session().await;
    let gone = sb.create_session().await;
    sb.destroy(&gone).await;
    let mut a = sb.join(&sid, "a").await;
    // A client that skips the session info meets the same checks on its socket.
    let cases: Vec<(&str, &str, String, u16)> = vec![
        ("garbage token", &sid, "abc".into(), 403),
        (
            "other session's token",
            &sid,
            sb.token(&other, "publisher", ""),
            403,
        ),
        (
            "unknown session",
            "2_MX4nope",
            sb.token("2_MX4nope", "publisher", ""),
            404,
        ),
        (
            "destroyed session",
            &gone,
            sb.token(&gone, "publisher", ""),
            404,
        ),
    ];
    for (what, session, token, status) in cases {
        let mut c = sb.raw_socket(&uuid(), session).await;
        let refused = c.handshake(&token).await.unwrap_err();
        assert_eq!(refused.code, status, "{what}: {refused:?}");
        assert_eq!(c.ended().await, Ended::Closed(1000), "{what}");
    }
    a.expect_silence(100).await;
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
}

#[tokio::test]
async fn ping_is_answered_with_pong_before_and_after_joining() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let wait = std::time::Duration::from_secs(3);
    let mut raw = sb.raw_socket(&uuid(), &sid).await;
    raw.send_frame(ping()).await;
    assert_eq!(raw.next_frame_within(wait).await.unwrap().kind, rumor::PONG);
    let mut a = sb.join(&sid, "a").await;
    a.send_frame(ping()).await;
    let pong = a.next_frame_within(wait).await.unwrap();
    assert_eq!((pong.kind, pong.payload.as_str()), (rumor::PONG, ""));
}

#[tokio::test]
async fn frames_that_are_not_rumor_end_the_socket() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;

    // A text frame from a joined client: closed 1003, the others see a network loss.
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    b.send_text(r#"{"t":"ping"}"#).await;
    assert_eq!(b.ended().await, Ended::Closed(1003));
    let gone = a.expect("deleted", &conn(&b.id)).await;
    assert_eq!(gone.reason.as_deref(), Some("networkDisconnected"));

    // Bytes whose length field lies: 1007.
    let mut c = sb.join(&sid, "c").await;
    a.expect("created", &conn(&c.id)).await;
    let mut bytes = ping().encode();
    bytes[3] += 1;
    c.send_bytes(bytes).await;
    assert_eq!(c.ended().await, Ended::Closed(1007));
    let gone = a.expect("deleted", &conn(&c.id)).await;
    assert_eq!(gone.reason.as_deref(), Some("networkDisconnected"));

    // Before joining, alike.
    let mut d = sb.raw_socket(&uuid(), &sid).await;
    d.send_bytes(vec![0, 0, 0, 4, 0, 0, 99, 0]).await;
    assert_eq!(d.ended().await, Ended::Closed(1007));
    let mut e = sb.raw_socket(&uuid(), &sid).await;
    e.send_text("hello").await;
    assert_eq!(e.ended().await, Ended::Closed(1003));
    a.expect_silence(100).await;
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
}

#[tokio::test]
async fn the_handshake_refuses_requests_out_of_order_and_lets_the_right_one_join() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let token = sb.token(&sid, "publisher", "late");
    let mut c = sb.raw_socket(&uuid(), &sid).await;
    let id = c.id.clone();

    let r = c.create_connection(&id, &token).await;
    assert_eq!(r.code, 400, "before the Rumor CONNECT: {r:?}");
    assert!(r.reason().contains("CONNECT"), "{r:?}");
    c.rumor_connect().await;
    let r = c.signal(None, "t", "x").await;
    assert_eq!(
        r.code, 400,
        "a first request that is not create connection: {r:?}"
    );
    let r = c.create_connection("someone-else", &token).await;
    assert_eq!(r.code, 400, "another ID than the CONNECT's: {r:?}");
    let uri = format!("{}{}", c.base, conn(&id));
    let tx = c
        .send_raptor(&raptor("create", &uri, &json!({})), &[])
        .await;
    let r = c.status_of(&tx).await;
    assert_eq!(r.code, 403, "no token: {r:?}");
    let uri = format!("/v2/partner/other-app/session/{sid}{}", conn(&id));
    let tx = c
        .send_raptor(
            &raptor("create", &uri, &json!({})),
            &[("X-TB-TOKEN-AUTH", &token)],
        )
        .await;
    let r = c.status_of(&tx).await;
    assert_eq!(r.code, 403, "another application: {r:?}");
    assert!(r.reason().contains("application"), "{r:?}");
    a.expect_silence(100).await;

    // None of these closed the socket: the right request still joins.
    c.handshake(&token).await.unwrap();
    assert_eq!(
        a.expect("created", &conn(&id)).await.content["data"],
        "late"
    );
    assert_eq!(sb.count_in(&sid, "connections").await, 2);
}

#[tokio::test]
async fn a_connection_id_in_use_is_refused_and_its_owner_keeps_it() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let a_id = a.id.clone();
    let r = match sb
        .connect_as(&sid, &sb.token(&sid, "publisher", "imposter"), &a_id)
        .await
    {
        Ok(_) => panic!("a second connection with a's ID"),
        Err(r) => r,
    };
    assert_eq!(r.code, 409, "{r:?}");
    b.expect_silence(100).await;
    assert_eq!(a.signal(None, "t", "still a").await.code, 200);
    let m = b.next().await;
    assert_eq!(
        (m.from.as_str(), &m.content["data"]),
        (a_id.as_str(), &json!("still a"))
    );
    assert_eq!(sb.count_in(&sid, "connections").await, 2);
}

#[tokio::test]
async fn a_socket_that_does_not_join_may_send_only_a_few_frames() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let wait = std::time::Duration::from_secs(3);
    let mut c = sb.raw_socket(&uuid(), &sid).await;
    for _ in 0..17 {
        c.send_frame(ping()).await;
    }
    for i in 0..16 {
        assert_eq!(
            c.next_frame_within(wait).await.unwrap().kind,
            rumor::PONG,
            "{i}"
        );
    }
    assert_eq!(c.ended().await, Ended::Closed(1008));

    // A joined socket has no such limit.
    let mut a = sb.join(&sid, "a").await;
    for _ in 0..40 {
        a.send_frame(ping()).await;
    }
    for i in 0..40 {
        assert_eq!(
            a.next_frame_within(wait).await.unwrap().kind,
            rumor::PONG,
            "{i}"
        );
    }
    assert_eq!(a.signal(None, "t", "x").await.code, 200);
}

#[tokio::test]
async fn requests_the_sandbox_does_not_serve_are_refused_and_the_socket_stays() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let a_id = a.id.clone();

    let tx = a.send_raptor("nope", &[]).await;
    assert_eq!(a.status_of(&tx).await.code, 400, "not JSON");
    let r = a.request("update", "", json!({"reason": "mute"})).await;
    assert_eq!(r.code, 405, "{r:?}");
    assert!(r.reason().contains("not supported"), "{r:?}");
    let r = a.request("create", &conn(&a_id), json!({})).await;
    assert_eq!(r.code, 409, "{r:?}");
    // A MESSAGE without a TRANSACTION-ID has nothing to be answered by.
    let uri = format!("{}/signal/{}", a.base, uuid());
    let f = Frame::new(
        rumor::MESSAGE,
        vec![a.symphony.clone()],
        raptor("signal", &uri, &json!({})),
    );
    a.send_frame(f).await;
    a.expect_silence(100).await;
    assert_eq!(a.signal(None, "t", "x").await.code, 200);
    assert_eq!(a.next().await.content["data"], "x");
}
