//! What the app passes in: `join(options)` ([`CallOptions`]) and the local media
//! ([`LocalMedia`]), read with serde-wasm-bindgen and checked in one place, with a message that
//! names what to fix. The `OT` object and the app's functions pass through as JS values.
//! js/index.js reads the rest of `join`'s options (`signal`, `on`) itself.

use js_sys::{Function, Reflect};
use serde::de::{Deserialize, Deserializer};
use serde::Deserialize as DeriveDeserialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::errors::Failure;
use crate::engine::{Config, Field, Millis};
use crate::web::effects::meter::SWAP_WINDOW_MS;
use crate::web::ot::{get, Ot};

/// A JS value passed through as it is (a field of it is an `Option<Js>`: serde reads a
/// missing, `undefined` or `null` one as `None`, with no `#[serde(default)]`, which would make
/// it optional in the generated TypeScript).
pub struct Js(pub JsValue);

impl<'de> Deserialize<'de> for Js {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_wasm_bindgen::preserve::deserialize(d).map(Js)
    }
}

/// The options of `join()` that the SDK's wasm reads.
#[derive(DeriveDeserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CallOptions {
    /// The vendor's `OT` (`@vonage/client-sdk-video`, `@opentok/client`) or the sandbox's.
    #[serde(rename = "OT")]
    #[tsify(type = "import(\"../js/index.js\").OTLike")]
    pub ot: Option<Js>,
    /// Application ID (API key) passed to `OT.initSession`.
    #[tsify(type = "string")]
    pub application_id: Field,
    /// The session to join first.
    #[tsify(type = "string")]
    pub session_id: Field,
    /// Token for `sessionId`; without it `tokenProvider` is asked.
    #[tsify(optional, type = "string")]
    pub token: Field,
    /// Gives a token for a session the call moves to, when the move named none.
    #[tsify(optional, type = "(sessionId: string) => string | Promise<string>")]
    pub token_provider: Option<Js>,
    /// Asked where to go when the live session is destroyed by a server rotation and no
    /// handoff signal arrived. Return `null` to rejoin the same session ID; the answer is
    /// checked like a handoff signal.
    #[tsify(
        optional,
        type = "(oldSessionId: string) => Omit<MoveFields, \"v\"> | null | Promise<Omit<MoveFields, \"v\"> | null>"
    )]
    pub resolve_session: Option<Js>,
    /// Identifies a participant across sessions. Default: the connection's `data` (the
    /// token data), else its connection ID.
    #[tsify(
        optional,
        type = "(connection: import(\"../js/index.js\").ConnectionInfo) => string"
    )]
    pub participant_key: Option<Js>,
    /// Signal type of handoff requests. Default `"handoff"`. Clients also send each other
    /// `"<signalType>-moved"` in the new session (see `groupMode`).
    #[tsify(optional, type = "string")]
    pub signal_type: Field,
    /// Longest overlap of old and new session, in ms. Default 30000.
    #[tsify(optional, type = "number")]
    pub max_overlap_ms: Field,
    /// Stay in the old session until all its participants appear in the new one and each has
    /// said (signal `"<signalType>-moved"`) that it shows everyone from there, so nobody still
    /// watching this client's old stream sees it freeze. Default true.
    #[tsify(optional, type = "boolean")]
    pub group_mode: Field,
    /// A connect attempt not done by then counts as failed, in ms. Default 15000.
    #[tsify(optional, type = "number")]
    pub connect_timeout_ms: Field,
    /// Connect attempts for one move before it is given up (`handoffFailed` with
    /// `stopped: "maxAttempts"`). Default 5.
    #[tsify(optional, type = "number")]
    pub max_attempts: Field,
    /// A move is given up when its next attempt would start this long after its first, in
    /// ms. Default 60000.
    #[tsify(optional, type = "number")]
    pub max_attempt_ms: Field,
    /// `tokenProvider` and `resolveSession` must answer within this, in ms, or the attempt
    /// fails with `hookTimeout` (a late answer is ignored). Default 10000.
    #[tsify(optional, type = "number")]
    pub hook_timeout_ms: Field,
    /// Local media to publish. Omitted: the SDK asks `getUserMedia` for camera and microphone
    /// and stops those tracks on `close()`. `false`: publish nothing (watch only).
    #[tsify(optional, type = "LocalMedia | false")]
    pub publisher: Option<Js>,
    /// Passed to `OT.initSession` (client 2.30+): at a server rotation the vendor's client
    /// then moves itself within the same session ID, and the SDK reports `sessionMigrated`.
    /// Default false. (Read by [`Options::read`] itself: a serde field costs 250 bytes.)
    #[serde(skip)]
    #[tsify(optional, type = "boolean")]
    pub session_migration: (),
}

/// The local camera and microphone to publish (its type only: js/index.js hands the tracks
/// to `Call::start` as arguments).
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LocalMedia {
    /// Camera track to publish; each session's publisher gets its own `clone()`.
    #[tsify(optional, type = "MediaStreamTrack | null")]
    video_source: (),
    /// Microphone track to publish; each session's publisher gets its own `clone()`.
    #[tsify(optional, type = "MediaStreamTrack | null")]
    audio_source: (),
    /// Display name of the local stream.
    #[tsify(optional, type = "string")]
    name: (),
}

