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

/// `call.state` is the state of the last `stateChanged` the app's handlers were given, at
/// every delivery: never ahead of them while later events wait (a swap's figure, an engine
/// step that queued several).
#[wasm_bindgen_test]
async fn given_a_call_through_a_handoff_when_each_event_is_delivered_then_call_state_is_the_last_state_delivered(
) {
    use std::cell::RefCell;
    use std::rc::Rc;

    let mut s = Scenario::new("s1", &["alice", "bob"]);
    let slot: Rc<RefCell<Option<Call>>> = Rc::default();
    let seen: Rc<RefCell<Vec<(String, String, String)>>> = Rc::default();
    let forward = s.recorder.emit();
    let (slot2, seen2) = (slot.clone(), seen.clone());
    let delivered = Rc::new(RefCell::new(String::from("idle")));
    let emit = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let kind = get_str(&event, "type");
        if kind == "stateChanged" {
            *delivered.borrow_mut() = get_str(&event, "state");
        }
        if let Some(call) = slot2.borrow().as_ref() {
            let told = delivered.borrow().clone();
            seen2.borrow_mut().push((kind, state(call), told));
        }
        let _ = forward.call1(&JsValue::NULL, &event);
    });
    let call = Call::new(
        s.options("s1", "token-1"),
        emit.as_ref().clone().unchecked_into(),
        JsValue::UNDEFINED,
    )
    .expect("valid options");
    *slot.borrow_mut() = Some(call);
    start(slot.borrow().as_ref().unwrap(), &s.local);
    let rec = s.recorder.clone();
    wait_for("live with both participants", 5000, move || {
        rec.count("participantJoined") == 2 && get_str(&rec.last("stateChanged"), "state") == "live"
    })
    .await;
    s.handoff("s1", "s2").await;
    sleep_ms(300).await;

    let seen = seen.borrow().clone();
    assert!(seen.len() >= 8, "events seen: {seen:?}");
    for (kind, read, told) in &seen {
        assert_eq!(read, told, "call.state while delivering {kind}");
    }
    let kinds: Vec<&str> = seen.iter().map(|(k, _, _)| k.as_str()).collect();
    assert!(kinds.contains(&"participantSwapped") && kinds.contains(&"handoffCompleted"));
    let call = slot.borrow_mut().take().unwrap();
    call.close();
    drop(emit);
    s.finish();
}

/// The engine's clock is monotonic: the wall clock set back an hour mid-call moves nothing.
#[wasm_bindgen_test]
fn the_engine_clock_does_not_follow_the_wall_clock_back() {
    use video_handoff::web::schedule::Clock;

    let clock = Clock::new();
    let before = clock.now();
    let wall = js_sys::Date::now();
    assert!(
        before.abs_diff(wall as u64) < 1_000,
        "reads as epoch ms at the start"
    );
    let real = js_sys::Reflect::get(&js_sys::Date::new_0().constructor(), &"now".into()).unwrap();
    let date: JsValue = js_sys::Date::new_0().constructor().into();
    let back = js_sys::Function::new_no_args("return Date.__realNow() - 3600000");
    js_sys::Reflect::set(&date, &"__realNow".into(), &real).unwrap();
    js_sys::Reflect::set(&date, &"now".into(), &back).unwrap();
    assert!(
        js_sys::Date::now() < wall - 3_000_000.0,
        "the wall clock went back"
    );
    let after = clock.now();
    js_sys::Reflect::set(&date, &"now".into(), &real).unwrap();
    assert!(after >= before, "{after} < {before}");
}

