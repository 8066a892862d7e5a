//! A joined client's life in the vendor protocol (docs/vendor-protocol.md), spoken by the test
//! client of `common`: the snapshot, publishing, the relayed WebRTC negotiation,
//! leaving and being made to leave. Connecting and refused frames:
//! `client_connect.rs`; signals: `client_signals.rs`.

mod common;

use common::*;
use serde_json::{json, Value};
use video_handoff_sandbox::ids::uuid;
use video_handoff_sandbox::vendor::rumor;

#[tokio::test]
async fn the_snapshot_lists_the_session_and_others_see_the_newcomer() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "name=a").await;
    assert_eq!(
        a.snapshot,
        json!({"connection": [], "stream": [], "archive": []})
    );
    assert_eq!(
        a.me,
        json!({"id": a.id, "creationTime": a.me["creationTime"], "data": "name=a",
               "permissions": ["publish", "subscribe"]})
    );
    assert!(a.me["creationTime"].as_u64().unwrap() > 1_600_000_000_000);
    let st = a.publish("cam").await;
    let published = a.expect("created", &stream(&st)).await.content;

    let mut b = sb.join_as(&sid, "subscriber", "name=b").await;
    assert_eq!(
        b.snapshot,
        json!({"connection": [a.me], "stream": [published], "archive": []})
    );
    assert_eq!(
        b.me,
        json!({"id": b.id, "creationTime": b.me["creationTime"], "data": "name=b",
               "permissions": ["subscribe"]})
    );
    let seen = a.expect("created", &conn(&b.id)).await;
    assert_eq!(
        (&seen.content, seen.from.as_str()),
        (&b.me, a.symphony.as_str())
    );

    // Every role's permissions, as the newcomer and the others read them.
    let mut kept = Vec::new();
    for (role, permissions) in [
        (
            "moderator",
            json!([
                "publish",
                "subscribe",
                "forceunpublish",
                "forcedisconnect",
                "forcemute"
            ]),
        ),
        ("publisheronly", json!(["publish"])),
        ("publisher", json!(["publish", "subscribe"])),
    ] {
        let c = sb.join_as(&sid, role, role).await;
        assert_eq!(c.me["permissions"], permissions, "{role}");
        for old in [&mut a, &mut b] {
            assert_eq!(old.expect("created", &conn(&c.id)).await.content, c.me);
        }
        kept.push(c);
    }
    a.expect_silence(100).await;
    b.expect_silence(0).await;
}

#[tokio::test]
async fn publish_and_unpublish_reach_everyone_and_the_publisher_hears_its_status_first() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;

    let st = uuid();
    let uri = format!("{}{}", a.base, stream(&st));
    let tx = a
        .send_raptor(&raptor("create", &uri, &camera(&st, "cam")), &[])
        .await;
    let first = a
        .next_frame_within(std::time::Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(
        (
            first.kind,
            first.header("TRANSACTION-ID"),
            first.header("STATUS")
        ),
        (rumor::STATUS, Some(tx.as_str()), Some("200")),
        "the STATUS comes before the echo (the client's publish completes on the echo)"
    );
    let echo = a.expect("created", &stream(&st)).await;
    let seen = b.expect("created", &stream(&st)).await;
    assert_eq!(echo.content, seen.content);
    assert_eq!(seen.from, b.symphony);
    let s = &seen.content;
    assert_eq!(
        (s["id"].as_str(), s["name"].as_str()),
        (Some(st.as_str()), Some("cam"))
    );
    assert_eq!(s["channel"], camera(&st, "cam")["channel"]);
    assert_eq!(
        s["connection"],
        json!({"id": a.id, "creationTime": a.me["creationTime"], "data": "a"})
    );
    assert!(s["creationTime"].as_u64().is_some());
    let info = sb.session_state(&sid).await["streams"][0].clone();
    assert_eq!(
        (
            &info["hasAudio"],
            &info["hasVideo"],
            &info["videoType"],
            &info["videoDimensions"]
        ),
        (
            &json!(true),
            &json!(true),
            &json!("camera"),
            &json!({"width": 640, "height": 480})
        )
    );

    // A channel update (mute, resize) goes to everyone; a repeat changes nothing.
    let video = format!("{}/channel/video1", stream(&st));
    a.ok("update", &video, json!({"active": false})).await;
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.expect("updated", &video).await.content,
            json!({"active": false})
        );
    }
    a.ok("update", &video, json!({"active": false})).await;
    assert_eq!(
        sb.session_state(&sid).await["streams"][0]["hasVideo"],
        false
    );
    let not_mine = b.request("update", &video, json!({"active": true})).await;
    assert_eq!(not_mine.code, 404, "{not_mine:?}");

    // A stream ID in use, content that is not a stream.
    let again = a
        .request("create", &stream(&st), camera(&st, "again"))
        .await;
    assert_eq!(again.code, 400, "{again:?}");
    let st2 = uuid();
    let bad = a
        .request("create", &stream(&st2), json!({"name": "x"}))
        .await;
    assert_eq!(bad.code, 400, "{bad:?}");

    // Only the owner (or a moderator) removes a stream.
    let refused = b.request("delete", &stream(&st), json!({})).await;
    assert_eq!(refused.code, 403, "{refused:?}");
    a.ok("delete", &stream(&st), json!({})).await;
    for c in [&mut a, &mut b] {
        let gone = c.expect("deleted", &stream(&st)).await;
        assert_eq!(gone.reason.as_deref(), Some("clientDisconnected"));
    }
    a.expect_silence(100).await;
    b.expect_silence(0).await;
    assert_eq!(sb.count_in(&sid, "streams").await, 0);
}

