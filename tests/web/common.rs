//! Shared by the browser tests (`tests/web_*.rs`): bindings to the OT test double
//! (`tests/web/ot_double.js`), to the page helpers (`tests/web/helpers.js`), and scenario
//! helpers.

#![allow(dead_code)]

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use video_handoff::web::Call;

#[wasm_bindgen(module = "/tests/web/ot_double.js")]
extern "C" {
    #[derive(Clone)]
    pub type World;

    #[wasm_bindgen(constructor)]
    pub fn new() -> World;
    #[wasm_bindgen(method, getter, js_name = OT)]
    pub fn ot(this: &World) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn join(this: &World, key: &str, sid: &str) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn publish(this: &World, connection: &JsValue, sid: &str) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn unpublish(this: &World, stream: &JsValue, sid: &str);
    #[wasm_bindgen(method)]
    pub fn leave(this: &World, connection: &JsValue, sid: &str);
    #[wasm_bindgen(method)]
    pub fn signal(this: &World, sid: &str, kind: &str, data: &str, from: &JsValue);
    #[wasm_bindgen(method)]
    pub fn destroy(this: &World, sid: &str, reason: &str);
    #[wasm_bindgen(method, js_name = listenerCount)]
    pub fn listener_count(this: &World) -> u32;
    #[wasm_bindgen(method, js_name = subscriberCount)]
    pub fn subscriber_count(this: &World) -> u32;
    #[wasm_bindgen(method, js_name = publisherCount)]
    pub fn publisher_count(this: &World) -> u32;
    #[wasm_bindgen(method, js_name = liveClientSessions)]
    pub fn live_client_sessions(this: &World) -> u32;
    #[wasm_bindgen(method, js_name = mediaCount)]
    pub fn media_count(this: &World) -> u32;
    #[wasm_bindgen(method, getter)]
    pub fn calls(this: &World) -> Array;
    #[wasm_bindgen(method, getter)]
    pub fn misuses(this: &World) -> Array;
    #[wasm_bindgen(method, getter, js_name = handlerErrors)]
    pub fn handler_errors(this: &World) -> Array;
    #[wasm_bindgen(method)]
    pub fn dispose(this: &World);
    #[wasm_bindgen(method, js_name = failConnects)]
    pub fn fail_connects(this: &World, sid: &str, n: u32);
}

#[wasm_bindgen(module = "/tests/web/helpers.js")]
extern "C" {
    #[derive(Clone)]
    pub type Recorder;

    #[wasm_bindgen(constructor)]
    pub fn new(world: &World, container: &JsValue) -> Recorder;
    #[wasm_bindgen(method, getter)]
    pub fn emit(this: &Recorder) -> js_sys::Function;
    #[wasm_bindgen(method, getter)]
    pub fn violations(this: &Recorder) -> Array;
    #[wasm_bindgen(method, getter, js_name = notRendering)]
    pub fn not_rendering(this: &Recorder) -> Array;
    #[wasm_bindgen(method, getter)]
    pub fn checks(this: &Recorder) -> u32;
    #[wasm_bindgen(method, getter, js_name = expectShown)]
    pub fn expect_shown(this: &Recorder) -> js_sys::Set;
    #[wasm_bindgen(method)]
    pub fn count(this: &Recorder, kind: &str) -> u32;
    #[wasm_bindgen(method)]
    pub fn last(this: &Recorder, kind: &str) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn all(this: &Recorder, kind: &str) -> Array;
    #[wasm_bindgen(method)]
    pub fn types(this: &Recorder) -> Array;
    #[wasm_bindgen(method)]
    pub fn stop(this: &Recorder);

    pub fn sleep(ms: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = waitFor)]
    pub fn wait_for_js(
        predicate: &js_sys::Function,
        timeout_ms: u32,
        what: &str,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = videoCount)]
    pub fn video_count() -> u32;
    #[wasm_bindgen(js_name = wasmMemoryBytes)]
    pub fn wasm_memory_bytes(memory: &JsValue) -> f64;
    pub fn container() -> web_sys::HtmlElement;
    #[wasm_bindgen(js_name = localMedia)]
    pub fn local_media() -> JsValue;
    #[wasm_bindgen(js_name = handoffSignal)]
    pub fn handoff_signal(session_id: &str, token: &str) -> String;
}

/// Starts `call` with the local media of `localMedia()` (the app's own tracks).
pub fn start(call: &Call, local: &JsValue) {
    call.start(
        get(local, "videoSource"),
        get(local, "audioSource"),
        get(local, "name").as_string(),
        false,
    )
    .expect("started");
}

/// The call's state as a string.
pub fn state(call: &Call) -> String {
    call.state().as_string().unwrap_or_default()
}

pub async fn sleep_ms(ms: u32) {
    let _ = JsFuture::from(sleep(ms)).await;
}

