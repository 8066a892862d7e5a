//! `join(options)`: the one place where the app's options object is read and checked.
//!
//! Every value (strings, numbers, booleans, the functions and the `OT` object) is read with
//! `Reflect`. Anything missing or mistyped is an
//! `invalidOptions` error with a message that names what to fix.

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::Failure;
use super::ot::Ot;
use crate::engine::{Config, Millis};

#[derive(Default)]
struct Plain {
    application_id: Option<String>,
    session_id: Option<String>,
    token: Option<String>,
    signal_type: Option<String>,
    max_overlap_ms: Option<f64>,
    group_mode: Option<bool>,
    connect_timeout_ms: Option<f64>,
}

fn plain(o: &JsValue) -> Result<Plain, ()> {
    let get = |k: &str| Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let string = |k: &str| {
        let v = get(k);
        if v.is_undefined() || v.is_null() {
            Ok(None)
        } else {
            v.as_string().map(Some).ok_or(())
        }
    };
    let number = |k: &str| {
        let v = get(k);
        if v.is_undefined() || v.is_null() {
            Ok(None)
        } else {
            v.as_f64().map(Some).ok_or(())
        }
    };
    let boolean = |k: &str| {
        let v = get(k);
        if v.is_undefined() || v.is_null() {
            Ok(None)
        } else {
            v.as_bool().map(Some).ok_or(())
        }
    };
    Ok(Plain {
        application_id: string("applicationId")?,
        session_id: string("sessionId")?,
        token: string("token")?,
        signal_type: string("signalType")?,
        max_overlap_ms: number("maxOverlapMs")?,
        group_mode: boolean("groupMode")?,
        connect_timeout_ms: number("connectTimeoutMs")?,
    })
}

pub struct Options {
    pub ot: Ot,
    pub application_id: String,
    pub session_id: String,
    pub token: Option<String>,
    pub token_provider: Option<Function>,
    pub resolve_session: Option<Function>,
    pub participant_key: Option<Function>,
    pub config: Config,
}

const TYPES: &str =
    "join(options): applicationId, sessionId, token and signalType must be strings, \
maxOverlapMs and connectTimeoutMs non-negative numbers, groupMode a boolean";

fn function(options: &JsValue, name: &'static str) -> Result<Option<Function>, Failure> {
    let value = Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.dyn_into::<Function>() {
        Ok(f) => Ok(Some(f)),
        Err(_) => Err(Failure::invalid(match name {
            "tokenProvider" => "join(options): tokenProvider must be a function",
            "resolveSession" => "join(options): resolveSession must be a function",
            _ => "join(options): participantKey must be a function",
        })),
    }
}

fn millis(value: Option<f64>, default: Millis) -> Result<Millis, Failure> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v as Millis),
        Some(_) => Err(Failure::invalid(TYPES)),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.is_empty())
}

impl Options {
    pub fn read(options: &JsValue) -> Result<Options, Failure> {
        if !options.is_object() {
            return Err(Failure::invalid("join(options) needs an options object"));
        }
        let ot = Reflect::get(options, &JsValue::from_str("OT")).unwrap_or(JsValue::UNDEFINED);
        let has_init = |name: &str| {
            Reflect::get(&ot, &JsValue::from_str(name))
                .map(|f| f.is_function())
                .unwrap_or(false)
        };
        if !ot.is_object() && !ot.is_function()
            || !has_init("initSession")
            || !has_init("initPublisher")
        {
            return Err(Failure::invalid(
                "join(options): OT is required: pass the vendor's OT object (@vonage/client-sdk-video) or the sandbox's",
            ));
        }
        let plain = plain(options).map_err(|_| Failure::invalid(TYPES))?;
        let Some(application_id) = non_empty(plain.application_id) else {
            return Err(Failure::invalid(
                "join(options): applicationId is required (the API key / application ID)",
            ));
        };
        let Some(session_id) = non_empty(plain.session_id) else {
            return Err(Failure::invalid(
                "join(options): sessionId is required (the session to join first)",
            ));
        };
        let token_provider = function(options, "tokenProvider")?;
        let resolve_session = function(options, "resolveSession")?;
        let participant_key = function(options, "participantKey")?;
        let publisher =
            Reflect::get(options, &JsValue::from_str("publisher")).unwrap_or(JsValue::UNDEFINED);
        let token = non_empty(plain.token);
        if token.is_none() && token_provider.is_none() {
            return Err(Failure::invalid(
                "join(options): give a token or a tokenProvider",
            ));
        }
        let defaults = Config::default();
        let signal_type = non_empty(plain.signal_type).unwrap_or(defaults.signal_type);
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
        let config = Config {
            signal_type,
            group_mode: plain.group_mode.unwrap_or(defaults.group_mode),
            publish: publisher != JsValue::FALSE,
            max_overlap_ms: millis(plain.max_overlap_ms, defaults.max_overlap_ms)?,
            connect_timeout_ms: millis(plain.connect_timeout_ms, defaults.connect_timeout_ms)?,
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
            config,
        })
    }
}
