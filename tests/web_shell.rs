#![cfg(target_arch = "wasm32")]
//! The web shell against an in-page OT test double whose streams are real MediaStreams.
//!
//! Run: `wasm-pack test --headless --chrome -- --test web_shell` (see tests/web/README.md).

#[path = "web/common.rs"]
mod common;

use common::*;
use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

use video_handoff::web::call::live_callbacks;
use video_handoff::web::Call;

wasm_bindgen_test_configure!(run_in_browser);

fn tile_elements(call: &Call) -> Vec<(String, JsValue)> {
    call.participants()
        .iter()
        .map(|p| (get_str(&p, "key"), get(&p, "element")))
        .collect()
}

fn assert_clean(s: &Scenario) {
    let v = s.violations();
    assert!(v.is_empty(), "swap invariants violated: {v:#?}");
    let r = s.not_rendering();
    assert!(r.is_empty(), "a shown video was not rendering: {r:#?}");
    assert_eq!(
        s.world.misuses().length(),
        0,
        "OT misuse: {:?}",
        s.world.misuses()
    );
    assert_eq!(
        s.world.handler_errors().length(),
        0,
        "a handler threw into the vendor: {:?}",
        s.world.handler_errors()
    );
}

#[wasm_bindgen_test]
async fn given_three_participants_when_joining_then_each_gets_a_tile_with_one_rendering_video() {
    let s = Scenario::new("s1", &["alice", "bob", "carol"]);
    let call = s.join("s1").await;

    assert_eq!(state(&call), "live");
    assert_eq!(call.session_id().as_deref(), Some("s1"));
    let tiles = tile_elements(&call);
    assert_eq!(
        tiles.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["alice", "bob", "carol"]
    );
    for (key, el) in &tiles {
        let el: web_sys::Element = el.clone().unchecked_into();
        assert_eq!(el.class_name(), "video-handoff-tile");
        assert_eq!(
            el.get_attribute("data-participant").as_deref(),
            Some(key.as_str())
        );
        assert_eq!(
            el.query_selector_all("video[data-active=\"true\"]")
                .unwrap()
                .length(),
            1
        );
    }
    // Our own stream is published with a clone of the local track, and previewed.
    assert_eq!(s.world.publisher_count(), 1);
    let local: web_sys::Element = call.local_element().into();
    assert_eq!(local.query_selector_all("video").unwrap().length(), 1);
    wait_for("own stream live", 3000, {
        let w = s.world.clone();
        move || w.calls().length() >= 1
    })
    .await;
    sleep_ms(300).await;
    assert_clean(&s);
    call.close();
    s.finish();
}