/// Waits until `predicate` holds (checked every 10 ms); panics after `timeout_ms`.
pub async fn wait_for(what: &str, timeout_ms: u32, predicate: impl FnMut() -> bool + 'static) {
    let closure = Closure::<dyn FnMut() -> bool>::new(predicate);
    let result = JsFuture::from(wait_for_js(
        closure.as_ref().unchecked_ref(),
        timeout_ms,
        what,
    ))
    .await;
    drop(closure);
    if let Err(e) = result {
        panic!("{}", describe(&e));
    }
}

pub fn describe(v: &JsValue) -> String {
    Reflect::get(v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

pub fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_str(o: &JsValue, key: &str) -> String {
    get(o, key).as_string().unwrap_or_default()
}

pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

/// A world where `keys` are connected to `sid` and publish a camera each.
pub struct Scenario {
    pub world: World,
    pub recorder: Recorder,
    pub container: web_sys::HtmlElement,
    pub people: Vec<(String, JsValue)>,
    pub local: JsValue,
}

impl Scenario {
    pub fn new(sid: &str, keys: &[&str]) -> Scenario {
        let world = World::new();
        let container = container();
        let recorder = Recorder::new(&world, &container);
        let people = keys
            .iter()
            .map(|k| {
                let c = world.join(k, sid);
                world.publish(&c, sid);
                (k.to_string(), c)
            })
            .collect();
        Scenario {
            world,
            recorder,
            container,
            people,
            local: local_media(),
        }
    }

    pub fn options(&self, sid: &str, token: &str) -> JsValue {
        obj(&[
            ("OT", self.world.ot()),
            ("applicationId", "app".into()),
            ("sessionId", sid.into()),
            ("token", token.into()),
        ])
    }

    /// Joins `sid` and waits until every participant is shown.
    pub async fn join(&self, sid: &str) -> Call {
        let call = Call::new(
            self.options(sid, "token-1"),
            self.recorder.emit(),
            JsValue::UNDEFINED,
        )
        .expect("valid options");
        start(&call, &self.local);
        let expect = self.people.len() as u32;
        let rec = self.recorder.clone();
        wait_for("state live and every participant joined", 5000, move || {
            rec.count("participantJoined") == expect
                && get_str(&rec.last("stateChanged"), "state") == "live"
        })
        .await;
        let c = self.container.clone();
        wait_for("every tile shows a rendering video", 5000, move || {
            let list = c.query_selector_all("video[data-active=\"true\"]").unwrap();
            (0..list.length()).all(|i| {
                let v = list
                    .item(i)
                    .unwrap()
                    .unchecked_into::<web_sys::HtmlVideoElement>();
                v.ready_state() >= 2 && !v.paused()
            }) && list.length() == expect
        })
        .await;
        for (k, _) in &self.people {
            self.recorder.expect_shown().add(&JsValue::from_str(k));
        }
        call
    }

    /// The app server moves everyone from `from` to `to`: the participants join `to` and
    /// publish, the server signals, and once this client completed the handoff the
    /// participants leave `from`.
    pub async fn handoff(&mut self, from: &str, to: &str) {
        let before = self.recorder.count("handoffCompleted");
        let swapped = self.recorder.count("participantSwapped");
        let mut moved = Vec::new();
        for (k, c) in &self.people {
            let c2 = self.world.join(k, to);
            self.world.publish(&c2, to);
            moved.push((k.clone(), c2, c.clone()));
        }
        self.world.signal(
            from,
            "handoff",
            &handoff_signal(to, "token-2"),
            &JsValue::NULL,
        );
        // The peers say they moved once they show everyone from `to` (here: when we show
        // them all from there, so we are there to hear it).
        let rec = self.recorder.clone();
        let n = self.people.len() as u32;
        wait_for("every participant swapped", 10_000, move || {
            rec.count("participantSwapped") >= swapped + n
        })
        .await;
        for (_, c2, _) in &moved {
            self.world.signal(to, "handoff-moved", from, c2);
        }
        let rec = self.recorder.clone();
        wait_for("handoffCompleted", 10_000, move || {
            rec.count("handoffCompleted") > before
        })
        .await;
        self.people.clear();
        for (k, c2, c) in moved {
            self.world.leave(&c, from);
            self.people.push((k, c2));
        }
    }

    /// Swap invariant violations: two shown videos, two audible sources, no shown video.
    pub fn violations(&self) -> Vec<String> {
        self.recorder
            .violations()
            .iter()
            .map(|v| v.as_string().unwrap_or_default())
            .collect()
    }

    /// Checks that found the shown video not rendering (see `Recorder.notRendering`).
    pub fn not_rendering(&self) -> Vec<String> {
        self.recorder
            .not_rendering()
            .iter()
            .map(|v| v.as_string().unwrap_or_default())
            .collect()
    }

    pub fn finish(self) {
        self.recorder.stop();
        self.world.dispose();
        if let Ok(f) = get(&self.local, "stop").dyn_into::<js_sys::Function>() {
            let _ = f.call0(&JsValue::NULL);
        }
        self.container.remove();
    }
}
