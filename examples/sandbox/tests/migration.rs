//! The vendor's own session migration (`OT.initSession(.., { sessionMigration: true })`),
//! the platform's side: a rotation notifies the clients that advertise `migrate`, takes
//! their second socket for the same connection, lets them re-create their streams and
//! subscriptions unseen by the others, and at its end keeps them and ends the rest.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use video_handoff_sandbox::ids::uuid;

async fn rotate(sb: &TestSandbox, sid: &str, notice_ms: u64) {
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{sid}/rotate"),
            json!({"noticeMs": notice_ms}),
        )
        .await;
    assert_eq!(res.status(), 202);
}

async fn event_names(sb: &TestSandbox, sid: &str) -> Vec<String> {
    let v = sb.admin_get(&format!("/admin/sessions/{sid}/events")).await;
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

/// The rotation's notice as the vendor's client reads it.
async fn expect_notification(c: &mut Client) {
    let n = c.expect("notification", "/notification").await;
    assert_eq!(n.content, json!({"reason": "serverRotation"}));
    assert_eq!(n.from, c.symphony);
}

/// A publishes, B publishes, each subscribes to the other's stream (relayed).
async fn two_way_call(a: &mut Client, b: &mut Client) -> (String, String, String, String) {
    let sa = a.publish("a").await;
    let sb_ = b.publish("b").await;
    for c in [&mut *a, &mut *b] {
        c.expect("created", &stream(&sa)).await;
        c.expect("created", &stream(&sb_)).await;
    }
    let (xa, xb) = (uuid(), uuid());
    a.ok("create", &subscriber(&sb_, &xa), json!({})).await;
    b.expect("generateoffer", &subscriber(&sb_, &xa)).await;
    b.ok("create", &subscriber(&sa, &xb), json!({})).await;
    a.expect("generateoffer", &subscriber(&sa, &xb)).await;
    (sa, sb_, xa, xb)
}

#[tokio::test]
async fn only_clients_that_advertise_migrate_are_notified_once_at_rotation_start() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    rotate(&sb, &sid, 900).await;
    expect_notification(&mut a).await;
    b.expect_silence(300).await;
    // Not again at the reminder (a quarter of the notice before its end).
    a.expect_silence(450).await;
    // Neither migrated: both end as without the capability, and the session with them.
    for c in [&mut a, &mut b] {
        let own = c.expect("deleted", &conn(&c.id.clone())).await;
        assert_eq!(own.reason.as_deref(), Some("serverRotation"));
        assert_eq!(c.ended().await, Ended::Closed(1000));
    }
    assert_eq!(sb.session_state(&sid).await["destroyed"], true);
}

