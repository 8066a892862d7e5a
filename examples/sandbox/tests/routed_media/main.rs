//! Routed sessions end to end, without a browser: two vendor-protocol test clients join a
//! routed session, and each has a str0m `Rtc` as its browser, on a real UDP socket on
//! 127.0.0.1, driven by a thread of its own. The publisher's media goes to the sandbox's
//! media router and from there to the subscriber; the tests check the Raptor negotiation
//! (`generateoffer`, `offer`, `answer`, `candidate` with `sourceStreamId: "MANTIS"`), the
//! delayed `created stream`, the frames themselves, keyframe handling and the admin API's
//! media figures. Every wait is bounded by [`BOUND`].

mod browser;
#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use browser::{frame_number, lock, Browser};
use common::*;
use serde_json::{json, Value};
use str0m::media::{KeyframeRequestKind, MediaKind, Mid};
use video_handoff_sandbox::ids::uuid;

/// The longest any step may take.
const BOUND: Duration = Duration::from_secs(10);
const SYMPHONY: &str = "symphony.sandbox.invalid";

/// Waits (bounded) until `f` has a value.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits (bounded) until the session's admin state satisfies `ok`; returns it.
async fn state_until(
    sb: &TestSandbox,
    sid: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + BOUND;
    loop {
        let st = sb.session_state(sid).await;
        if ok(&st) {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {BOUND:?}: {st:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next server message within [`BOUND`], asserting its method and path.
async fn expect_msg(c: &mut Client, method: &str, path: &str) -> Msg {
    let m = c
        .next_within(BOUND)
        .await
        .unwrap_or_else(|| panic!("{}: no {method} {path} within {BOUND:?}", c.id));
    assert_eq!(
        (m.method.as_str(), m.path.as_str()),
        (method, path),
        "{}: {m:?}",
        c.id
    );
    m
}

/// The stream IDs of an SDP's `a=msid` lines, and its m-line kinds.
fn msids_and_kinds(sdp: &str) -> (Vec<String>, Vec<String>) {
    let msids = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=msid:"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    let kinds = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("m="))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    (msids, kinds)
}

/// Each m-line's mid and kind.
fn tracks_of(sdp: &str) -> Vec<(Mid, MediaKind)> {
    let mut kind = MediaKind::Audio;
    let mut tracks = Vec::new();
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            kind = if m.starts_with("video") {
                MediaKind::Video
            } else {
                MediaKind::Audio
            };
        } else if let Some(mid) = line.strip_prefix("a=mid:") {
            tracks.push((Mid::from(mid.trim()), kind));
        }
    }
    tracks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_stream_goes_through_the_router_from_publisher_to_subscriber() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_routed_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;

    // 1. Publish: the STATUS, then the router asks for an offer; nobody hears of the stream.
    let st = uuid();
    a.ok("create", &stream(&st), camera(&st, "cam")).await;
    let ask = expect_msg(&mut a, "generateoffer", &stream(&st)).await;
    assert_eq!(ask.from, SYMPHONY);
    let peer = ask.content["peerId"].as_str().expect("a peerId").to_owned();
    assert!(!peer.is_empty());
    assert_eq!(
        ask.content,
        json!({"sourceStreamId": "MANTIS", "peerId": peer, "simulcastEnabled": false})
    );
    b.expect_silence(300).await;

    // 2. The publisher's candidate and offer; the router answers on the same URI.
    let pa = Browser::start("a");
    let (offer, pending, media) = pa.offer_to_send();
    a.ok(
        "candidate",
        &stream(&st),
        pa.candidate_content(media[0].0, &peer),
    )
    .await;
    let content =
        json!({"type": "offer", "sdp": offer, "peerId": peer, "sourceStreamId": "MANTIS"});
    a.ok("offer", &stream(&st), content).await;
    let answer = expect_msg(&mut a, "answer", &stream(&st)).await;
    assert_eq!(answer.from, SYMPHONY);
    assert_eq!(
        (
            &answer.content["type"],
            &answer.content["peerId"],
            &answer.content["sourceStreamId"]
        ),
        (&json!("answer"), &json!(peer), &json!("MANTIS"))
    );
    pa.accept_answer(pending, answer.content["sdp"].as_str().expect("an sdp"));
    until("the publisher connects", || {
        pa.seen().connected.then_some(())
    })
    .await;
    // Connected, but no media yet: still no `created stream`.
    b.expect_silence(300).await;
    assert_eq!(sb.count_in(&sid, "streams").await, 0);
    pa.send(media);

    // 3. Media flows: everyone hears of the stream; the admin API shows it.
    let created = expect_msg(&mut a, "created", &stream(&st)).await;
    let seen_by_b = expect_msg(&mut b, "created", &stream(&st)).await;
    assert_eq!(created.content, seen_by_b.content);
    assert_eq!(
        (created.from.as_str(), seen_by_b.from.as_str()),
        (SYMPHONY, SYMPHONY)
    );
    assert_eq!(created.content["id"], json!(st));
    let state = state_until(&sb, &sid, "media in", |s| {
        s["media"]["framesIn"].as_u64() > Some(0)
    })
    .await;
    assert_eq!(state["mediaMode"], "routed");
    assert_eq!(state["media"]["publishers"], 1);
    assert_eq!(state["streams"].as_array().unwrap().len(), 1);

    // 4. Subscribe: the router offers, on the subscriber's URI; the publisher is not asked.
    let sub = uuid();
    let sub_path = subscriber(&st, &sub);
    let content = json!({"id": sub, "connection": a.id, "keyManagementMethod": "",
                         "bundleSupport": true, "rtcpMuxSupport": true});
    b.ok("create", &sub_path, content).await;
    let offer = expect_msg(&mut b, "offer", &sub_path).await;
    assert_eq!(offer.from, SYMPHONY);
    let sub_peer = offer.content["peerId"]
        .as_str()
        .expect("a peerId")
        .to_owned();
    assert!(!sub_peer.is_empty());
    assert_eq!(
        (&offer.content["type"], &offer.content["sourceStreamId"]),
        (&json!("offer"), &json!("MANTIS"))
    );
    let sdp = offer.content["sdp"].as_str().expect("an sdp").to_owned();
    let (msids, kinds) = msids_and_kinds(&sdp);
    assert_eq!(kinds, ["audio", "video"], "{sdp}");
    assert_eq!(msids.len(), 2, "{sdp}");
    assert_eq!(msids[0], msids[1], "one media stream: {sdp}");
    a.expect_silence(300).await;

    let pb = Browser::start("b");
    let answer = pb.accept_offer(&sdp);
    // The tracks by the offer's m-lines (str0m's `MediaAdded` comes only once connected).
    let tracks = tracks_of(&sdp);
    lock(&pb.seen).added.clone_from(&tracks);
    let first_mid = tracks[0].0;
    let video_mid = tracks
        .iter()
        .find(|(_, k)| *k == MediaKind::Video)
        .unwrap()
        .0;
    b.ok(
        "candidate",
        &sub_path,
        pb.candidate_content(first_mid, &sub_peer),
    )
    .await;
    let content =
        json!({"type": "answer", "sdp": answer, "peerId": sub_peer, "sourceStreamId": "MANTIS"});
    b.ok("answer", &sub_path, content).await;
    until("the subscriber connects", || {
        pb.seen().connected.then_some(())
    })
    .await;
    until("video and audio reach the subscriber", || {
        let seen = pb.seen();
        let video = seen.received.iter().any(|(k, _, _)| *k == MediaKind::Video);
        let audio = seen
            .received
            .iter()
            .filter(|(k, _, _)| *k == MediaKind::Audio)
            .count();
        (video && audio >= 5).then_some(())
    })
    .await;
    {
        let (got, sent) = (pb.seen(), pa.seen());
        let (_, key, bytes) = got
            .received
            .iter()
            .find(|(k, _, _)| *k == MediaKind::Video)
            .unwrap();
        assert!(*key, "the subscriber's first video frame is a keyframe");
        let n = frame_number(bytes);
        assert!(sent.written[n].0, "frame {n} was written as a keyframe");
        assert_eq!(bytes, &sent.written[n].1, "frame {n} arrives as written");
        assert!(
            n > 0,
            "the router asked for a fresh keyframe (the first went before)"
        );
        assert!(sent.keyframe_requests > 0);
        for (kind, _, bytes) in got
            .received
            .iter()
            .filter(|(k, _, _)| *k == MediaKind::Video)
        {
            let n = frame_number(bytes);
            assert_eq!(
                bytes, &sent.written[n].1,
                "{kind:?} frame {n} arrives as written"
            );
        }
        assert!(
            got.errors.is_empty() && sent.errors.is_empty(),
            "{:?} {:?}",
            got.errors,
            sent.errors
        );
    }
    let state = state_until(&sb, &sid, "media out, both legs up", |s| {
        s["media"]["framesOut"].as_u64() > Some(0) && s["media"]["connected"] == 2
    })
    .await;
    assert_eq!(
        (
            &state["media"]["publishers"],
            &state["media"]["subscribers"]
        ),
        (&json!(1), &json!(1))
    );

    // 5. The subscriber's keyframe request reaches the publisher (after a quiet spell longer
    // than the router's throttle, so that it is this request that arrives).
    let before = pa.seen().keyframe_requests;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        pa.seen().keyframe_requests,
        before,
        "no keyframe request unasked"
    );
    lock(&pb.rtc)
        .writer(video_mid)
        .expect("a writer for the video track")
        .request_keyframe(None, KeyframeRequestKind::Pli)
        .expect("a PLI can be sent");
    until("the keyframe request reaches the publisher", || {
        (pa.seen().keyframe_requests > before).then_some(())
    })
    .await;

    // 6. Teardown: unsubscribe, unpublish, destroy.
    b.ok("delete", &sub_path, json!({})).await;
    state_until(&sb, &sid, "the subscriber's leg closes", |s| {
        s["media"]["subscribers"] == 0 && s["media"]["connected"] == 1
    })
    .await;
    a.ok("delete", &stream(&st), json!({})).await;
    for c in [&mut a, &mut b] {
        let gone = expect_msg(c, "deleted", &stream(&st)).await;
        assert_eq!(gone.reason.as_deref(), Some("clientDisconnected"));
    }
    state_until(&sb, &sid, "the publisher's leg closes", |s| {
        s["media"]["publishers"] == 0 && s["media"]["connected"] == 0
    })
    .await;
    sb.destroy(&sid).await;
    state_until(&sb, &sid, "the session's media goes", |s| {
        s["media"].is_null()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_session_still_negotiates_peer_to_peer() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;

    // The stream is announced with the STATUS, no media needed.
    let st = uuid();
    a.ok("create", &stream(&st), camera(&st, "cam")).await;
    let created = a
        .next_within(Duration::from_millis(500))
        .await
        .expect("created at once");
    assert_eq!(
        (created.method.as_str(), created.path.as_str()),
        ("created", stream(&st).as_str())
    );
    let seen = b
        .next_within(Duration::from_millis(500))
        .await
        .expect("created at once");
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("created", stream(&st).as_str())
    );

    // A subscriber makes the publisher offer, asked from the subscriber's address.
    let sub = uuid();
    let path = subscriber(&st, &sub);
    let content = json!({"id": sub, "connection": a.id, "keyManagementMethod": "",
                         "bundleSupport": true, "rtcpMuxSupport": true});
    b.ok("create", &path, content).await;
    let ask = expect_msg(&mut a, "generateoffer", &path).await;
    assert_eq!(ask.from, b.id);
    assert_eq!(ask.content["sourceStreamId"], "P2P");
    assert!(ask.content["peerId"]
        .as_str()
        .is_some_and(|p| !p.is_empty()));
    b.expect_silence(200).await;

    let state = sb.session_state(&sid).await;
    assert_eq!(state["mediaMode"], "relayed");
    assert!(state["media"].is_null(), "{state:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_offer_gets_no_answer_and_its_stream_is_never_announced() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_routed_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;

    let st = uuid();
    a.ok("create", &stream(&st), camera(&st, "cam")).await;
    let ask = expect_msg(&mut a, "generateoffer", &stream(&st)).await;
    let peer = ask.content["peerId"].as_str().unwrap().to_owned();
    // The offer is passed to the router, which refuses it later: the request itself is
    // acknowledged.
    let garbage = json!({"type": "offer", "sdp": "this is not sdp", "peerId": peer,
                         "sourceStreamId": "MANTIS"});
    a.ok("offer", &stream(&st), garbage.clone()).await;
    a.expect_silence(1000).await;
    b.expect_silence(0).await;

    // The pending stream is gone: nothing more to negotiate, nothing announced.
    let again = a.request("offer", &stream(&st), garbage).await;
    assert_eq!(again.code, 404, "{again:?}");
    let state = state_until(&sb, &sid, "the refused leg closes", |s| {
        s["media"]["publishers"] == 0
    })
    .await;
    assert_eq!(state["streams"], json!([]));
    assert_eq!(state["media"]["framesIn"], 0);
    a.expect_silence(200).await;
    b.expect_silence(0).await;
}
