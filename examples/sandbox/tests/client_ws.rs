//! Client connections over WebSocket (PROTOCOL.md): connect checks, session events,
//! publishing, signals, the WebRTC relay, leaving.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn refused_connects_get_a_clear_error_then_a_close() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let other = sb.create_session().await;
    let expired = {
        let mut c = client_claims(&sid, "publisher", "");
        c["exp"] = json!(now_s() - 5);
        sign(&keys().private_pem, c)
    };
    let with = |key: &str, val: Value| {
        let mut c = client_claims(&sid, "publisher", "");
        c[key] = val;
        sign(&keys().private_pem, c)
    };
    let cases: Vec<(&str, String, String, u64, &str, &str)> = vec![
        (
            "unknown session",
            "2_MX4nope".into(),
            sb.token(&sid, "publisher", ""),
            1005,
            "OT_INVALID_SESSION_ID",
            "no such session",
        ),
        (
            "other session",
            sid.clone(),
            sb.token(&other, "publisher", ""),
            1004,
            "OT_AUTHENTICATION_ERROR",
            "another session",
        ),
        (
            "wrong key",
            sid.clone(),
            sign(
                &stranger_keys().private_pem,
                client_claims(&sid, "publisher", ""),
            ),
            1004,
            "OT_AUTHENTICATION_ERROR",
            "signature",
        ),
        (
            "expired",
            sid.clone(),
            expired,
            1004,
            "OT_AUTHENTICATION_ERROR",
            "expired",
        ),
        (
            "bad role",
            sid.clone(),
            with("role", json!("admin")),
            1004,
            "OT_AUTHENTICATION_ERROR",
            "role",
        ),
        (
            "other app",
            sid.clone(),
            with("application_id", json!("x")),
            1004,
            "OT_AUTHENTICATION_ERROR",
            "application",
        ),
        (
            "bad scope",
            sid.clone(),
            with("scope", json!("session.moderate")),
            1004,
            "OT_AUTHENTICATION_ERROR",
            "scope",
        ),
        (
            "garbage",
            sid.clone(),
            "abc".into(),
            1004,
            "OT_AUTHENTICATION_ERROR",
            "well-formed",
        ),
    ];
    for (what, connect_to, token, code, name, why) in cases {
        let (mut c, first) = sb.connect(&connect_to, &token).await;
        assert_eq!(first["t"], "error", "{what}: {first}");
        assert_eq!(first["code"], code, "{what}");
        assert_eq!(first["name"], name, "{what}");
        assert!(
            first["message"].as_str().unwrap().contains(why),
            "{what}: {first}"
        );
        assert_eq!(
            c.ended().await,
            Ended::Closed(4000 + (code as u16 % 1000)),
            "{what}"
        );
    }
    assert_eq!(sb.count_in(&sid, "connections").await, 0);

    let mut c = Client::open(&sb.base).await;
    c.send(json!({"t": "signal", "data": "x", "reqId": 1}))
        .await;
    let f = c.expect("error").await;
    assert_eq!(
        (f["code"].as_u64(), f["reqId"].as_u64()),
        (Some(1010), Some(1))
    );
    c.send(json!({"t": "connect", "sessionId": sid})).await;
    assert_eq!(c.expect("error").await["code"], 1011);
    assert_eq!(c.ended().await, Ended::Closed(4011));
}

#[tokio::test]
async fn connected_is_a_snapshot_and_others_see_the_newcomer() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "name=a").await;
    a.send(
        json!({"t": "publish", "reqId": "p", "name": "cam", "videoType": "camera",
                  "videoDimensions": {"width": 640, "height": 480}}),
    )
    .await;
    let stream = a.expect("published").await["stream"].clone();

    let (mut b, first) = sb
        .connect(&sid, &sb.token(&sid, "subscriber", "name=b"))
        .await;
    assert_eq!(first["t"], "connected");
    assert_eq!(first["sessionId"], sid);
    assert_eq!(first["role"], "subscriber");
    assert_eq!(first["connection"]["data"], "name=b");
    assert_eq!(first["connections"].as_array().unwrap().len(), 1);
    assert_eq!(first["connections"][0]["data"], "name=a");
    assert_eq!(first["streams"], json!([stream]));
    let created = a.expect("connectionCreated").await;
    assert_eq!(created["connection"], first["connection"]);
    b.expect_silence(100).await;
}