#[tokio::test]
async fn a_notified_connection_joins_again_on_a_second_socket_unseen_by_the_others() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let (sa, sb_, xa, xb) = two_way_call(&mut a, &mut b).await;
    let logged = event_names(&sb, &sid).await.len();

    // Not notified yet: the session info is a plain connect's, and a second join is refused.
    let token = sb.token(&sid, "publisher", "a");
    let plain = sb.session_info(&sid, &token, &a.id).await.unwrap();
    assert_eq!(
        plain["messaging_url"],
        "wss://messaging.sandbox.invalid/rumor"
    );

    rotate(&sb, &sid, 2500).await;
    expect_notification(&mut a).await;
    // The migration's session info is no connect attempt: the connect hooks do not see it.
    sb.hooks(json!({"failConnects": {"sessionId": sid, "count": 5}}))
        .await;
    let info = sb.session_info(&sid, &token, &a.id).await.unwrap();
    assert_eq!(
        info["messaging_url"],
        "wss://messaging.sandbox.invalid/rumor?migration=1"
    );
    assert_eq!(
        sb.admin_get("/admin/hooks").await["failConnects"][0]["count"],
        5
    );

    let mut a2 = sb.migrate(&sid, &token, &a).await;
    // The snapshot: the others' connections, every stream; those it does not own marked
    // MANTIS (what makes the client re-create its subscriptions).
    let ids: Vec<&str> = a2.snapshot["connection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.id.as_str()]);
    let streams = a2.snapshot["stream"].as_array().unwrap();
    let own = streams.iter().find(|s| s["id"] == sa.as_str()).unwrap();
    let other = streams.iter().find(|s| s["id"] == sb_.as_str()).unwrap();
    assert_eq!(own.get("sourceStreamId"), None, "{own}");
    assert_eq!(other["sourceStreamId"], "MANTIS", "{other}");
    assert_eq!(a2.me["id"], a.id.as_str());

    // It re-creates its stream and its subscription: 200, and nobody hears of it.
    let mut again = camera(&sa, "a");
    again["sourceStreamId"] = json!("P2P");
    a2.ok("create", &stream(&sa), again).await;
    let status = a2
        .request(
            "create",
            &subscriber(&sb_, &xa),
            json!({"sourceStreamId": "P2P"}),
        )
        .await;
    assert_eq!(status.code, 200, "{status:?}");
    b.expect_silence(200).await;
    a.expect_silence(0).await;
    assert_eq!(event_names(&sb, &sid).await.len(), logged + 1, "one notice");

    // Everything for it goes to the new socket; the old one is still heard.
    assert_eq!(b.signal(Some(&a.id), "chat", "to a").await.code, 200);
    let to_a = a2.next().await;
    assert_eq!(
        (to_a.method.as_str(), &to_a.content["data"]),
        ("signal", &json!("to a"))
    );
    assert_eq!(
        a.signal(None, "chat", "from the old socket").await.code,
        200
    );
    for c in [&mut b, &mut a2] {
        let m = c.next().await;
        assert_eq!(m.content["data"], "from the old socket", "{m:?}");
    }
    a.expect_silence(100).await;

    // The client ends its old socket: closed, and nothing else.
    a.disconnect().await;
    assert_eq!(a.ended().await, Ended::Closed(1000));
    b.expect_silence(200).await;
    a2.expect_silence(0).await;
    assert_eq!(sb.count_in(&sid, "connections").await, 2);
    assert_eq!(sb.count_in(&sid, "streams").await, 2);

    // The rotation ends: B, which did not migrate, is ended; A and the session stay.
    let gone = b.expect("deleted", &stream(&sb_)).await;
    assert_eq!(gone.reason.as_deref(), Some("serverRotation"));
    let own = b.expect("deleted", &conn(&b.id.clone())).await;
    assert_eq!(own.reason.as_deref(), Some("serverRotation"));
    assert_eq!(b.ended().await, Ended::Closed(1000));
    // B's subscription to A's stream ends (relayed: A closes that peer connection).
    a2.expect("deleted", &subscriber(&sa, &xb)).await;
    a2.expect("deleted", &stream(&sb_)).await;
    let left = a2.expect("deleted", &conn(&b.id)).await;
    assert_eq!(left.reason.as_deref(), Some("serverRotation"));
    let state = sb.session_state(&sid).await;
    assert_eq!(state["destroyed"], false);
    assert_eq!(state["rotationEndsAt"], Value::Null);
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
    let names = event_names(&sb, &sid).await;
    assert!(!names.contains(&"sessionDestroyed".to_owned()), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| *n == "connectionDestroyed").count(),
        1
    );
    // It still works as the same connection.
    a2.ok("delete", &stream(&sa), json!({})).await;
    a2.expect("deleted", &stream(&sa)).await;
}

#[tokio::test]
async fn a_migrated_connections_old_socket_closing_ends_nothing_but_the_new_one_leaves() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    rotate(&sb, &sid, 60_000).await;
    expect_notification(&mut a).await;
    let token = sb.token(&sid, "publisher", "a");
    let mut a2 = sb.migrate(&sid, &token, &a).await;
    // A second join of a connection that is not migrating is still refused.
    match sb.connect_as(&sid, &token, &a.id).await {
        Err(refused) => assert_eq!(refused.code, 409, "{refused:?}"),
        Ok(_) => panic!("a second join of a migrated connection was accepted"),
    }
    // Closed without a DISCONNECT (a network drop of the old path).
    a.close().await;
    b.expect_silence(300).await;
    a2.expect_silence(0).await;
    assert_eq!(sb.count_in(&sid, "connections").await, 2);
    // The new socket is the connection now: its DISCONNECT is a leave as ever.
    a2.disconnect().await;
    assert_eq!(a2.ended().await, Ended::Closed(1000));
    let gone = b.expect("deleted", &conn(&a2.id)).await;
    assert_eq!(gone.reason.as_deref(), Some("clientDisconnected"));
}