#[tokio::test]
async fn a_subscriber_cannot_publish_and_a_publisheronly_cannot_subscribe() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut s = sb.join_as(&sid, "subscriber", "").await;
    let st = uuid();
    let r = s.request("create", &stream(&st), camera(&st, "")).await;
    assert_eq!(r.code, 403, "{r:?}");
    assert!(r.reason().contains("publish"), "{r:?}");

    let mut po = sb.join_as(&sid, "publisheronly", "").await;
    s.expect("created", &conn(&po.id)).await;
    let mine = po.publish("only").await;
    po.expect("created", &stream(&mine)).await;
    s.expect("created", &stream(&mine)).await;
    let r = po
        .request("create", &subscriber(&mine, &uuid()), json!({}))
        .await;
    assert_eq!(r.code, 403, "{r:?}");
    assert!(r.reason().contains("subscribe"), "{r:?}");
    po.expect_silence(100).await;
    let st = sb.session_state(&sid).await;
    assert_eq!(
        (
            st["streams"].as_array().unwrap().len(),
            &st["subscriptions"]
        ),
        (1, &json!(0))
    );
}

#[tokio::test]
async fn subscribing_relays_the_negotiation_between_its_two_ends_only() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut p = sb.join(&sid, "publisher").await;
    let st = p.publish("cam").await;
    p.expect("created", &stream(&st)).await;
    let mut s = sb.join(&sid, "subscriber").await;
    let mut t = sb.join(&sid, "third").await;
    p.expect("created", &conn(&s.id)).await;
    p.expect("created", &conn(&t.id)).await;
    s.expect("created", &conn(&t.id)).await;
    let (p_id, s_id) = (p.id.clone(), s.id.clone());

    // The subscriber subscribes: the publisher is asked to offer, from the subscriber.
    let sub = uuid();
    let path = subscriber(&st, &sub);
    let content = json!({"id": sub, "connection": p_id, "keyManagementMethod": "",
                         "bundleSupport": true, "rtcpMuxSupport": true});
    s.ok("create", &path, content.clone()).await;
    let ask = p.expect("generateoffer", &path).await;
    assert_eq!(
        (ask.from.as_str(), &ask.content["sourceStreamId"]),
        (s_id.as_str(), &json!("P2P"))
    );
    let peer = ask.content["peerId"].as_str().unwrap().to_owned();
    assert!(!peer.is_empty());
    let in_use = s.request("create", &path, content).await;
    assert_eq!(in_use.code, 400, "{in_use:?}");
    let nothing = s
        .request("create", &subscriber("nope", &uuid()), json!({}))
        .await;
    assert_eq!(nothing.code, 404, "{nothing:?}");

    // The publisher's candidates and offer reach the subscriber; its answer comes back.
    let base = json!({"peerId": peer, "sourceStreamId": "P2P"});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let candidate = with(
        json!({"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
                                "sdpMid": "0", "sdpMLineIndex": 0}),
    );
    let offer = with(json!({"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}));
    let answer = with(json!({"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}));
    p.ok("candidate", &path, candidate.clone()).await;
    p.ok("offer", &path, offer.clone()).await;
    for (method, content) in [("candidate", &candidate), ("offer", &offer)] {
        let m = s.expect(method, &path).await;
        assert_eq!((m.from.as_str(), &m.content), (p_id.as_str(), content));
    }
    s.ok("answer", &path, answer.clone()).await;
    let m = p.expect("answer", &path).await;
    assert_eq!((m.from.as_str(), &m.content), (s_id.as_str(), &answer));
    // Subscriber preferences are acknowledged, relayed to no one.
    s.ok(
        "update",
        &format!("{path}/channel/video1"),
        json!({"active": false}),
    )
    .await;

    // A third connection cannot speak in that negotiation, nor in one that does not exist.
    for method in ["candidate", "offer", "answer"] {
        let r = t.request(method, &path, with(json!({"sdp": "v=0"}))).await;
        assert_eq!(r.code, 403, "{method}: {r:?}");
    }
    let r = t
        .request("offer", &subscriber(&st, "nope"), json!({}))
        .await;
    assert_eq!(r.code, 404, "{r:?}");
    p.expect_silence(100).await;
    s.expect_silence(0).await;

    // Unsubscribing closes the publisher's side; the subscription is gone.
    s.ok("delete", &path, json!({})).await;
    let m = p.expect("deleted", &path).await;
    assert_eq!(m.from, s_id);
    assert_eq!(s.request("answer", &path, answer).await.code, 404);

    // A subscriber that leaves ends its subscriptions too.
    let sub2 = uuid();
    let path2 = subscriber(&st, &sub2);
    s.ok("create", &path2, json!({"id": sub2})).await;
    p.expect("generateoffer", &path2).await;
    s.disconnect().await;
    assert_eq!(p.expect("deleted", &path2).await.from, s_id);
    let gone = p.expect("deleted", &conn(&s_id)).await;
    assert_eq!(gone.reason.as_deref(), Some("clientDisconnected"));
    assert_eq!(sb.session_state(&sid).await["subscriptions"], 0);
}

#[tokio::test]
async fn disconnect_tells_the_others_streams_first_then_the_connection() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let st = b.publish("cam").await;
    b.expect("created", &stream(&st)).await;
    a.expect("created", &stream(&st)).await;

    b.disconnect().await;
    assert_eq!(
        b.ended().await,
        Ended::Closed(1000),
        "the leaver is told nothing"
    );
    let sd = a.expect("deleted", &stream(&st)).await;
    assert_eq!(sd.reason.as_deref(), Some("clientDisconnected"));
    let cd = a.expect("deleted", &conn(&b.id)).await;
    assert_eq!(
        (cd.reason.as_deref(), cd.from.as_str()),
        (Some("clientDisconnected"), a.symphony.as_str())
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
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let st = b.publish("cam").await;
    a.expect("created", &stream(&st)).await;
    let b_id = b.id.clone();
    b.close().await;
    let sd = a.expect("deleted", &stream(&st)).await;
    assert_eq!(sd.reason.as_deref(), Some("networkDisconnected"));
    let cd = a.expect("deleted", &conn(&b_id)).await;
    assert_eq!(cd.reason.as_deref(), Some("networkDisconnected"));
}

#[tokio::test]
async fn a_moderator_may_force_disconnect_and_force_unpublish_others_may_not() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut m = sb.join_as(&sid, "moderator", "m").await;
    let mut p = sb.join(&sid, "p").await;
    m.expect("created", &conn(&p.id)).await;
    let (m_id, p_id) = (m.id.clone(), p.id.clone());
    let theirs = p.publish("p").await;
    let kept = p.publish("p2").await;
    let mine = m.publish("m").await;
    for c in [&mut m, &mut p] {
        for st in [&theirs, &kept, &mine] {
            c.expect("created", &stream(st)).await;
        }
    }

    // A publisher may neither remove another's stream nor disconnect anyone.
    assert_eq!(
        p.request("delete", &stream(&mine), json!({})).await.code,
        403
    );
    assert_eq!(p.request("delete", &conn(&m_id), json!({})).await.code, 403);
    assert_eq!(sb.count_in(&sid, "streams").await, 3);

    // Force unpublish: everyone hears it, the moderator before its STATUS.
    let uri = format!("{}{}", m.base, stream(&theirs));
    let tx = m
        .send_raptor(&raptor("delete", &uri, &json!({})), &[])
        .await;
    let wait = std::time::Duration::from_secs(3);
    let first = m.next_frame_within(wait).await.unwrap();
    let first = m.decode(first);
    assert_eq!(
        (first.path, first.reason.as_deref()),
        (stream(&theirs), Some("forceUnpublished"))
    );
    assert_eq!(m.status_of(&tx).await.code, 200);
    let gone = p.expect("deleted", &stream(&theirs)).await;
    assert_eq!(gone.reason.as_deref(), Some("forceUnpublished"));

    // Force disconnect: the leaver hears its streams and itself go, then the socket closes.
    assert_eq!(
        m.request("delete", &conn("nobody"), json!({})).await.code,
        404
    );
    let uri = format!("{}{}", m.base, conn(&p_id));
    let tx = m
        .send_raptor(&raptor("delete", &uri, &json!({})), &[])
        .await;
    for c in [&mut p, &mut m] {
        let sd = c.expect("deleted", &stream(&kept)).await;
        assert_eq!(sd.reason.as_deref(), Some("forceDisconnected"));
        let cd = c.expect("deleted", &conn(&p_id)).await;
        assert_eq!(cd.reason.as_deref(), Some("forceDisconnected"));
    }
    assert_eq!(p.ended().await, Ended::Closed(1000));
    let status = m.next_frame_within(wait).await.unwrap();
    assert_eq!(
        (status.header("TRANSACTION-ID"), status.header("STATUS")),
        (Some(tx.as_str()), Some("200")),
        "the moderator's STATUS after the events it caused"
    );
    let st = sb.session_state(&sid).await;
    assert_eq!(
        (
            st["connections"].as_array().unwrap().len(),
            st["streams"].as_array().unwrap().len()
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn after_a_force_disconnect_nothing_the_old_socket_sends_is_delivered() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let b_id = b.id.clone();
    let url = sb.project_url(&format!("/session/{sid}/connection/{b_id}"));
    let res = sb
        .http
        .delete(url)
        .bearer_auth(sb.rest_jwt())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    // b has read nothing yet: what it sends now crosses its removal.
    let uri = format!("{}/signal/{}", b.base, uuid());
    b.send_raptor(&raptor("signal", &uri, &json!({"data": "late"})), &[])
        .await;
    let st = uuid();
    let uri = format!("{}{}", b.base, stream(&st));
    b.send_raptor(&raptor("create", &uri, &camera(&st, "late")), &[])
        .await;

    let own = b.expect("deleted", &conn(&b_id)).await;
    assert_eq!(own.reason.as_deref(), Some("forceDisconnected"));
    assert_eq!(b.ended().await, Ended::Closed(1000));
    let seen = a.expect("deleted", &conn(&b_id)).await;
    assert_eq!(seen.reason.as_deref(), Some("forceDisconnected"));
    a.expect_silence(200).await;
    assert_eq!(sb.count_in(&sid, "streams").await, 0);
}

#[tokio::test]
async fn a_forced_out_socket_cannot_speak_for_a_new_connection_with_its_id() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut old = sb.join(&sid, "b").await;
    a.expect("created", &conn(&old.id)).await;
    let b_id = old.id.clone();
    let url = sb.project_url(&format!("/session/{sid}/connection/{b_id}"));
    let res = sb
        .http
        .delete(url)
        .bearer_auth(sb.rest_jwt())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    a.expect("deleted", &conn(&b_id)).await;

    // The same client connects again with the same ID while its old socket lingers.
    let token = sb.token(&sid, "publisher", "b again");
    let mut new = match sb.connect_as(&sid, &token, &b_id).await {
        Ok(c) => c,
        Err(r) => panic!("reconnect refused: {r:?}"),
    };
    assert_eq!(
        a.expect("created", &conn(&b_id)).await.content["data"],
        "b again"
    );

    // The old socket's signal is not the new connection's, and its end does not end it.
    let uri = format!("{}/signal/{}", old.base, uuid());
    old.send_raptor(
        &raptor("signal", &uri, &json!({"data": "from the old socket"})),
        &[],
    )
    .await;
    old.close().await;
    a.expect_silence(300).await;
    new.expect_silence(0).await;
    assert_eq!(sb.count_in(&sid, "connections").await, 2);
    assert_eq!(new.signal(None, "t", "still here").await.code, 200);
    assert_eq!(a.next().await.content["data"], "still here");
}
