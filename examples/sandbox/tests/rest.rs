//! The vendor REST dialect: every route with good and bad input.

mod common;

use common::*;
use serde_json::{json, Value};

/// Bearer tokens that must all be refused with 401.
fn bad_auth(sb: &TestSandbox) -> Vec<(&'static str, Option<String>)> {
    let claims = |exp: u64, app: &str| json!({"application_id": app, "iat": now_s(), "jti": "x", "exp": exp});
    vec![
        ("no header", None),
        ("not bearer", Some(format!("Basic {}", sb.rest_jwt()))),
        ("garbage", Some("Bearer not.a.jwt".into())),
        (
            "wrong key",
            Some(format!(
                "Bearer {}",
                sign(&stranger_keys().private_pem, claims(now_s() + 300, APP_ID))
            )),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(&keys().private_pem, claims(now_s() - 10, APP_ID))
            )),
        ),
        (
            "other app",
            Some(format!(
                "Bearer {}",
                sign(&keys().private_pem, claims(now_s() + 300, "other-app"))
            )),
        ),
    ]
}

async fn assert_error(res: reqwest::Response, status: u16, why: &str) {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("error bodies are JSON");
    assert_eq!(body["code"], status);
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains(why), "message {msg:?} should say {why:?}");
}

#[tokio::test]
async fn create_session_answers_the_vendors_shape() {
    let sb = TestSandbox::start().await;
    let res = sb
        .http
        .post(format!("{}/session/create", sb.base))
        .bearer_auth(sb.rest_jwt())
        .form(&[
            ("archiveMode", "manual"),
            ("p2p.preference", "disabled"),
            ("location", "null"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    let s = &v[0];
    assert!(s["session_id"].as_str().unwrap().starts_with("2_MX"));
    assert_eq!(s["project_id"], APP_ID);
    assert!(s["create_dt"].as_str().unwrap().ends_with("GMT"));
    assert_eq!(sb.state().await["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn create_session_refuses_bad_auth_and_bad_forms_and_creates_nothing() {
    let sb = TestSandbox::start().await;
    for (what, auth) in bad_auth(&sb) {
        let mut req = sb
            .http
            .post(format!("{}/session/create", sb.base))
            .form(&[("archiveMode", "manual")]);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{what}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().len() > 5,
            "{what}: {body}"
        );
    }
    for form in [
        vec![("archiveMode", "sometimes")],
        vec![("p2p.preference", "relayed")],
        vec![("archiveMode", "always"), ("p2p.preference", "enabled")],
    ] {
        let res = sb
            .http
            .post(format!("{}/session/create", sb.base))
            .bearer_auth(sb.rest_jwt())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_error(res, 400, "").await;
    }
    assert_eq!(sb.state().await["sessions"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn signal_to_a_session_reaches_everyone_from_null() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    let res = sb
        .http
        .post(sb.project_url(&format!("/session/{sid}/signal")))
        .bearer_auth(sb.rest_jwt())
        .json(&json!({"type": "chat", "data": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for c in [&mut a, &mut b] {
        let s = c.expect("signal").await;
        assert_eq!(s["from"], Value::Null);
        assert_eq!(
            (s["type"].as_str(), s["data"].as_str()),
            (Some("chat"), Some("hello"))
        );
    }
}

#[tokio::test]
async fn signal_to_one_connection_reaches_only_it() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    let res = sb
        .http
        .post(sb.project_url(&format!("/session/{sid}/connection/{}/signal", b.id)))
        .bearer_auth(sb.rest_jwt())
        .json(&json!({"type": "", "data": "just you"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(b.expect("signal").await["data"], "just you");
    a.expect_silence(200).await;
}

#[tokio::test]
async fn refused_signals_say_why_and_deliver_nothing() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let to_session = sb.project_url(&format!("/session/{sid}/signal"));
    let to_a = sb.project_url(&format!("/session/{sid}/connection/{}/signal", a.id));
    let ok_body = json!({"type": "chat", "data": "x"});

    for url in [&to_session, &to_a] {
        for (what, auth) in bad_auth(&sb) {
            let mut req = sb.http.post(url.as_str()).json(&ok_body);
            if let Some(h) = auth {
                req = req.header("authorization", h);
            }
            assert_eq!(req.send().await.unwrap().status(), 401, "{what}");
        }
    }

    let post = |url: String, body: Value| {
        sb.http
            .post(url)
            .bearer_auth(sb.rest_jwt())
            .json(&body)
            .send()
    };
    let cases: Vec<(String, Value, u16, &str)> = vec![
        (
            sb.project_url("/session/2_MX4nope/signal"),
            ok_body.clone(),
            404,
            "no such session",
        ),
        (
            sb.project_url(&format!("/session/{sid}/connection/nobody/signal")),
            ok_body.clone(),
            404,
            "no such connection",
        ),
        (
            to_session.clone(),
            json!({"type": "chat", "data": "x".repeat(8193)}),
            413,
            "8192",
        ),
        (
            to_a.clone(),
            json!({"type": "chat", "data": "é".repeat(4097)}),
            413,
            "8192",
        ),
        (
            to_session.clone(),
            json!({"type": "t".repeat(129), "data": "x"}),
            413,
            "128",
        ),
        (
            to_session.clone(),
            json!({"type": "bad type!", "data": "x"}),
            400,
            "type",
        ),
        (
            to_session.clone(),
            json!({"type": 7, "data": "x"}),
            400,
            "type",
        ),
        (to_session.clone(), json!({"type": "chat"}), 400, "data"),
        (
            format!("{}/v2/project/other-app/session/{sid}/signal", sb.base),
            ok_body.clone(),
            403,
            "application",
        ),
    ];
    for (url, body, status, why) in cases {
        assert_error(post(url, body).await.unwrap(), status, why).await;
    }
    let not_json = sb
        .http
        .post(to_session.clone())
        .bearer_auth(sb.rest_jwt())
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_error(not_json, 400, "JSON").await;
    a.expect_silence(200).await;

    // The limits themselves are allowed.
    let at_limit = json!({"type": "t".repeat(128), "data": "x".repeat(8192)});
    assert_eq!(
        post(to_session.clone(), at_limit).await.unwrap().status(),
        204
    );
    assert_eq!(
        a.expect("signal").await["data"].as_str().unwrap().len(),
        8192
    );
}

#[tokio::test]
async fn force_disconnect_removes_one_connection() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("connectionCreated").await;
    let url = sb.project_url(&format!("/session/{sid}/connection/{}", b.id));

    for (what, auth) in bad_auth(&sb) {
        let mut req = sb.http.delete(url.as_str());
        if let Some(h) = auth {
            req = req.header("authorization", h);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "{what}");
    }
    assert_eq!(sb.count_in(&sid, "connections").await, 2);

    let del = |url: String| sb.http.delete(url).bearer_auth(sb.rest_jwt()).send();
    assert_error(
        del(sb.project_url(&format!("/session/{sid}/connection/nobody")))
            .await
            .unwrap(),
        404,
        "connection",
    )
    .await;
    assert_error(
        del(sb.project_url(&format!("/session/2_MX4nope/connection/{}", b.id)))
            .await
            .unwrap(),
        404,
        "session",
    )
    .await;

    assert_eq!(del(url.clone()).await.unwrap().status(), 204);
    assert_eq!(
        b.expect("sessionDisconnected").await["reason"],
        "forceDisconnected"
    );
    assert_eq!(b.ended().await, Ended::Closed(1000));
    let gone = a.expect("connectionDestroyed").await;
    assert_eq!(
        (
            gone["connection"]["connectionId"].as_str(),
            gone["reason"].as_str()
        ),
        (Some(b.id.as_str()), Some("forceDisconnected"))
    );
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
    assert_error(del(url).await.unwrap(), 404, "connection").await;
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let sb = TestSandbox::start().await;
    let res = sb
        .http
        .get(format!("{}/v2/project/x/nothing", sb.base))
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "no such route").await;
}

#[tokio::test]
async fn the_browser_client_is_served_as_javascript_with_open_cors() {
    let dir = std::env::temp_dir().join(format!("sandbox-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("opentok.js"), "window.OT = {};").unwrap();
    std::fs::write(dir.join("opentok.mjs"), "export default {};").unwrap();
    let d = dir.clone();
    let sb = TestSandbox::start_with(move |c| c.client_dir = d).await;
    for (path, body) in [
        ("/v2/js/opentok.js", "window.OT = {};"),
        ("/v2/js/opentok.mjs", "export default {};"),
    ] {
        let res = sb
            .http
            .get(format!("{}{path}", sb.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert_eq!(res.text().await.unwrap(), body);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn admin_routes_allow_cross_origin_calls() {
    let sb = TestSandbox::start().await;
    let pre = sb
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/admin/hooks", sb.base))
        .header("origin", "http://127.0.0.1:9999")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    let get = sb
        .http
        .get(format!("{}/admin/state", sb.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.headers()["access-control-allow-origin"], "*");
}