/// The meter times frames by presentation, as the e2e does (tests/e2e/gaps.mjs
/// `shownGaps`): a late callback standing for k frames counts its worst case,
/// max(T / k, T - (k - 1) refreshes), and a swap spans the old video's last frame to the new
/// one's first.
#[wasm_bindgen_test]
fn the_frame_meter_measures_gaps_as_the_end_to_end_tests_do() {
    use video_handoff::web::effects::meter::{Meter, VSYNC_MS};

    let mut m = Meter::default();
    for t in [0.0, 33.3, 66.7] {
        m.frame(t, 1);
    }
    // The main thread stalled: one callback at presentation 200 stands for 4 frames.
    m.frame(200.0, 4);
    let t = 200.0 - 66.7;
    let e2e = (t / 4.0f64).max(t - 3.0 * VSYNC_MS);
    assert!(
        (m.largest_gap.unwrap() - e2e).abs() < 1e-9,
        "{:?} vs {e2e}",
        m.largest_gap
    );
    assert!(
        m.largest_gap.unwrap() < 100.0,
        "not the 133 ms between the callbacks"
    );

    // A swap at 210: the old video's last frame was at 200, the new one's first at 240.
    m.swapped(210.0);
    assert_eq!(
        m.frame(240.0, 3),
        None,
        "the new video's first frame spans the swap"
    );
    assert_eq!(m.frame(273.3, 1), None);
    let figure = m
        .frame(306.7, 1)
        .expect("three frames after the swap close it");
    assert!((figure - 40.0).abs() < 1e-9, "swap figure {figure}");
}

/// Frames a late callback stands for count as presented (`framesPresented`), and close a
/// swap's window as the frames they are.
#[wasm_bindgen_test]
fn the_frame_meter_counts_every_presented_frame() {
    use video_handoff::web::effects::meter::Meter;

    let mut m = Meter::default();
    m.frame(0.0, 1);
    m.frame(100.0, 3);
    assert_eq!(m.frames, 4);
    m.swapped(110.0);
    assert_eq!(m.frame(120.0, 9), None, "one frame of the new video so far");
    assert!(m.frame(190.0, 2).is_some(), "three frames after the swap");
    assert_eq!(m.frames, 7);
}

/// A page busy at a swap runs the replaced video's frame callbacks after it: the frames it
/// presented before the swap was painted (the first callback's rendering update after the
/// swap) still count, and the new video's first picture is the one it held, one refresh after
/// the paint, unless a frame came sooner (as the e2e counts them: gaps.mjs `swapFigure`).
#[wasm_bindgen_test]
fn the_frame_meter_dates_a_swap_by_its_paint() {
    use video_handoff::web::effects::meter::{Meter, VSYNC_MS};

    // The swap is made at 40; the page is busy until 300, the rendering update that paints it.
    let mut m = Meter::default();
    m.frame(0.0, 1);
    m.frame(33.0, 1);
    m.swapped(40.0);
    m.rendering(300.0);
    // The old video presented 8 more frames by 290, reported only now.
    m.frame_before_swap(290.0, 8);
    assert_eq!(m.frame(310.0, 1), None, "the new video's first frame");
    assert_eq!(m.frame(343.0, 1), None);
    let figure = m.frame(376.0, 1).expect("three frames after the swap");
    assert!(
        (figure - 33.0).abs() < 1e-9,
        "not the 277 ms since 33: {figure}"
    );

    // A late callback that straddles the paint: its frames are taken as evenly spread.
    let mut m = Meter::default();
    m.frame(0.0, 1);
    m.frame(33.0, 1);
    m.swapped(40.0);
    m.rendering(300.0);
    m.frame_before_swap(320.0, 9); // 9 frames in (33, 320]: every 31.9 ms, the 8th at 288.1
                                   // No new frame before the held picture shows, one refresh after the paint: it is the
                                   // first of the three.
    assert_eq!(m.frame(400.0, 1), None);
    let figure = m.frame(433.0, 1).expect("the held picture and two frames");
    let held = 300.0 + VSYNC_MS;
    let old = 33.0 + 8.0 * (320.0 - 33.0) / 9.0;
    assert!(
        (figure - (400.0 - held).max(held - old)).abs() < 1e-9,
        "{figure}"
    );
}
