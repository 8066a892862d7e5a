//! The web shell (wasm32 only): binds the vendor's `OT` API and the DOM, and drives the engine.
//!
//! - [`ot`]: typed externs for the part of the OT API we use.
//! - [`listener`]: every JS callback we hand out, and the handles that take them back.
//! - [`options`]: reading and checking `join(options)`.
//! - [`shell`]: the run loop (inbox, engine, commands, the one timer, event delivery).
//! - [`tiles`] and [`meter`]: the participants' stable elements and the frame-gap meter.
//! - [`events`] and [`error`]: what crosses back to JS.
//!
//! [`Call`] is the object `js/index.js` wraps into the public `HandoffCall`.

pub mod error;
pub mod events;
pub mod listener;
pub mod meter;
pub mod options;
pub mod ot;
pub mod shell;
pub mod teardown;
pub mod tiles;

// Talc instead of the default dlmalloc: the same single-threaded general-purpose allocator
// job in a fraction of dlmalloc's code.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use crate::engine::{HandoffRequest, Input, SessionId, State};
use error::Failure;
use options::Options;
use shell::{Core, Msg};

/// One call: created by `join()` in `js/index.js`, which adds the promise, `on`/`off`, and
/// `HandoffError` objects. `emit(type, payload)` receives every app event, always after the
/// engine call that produced it has returned.
#[wasm_bindgen]
pub struct Call {
    core: Rc<Core>,
    session: SessionId,
    token: Option<String>,
}

#[wasm_bindgen]
impl Call {
    /// Checks the options (throws `{ code: "invalidOptions", message }`); nothing is connected yet.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, emit: Function) -> Result<Call, JsValue> {
        let options = Options::read(&options).map_err(|f| f.to_js())?;
        let session = SessionId::from(options.session_id.as_str());
        let token = options.token.clone();
        Ok(Call {
            core: Core::new(options, emit),
            session,
            token,
        })
    }

    /// Starts the call with the local media (`{ videoSource, audioSource, name, owned }`, or
    /// `null` to publish nothing): joins the first session.
    pub fn start(&self, media: JsValue) -> Result<(), JsValue> {
        let ok = self.core.with(|s| {
            if !s.is_closed() && (media.is_object()) {
                s.set_local_media(&media);
            }
            !s.is_closed()
        });
        if ok != Some(true) {
            return Err(Failure::closed().to_js());
        }
        self.core.push(Msg::Input(Input::Join {
            session: self.session.clone(),
            token: self.token.clone(),
        }));
        self.core.drive();
        Ok(())
    }

    /// App-driven move (breakout rooms, region moves).
    #[wasm_bindgen(js_name = moveTo)]
    pub fn move_to(
        &self,
        session_id: String,
        token: Option<String>,
        reason: Option<String>,
    ) -> Result<(), JsValue> {
        if session_id.is_empty() {
            return Err(Failure::invalid(
                "moveTo(sessionId): sessionId must be a non-empty string",
            )
            .to_js());
        }
        if self.core.with(|s| s.is_closed()).unwrap_or(false) {
            return Err(Failure::closed().to_js());
        }
        self.core.push(Msg::Input(Input::Move(HandoffRequest {
            session: SessionId::from(session_id),
            token: token.filter(|t| !t.is_empty()),
            reason,
            deadline: None,
            spread_ms: 0,
            id: None,
        })));
        self.core.drive();
        Ok(())
    }

    /// Leaves every session and removes every listener and element the SDK made.
    pub fn close(&self) {
        self.core.shutdown();
    }

    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.core
            .with(|s| s.state())
            .unwrap_or(State::Idle)
            .as_str()
            .to_owned()
    }

    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> Option<String> {
        self.core.with(|s| s.session_id()).flatten()
    }

    #[wasm_bindgen(getter, js_name = localElement)]
    pub fn local_element(&self) -> Option<HtmlElement> {
        self.core.with(|s| s.local_element())
    }

    /// `[{ key, element }]` in join order.
    pub fn participants(&self) -> js_sys::Array {
        self.core.with(|s| s.participants()).unwrap_or_default()
    }

    pub fn stats(&self) -> JsValue {
        self.core.with(|s| s.stats()).unwrap_or(JsValue::UNDEFINED)
    }

    /// Callbacks this call handed to JS and has not taken back (0 once closed; leak checks).
    #[wasm_bindgen(js_name = liveCallbacks)]
    pub fn live_callbacks(&self) -> u32 {
        listener::live_routes(&self.core) as u32
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.core.shutdown();
    }
}