#[tokio::test]
async fn publish_and_unpublish_reach_everyone() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;

    a.send(
        json!({"t": "publish", "reqId": 7, "name": "cam", "hasAudio": false, "hasVideo": true,
                  "videoType": "camera", "videoDimensions": {"width": 640, "height": 480}}),
    )
    .await;
    let published = a.expect("published").await;
    assert_eq!(published["reqId"], 7);
    let stream = &published["stream"];
    assert_eq!(stream["connection"]["connectionId"], a.id.as_str());
    assert_eq!(
        (stream["hasAudio"].as_bool(), stream["hasVideo"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(b.expect("streamCreated").await["stream"], *stream);
    assert_eq!(sb.count_in(&sid, "streams").await, 1);

    a.send(json!({"t": "streamUpdate", "streamId": stream["streamId"], "hasAudio": true}))
        .await;
    for c in [&mut a, &mut b] {
        let ch = c.expect("streamPropertyChanged").await;
        assert_eq!(
            (
                ch["changedProperty"].as_str(),
                ch["oldValue"].as_bool(),
                ch["newValue"].as_bool()
            ),
            (Some("hasAudio"), Some(false), Some(true))
        );
    }

    b.send(json!({"t": "unpublish", "reqId": 1, "streamId": stream["streamId"]}))
        .await;
    assert_eq!(b.expect("error").await["code"], 1011, "not b's stream");

    a.send(json!({"t": "unpublish", "reqId": 8, "streamId": stream["streamId"]}))
        .await;
    let mine = a.expect("streamDestroyed").await;
    assert_eq!(
        (mine["reqId"].as_u64(), mine["reason"].as_str()),
        (Some(8), Some("clientDisconnected"))
    );
    let theirs = b.expect("streamDestroyed").await;
    assert_eq!(theirs["stream"]["streamId"], stream["streamId"]);
    assert!(theirs.get("reqId").is_none());
    assert_eq!(sb.count_in(&sid, "streams").await, 0);
}

#[tokio::test]
async fn a_subscriber_cannot_publish() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut s = sb.join_as(&sid, "subscriber", "").await;
    s.send(json!({"t": "publish", "reqId": 1})).await;
    let e = s.expect("publishError").await;
    assert_eq!(
        (e["code"].as_u64(), e["name"].as_str()),
        (Some(1500), Some("OT_PERMISSION_DENIED"))
    );
    assert_eq!(sb.count_in(&sid, "streams").await, 0);
}

#[tokio::test]
async fn client_signals_go_to_all_including_the_sender_or_to_one() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;

    a.send(json!({"t": "signal", "reqId": 1, "type": "chat", "data": "all"}))
        .await;
    let got = a.expect("signal").await;
    assert_eq!(got["from"]["connectionId"], a.id.as_str());
    assert_eq!(a.expect("signalAck").await["reqId"], 1);
    assert_eq!(b.expect("signal").await["data"], "all");

    a.send(json!({"t": "signal", "reqId": 2, "to": b.id, "type": "dm", "data": "one"}))
        .await;
    assert_eq!(a.expect("signalAck").await["reqId"], 2);
    let dm = b.expect("signal").await;
    assert_eq!(
        (
            dm["type"].as_str(),
            dm["data"].as_str(),
            dm["from"]["data"].as_str()
        ),
        (Some("dm"), Some("one"), Some("a"))
    );

    for (bad, code) in [
        (json!({"to": "nobody", "data": "x"}), 404),
        (json!({"type": "a b", "data": "x"}), 400),
        (json!({"type": "t", "data": "x".repeat(8193)}), 413),
        (json!({"type": "t".repeat(129), "data": "x"}), 413),
        (json!({"type": "t", "data": 5}), 400),
    ] {
        let mut f = bad.clone();
        f["t"] = json!("signal");
        f["reqId"] = json!("r");
        a.send(f).await;
        let e = a.expect("signalError").await;
        assert_eq!(
            (e["code"].as_u64(), e["reqId"].as_str()),
            (Some(code), Some("r")),
            "{bad}"
        );
    }
    b.expect_silence(150).await;
}

