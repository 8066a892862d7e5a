//! Errors as they cross to JS: `{ code, message }` with a stable `code`, which `js/index.js`
//! turns into a real `HandoffError` (an `Error` with `name` and `code`).
//!
//! Messages are built by concatenation, never `format!`, to keep `core::fmt` out of the
//! shipped wasm.

use std::borrow::Cow;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::engine::HandoffError;

#[derive(Debug, Clone)]
pub struct Failure {
    pub code: &'static str,
    pub message: Cow<'static, str>,
}

impl Failure {
    pub fn invalid(message: &'static str) -> Failure {
        Failure {
            code: "invalidOptions",
            message: Cow::Borrowed(message),
        }
    }

    pub fn closed() -> Failure {
        Failure {
            code: "closed",
            message: Cow::Borrowed("the call is closed"),
        }
    }

    pub fn to_js(&self) -> JsValue {
        let o = Object::new();
        let _ = Reflect::set(&o, &"code".into(), &JsValue::from_str(self.code));
        let _ = Reflect::set(&o, &"message".into(), &JsValue::from_str(&self.message));
        o.into()
    }
}

fn with_detail(text: &'static str, detail: &str) -> Cow<'static, str> {
    if detail.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + detail.len() + 2);
    s.push_str(text);
    s.push_str(": ");
    s.push_str(detail);
    Cow::Owned(s)
}

impl From<&HandoffError> for Failure {
    fn from(e: &HandoffError) -> Failure {
        let message = match e {
            HandoffError::ConnectFailed { detail } => {
                with_detail("connecting to the session failed", detail)
            }
            HandoffError::ConnectTimeout => Cow::Borrowed("connecting to the session timed out"),
            HandoffError::NoToken => Cow::Borrowed(
                "no token: the handoff signal had none and join(options) has no tokenProvider",
            ),
            HandoffError::TokenProviderFailed { detail } => {
                with_detail("tokenProvider failed", detail)
            }
            HandoffError::ResolveFailed { detail } => with_detail("resolveSession failed", detail),
            HandoffError::PublishFailed { detail } => {
                with_detail("publishing into the session failed", detail)
            }
            #[allow(unreachable_patterns)]
            _ => Cow::Borrowed("the handoff failed"),
        };
        Failure {
            code: e.code(),
            message,
        }
    }
}

/// A short text for a JS value thrown or rejected by app code or the vendor.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    for key in ["message", "name"] {
        if let Some(s) = Reflect::get(value, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
        {
            if !s.is_empty() {
                return s;
            }
        }
    }
    String::from("error")
}