#[tokio::test]
async fn at_the_rotation_end_a_migrated_connections_old_socket_is_closed_silently() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    let mut c = sb.join_migrating(&sid, "c").await;
    a.expect("created", &conn(&c.id)).await;
    rotate(&sb, &sid, 1200).await;
    expect_notification(&mut a).await;
    expect_notification(&mut c).await;
    let token = sb.token(&sid, "publisher", "a");
    let mut a2 = sb.migrate(&sid, &token, &a).await;
    // C was notified but never came back on a new socket: it ends with the rotation.
    let own = c.expect("deleted", &conn(&c.id.clone())).await;
    assert_eq!(own.reason.as_deref(), Some("serverRotation"));
    assert_eq!(c.ended().await, Ended::Closed(1000));
    let left = a2.expect("deleted", &conn(&c.id)).await;
    assert_eq!(left.reason.as_deref(), Some("serverRotation"));
    // A's old socket, still open, is closed with nothing before (the client ignores it).
    assert_eq!(a.ended().await, Ended::Closed(1000));
    a2.expect_silence(200).await;
    assert_eq!(sb.session_state(&sid).await["destroyed"], false);
    // The session takes a new rotation, and a new notice goes to the new socket.
    rotate(&sb, &sid, 60_000).await;
    expect_notification(&mut a2).await;
    let info = sb.session_info(&sid, &token, &a2.id).await.unwrap();
    assert_eq!(
        info["messaging_url"],
        "wss://messaging.sandbox.invalid/rumor?migration=2"
    );
}

#[tokio::test]
async fn a_routed_session_keeps_its_media_table_when_a_connection_migrated() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_routed_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    // A routed publish: STATUS, then the router asks for an offer (its table now exists).
    let st = a.publish("a").await;
    let ask = a.expect("generateoffer", &stream(&st)).await;
    assert_eq!(ask.content["sourceStreamId"], "MANTIS");
    rotate(&sb, &sid, 800).await;
    expect_notification(&mut a).await;
    let token = sb.token(&sid, "publisher", "a");
    let mut a2 = sb.migrate(&sid, &token, &a).await;
    a.disconnect().await;
    assert_eq!(a.ended().await, Ended::Closed(1000));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let state = sb.session_state(&sid).await;
    assert_eq!(state["destroyed"], false);
    assert_ne!(state["media"], Value::Null, "{state}");
    a2.expect_silence(0).await;
}

/// Drives the peers until `c` gets `method` on `path` (anything else first is a failure).
async fn drive_until(
    peers: &mut [&mut rtc::Peer],
    c: &mut Client,
    method: &str,
    path: &str,
) -> Msg {
    for _ in 0..500 {
        rtc::drive(peers, 10).await;
        if let Some(m) = c.next_within(Duration::from_millis(1)).await {
            assert_eq!(
                (m.method.as_str(), m.path.as_str()),
                (method, path),
                "{m:?}"
            );
            return m;
        }
    }
    panic!("{}: no {method} {path} within 5 s", c.id);
}

/// Negotiates a publisher's peer connection with the router on `stream/ST` (after its
/// `generateoffer`), as the vendor's client does.
async fn publish_media(c: &mut Client, st: &str, ask: &Msg) -> rtc::Peer {
    let mut p = rtc::Peer::new();
    let offer = p.offer();
    let peer = ask.content["peerId"].clone();
    c.ok(
        "offer",
        &stream(st),
        json!({"type": "offer", "sdp": offer, "peerId": peer, "sourceStreamId": "MANTIS"}),
    )
    .await;
    let answer = c.expect("answer", &stream(st)).await;
    assert_eq!(answer.content["peerId"], peer);
    p.accept_answer(answer.content["sdp"].as_str().unwrap());
    p
}