#[tokio::test]
async fn rtc_payloads_are_relayed_between_two_connections() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut publ = sb.join(&sid, "pub").await;
    let mut sub = sb.join(&sid, "sub").await;
    publ.expect("connectionCreated").await;
    publ.send(json!({"t": "publish"})).await;
    let stream_id = publ.expect("published").await["stream"]["streamId"].clone();
    sub.expect("streamCreated").await;

    sub.send(
        json!({"t": "rtc", "to": publ.id, "streamId": stream_id, "subscriberId": "s1",
                    "payload": {"kind": "subscribe"}}),
    )
    .await;
    let r = publ.expect("rtc").await;
    assert_eq!(
        r,
        json!({"t": "rtc", "from": sub.id, "streamId": stream_id, "subscriberId": "s1", "payload": {"kind": "subscribe"}})
    );
    publ.send(
        json!({"t": "rtc", "to": sub.id, "streamId": stream_id, "subscriberId": "s1",
                     "payload": {"kind": "offer", "sdp": "v=0..."}}),
    )
    .await;
    assert_eq!(sub.expect("rtc").await["payload"]["sdp"], "v=0...");

    sub.send(json!({"t": "rtc", "to": "nobody", "streamId": stream_id, "subscriberId": "s1", "payload": {}})).await;
    let e = sub.expect("rtcError").await;
    assert_eq!(
        (e["code"].as_u64(), e["to"].as_str()),
        (Some(404), Some("nobody"))
    );
    sub.send(
        json!({"t": "rtc", "to": publ.id, "streamId": "gone", "subscriberId": "s1", "payload": {}}),
    )
    .await;
    assert!(sub.expect("rtcError").await["message"]
        .as_str()
        .unwrap()
        .contains("stream"));
    publ.expect_silence(100).await;
}

#[tokio::test]
async fn disconnect_tells_the_others_streams_first_then_the_connection() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    b.send(json!({"t": "publish"})).await;
    b.expect("published").await;
    a.expect("streamCreated").await;

    b.send(json!({"t": "disconnect"})).await;
    assert_eq!(b.ended().await, Ended::Closed(1000));
    let sd = a.expect("streamDestroyed").await;
    assert_eq!(sd["reason"], "clientDisconnected");
    let cd = a.expect("connectionDestroyed").await;
    assert_eq!(
        (
            cd["connection"]["connectionId"].as_str(),
            cd["reason"].as_str()
        ),
        (Some(b.id.as_str()), Some("clientDisconnected"))
    );
    let st = sb.session_state(&sid).await;
    assert_eq!(
        (
            st["connections"].as_array().unwrap().len(),
            st["streams"].as_array().unwrap().len()
        ),
        (1, 0)
    );
}

#[tokio::test]
async fn a_socket_closed_without_disconnect_counts_as_network_disconnected() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    b.close().await;
    assert_eq!(
        a.expect("connectionDestroyed").await["reason"],
        "networkDisconnected"
    );
}

#[tokio::test]
async fn a_moderator_may_force_disconnect_and_force_unpublish_others_may_not() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut m = sb.join_as(&sid, "moderator", "m").await;
    let mut p = sb.join(&sid, "p").await;
    m.expect("connectionCreated").await;
    p.send(json!({"t": "publish"})).await;
    let stream_id = p.expect("published").await["stream"]["streamId"].clone();
    m.expect("streamCreated").await;

    p.send(json!({"t": "forceDisconnect", "reqId": 1, "connectionId": m.id}))
        .await;
    assert_eq!(p.expect("error").await["code"], 1520);

    m.send(json!({"t": "forceUnpublish", "reqId": 2, "streamId": stream_id}))
        .await;
    assert_eq!(
        m.expect("streamDestroyed").await["reason"],
        "forceUnpublished"
    );
    assert_eq!(m.expect("ack").await["reqId"], 2);
    assert_eq!(
        p.expect("streamDestroyed").await["reason"],
        "forceUnpublished"
    );

    m.send(json!({"t": "forceDisconnect", "reqId": 3, "connectionId": p.id}))
        .await;
    assert_eq!(
        m.expect("connectionDestroyed").await["reason"],
        "forceDisconnected"
    );
    assert_eq!(m.expect("ack").await["reqId"], 3);
    assert_eq!(
        p.expect("sessionDisconnected").await["reason"],
        "forceDisconnected"
    );
    assert_eq!(p.ended().await, Ended::Closed(1000));
}

#[tokio::test]
async fn ping_is_answered_and_unknown_frames_are_reported() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    a.send(json!({"t": "ping", "id": 42})).await;
    assert_eq!(a.expect("pong").await["id"], 42);
    a.send(json!({"t": "dance", "reqId": 9})).await;
    let e = a.expect("error").await;
    assert_eq!(
        (e["code"].as_u64(), e["reqId"].as_u64()),
        (Some(1011), Some(9))
    );
    a.send(json!({"t": "connect", "sessionId": sid, "token": "x"}))
        .await;
    assert_eq!(a.expect("error").await["message"], "already connected");
}
