//! Signals in the vendor protocol: to the session or one connection, the vendor's limits, and
//! the sender's address, which the sandbox writes itself (no client can pass for the server).

mod common;

use common::*;
use serde_json::json;
use video_handoff_sandbox::ids::uuid;
use video_handoff_sandbox::vendor::rumor::{self, Frame};

#[tokio::test]
async fn client_signals_go_to_all_including_the_sender_or_to_one() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let (a_id, b_id) = (a.id.clone(), b.id.clone());

    // To all: the sender's own copy comes before its STATUS.
    let uri = format!("{}/signal/{}", a.base, uuid());
    let content = json!({"type": "chat", "data": "all"});
    let tx = a.send_raptor(&raptor("signal", &uri, &content), &[]).await;
    let wait = std::time::Duration::from_secs(3);
    let own = a.next_frame_within(wait).await.unwrap();
    let own = a.decode(own);
    let status = a.next_frame_within(wait).await.unwrap();
    assert_eq!(
        (
            status.kind,
            status.header("TRANSACTION-ID"),
            status.header("STATUS")
        ),
        (rumor::STATUS, Some(tx.as_str()), Some("200"))
    );
    let got = b.next().await;
    for m in [&own, &got] {
        assert_eq!(
            (m.method.as_str(), m.from.as_str()),
            ("signal", a_id.as_str())
        );
        assert!(m.path.starts_with("/signal/"), "{m:?}");
        assert_eq!(m.content, content);
    }
    assert_eq!(own.path, got.path, "one signal, one ID");

    // To one connection: only it, the path naming it.
    assert_eq!(a.signal(Some(&b_id), "dm", "one").await.code, 200);
    let dm = b.next().await;
    assert!(
        dm.path.starts_with(&format!("/connection/{b_id}/signal/")),
        "{dm:?}"
    );
    assert_eq!(
        (dm.from.as_str(), &dm.content),
        (a_id.as_str(), &json!({"type": "dm", "data": "one"}))
    );
    // To oneself.
    assert_eq!(a.signal(Some(&a_id), "self", "me").await.code, 200);
    assert_eq!(a.next().await.content["data"], "me");

    for (what, to, content, code) in [
        (
            "unknown connection",
            Some("nobody"),
            json!({"type": "t", "data": "x"}),
            404,
        ),
        (
            "type characters",
            None,
            json!({"type": "a b", "data": "x"}),
            400,
        ),
        (
            "data over 8192 bytes",
            None,
            json!({"type": "t", "data": "x".repeat(8193)}),
            413,
        ),
        (
            "UTF-8 over 8192 bytes",
            None,
            json!({"type": "t", "data": "é".repeat(4097)}),
            413,
        ),
        (
            "type over 128",
            None,
            json!({"type": "t".repeat(129), "data": "x"}),
            413,
        ),
        (
            "data not a string",
            None,
            json!({"type": "t", "data": 5}),
            400,
        ),
    ] {
        let to = to.map(conn).unwrap_or_default();
        let r = a
            .request("signal", &format!("{to}/signal/{}", uuid()), content)
            .await;
        assert_eq!(r.code, code, "{what}: {r:?}");
    }
    // The limits themselves pass; an absent type and data are "".
    assert_eq!(
        a.signal(None, &"t".repeat(128), &"x".repeat(8192))
            .await
            .code,
        200
    );
    assert_eq!(
        a.request("signal", &format!("/signal/{}", uuid()), json!({}))
            .await
            .code,
        200
    );
    for c in [&mut a, &mut b] {
        assert_eq!(c.next().await.content["data"].as_str().unwrap().len(), 8192);
        assert_eq!(c.next().await.content, json!({"type": "", "data": ""}));
    }
    a.expect_silence(100).await;
    b.expect_silence(0).await;
}

#[tokio::test]
async fn a_client_signal_always_names_its_real_sender() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let other = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    let mut elsewhere = sb.join(&other, "elsewhere").await;
    a.expect("created", &conn(&b.id)).await;
    let (a_id, b_id) = (a.id.clone(), b.id.clone());

    // The empty sender marks a server signal (`from === null`); forge it, another member's
    // ID, the server's address, or several at once.
    for forged in [
        vec![""],
        vec![b_id.as_str()],
        vec!["symphony.sandbox.invalid"],
        vec!["", b_id.as_str()],
    ] {
        let tx = uuid();
        let uri = format!("{}/signal/{}", a.base, uuid());
        let mut f = Frame::new(
            rumor::MESSAGE,
            vec![a.symphony.clone()],
            raptor(
                "signal",
                &uri,
                &json!({"type": "handoff", "data": "{}", "from": ""}),
            ),
        );
        for from in &forged {
            f = f.with_header("X-TB-FROM-ADDRESS", *from);
        }
        f = f
            .with_header("Content-Type", "application/x-raptor+v2")
            .with_header("TRANSACTION-ID", tx.clone());
        a.send_frame(f).await;
        assert_eq!(a.status_of(&tx).await.code, 200, "{forged:?}");
        for c in [&mut a, &mut b] {
            let m = c.next().await;
            assert_eq!(
                (m.method.as_str(), m.from.as_str()),
                ("signal", a_id.as_str()),
                "{forged:?}"
            );
            assert_eq!(
                m.content,
                json!({"type": "handoff", "data": "{}"}),
                "only type and data pass"
            );
        }
    }
    // The server's own signal is the one with the empty sender.
    assert_eq!(
        sb.rest_signal(&sid, None, json!({"type": "handoff", "data": "{}"}))
            .await,
        204
    );
    for c in [&mut a, &mut b] {
        assert_eq!(c.next().await.from, "");
    }
    // Another session's URI is refused, and reaches no one there.
    let uri = format!("/v2/partner/{APP_ID}/session/{other}/signal/{}", uuid());
    let tx = a
        .send_raptor(&raptor("signal", &uri, &json!({"data": "x"})), &[])
        .await;
    assert_eq!(a.status_of(&tx).await.code, 400);
    elsewhere.expect_silence(100).await;
    b.expect_silence(0).await;
}
