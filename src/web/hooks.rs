//! The app's hooks: `tokenProvider`, `resolveSession` and `participantKey`.
//!
//! The drive loop calls each of them with no borrow of the call held, so app code may call
//! back into the call (read its state, move it, close it) from inside a hook. A promise a hook
//! returns is awaited through two routed callbacks, kept here until it settles; each pending
//! call is one [`Pending`], the place where a bound on it belongs (a timer that settles it as
//! failed).

use std::rc::Weak;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::listener::{Callback, Route, Sink};
use super::ot::{hook_error, Thenable};
use crate::engine::{Hook, HookError, Input, SessionId};

/// A call of `hook` about `session`, for the drive loop to make.
#[derive(Clone, Debug)]
pub struct HookCall {
    pub hook: Hook,
    pub session: SessionId,
}

impl HookCall {
    /// The engine's answer when the call failed before anything was awaited.
    pub fn failed(&self, error: HookError) -> Input {
        let session = self.session.clone();
        match self.hook {
            Hook::TokenProvider => Input::Token {
                session,
                result: Err(error),
            },
            Hook::ResolveSession => Input::Resolved {
                old: session,
                result: Err(error),
            },
        }
    }

    fn route(&self, fulfilled: bool) -> Route {
        match self.hook {
            Hook::TokenProvider => Route::Token(self.session.clone(), fulfilled),
            Hook::ResolveSession => Route::Resolved(self.session.clone(), fulfilled),
        }
    }
}

/// A hook call whose promise has not settled.
struct Unsettled {
    call: HookCall,
    _settled: [Callback; 2],
}

pub struct Hooks {
    token_provider: Option<Function>,
    resolve_session: Option<Function>,
    participant_key: Option<Function>,
    pending: Vec<Unsettled>,
}

impl Hooks {
    pub fn new(
        token_provider: Option<Function>,
        resolve_session: Option<Function>,
        participant_key: Option<Function>,
    ) -> Hooks {
        Hooks {
            token_provider,
            resolve_session,
            participant_key,
            pending: Vec::new(),
        }
    }

    /// The function to call for `hook` (cloned: it is called with no borrow held).
    pub fn function(&self, hook: Hook) -> Option<Function> {
        match hook {
            Hook::TokenProvider => self.token_provider.clone(),
            Hook::ResolveSession => self.resolve_session.clone(),
        }
    }

    pub fn participant_key(&self) -> Option<Function> {
        self.participant_key.clone()
    }

    /// What the hook returned (or threw): awaited, or the engine's answer at once.
    pub fn returned(
        &mut self,
        sink: &Weak<dyn Sink>,
        call: HookCall,
        returned: Result<JsValue, JsValue>,
    ) -> Option<Input> {
        let value = match returned {
            Ok(v) => v,
            Err(e) => return Some(call.failed(hook_error(&e))),
        };
        let on_ok = Callback::new(sink, call.route(true));
        let on_err = Callback::new(sink, call.route(false));
        let settled = Promise::resolve(&value)
            .unchecked_ref::<Thenable>()
            .then(on_ok.function(), on_err.function());
        if let Err(e) = settled {
            return Some(call.failed(hook_error(&e)));
        }
        self.pending.push(Unsettled {
            call,
            _settled: [on_ok, on_err],
        });
        None
    }

    /// The engine's answer to a hook call (`Token`, `Resolved`; other inputs pass): the
    /// promise settled, its callbacks go.
    pub fn settled(&mut self, input: &Input) {
        let (hook, session) = match input {
            Input::Token { session, .. } => (Hook::TokenProvider, session),
            Input::Resolved { old, .. } => (Hook::ResolveSession, old),
            _ => return,
        };
        self.pending
            .retain(|p| p.call.hook != hook || &p.call.session != session);
    }
}