/// `join(options)`, checked.
pub struct Options {
    pub ot: Ot,
    pub application_id: String,
    pub session_id: String,
    pub token: Option<String>,
    pub token_provider: Option<Function>,
    pub resolve_session: Option<Function>,
    pub participant_key: Option<Function>,
    pub session_migration: bool,
    pub config: Config,
}

const TYPES: &str =
    "join(options): applicationId, sessionId, token and signalType must be strings, \
maxOverlapMs, connectTimeoutMs, maxAttemptMs and hookTimeoutMs non-negative numbers, \
maxAttempts a whole number from 1 to 100, groupMode and sessionMigration booleans";

fn text(field: Field) -> Result<Option<String>, Failure> {
    match field {
        Field::Absent => Ok(None),
        Field::Text(s) if s.is_empty() => Ok(None),
        Field::Text(s) => Ok(Some(s)),
        _ => Err(Failure::invalid(TYPES)),
    }
}

fn millis(field: Field, default: Millis) -> Result<Millis, Failure> {
    match field {
        Field::Absent => Ok(default),
        Field::Number(n) if n.is_finite() && n >= 0.0 => Ok(n as Millis),
        _ => Err(Failure::invalid(TYPES)),
    }
}

fn function(value: Option<Js>, message: &'static str) -> Result<Option<Function>, Failure> {
    let Some(Js(value)) = value else {
        return Ok(None);
    };
    value
        .dyn_into()
        .map(Some)
        .map_err(|_| Failure::invalid(message))
}

fn has_function(ot: &JsValue, name: &str) -> bool {
    Reflect::get(ot, &JsValue::from_str(name)).is_ok_and(|f| f.is_function())
}

impl Options {
    pub fn read(options: &JsValue) -> Result<Options, Failure> {
        if !options.is_object() {
            return Err(Failure::invalid("join(options) needs an options object"));
        }
        let o: CallOptions =
            serde_wasm_bindgen::from_value(options.clone()).map_err(|_| Failure::invalid(TYPES))?;
        let ot = o.ot.map_or(JsValue::UNDEFINED, |j| j.0);
        if !(ot.is_object() || ot.is_function())
            || !has_function(&ot, "initSession")
            || !has_function(&ot, "initPublisher")
        {
            return Err(Failure::invalid(
                "join(options): OT is required: pass the vendor's OT object (@vonage/client-sdk-video) or the sandbox's",
            ));
        }
        let Some(application_id) = text(o.application_id)? else {
            return Err(Failure::invalid(
                "join(options): applicationId is required (the API key / application ID)",
            ));
        };
        let Some(session_id) = text(o.session_id)? else {
            return Err(Failure::invalid(
                "join(options): sessionId is required (the session to join first)",
            ));
        };
        let token = text(o.token)?;
        let token_provider = function(
            o.token_provider,
            "join(options): tokenProvider must be a function",
        )?;
        let resolve_session = function(
            o.resolve_session,
            "join(options): resolveSession must be a function",
        )?;
        let participant_key = function(
            o.participant_key,
            "join(options): participantKey must be a function",
        )?;
        if token.is_none() && token_provider.is_none() {
            return Err(Failure::invalid(
                "join(options): give a token or a tokenProvider",
            ));
        }
        let defaults = Config::default();
        let signal_type = text(o.signal_type)?.unwrap_or(defaults.signal_type);
        // The vendor's signal types: at most 128 of [A-Za-z0-9-_~], and ours gets "-moved".
        if signal_type.len() > 122
            || !signal_type
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_~".contains(&b))
        {
            return Err(Failure::invalid(
                "join(options): signalType must be 1 to 122 of A-Z a-z 0-9 - _ ~",
            ));
        }
        let group_mode = match o.group_mode {
            Field::Absent => defaults.group_mode,
            Field::Bool(b) => b,
            _ => return Err(Failure::invalid(TYPES)),
        };
        let session_migration = match get(options, "sessionMigration") {
            None => false,
            Some(b) => b.as_bool().ok_or_else(|| Failure::invalid(TYPES))?,
        };
        let config = Config {
            signal_type,
            group_mode,
            publish: o.publisher.is_none_or(|p| p.0 != JsValue::FALSE),
            max_overlap_ms: millis(o.max_overlap_ms, defaults.max_overlap_ms)?,
            connect_timeout_ms: millis(o.connect_timeout_ms, defaults.connect_timeout_ms)?,
            max_attempts: match o.max_attempts {
                Field::Absent => defaults.max_attempts,
                Field::Number(n) if n.fract() == 0.0 && (1.0..=100.0).contains(&n) => n as u32,
                _ => return Err(Failure::invalid(TYPES)),
            },
            max_attempt_ms: millis(o.max_attempt_ms, defaults.max_attempt_ms)?,
            hook_timeout_ms: millis(o.hook_timeout_ms, defaults.hook_timeout_ms)?,
            // A swap's event waits for the tile's figure: the meter's window, and a margin.
            swap_figure_wait_ms: SWAP_WINDOW_MS as Millis + 500,
            has_token_provider: token_provider.is_some(),
            has_resolve_session: resolve_session.is_some(),
            ..defaults
        };
        Ok(Options {
            ot: ot.unchecked_into(),
            application_id,
            session_id,
            token,
            token_provider,
            resolve_session,
            participant_key,
            session_migration,
            config,
        })
    }
}
