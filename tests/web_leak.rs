#![cfg(target_arch = "wasm32")]
//! 200 handoffs in a row in one page: what the call holds after the last equals what it held
//! after the first (video elements, subscribers, OT listeners, callbacks, wasm memory).
//!
//! Run: see tests/web/README.md (`--test web_leak`, one test, about a minute).

#[path = "web/common.rs"]
mod common;

use common::*;
use video_handoff::web::call::live_callbacks;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const HANDOFFS: usize = 200;

#[derive(Debug, PartialEq)]
struct Figures {
    videos: u32,
    subscribers: u32,
    publishers: u32,
    listeners: u32,
    callbacks: u32,
    remote_media: u32,
    wasm_memory_bytes: f64,
}

#[wasm_bindgen_test]
async fn given_three_participants_when_200_handoffs_run_in_a_row_then_nothing_accumulates() {
    let mut s = Scenario::new("s0", &["alice", "bob", "carol"]);
    let call = s.join("s0").await;
    let figures = |s: &Scenario| Figures {
        videos: video_count(),
        subscribers: s.world.subscriber_count(),
        publishers: s.world.publisher_count(),
        listeners: s.world.listener_count(),
        callbacks: live_callbacks(),
        remote_media: s.world.media_count(),
        wasm_memory_bytes: wasm_memory_bytes(&wasm_bindgen::memory()),
    };

    let mut after_first = None;
    let mut largest_gap = 0.0f64;
    for i in 1..=HANDOFFS {
        let from = format!("s{}", i - 1);
        let to = format!("s{i}");
        s.handoff(&from, &to).await;
        // Let the old participants' departure and the teardown of the old session settle (the
        // shell releases old media step by step, after the swaps).
        let w = s.world.clone();
        wait_for("old subscribers and publisher gone", 5000, move || {
            w.subscriber_count() == 3 && w.publisher_count() == 1
        })
        .await;
        sleep_ms(20).await;
        let gap = get(&s.recorder.last("handoffCompleted"), "largestFrameGapMs")
            .as_f64()
            .unwrap_or(f64::NAN);
        largest_gap = largest_gap.max(gap);
        if i == 1 {
            after_first = Some(figures(&s));
        }
        if i % 50 == 0 {
            web_sys::console::log_1(&format!("after {i} handoffs: {:?}", figures(&s)).into());
        }
    }
    let first = after_first.unwrap();
    let last = figures(&s);
    web_sys::console::log_1(&format!("leak test: after handoff 1: {first:?}").into());
    web_sys::console::log_1(&format!("leak test: after handoff {HANDOFFS}: {last:?}").into());
    web_sys::console::log_1(
        &format!("leak test: largest frame gap over all handoffs: {largest_gap} ms").into(),
    );

    assert_eq!(s.recorder.count("handoffCompleted") as usize, HANDOFFS);
    assert_eq!(
        s.recorder.count("participantSwapped") as usize,
        3 * HANDOFFS
    );
    assert_eq!(s.recorder.count("participantLeft"), 0);
    assert_eq!(call.session_id(), Some(format!("s{HANDOFFS}")));
    assert_eq!(
        first, last,
        "the figures after the last handoff equal those after the first"
    );
    let v = s.violations();
    assert!(
        v.is_empty(),
        "swap invariants violated: {:?}",
        &v[..v.len().min(10)]
    );
    // Reported, not asserted: over hundreds of handoffs Chromium occasionally shows an
    // already-shown video at readyState 0 for a check or two, away from any swap (seen at
    // the start of a later handoff, a few times per 200). See tests/web/README.md.
    let blips = s.not_rendering();
    web_sys::console::log_1(
        &format!(
            "leak test: checks {}, shown video not rendering at {} checks{}",
            s.recorder.checks(),
            blips.len(),
            blips
                .first()
                .map(|b| format!(", first: {b}"))
                .unwrap_or_default()
        )
        .into(),
    );

    s.recorder.expect_shown().clear();
    call.close();
    assert_eq!(s.world.listener_count(), 0);
    assert_eq!(live_callbacks(), 0);
    s.finish();
}
