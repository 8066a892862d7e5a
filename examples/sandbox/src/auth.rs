//! The two kinds of JWT the sandbox checks, both RS256 with the application's key pair:
//! the REST bearer token (`@vonage/auth`: `application_id`, `iat`, `jti`, `exp`) and the
//! client token (`generateClientToken`: plus `scope`, `session_id`, `role`,
//! `connection_data`, …).

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{decode, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The furthest a REST bearer token's `exp` may be from now (`@vonage/auth` signs them for
/// 15 minutes; the platform's application JWTs live at most a day).
pub const MAX_REST_TOKEN_S: u64 = 24 * 3600;
/// The furthest a client token's `exp` may be from now (the platform: 30 days).
pub const MAX_CLIENT_TOKEN_S: u64 = 30 * 24 * 3600;

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Refuses an `exp` further than `max_s` from now.
fn check_exp_cap(exp: u64, max_s: u64) -> Result<(), String> {
    if exp > now_s().saturating_add(max_s) {
        return Err(format!(
            "token expires too far ahead (exp more than {max_s} s from now)"
        ));
    }
    Ok(())
}

/// What a client token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Subscriber,
    Moderator,
    PublisherOnly,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "publisher" => Some(Role::Publisher),
            "subscriber" => Some(Role::Subscriber),
            "moderator" => Some(Role::Moderator),
            "publisheronly" => Some(Role::PublisherOnly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Publisher => "publisher",
            Role::Subscriber => "subscriber",
            Role::Moderator => "moderator",
            Role::PublisherOnly => "publisheronly",
        }
    }

    pub fn can_publish(self) -> bool {
        self != Role::Subscriber
    }

    pub fn can_moderate(self) -> bool {
        self == Role::Moderator
    }

    pub fn can_subscribe(self) -> bool {
        self != Role::PublisherOnly
    }

    /// The permission names the vendor client reads into `session.capabilities`.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Role::Publisher => &["publish", "subscribe"],
            Role::Subscriber => &["subscribe"],
            Role::PublisherOnly => &["publish"],
            Role::Moderator => &[
                "publish",
                "subscribe",
                "forceunpublish",
                "forcedisconnect",
                "forcemute",
            ],
        }
    }
}

/// Why a REST bearer token was refused: no valid credential at all (401), or a valid
/// credential that is not the server's (403: a participant's client token).
#[derive(Debug, PartialEq, Eq)]
pub enum RestRefusal {
    Unauthenticated(String),
    NotServerCredential,
}

/// A verified client token.
#[derive(Clone, Debug)]
pub struct ClientGrant {
    pub role: Role,
    /// The `connection_data` claim, `""` when absent.
    pub data: String,
}

#[derive(Deserialize)]
struct RestClaims {
    exp: u64,
    application_id: Option<String>,
    /// Present only in client tokens (`session.connect`): never a server credential.
    scope: Option<serde_json::Value>,
    session_id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ClientClaims {
    exp: u64,
    application_id: Option<String>,
    scope: Option<String>,
    session_id: Option<String>,
    role: Option<String>,
    connection_data: Option<serde_json::Value>,
}

/// Checks JWTs against one application's public key.
pub struct Verifier {
    application_id: String,
    key: DecodingKey,
}

impl Verifier {
    /// Fails when the PEM is not an RSA public key.
    pub fn new(application_id: &str, public_key_pem: &str) -> Result<Self, String> {
        let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .map_err(|e| format!("the public key is not an RSA public key PEM: {e}"))?;
        Ok(Verifier {
            application_id: application_id.to_owned(),
            key,
        })
    }

    fn validation() -> Validation {
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = 0;
        v.validate_aud = false;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp"]);
        v
    }

    /// Checks an `Authorization` header value: only the application JWT that `@vonage/auth`
    /// signs for REST (`application_id`, `iat`, `jti`, `exp`, no `scope`) passes. The error
    /// says why, without echoing the token.
    pub fn check_rest(&self, authorization: Option<&str>) -> Result<(), RestRefusal> {
        let unauth = |why: &str| RestRefusal::Unauthenticated(why.to_owned());
        let header = authorization
            .ok_or_else(|| unauth("missing Authorization header (Bearer JWT expected)"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauth("Authorization header is not a Bearer token"))?;
        let claims = decode::<RestClaims>(token.trim(), &self.key, &Self::validation())
            .map_err(|e| RestRefusal::Unauthenticated(describe(&e)))?
            .claims;
        match claims.application_id {
            Some(id) if id == self.application_id => {}
            Some(_) => return Err(unauth("token is for another application (application_id)")),
            None => return Err(unauth("token has no application_id claim")),
        }
        if claims.scope.is_some() || claims.session_id.is_some() {
            return Err(RestRefusal::NotServerCredential);
        }
        // After the check above: a client token (which may live 30 days) is named as such.
        check_exp_cap(claims.exp, MAX_REST_TOKEN_S).map_err(RestRefusal::Unauthenticated)?;
        Ok(())
    }

    /// Checks a client token presented at connect to `session_id`.
    pub fn check_client(&self, token: &str, session_id: &str) -> Result<ClientGrant, String> {
        let claims = decode::<ClientClaims>(token.trim(), &self.key, &Self::validation())
            .map_err(|e| describe(&e))?
            .claims;
        check_exp_cap(claims.exp, MAX_CLIENT_TOKEN_S)?;
        if claims.application_id.as_deref() != Some(self.application_id.as_str()) {
            return Err("token is for another application (application_id)".into());
        }
        if claims.scope.as_deref() != Some("session.connect") {
            return Err("token scope is not session.connect".into());
        }
        match claims.session_id.as_deref() {
            Some(s) if s == session_id => {}
            Some(_) => return Err("token is for another session (session_id)".into()),
            None => return Err("token has no session_id claim".into()),
        }
        let role = match claims.role.as_deref() {
            None => Role::Publisher,
            Some(r) => Role::parse(r).ok_or_else(|| format!("unknown role {r:?}"))?,
        };
        let data = match claims.connection_data {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
        };
        Ok(ClientGrant { role, data })
    }
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    match e.kind() {
        ErrorKind::ExpiredSignature => "token expired (exp)".into(),
        ErrorKind::InvalidSignature => {
            "token signature does not match the application's public key".into()
        }
        ErrorKind::InvalidAlgorithm => "token is not signed with RS256".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("token has no {c} claim"),
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)".into(),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => "token is not a well-formed JWT".into(),
        _ => format!("token refused: {e}"),
    }
}
