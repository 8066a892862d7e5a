//! [`Call`]: what `js/index.js` wraps into the public `HandoffCall`. Its methods only check
//! their arguments and hand over to the drive loop; `emit(event)` receives every app event,
//! always after the engine call that produced it has returned.

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, MediaStreamTrack};

use super::contract::errors::{ErrorCode, Failure};
use super::contract::events::{self, CallStats};
use super::contract::options::Options;
use super::drive::Core;
use super::listener;
use crate::engine::{Field, Input, MoveFields, SessionId};

#[wasm_bindgen]
pub struct Call {
    core: Rc<Core>,
    session: SessionId,
    token: Option<String>,
}

#[wasm_bindgen]
impl Call {
    /// Checks the options; nothing is connected yet. `error_class` is the `HandoffError`
    /// class errors are made with. Throws a `HandoffError`: `invalidOptions`, or
    /// `unsupportedEnvironment` where there is no document (a worker).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, emit: Function, error_class: JsValue) -> Result<Call, JsValue> {
        super::contract::errors::use_class(&error_class);
        let options = Options::read(&options).map_err(|f| f.to_js())?;
        let no_document = || {
            Failure::new(
                ErrorCode::UnsupportedEnvironment,
                "video-handoff needs a page with a document (it cannot run in a worker)",
            )
            .to_js()
        };
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(no_document)?;
        let session = SessionId::from(options.session_id.as_str());
        let token = options.token.clone();
        let core = Core::new(options, emit, document).ok_or_else(no_document)?;
        Ok(Call {
            core,
            session,
            token,
        })
    }

    /// Starts the call with the local media (`LocalMedia`'s camera and microphone tracks,
    /// `null` for none, and its name; `owned`: the SDK obtained the tracks and stops them on
    /// close): joins the first session.
    pub fn start(
        &self,
        video: JsValue,
        audio: JsValue,
        name: Option<String>,
        owned: bool,
    ) -> Result<(), JsValue> {
        if self.core.is_closed() {
            return Err(Failure::closed().to_js());
        }
        let tracks: Vec<MediaStreamTrack> = [video, audio]
            .into_iter()
            .filter_map(|t| t.dyn_into().ok())
            .collect();
        let join = Input::Join {
            session: self.session.clone(),
            token: self.token.clone(),
        };
        self.core
            .start(tracks, name.unwrap_or_default(), owned, join);
        Ok(())
    }

    /// App-driven move (breakout rooms, region moves): `options` may say what a handoff
    /// signal says (`token`, `reason`, `deadline`, `spreadMs`, `id`), checked the same way.
    #[wasm_bindgen(js_name = moveTo)]
    pub fn move_to(&self, session_id: JsValue, options: JsValue) -> Result<(), JsValue> {
        if self.core.is_closed() {
            return Err(Failure::closed().to_js());
        }
        let mut fields = if options.is_object() {
            serde_wasm_bindgen::from_value(options).map_err(|_| {
                Failure::new(
                    ErrorCode::InvalidArgument,
                    "moveTo(sessionId, options): options must be an object",
                )
                .to_js()
            })?
        } else {
            MoveFields::default()
        };
        fields.session_id = session_id.as_string().map_or(Field::Other, Field::Text);
        let request = fields
            .request()
            .map_err(|reason| Failure::refused_move(&reason).to_js())?;
        self.core.move_to(request);
        Ok(())
    }

    /// Leaves every session and removes every listener and element the SDK made.
    pub fn close(&self) {
        self.core.close();
    }

    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsValue {
        events::to_js(&self.core.state())
    }

    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> Option<String> {
        self.core.session_id()
    }

    #[wasm_bindgen(getter, js_name = localElement)]
    pub fn local_element(&self) -> HtmlElement {
        self.core.local_element()
    }

    /// The participant objects, in join order.
    pub fn participants(&self) -> js_sys::Array {
        self.core.participants()
    }

    pub fn stats(&self) -> JsValue {
        events::to_js(&CallStats {
            state: self.core.state(),
            session_id: self.core.session_id(),
            handoffs_completed: self.core.handoffs_completed(),
            tiles: self.core.tile_stats(),
        })
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.core.close();
    }
}

/// The `type` of every event the app can receive (what `on()` accepts).
#[wasm_bindgen(js_name = eventTypes)]
pub fn event_types() -> js_sys::Array {
    events::event_types()
}

/// Callbacks handed to JS and not taken back, of every call (0 once every call is closed;
/// for leak checks).
#[wasm_bindgen(js_name = liveCallbacks)]
pub fn live_callbacks() -> u32 {
    listener::live_callbacks() as u32
}
