#![cfg(target_arch = "wasm32")]
//! The figures an app reads from the shell, held to what they claim: `call.state` as the
//! last state delivered, the engine's monotonic clock, and the frame meter behind every
//! `frameGapMs` timed as the end-to-end tests time frames (tests/e2e/gaps.mjs).
//!
//! Run: `wasm-pack test --headless --chrome -- --test web_figures` (see tests/web/README.md).

#[path = "web/common.rs"]
mod common;

use common::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

use video_handoff::web::Call;

wasm_bindgen_test_configure!(run_in_browser);

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
    m.swapped(210.0, None);
    m.painted(215.0); // the animation frame after the swap: its paint
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
    m.swapped(110.0, None);
    m.painted(115.0);
    assert_eq!(m.frame(120.0, 9), None, "one frame of the new video so far");
    assert!(m.frame(190.0, 2).is_some(), "three frames after the swap");
    assert_eq!(m.frames, 7);
}

/// A page busy at a swap runs the replaced video's frame callbacks after it: the frames it
/// presented before the swap was painted (the first rendering update after the swap) still
/// count; a callback that reports a frame at or after the paint counts for none (its frames
/// may all have come after it); and the new video's first picture is the one it held, one
/// refresh after the paint, unless a frame came sooner (as the e2e counts them from the frame
/// callbacks: measure.js `shownIn`, gaps.mjs `swapFigure`).
#[wasm_bindgen_test]
fn the_frame_meter_dates_a_swap_by_its_paint() {
    use video_handoff::web::effects::meter::{Meter, VSYNC_MS};

    // The swap is made at 40; the page is busy until 300, the rendering update that paints it.
    let mut m = Meter::default();
    m.frame(0.0, 1);
    m.frame(33.0, 1);
    m.swapped(40.0, None);
    assert!(m.awaiting_paint());
    m.painted(300.0);
    assert!(!m.awaiting_paint());
    // The old video presented 8 more frames by 290, reported only now.
    m.frame_before_swap(290.0);
    assert_eq!(m.frame(310.0, 1), None, "the new video's first frame");
    assert_eq!(m.frame(343.0, 1), None);
    let figure = m.frame(376.0, 1).expect("three frames after the swap");
    assert!(
        (figure - 33.0).abs() < 1e-9,
        "not the 277 ms since 33: {figure}"
    );

    // A late callback that straddles the paint: none of its 9 frames in (33, 320] counts. The
    // new video holds a picture (its frame at 30) and presents no new frame before that picture
    // shows, one refresh after the paint: it is the first of the three.
    let mut m = Meter::default();
    m.frame(0.0, 1);
    m.frame(33.0, 1);
    m.swapped(40.0, Some(30.0));
    m.painted(300.0);
    m.frame_before_swap(320.0);
    assert_eq!(m.frame(400.0, 1), None);
    let figure = m.frame(433.0, 1).expect("the held picture and two frames");
    let held = 300.0 + VSYNC_MS;
    assert!((figure - (held - 33.0)).abs() < 1e-9, "{figure}");
}

/// The new video's frame that its callback reported before the swap was made counts from the
/// paint on if it was presented at or after it (a frame callback's presentation time is often
/// ahead of the rendering update it ran in); and a late callback after the swap counts all the
/// frames it reports, at their worst case.
#[wasm_bindgen_test]
fn the_frame_meter_counts_the_new_videos_frames_from_the_paint() {
    use video_handoff::web::effects::meter::{Meter, VSYNC_MS};

    let worst = |span: f64, k: f64| (span / k).max(span - (k - 1.0) * VSYNC_MS);
    let start = || {
        let mut m = Meter::default();
        m.frame(0.0, 1);
        m.frame(33.0, 1);
        m
    };

    // Its latest frame, presented at 52, reported before the swap at 40 was made; painted at 45.
    let mut m = start();
    m.swapped(40.0, Some(52.0));
    m.painted(45.0);
    // The page then stalls: one callback at 200 reports 9 frames.
    let figure = m.frame(200.0, 9).expect("the frame at 52 and 9 more");
    let expected = worst(200.0 - 52.0, 9.0).max(52.0 - 33.0);
    assert!((figure - expected).abs() < 1e-9, "{figure} vs {expected}");

    // Its latest frame was presented before the paint: the picture it held shows one refresh
    // after the paint, and the late callback's frames follow that.
    let mut m = start();
    m.swapped(40.0, Some(38.0));
    m.painted(45.0);
    let figure = m.frame(200.0, 9).expect("the held picture and 9 frames");
    let held = 45.0 + VSYNC_MS;
    let expected = worst(200.0 - held, 9.0).max(held - 33.0);
    assert!((figure - expected).abs() < 1e-9, "{figure} vs {expected}");

    // Callbacks of the paint's own rendering update run before the animation frame that dates
    // it, and are judged by it: the old video's frame at 50 was seen (at 70 it would not have
    // been), the new video's frame at 66 was presented before the paint.
    for (old, last) in [(50.0, 50.0), (70.0, 33.0)] {
        let mut m = start();
        m.swapped(40.0, Some(38.0));
        m.frame_before_swap(old);
        assert_eq!(m.frame(66.0, 1), None);
        assert!(m.awaiting_paint());
        m.painted(68.0);
        assert_eq!(
            m.frame(90.0, 1),
            None,
            "the held picture (at 84.7) and one frame"
        );
        let figure = m.frame(120.0, 1).expect("and another");
        assert!(
            (figure - (68.0 + VSYNC_MS - last)).abs() < 1e-9,
            "{old}: {figure}"
        );
    }

    // A frame presented before the paint but reported after it is not seen: it is the picture
    // the video holds.
    let mut m = start();
    m.swapped(40.0, None);
    m.painted(100.0);
    assert_eq!(m.frame(90.0, 1), None);
    assert_eq!(m.frame(130.0, 1), None);
    let figure = m.frame(163.0, 1).expect("the held picture and two frames");
    assert!(
        (figure - (100.0 + VSYNC_MS - 33.0)).abs() < 1e-9,
        "{figure}"
    );
}
