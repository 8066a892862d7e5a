//! The one validated move request: what a handoff signal, `moveTo` and `resolveSession` say,
//! and the checks that turn it into a [`HandoffRequest`] (docs/wire-contract.md).
//!
//! ```json
//! { "v": 1, "sessionId": "2_MX4...", "token": "optional JWT", "reason": "serverRotation",
//!   "deadline": 1764120000000, "spreadMs": 0, "id": "optional id of this move" }
//! ```
//!
//! A signal's text is checked for size and nesting ([`check_signal_text`]) before anyone
//! parses it; the browser then parses it with `JSON.parse` and reads the object into
//! [`MoveFields`] with serde (serde-wasm-bindgen), native code and tests with `serde_json`.
//! Every field deserializes from any JSON value, so a field of the wrong type is rejected
//! here with the field's name, never by serde. Checks run in this order, and the first that
//! fails is the reason given: `v` (signals only), `sessionId`, `token`, `reason`, `deadline`,
//! `spreadMs`, `id`. `null` counts as absent; unknown fields are ignored. Numbers are JSON
//! numbers (`1.7e12` is the integer 1700000000000); a `deadline` or `spreadMs` with a
//! fraction is floored.

use core::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{HandoffRequest, Millis, RejectReason, Rejection, SessionId};

/// Largest `data` accepted, in bytes (the platform's own signal limit).
pub const MAX_SIGNAL_BYTES: usize = 8192;
/// Deepest nesting of arrays and objects in a signal's `data`.
pub const MAX_DEPTH: usize = 32;
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

