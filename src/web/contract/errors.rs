//! Errors as they cross to JS: real `HandoffError` objects (the class `js/index.js` exports,
//! an `Error` with `name` "HandoffError") with a stable [`ErrorCode`] and a message a person
//! can act on (the engine's own sentence, then the vendor's or the app's words).
//!
//! Messages are built by concatenation, never `format!`, to keep `core::fmt` out of the
//! shipped wasm.

use std::borrow::Cow;
use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::engine::{HandoffError, Rejection};

/// Every code a `HandoffError` can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(rename = "HandoffErrorCode")]
pub enum ErrorCode {
    // Reported in `handoffFailed` (the engine's `HandoffError`); a deadline that leaves no
    // time for another attempt reports the last attempt's error with `willRetry: false`.
    ConnectFailed,
    ConnectTimeout,
    NoToken,
    TokenProviderFailed,
    ResolveFailed,
    /// An app hook (`tokenProvider`, `resolveSession`) did not answer within `hookTimeoutMs`.
    HookTimeout,
    PublishFailed,
    /// Reported in `subscribeFailed`.
    SubscribeFailed,
    /// Reported in `announceFailed`.
    AnnounceFailed,
    // Thrown, or the rejection of `join()`.
    InvalidOptions,
    InvalidArgument,
    /// getUserMedia refused or missing.
    MediaFailed,
    Aborted,
    Closed,
    SessionEnded,
    WasmLoadFailed,
    /// No `document` (a worker, a server): the SDK needs a page.
    UnsupportedEnvironment,
    /// A bug of the SDK (the message says what was caught).
    Internal,
}

impl From<&HandoffError> for ErrorCode {
    fn from(e: &HandoffError) -> Self {
        match e {
            HandoffError::ConnectFailed { .. } => ErrorCode::ConnectFailed,
            HandoffError::ConnectTimeout => ErrorCode::ConnectTimeout,
            HandoffError::NoToken => ErrorCode::NoToken,
            HandoffError::TokenProviderFailed { .. } => ErrorCode::TokenProviderFailed,
            HandoffError::ResolveFailed { .. } => ErrorCode::ResolveFailed,
            HandoffError::HookTimeout { .. } => ErrorCode::HookTimeout,
            HandoffError::PublishFailed { .. } => ErrorCode::PublishFailed,
            #[allow(unreachable_patterns)]
            _ => ErrorCode::Internal,
        }
    }
}

/// An error on its way to JS.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

thread_local! {
    // The `HandoffError` class of js/index.js, registered with each `Call`.
    static CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Errors are made with `class` from now on (`new class(code, message)`).
pub fn use_class(class: &JsValue) {
    if let Some(f) = class.dyn_ref::<Function>() {
        CLASS.with(|c| *c.borrow_mut() = Some(f.clone()));
    }
}

fn joined(text: &'static str, detail: &str) -> Cow<'static, str> {
    if detail.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + detail.len() + 2);
    s.push_str(text);
    s.push_str(": ");
    s.push_str(detail);
    Cow::Owned(s)
}

impl Failure {
    pub fn new(code: ErrorCode, message: &'static str) -> Failure {
        Failure {
            code,
            message: Cow::Borrowed(message),
        }
    }

    pub fn with_detail(code: ErrorCode, text: &'static str, detail: &str) -> Failure {
        Failure {
            code,
            message: joined(text, detail),
        }
    }

    pub fn invalid(message: &'static str) -> Failure {
        Failure::new(ErrorCode::InvalidOptions, message)
    }

    pub fn closed() -> Failure {
        Failure::new(ErrorCode::Closed, "the call is closed")
    }

    /// A move request the app made (`moveTo`) that the engine's checks refused.
    pub fn refused_move(rejection: &Rejection) -> Failure {
        Failure::with_detail(ErrorCode::InvalidArgument, "moveTo", rejection.problem())
    }

    /// The JS error object: a `HandoffError` (or, before js/index.js registered its class, an
    /// `Error` with the same `name` and `code`).
    pub fn to_js(&self) -> JsValue {
        let code = serde_wasm_bindgen::to_value(&self.code).unwrap_or(JsValue::NULL);
        let message = JsValue::from_str(&self.message);
        let made = CLASS.with(|c| {
            let class = c.borrow().clone()?;
            Reflect::construct(&class, &Array::of2(&code, &message)).ok()
        });
        made.unwrap_or_else(|| {
            let e = js_sys::Error::new(&self.message);
            e.set_name("HandoffError");
            let _ = Reflect::set(&e, &JsValue::from_str("code"), &code);
            e.into()
        })
    }
}

impl From<&HandoffError> for Failure {
    fn from(e: &HandoffError) -> Failure {
        Failure::with_detail(e.into(), e.text(), e.detail().unwrap_or(""))
    }
}