#[wasm_bindgen_test]
async fn given_a_live_call_when_the_server_hands_off_then_every_tile_swaps_without_a_gap() {
    let mut s = Scenario::new("s1", &["alice", "bob", "carol"]);
    let call = s.join("s1").await;
    let before = tile_elements(&call);
    sleep_ms(300).await;

    s.handoff("s1", "s2").await;
    sleep_ms(500).await;

    // Then: the call is in s2, each participant was swapped once, nobody left or rejoined.
    assert_eq!(call.session_id().as_deref(), Some("s2"));
    assert_eq!(s.recorder.count("handoffStarted"), 1);
    assert_eq!(s.recorder.count("participantSwapped"), 3);
    assert_eq!(s.recorder.count("participantLeft"), 0);
    assert_eq!(s.recorder.count("participantJoined"), 3);
    let swapped = s.recorder.all("participantSwapped");
    let mut gaps = Vec::new();
    for e in swapped.iter() {
        assert_eq!(get_str(&e, "from"), "s1");
        assert_eq!(get_str(&e, "to"), "s2");
        let gap = get(&e, "frameGapMs")
            .as_f64()
            .expect("a measured frame gap");
        gaps.push((get_str(&e, "key"), gap));
    }
    let done = s.recorder.last("handoffCompleted");
    let largest = get(&done, "largestFrameGapMs")
        .as_f64()
        .expect("largest gap in handoffCompleted");
    assert_eq!(get_str(&done, "endedBy"), "allMoved");
    web_sys::console::log_1(
        &format!("frame gaps around the swaps: {gaps:?}, largest {largest} ms").into(),
    );
    assert!(gaps.iter().all(|(_, g)| *g <= largest));

    // The app's tile elements are the very same elements.
    let after = tile_elements(&call);
    assert_eq!(before.len(), after.len());
    for ((k1, e1), (k2, e2)) in before.iter().zip(after.iter()) {
        assert_eq!(k1, k2);
        assert!(js_sys::Object::is(e1, e2), "tile of {k1} changed");
        let el: web_sys::Element = e2.clone().unchecked_into();
        assert_eq!(
            el.query_selector_all("video").unwrap().length(),
            1,
            "old video of {k1} removed"
        );
    }
    // We told the peers in s2, once, that we show them all from there.
    let said: Vec<String> = s
        .world
        .calls()
        .iter()
        .map(|c| Array::from(&c))
        .filter(|c| c.get(0).as_string().as_deref() == Some("signal"))
        .map(|c| {
            c.iter()
                .skip(1)
                .map(|x| x.as_string().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(said, vec!["s2 handoff-moved s1".to_owned()]);
    // Old session left: one subscriber per participant, one publisher.
    assert_eq!(s.world.subscriber_count(), 3);
    assert_eq!(s.world.publisher_count(), 1);
    assert_eq!(s.world.live_client_sessions(), 1);

    let stats = call.stats();
    assert_eq!(get(&stats, "handoffsCompleted").as_f64(), Some(1.0));
    let tiles: Array = get(&stats, "tiles").into();
    assert_eq!(tiles.length(), 3);
    for t in tiles.iter() {
        assert!(get(&t, "framesPresented").as_f64().unwrap() > 10.0);
        assert!(get(&t, "lastSwapFrameGapMs").as_f64().is_some());
    }
    assert!(
        s.recorder.checks() > 50,
        "invariants were checked at every step"
    );
    assert_clean(&s);
    call.close();
    s.finish();
}

/// `HTMLVideoElement.prototype.requestVideoFrameCallback` taken away (a browser without it:
/// Firefox before 132, Safari before 15.4) until dropped.
struct WithoutFrameCallbacks(JsValue);

fn video_prototype() -> js_sys::Object {
    js_sys::Reflect::get(&js_sys::global(), &"HTMLVideoElement".into())
        .and_then(|c| js_sys::Reflect::get(&c, &"prototype".into()))
        .expect("HTMLVideoElement.prototype")
        .unchecked_into()
}

impl WithoutFrameCallbacks {
    fn new() -> Self {
        let proto = video_prototype();
        let name = JsValue::from_str("requestVideoFrameCallback");
        let saved = js_sys::Reflect::get(&proto, &name).unwrap();
        js_sys::Reflect::delete_property(&proto, &name).unwrap();
        WithoutFrameCallbacks(saved)
    }
}

impl Drop for WithoutFrameCallbacks {
    fn drop(&mut self) {
        let name = JsValue::from_str("requestVideoFrameCallback");
        let _ = js_sys::Reflect::set(&video_prototype(), &name, &self.0);
    }
}

#[wasm_bindgen_test]
async fn given_a_browser_without_video_frame_callbacks_when_handing_off_then_tiles_swap_once_playing_and_no_gap_is_claimed(
) {
    let _without = WithoutFrameCallbacks::new();
    let mut s = Scenario::new("s1", &["alice", "bob"]);
    let call = s.join("s1").await;
    sleep_ms(300).await;

    s.handoff("s1", "s2").await;
    sleep_ms(300).await;

    // The swap still happens, once the new video plays (its `play()` settled, the best signal
    // such a browser gives: the tile never shows a video with nothing to render); the frame
    // gap was not measured, so it is null, never a made-up 0.
    assert_eq!(call.session_id().as_deref(), Some("s2"));
    assert_eq!(s.recorder.count("participantSwapped"), 2);
    for e in s.recorder.all("participantSwapped").iter() {
        assert_eq!(get_str(&e, "to"), "s2");
        let gap = get(&e, "frameGapMs");
        assert!(
            gap.is_null() || gap.is_undefined(),
            "no frame gap without frame callbacks, got {}",
            describe(&gap)
        );
    }
    let done = s.recorder.last("handoffCompleted");
    assert_eq!(get_str(&done, "endedBy"), "allMoved");
    let largest = get(&done, "largestFrameGapMs");
    assert!(
        largest.is_null() || largest.is_undefined(),
        "no largest gap, got {}",
        describe(&largest)
    );
    assert_clean(&s);
    call.close();
    s.finish();
}

#[wasm_bindgen_test]
async fn given_a_live_call_when_a_participant_forges_a_handoff_signal_then_it_is_ignored() {
    let s = Scenario::new("s1", &["alice", "bob"]);
    let call = s.join("s1").await;
    let connects = s.world.calls().length();

    let mallory = s.people[0].1.clone();
    s.world
        .signal("s1", "handoff", &handoff_signal("evil", "t"), &mallory);
    let rec = s.recorder.clone();
    wait_for("signalRejected", 3000, move || {
        rec.count("signalRejected") == 1
    })
    .await;
    sleep_ms(200).await;

    assert_eq!(
        get_str(&s.recorder.last("signalRejected"), "reason"),
        "notFromServer"
    );
    assert!(!get_str(&s.recorder.last("signalRejected"), "message").is_empty());
    assert_eq!(s.recorder.count("handoffStarted"), 0);
    assert_eq!(
        s.world.calls().length(),
        connects,
        "no connect to the forged session"
    );
    assert_eq!(state(&call), "live");
    assert_eq!(call.session_id().as_deref(), Some("s1"));
    assert_clean(&s);
    call.close();
    s.finish();
}

#[wasm_bindgen_test]
async fn given_a_live_call_when_malformed_signals_arrive_then_each_is_rejected_with_a_reason() {
    let s = Scenario::new("s1", &["alice"]);
    let call = s.join("s1").await;
    let connects = s.world.calls().length();

    let oversize = format!(
        "{{\"v\":1,\"sessionId\":\"s2\",\"reason\":\"{}\"}}",
        "x".repeat(9000)
    );
    let cases = [
        ("not json", "notJson"),
        ("[1,2]", "notJson"),
        ("{\"v\":2,\"sessionId\":\"s2\"}", "unsupportedVersion"),
        ("{\"v\":1}", "missingSessionId"),
        ("{\"v\":1,\"sessionId\":\"\"}", "emptySessionId"),
        ("{\"v\":1,\"sessionId\":5}", "wrongType"),
        (oversize.as_str(), "tooLarge"),
        ("{\"v\":1,\"sessionId\":\"s1\"}", "duplicate"),
    ];
    for (data, _) in &cases {
        s.world.signal("s1", "handoff", data, &JsValue::NULL);
    }
    let rec = s.recorder.clone();
    let n = cases.len() as u32;
    wait_for("every signal rejected", 3000, move || {
        rec.count("signalRejected") == n
    })
    .await;
    sleep_ms(200).await;

    let reasons: Vec<String> = s
        .recorder
        .all("signalRejected")
        .iter()
        .map(|e| get_str(&e, "reason"))
        .collect();
    assert_eq!(
        reasons,
        cases.iter().map(|(_, r)| r.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(s.recorder.count("handoffStarted"), 0);
    assert_eq!(s.world.calls().length(), connects);
    assert_eq!(state(&call), "live");
    assert_clean(&s);
    call.close();
    s.finish();
}

#[wasm_bindgen_test]
async fn given_a_call_after_a_handoff_when_closed_then_nothing_is_left_behind() {
    let mut s = Scenario::new("s1", &["alice", "bob", "carol"]);
    let call = s.join("s1").await;
    s.handoff("s1", "s2").await;
    sleep_ms(200).await;

    s.recorder.expect_shown().clear();
    call.close();
    assert_eq!(state(&call), "closed");
    sleep_ms(100).await;

    assert_eq!(get_str(&s.recorder.last("stateChanged"), "state"), "closed");
    assert_eq!(s.world.listener_count(), 0, "every OT listener removed");
    assert_eq!(s.world.subscriber_count(), 0);
    assert_eq!(s.world.publisher_count(), 0);
    assert_eq!(s.world.live_client_sessions(), 0, "every session left");
    assert_eq!(live_callbacks(), 0, "every callback taken back");
    assert_eq!(
        s.container.query_selector_all("video").unwrap().length(),
        0,
        "no video left in the tiles"
    );
    let local: web_sys::Element = call.local_element().into();
    assert_eq!(local.query_selector_all("video").unwrap().length(), 0);
    // The app's own tracks are not stopped (it gave them; it owns them).
    let track: web_sys::MediaStreamTrack = get(&s.local, "videoSource").unchecked_into();
    assert_eq!(track.ready_state(), web_sys::MediaStreamTrackState::Live);
    let events_after_close = s.recorder.types().length();
    sleep_ms(200).await;
    assert_eq!(
        s.recorder.types().length(),
        events_after_close,
        "nothing emitted after closed"
    );
    assert!(call.move_to("s3".into(), JsValue::UNDEFINED).is_err());
    assert_clean(&s);
    s.finish();
}

#[wasm_bindgen_test]
async fn given_a_signal_type_option_when_signals_of_both_types_arrive_then_only_that_type_moves_the_call(
) {
    let s = Scenario::new("s1", &["alice"]);
    let options = s.options("s1", "token-1");
    js_sys::Reflect::set(&options, &"signalType".into(), &"move".into()).unwrap();
    let call = Call::new(options, s.recorder.emit(), JsValue::UNDEFINED).expect("valid options");
    start(&call, &s.local);
    let rec = s.recorder.clone();
    wait_for("live", 5000, move || {
        get_str(&rec.last("stateChanged"), "state") == "live"
    })
    .await;

    s.world
        .signal("s1", "handoff", &handoff_signal("s2", "t"), &JsValue::NULL);
    sleep_ms(200).await;
    assert_eq!(
        s.recorder.count("handoffStarted"),
        0,
        "handoff is not ours now"
    );
    s.world
        .signal("s1", "move", &handoff_signal("s2", "t"), &JsValue::NULL);
    let rec = s.recorder.clone();
    wait_for("the move", 3000, move || rec.count("handoffStarted") == 1).await;
    assert_eq!(get_str(&s.recorder.last("handoffStarted"), "to"), "s2");
    // Our own moved signal goes out with the configured type.
    assert_eq!(s.recorder.count("signalRejected"), 0);
    call.close();
    s.finish();
}

#[wasm_bindgen_test]
fn given_bad_options_when_creating_a_call_then_an_invalid_options_error_names_the_problem() {
    let world = World::new();
    let emit = js_sys::Function::new_no_args("");
    let cases = [
        (JsValue::UNDEFINED, "options object"),
        (
            obj(&[
                ("applicationId", "a".into()),
                ("sessionId", "s".into()),
                ("token", "t".into()),
            ]),
            "OT is required",
        ),
        (
            obj(&[
                ("OT", world.ot()),
                ("sessionId", "s".into()),
                ("token", "t".into()),
            ]),
            "applicationId is required",
        ),
        (
            obj(&[
                ("OT", world.ot()),
                ("applicationId", "a".into()),
                ("token", "t".into()),
            ]),
            "sessionId is required",
        ),
        (
            obj(&[
                ("OT", world.ot()),
                ("applicationId", "a".into()),
                ("sessionId", "s".into()),
            ]),
            "tokenProvider",
        ),
        (
            obj(&[
                ("OT", world.ot()),
                ("applicationId", "a".into()),
                ("sessionId", "s".into()),
                ("token", "t".into()),
                ("maxOverlapMs", "x".into()),
            ]),
            "maxOverlapMs",
        ),
        (
            obj(&[
                ("OT", world.ot()),
                ("applicationId", "a".into()),
                ("sessionId", "s".into()),
                ("token", "t".into()),
                ("tokenProvider", 5.into()),
            ]),
            "tokenProvider must be a function",
        ),
        (
            obj(&[
                ("OT", world.ot()),
                ("applicationId", "a".into()),
                ("sessionId", "s".into()),
                ("token", "t".into()),
                ("sessionMigration", "yes".into()),
            ]),
            "sessionMigration",
        ),
    ];
    for (options, needle) in cases {
        let err = Call::new(options, emit.clone(), JsValue::UNDEFINED)
            .err()
            .expect("an error");
        assert_eq!(get_str(&err, "code"), "invalidOptions");
        let message = get_str(&err, "message");
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
    world.dispose();
}

/// The vendored serde-wasm-bindgen's `preserve` (PATCH.md, change 2): a value comes back from
/// its own deserializer, and another deserializer's number is refused before the `unsafe`
/// cast instead of being taken for a value's index.
#[wasm_bindgen_test]
fn preserved_values_come_back_only_from_serde_wasm_bindgens_own_deserializer() {
    use serde::de::IntoDeserializer;
    use serde_wasm_bindgen::preserve;

    let value = JsValue::from_str("kept");
    let back: JsValue =
        preserve::deserialize(serde_wasm_bindgen::Deserializer::from(value.clone())).unwrap();
    assert_eq!(back, value);

    for forged in [5u64, (0x1234_5678u64 << 32) | 5] {
        let de: serde::de::value::U64Deserializer<serde::de::value::Error> =
            forged.into_deserializer();
        assert!(
            preserve::deserialize::<_, JsValue>(de).is_err(),
            "{forged:#x}"
        );
    }
}
