//! The vendor REST dialect (every route with good and bad input), the vendor client's HTTP
//! routes as a page calls them, and the admin API's guard.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn conn(id: &str) -> String {
    format!("/connection/{id}")
}

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
    a.expect("created", &conn(&b.id)).await;
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
        let s = c.next().await;
        // The empty sender is what the client dispatches as `from === null`.
        assert_eq!((s.method.as_str(), s.from.as_str()), ("signal", ""));
        assert!(s.path.starts_with("/signal/"), "{s:?}");
        assert_eq!(s.content, json!({"type": "chat", "data": "hello"}));
    }
}

#[tokio::test]
async fn signal_to_one_connection_reaches_only_it() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let res = sb
        .http
        .post(sb.project_url(&format!("/session/{sid}/connection/{}/signal", b.id)))
        .bearer_auth(sb.rest_jwt())
        .json(&json!({"type": "", "data": "just you"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let s = b.next().await;
    assert_eq!(
        (s.from.as_str(), &s.content["data"]),
        ("", &json!("just you"))
    );
    assert!(
        s.path.starts_with(&format!("/connection/{}/signal/", b.id)),
        "{s:?}"
    );
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
    assert_eq!(a.next().await.content["data"].as_str().unwrap().len(), 8192);
}

#[tokio::test]
async fn force_disconnect_removes_one_connection() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
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
    // The leaver's own `connection deleted` is its sessionDisconnected.
    let own = b.expect("deleted", &conn(&b.id.clone())).await;
    assert_eq!(own.reason.as_deref(), Some("forceDisconnected"));
    assert_eq!(b.ended().await, Ended::Closed(1000));
    let gone = a.expect("deleted", &conn(&b.id)).await;
    assert_eq!(gone.reason.as_deref(), Some("forceDisconnected"));
    assert_eq!(sb.count_in(&sid, "connections").await, 1);
    assert_error(del(url).await.unwrap(), 404, "connection").await;
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let sb = TestSandbox::start().await;
    // The look-alike client and its socket are gone too.
    for path in ["/v2/project/x/nothing", "/v2/js/opentok.js", "/v2/ws"] {
        let res = sb
            .http
            .get(format!("{}{path}", sb.base))
            .send()
            .await
            .unwrap();
        assert_error(res, 404, "no such route").await;
    }
}

#[tokio::test]
async fn a_client_token_is_not_a_server_credential() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let mut a = sb.join(&sid, "a").await;
    let mut b = sb.join(&sid, "b").await;
    a.expect("created", &conn(&b.id)).await;
    let client = sb.token(&sid, "moderator", "");

    let create = sb
        .http
        .post(format!("{}/session/create", sb.base))
        .bearer_auth(&client)
        .form(&[("archiveMode", "manual")]);
    let to_all = sb
        .http
        .post(sb.project_url(&format!("/session/{sid}/signal")))
        .bearer_auth(&client)
        .json(&json!({"type": "handoff", "data": "{}"}));
    let to_b = sb
        .http
        .post(sb.project_url(&format!("/session/{sid}/connection/{}/signal", b.id)))
        .bearer_auth(&client)
        .json(&json!({"type": "handoff", "data": "{}"}));
    let kick = sb
        .http
        .delete(sb.project_url(&format!("/session/{sid}/connection/{}", b.id)))
        .bearer_auth(&client);
    for (what, req) in [
        ("create", create),
        ("signal", to_all),
        ("signal one", to_b),
        ("disconnect", kick),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{what}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("client token"),
            "{what}: {body}"
        );
    }
    // Nothing changed: one session, both connections, no signal.
    assert_eq!(sb.state().await["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(sb.count_in(&sid, "connections").await, 2);
    a.expect_silence(150).await;
    b.expect_silence(0).await;
}

#[tokio::test]
async fn the_vendor_clients_routes_answer_a_page_on_another_origin() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let origin = "http://127.0.0.1:9999";
    // The headers the client's requests carry (session info, live config).
    let asked = "x-opentok-auth,x-tb-version,x-tb-client-version,x-tb-connectionid,x-tb-token-auth";
    for (path, method) in [
        (format!("/anvil.opentok.com/session/{sid}"), "GET"),
        (
            format!("/config.opentok.com/project/{APP_ID}/config.json"),
            "GET",
        ),
        (
            "/hlg.tokbox.com/prod/logging/ClientEvent".to_owned(),
            "POST",
        ),
    ] {
        let pre = sb
            .http
            .request(Method::OPTIONS, format!("{}{path}", sb.base))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", asked)
            .send()
            .await
            .unwrap();
        assert!(pre.status().is_success(), "{path}: {}", pre.status());
        let h = pre.headers();
        assert_eq!(h["access-control-allow-origin"], "*", "{path}");
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains(method), "{path}: {methods}");
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for header in asked.split(',') {
            assert!(
                allowed.contains(header),
                "{path}: {header} not in {allowed}"
            );
        }
    }
    let config = sb
        .http
        .get(format!(
            "{}/config.opentok.com/project/{APP_ID}/config.json",
            sb.base
        ))
        .header("origin", origin)
        .header("X-TB-TOKEN-AUTH", sb.token(&sid, "publisher", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(config.headers()["access-control-allow-origin"], "*");
    assert_eq!(config.json::<Value>().await.unwrap(), json!({}));
    let log = sb
        .http
        .post(format!("{}/hlg.tokbox.com/prod/logging/ClientQos", sb.base))
        .header("origin", origin)
        .json(&json!({"action": "x"}))
        .send()
        .await
        .unwrap();
    assert!(log.status().is_success());
    assert_eq!(log.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn the_admin_api_needs_its_token_and_json_and_answers_no_page() {
    let sb = TestSandbox::start().await;
    let sid = sb.create_session().await;
    let url = |path: &str| format!("{}{path}", sb.base);
    let hooks = json!({"latencyMs": 5});

    // No token, a wrong one, the right one in the wrong scheme: 401, nothing changes.
    let wrong = format!("{}x", sb.admin_token);
    for (what, auth) in [
        ("no token", None),
        ("wrong token", Some(format!("Bearer {wrong}"))),
        (
            "prefix of the token",
            Some(format!("Bearer {}", &sb.admin_token[..8])),
        ),
        ("not bearer", Some(format!("Basic {}", sb.admin_token))),
        ("a REST JWT", Some(format!("Bearer {}", sb.rest_jwt()))),
    ] {
        for (method, path) in [
            (Method::GET, "/admin/state"),
            (Method::POST, "/admin/hooks"),
            (Method::DELETE, "/admin/hooks"),
        ] {
            let mut req = sb.http.request(method.clone(), url(path)).json(&hooks);
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{what}: {method} {path}");
            assert!(res.headers().get("access-control-allow-origin").is_none());
            assert_error(res, 401, "admin token").await;
        }
    }
    let rotate = url(&format!("/admin/sessions/{sid}/rotate"));
    let res = sb.http.post(&rotate).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401);

    // A POST that is not JSON (what a cross-site form can send): 415, nothing changes.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        for path in [
            "/admin/hooks".to_owned(),
            format!("/admin/sessions/{sid}/rotate"),
        ] {
            let mut req = sb
                .admin(Method::POST, &path)
                .body(r#"{"latencyMs": 5, "noticeMs": 0}"#);
            if let Some(t) = content_type {
                req = req.header("content-type", t);
            }
            assert_error(req.send().await.unwrap(), 415, "application/json").await;
        }
    }
    assert_eq!(sb.admin_get("/admin/hooks").await["latencyMs"], 0);
    let st = sb.session_state(&sid).await;
    assert_eq!(
        (&st["destroyed"], &st["rotationEndsAt"]),
        (&json!(false), &Value::Null)
    );

    // No CORS: neither a preflight nor an answer lets a page read the admin API.
    let pre = sb
        .http
        .request(Method::OPTIONS, url("/admin/hooks"))
        .header("origin", "http://127.0.0.1:9999")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!pre.status().is_success(), "{}", pre.status());
    assert!(pre.headers().get("access-control-allow-origin").is_none());
    let ok = sb
        .admin(Method::GET, "/admin/state")
        .header("origin", "http://127.0.0.1:9999")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("access-control-allow-origin").is_none());
    // With the token and JSON: accepted (charset parameters allowed).
    let res = sb
        .admin(Method::POST, "/admin/hooks")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"latencyMs": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(sb.admin_get("/admin/hooks").await["latencyMs"], 5);
}

#[tokio::test]
async fn without_an_admin_token_the_admin_api_is_off() {
    let sb = TestSandbox::start_with(|c| c.admin_token = None).await;
    let sid = sb.create_session().await;
    for (method, path) in [
        (Method::GET, "/admin/state".to_owned()),
        (Method::GET, "/admin/hooks".to_owned()),
        (Method::POST, "/admin/hooks".to_owned()),
        (Method::DELETE, "/admin/hooks".to_owned()),
        (Method::GET, format!("/admin/sessions/{sid}/events")),
        (Method::POST, format!("/admin/sessions/{sid}/rotate")),
        (Method::POST, "/admin/connections/x/cut".to_owned()),
    ] {
        for auth in ["", "Bearer ", "Bearer x"] {
            let res = sb
                .http
                .request(method.clone(), format!("{}{path}", sb.base))
                .header("authorization", auth)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_error(res, 403, "admin API is off").await;
        }
    }
    // The rest of the sandbox serves as usual.
    let _a = sb.join(&sid, "a").await;
}