/// The checks on a signal's `data` before it is parsed: at most [`MAX_SIGNAL_BYTES`]
/// (`tooLarge`), and arrays and objects nested at most [`MAX_DEPTH`] deep (`notJson`).
///
/// ```
/// use video_handoff::engine::{check_signal_text, RejectReason};
/// assert_eq!(check_signal_text(r#"{"v":1,"sessionId":"B"}"#), Ok(()));
/// assert_eq!(check_signal_text(&"[".repeat(40)), Err(RejectReason::NotJson.into()));
/// ```
pub fn check_signal_text(data: &str) -> Result<(), Rejection> {
    if data.len() > MAX_SIGNAL_BYTES {
        return Err(RejectReason::TooLarge.into());
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in data.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(RejectReason::NotJson.into());
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// One field of a move request, as far as the checks need to know it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Field {
    /// Missing, `null` or `undefined`.
    #[default]
    Absent,
    Bool(bool),
    Number(f64),
    Text(String),
    /// An array or an object (read and ignored).
    Other,
}

// JSON has no NaN, so a `Field` always equals itself.
impl Eq for Field {}

impl From<&str> for Field {
    fn from(s: &str) -> Self {
        Field::Text(s.to_owned())
    }
}

impl From<f64> for Field {
    fn from(n: f64) -> Self {
        Field::Number(n)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `deserialize_option`, so that a missing field is `Absent` with no
        // `#[serde(default)]` (which would make it optional in the generated TypeScript).
        deserializer.deserialize_option(FieldVisitor)
    }
}

/// Accepts every kind of value (every method a deserializer may call is implemented, so
/// serde's error formatting of unexpected values is never needed, nor shipped).
struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Absent)
    }
    fn visit_none<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field, E> {
        Ok(Field::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
        Ok(Field::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
        Ok(Field::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field, E> {
        Ok(Field::Number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
        Ok(Field::Text(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_byte_buf<E: de::Error>(self, _: Vec<u8>) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
}

/// A move request as it arrives, unchecked: a handoff signal's `data` (a JSON object), the
/// options of `moveTo` with its session, or what `resolveSession` answers. All three are
/// checked the same way, and a signal also needs `v: 1` (in Rust: [`MoveFields::signal`] and
/// [`MoveFields::request`] make it a [`HandoffRequest`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct MoveFields {
    /// Protocol major version of a handoff signal: 1.
    #[cfg_attr(target_arch = "wasm32", tsify(type = "1"))]
    pub v: Field,
    /// The session to move to.
    #[cfg_attr(target_arch = "wasm32", tsify(type = "string"))]
    pub session_id: Field,
    /// The client's token for that session; without one the app's `tokenProvider` is asked.
    #[cfg_attr(target_arch = "wasm32", tsify(optional, type = "string"))]
    pub token: Field,
    /// Why the call moves, echoed in `handoffStarted` (e.g. `serverRotation`).
    #[cfg_attr(target_arch = "wasm32", tsify(optional, type = "string"))]
    pub reason: Field,
    /// When the old session will be destroyed (epoch ms): retries stop before it.
    #[cfg_attr(target_arch = "wasm32", tsify(optional, type = "number"))]
    pub deadline: Field,
    /// Each client waits a random delay below this (ms) before connecting.
    #[cfg_attr(target_arch = "wasm32", tsify(optional, type = "number"))]
    pub spread_ms: Field,
    /// An ID of this move, echoed in `handoffStarted`.
    #[cfg_attr(target_arch = "wasm32", tsify(optional, type = "string"))]
    pub id: Field,
}

impl MoveFields {
    /// A move to `session` with nothing else said.
    pub fn to(session: &str) -> Self {
        MoveFields {
            session_id: Field::from(session),
            ..MoveFields::default()
        }
    }

    /// The checks of a handoff signal: `v` must be 1, then those of [`MoveFields::request`].
    ///
    /// ```
    /// use video_handoff::engine::{Field, MoveFields, RejectReason};
    /// let mut signal = MoveFields::to("2_MX4new");
    /// signal.v = Field::Number(1.0);
    /// signal.spread_ms = Field::Number(2000.0);
    /// assert_eq!(signal.clone().signal().unwrap().spread_ms, 2000);
    /// signal.v = Field::Number(2.0);
    /// assert_eq!(signal.signal(), Err(RejectReason::UnsupportedVersion.into()));
    /// ```
    pub fn signal(self) -> Result<HandoffRequest, Rejection> {
        if self.v != Field::Number(1.0) {
            return Err(RejectReason::UnsupportedVersion.into());
        }
        self.request()
    }

    /// The checks every move request passes (`v` is not looked at).
    pub fn request(self) -> Result<HandoffRequest, Rejection> {
        let session = match self.session_id {
            Field::Absent => return Err(RejectReason::MissingSessionId.into()),
            Field::Text(s) if s.is_empty() => return Err(RejectReason::EmptySessionId.into()),
            Field::Text(s) if s.len() > MAX_SESSION_ID_BYTES => {
                return Err(RejectReason::OversizeSessionId.into())
            }
            // The vendor's character set: markup, NUL, spaces or quotes in an ID can only
            // be a forgery or a bug, and must never reach a log line or a URL unchecked.
            Field::Text(s)
                if !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_~.".contains(&b)) =>
            {
                return Err(RejectReason::BadSessionId.into())
            }
            Field::Text(s) => s,
            _ => return Err(Rejection::wrong_type("sessionId")),
        };
        Ok(HandoffRequest {
            session: SessionId::from(session),
            token: text(self.token, "token", MAX_TOKEN_BYTES)?,
            reason: text(self.reason, "reason", MAX_REASON_BYTES)?,
            deadline: millis(self.deadline, "deadline", u64::MAX)?,
            spread_ms: millis(self.spread_ms, "spreadMs", MAX_SPREAD_MS)?.unwrap_or(0),
            id: text(self.id, "id", MAX_ID_BYTES)?,
        })
    }
}

fn text(field: Field, name: &'static str, max: usize) -> Result<Option<String>, Rejection> {
    match field {
        Field::Absent => Ok(None),
        Field::Text(s) if s.len() <= max => Ok(Some(s)),
        _ => Err(Rejection::wrong_type(name)),
    }
}

fn millis(field: Field, name: &'static str, max: Millis) -> Result<Option<Millis>, Rejection> {
    match field {
        Field::Absent => Ok(None),
        // `as` floors a non-negative finite number; NaN and infinity fail the comparisons.
        Field::Number(n) if n >= 0.0 && n <= max as f64 => Ok(Some(n as Millis)),
        _ => Err(Rejection::wrong_type(name)),
    }
}