/// Answers the router's offer to a subscriber, as the vendor's client does.
async fn receive_media(c: &mut Client, path: &str) -> (rtc::Peer, Value) {
    let offer = c.expect("offer", path).await;
    assert_eq!(offer.content["sourceStreamId"], "MANTIS");
    let peer = offer.content["peerId"].clone();
    let mut p = rtc::Peer::new();
    let answer = p.answer(offer.content["sdp"].as_str().unwrap());
    c.ok(
        "answer",
        path,
        json!({"type": "answer", "sdp": answer, "peerId": peer, "sourceStreamId": "MANTIS"}),
    )
    .await;
    (p, peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_a_migration_negotiates_new_legs_beside_the_old_and_media_keeps_flowing() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_routed_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    let mut b = sb.join_migrating(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;

    // A publishes through the router; B subscribes; media flows.
    let st = a.publish("a").await;
    let ask = a.expect("generateoffer", &stream(&st)).await;
    let mut pa1 = publish_media(&mut a, &st, &ask).await;
    drive_until(&mut [&mut pa1], &mut a, "created", &stream(&st)).await;
    b.expect("created", &stream(&st)).await;
    let xb = uuid();
    let path = subscriber(&st, &xb);
    b.ok("create", &path, json!({})).await;
    let (mut pb1, peer_b1) = receive_media(&mut b, &path).await;
    rtc::drive(&mut [&mut pa1, &mut pb1], 1500).await;
    assert!(pb1.received > 0, "media flows before the rotation");

    rotate(&sb, &sid, 20_000).await;
    expect_notification(&mut a).await;
    expect_notification(&mut b).await;

    // A moves: its stream re-created on the new socket gets a new leg (a new peerId).
    let token_a = sb.token(&sid, "publisher", "a");
    let mut a2 = sb.migrate(&sid, &token_a, &a).await;
    let mut again = camera(&st, "a");
    again["sourceStreamId"] = json!("MANTIS");
    a2.ok("create", &stream(&st), again.clone()).await;
    let ask2 = a2.expect("generateoffer", &stream(&st)).await;
    assert_ne!(ask2.content["peerId"], ask.content["peerId"]);
    let mut pa2 = publish_media(&mut a2, &st, &ask2).await;
    rtc::drive(&mut [&mut pa1, &mut pa2, &mut pb1], 1500).await;
    assert!(pa2.connected && pa2.sent > 0);
    // Once the new leg has media, B's subscription is fed from it: the old one can stop.
    pa1.muted = true;
    rtc::drive(&mut [&mut pa1, &mut pa2, &mut pb1], 300).await;
    let before = pb1.received;
    rtc::drive(&mut [&mut pa1, &mut pa2, &mut pb1], 1000).await;
    assert!(pb1.received > before + 10, "fed from A's new leg");
    // Every re-create gets a leg of its own: the client re-creates every publisher it has
    // when any of its sessions migrates, and closes each one's previous peer connection 20 s
    // later, so one left without a new leg would go dark.
    a2.ok("create", &stream(&st), again).await;
    let ask3 = a2.expect("generateoffer", &stream(&st)).await;
    assert_ne!(ask3.content["peerId"], ask2.content["peerId"]);

    // B moves: the snapshot marks A's stream MANTIS; its re-created subscription gets a new
    // offer (a new peerId) and media on the new leg, the old one still open.
    let token_b = sb.token(&sid, "publisher", "b");
    let mut b2 = sb.migrate(&sid, &token_b, &b).await;
    assert_eq!(b2.snapshot["stream"][0]["sourceStreamId"], "MANTIS");
    b2.ok("create", &path, json!({"sourceStreamId": "MANTIS"}))
        .await;
    let (mut pb2, peer_b2) = receive_media(&mut b2, &path).await;
    assert_ne!(peer_b2, peer_b1);
    rtc::drive(&mut [&mut pa2, &mut pb1, &mut pb2], 1500).await;
    assert!(pb2.received > 0, "the new subscriber leg gets media");

    // Nobody heard of any of it; the old sockets close without a leave.
    for c in [&mut a, &mut b] {
        c.disconnect().await;
        assert_eq!(c.ended().await, Ended::Closed(1000));
    }
    a2.expect_silence(200).await;
    b2.expect_silence(0).await;
    let state = sb.session_state(&sid).await;
    assert_eq!(state["streams"].as_array().unwrap().len(), 1);
    assert_eq!(state["connections"].as_array().unwrap().len(), 2);
    let names = event_names(&sb, &sid).await;
    assert_eq!(
        names,
        [
            "connectionCreated",
            "connectionCreated",
            "streamCreated",
            "sessionNotification"
        ]
    );
}

#[tokio::test]
async fn a_migration_delay_tells_the_clients_later_and_only_while_the_rotation_stands() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join_migrating(&sid, "a").await;
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{sid}/rotate"),
            json!({"noticeMs": 5000, "migrationDelayMs": 600}),
        )
        .await;
    assert_eq!(res.status(), 202);
    // The app server's callback comes at once; the client's notice only after the delay.
    assert!(event_names(&sb, &sid)
        .await
        .contains(&"sessionNotification".to_owned()));
    a.expect_silence(400).await;
    expect_notification(&mut a).await;
    a.expect_silence(300).await;

    // A delay as long as the notice would tell no one before the end: refused.
    let other = sb.create_session().await;
    let res = sb
        .admin_post(
            &format!("/admin/sessions/{other}/rotate"),
            json!({"noticeMs": 1000, "migrationDelayMs": 1000}),
        )
        .await;
    assert_eq!(res.status(), 400);
}
