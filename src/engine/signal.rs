//! The handoff signal's wire format (DESIGN.md, "Wire contract: the handoff signal").
//!
//! ```json
//! { "v": 1, "sessionId": "2_MX4...", "token": "optional JWT", "reason": "serverRotation",
//!   "deadline": 1764120000000, "spreadMs": 0, "id": "optional id of this move" }
//! ```
//!
//! Checks run in this order, and the first that fails is the reason given: size, JSON
//! object, `v`, `sessionId`, then the optional fields. Optional fields that are `null` count
//! as absent (what `JSON.stringify` makes of a server's `null`); unknown fields are ignored.
//! Integers (`deadline`, `spreadMs`) must be written as plain non-negative integers
//! (`1764120000000`, not `1.76412e12`).

use super::json::{self, Value};
use super::{HandoffRequest, Millis, RejectReason, SessionId};

/// Largest `data` accepted, in bytes (the platform's own signal limit).
pub const MAX_SIGNAL_BYTES: usize = 8192;
/// Largest `sessionId`, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 256;
/// Largest `token`, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Largest `reason`, in bytes.
pub const MAX_REASON_BYTES: usize = 128;
/// Largest `id`, in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Largest `spreadMs` (ten minutes); a larger value is rejected as `wrongType`, since a
/// client told to wait longer than that would most likely miss the rotation altogether.
pub const MAX_SPREAD_MS: Millis = 600_000;

/// Validates a handoff signal's `data`.
///
/// ```
/// use video_handoff::engine::{parse_signal, RejectReason};
/// let req = parse_signal(r#"{"v":1,"sessionId":"2_MX4new","spreadMs":2000}"#).unwrap();
/// assert_eq!(req.session.as_str(), "2_MX4new");
/// assert_eq!(req.spread_ms, 2000);
/// assert_eq!(parse_signal(r#"{"v":2,"sessionId":"x"}"#), Err(RejectReason::UnsupportedVersion));
/// ```
pub fn parse_signal(data: &str) -> Result<HandoffRequest, RejectReason> {
    if data.len() > MAX_SIGNAL_BYTES {
        return Err(RejectReason::TooLarge);
    }
    let doc = json::parse(data).map_err(|_| RejectReason::NotJson)?;
    if !matches!(doc, Value::Object(_)) {
        return Err(RejectReason::NotJson);
    }
    if doc.get("v").and_then(Value::as_u64) != Some(1) {
        return Err(RejectReason::UnsupportedVersion);
    }
    let session = match doc.get("sessionId") {
        None | Some(Value::Null) => return Err(RejectReason::MissingSessionId),
        Some(v) => v
            .as_str()
            .ok_or(RejectReason::WrongType { field: "sessionId" })?,
    };
    if session.is_empty() {
        return Err(RejectReason::EmptySessionId);
    }
    if session.len() > MAX_SESSION_ID_BYTES {
        return Err(RejectReason::OversizeSessionId);
    }
    Ok(HandoffRequest {
        session: SessionId::from(session),
        token: optional_str(&doc, "token", MAX_TOKEN_BYTES)?,
        reason: optional_str(&doc, "reason", MAX_REASON_BYTES)?,
        deadline: optional_u64(&doc, "deadline", u64::MAX)?,
        spread_ms: optional_u64(&doc, "spreadMs", MAX_SPREAD_MS)?.unwrap_or(0),
        id: optional_str(&doc, "id", MAX_ID_BYTES)?,
    })
}

fn optional_str(
    doc: &Value<'_>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, RejectReason> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s.clone())),
        Some(_) => Err(RejectReason::WrongType { field }),
    }
}

fn optional_u64(
    doc: &Value<'_>,
    field: &'static str,
    max: u64,
) -> Result<Option<u64>, RejectReason> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(RejectReason::WrongType { field }),
        },
    }
}
