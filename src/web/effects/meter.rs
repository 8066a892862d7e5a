//! The continuity meter of one tile: gaps between the frames the viewer actually saw.
//!
//! The shell feeds it the frames of whichever video is active in the tile, timed as the
//! end-to-end tests time them (tests/e2e/measure.js and gaps.mjs): by the
//! `requestVideoFrameCallback` metadata's presentation time, not by when the callback ran (a
//! busy main thread runs it late while the compositor keeps presenting). One late callback
//! can stand for several frames (`presentedFrames` moved by more than one): the gap is then
//! taken at its worst case, as the e2e does from the callbacks alone: the compositor shows at
//! most one frame per refresh ([`VSYNC_MS`]), so the largest gap among k frames spread over
//! T ms is at most max(T / k, T - (k - 1) refreshes).
//!
//! The gap that spans a swap is the last frame of the old video to the first picture of the
//! new one; a swap's figure is the largest gap from there until the new video has presented
//! [`FRAMES_AFTER_SWAP`] frames (or [`SWAP_WINDOW_MS`] passed without them, in which case the
//! time without a frame so far is the figure). Both ends are read against the rendering
//! update that painted the swap (its paint: the first animation frame after it; frame
//! callbacks reported before it are judged then), as the end-to-end tests read them
//! (measure.js `shownIn`, gaps.mjs `swapFigure`): the old video's frames count if presented
//! before the paint, whenever their callback comes (a page busy at the swap runs them after
//! it); one callback that reports a frame at or after the paint counts for none, as its frames
//! may all have come after it. The new video's first picture is its first frame presented at
//! or after the paint, also one its callback reported before the swap was made; else the
//! picture it held, one refresh after the paint.
//!
//! It also keeps the largest gap of each of the last [`RECENT_S`] seconds, for a figure over
//! a span no swap marks: the vendor's own migration, which the app hears of only at its end.

/// Frames of the new video that close a swap's measurement window.
pub const FRAMES_AFTER_SWAP: u32 = 3;
/// Longest a swap's measurement waits for those frames (performance.now() ms).
pub const SWAP_WINDOW_MS: f64 = 1000.0;
/// One display refresh at 60 Hz, the most often a frame can be shown (ms).
pub const VSYNC_MS: f64 = 1000.0 / 60.0;
/// Seconds of gaps kept for [`Meter::largest_since`] (the vendor's migration takes 20 s).
pub const RECENT_S: usize = 24;

#[derive(Default, Debug)]
pub struct Meter {
    /// Time of the last frame the tile showed (performance.now() ms); `None` while blank.
    last_frame: Option<f64>,
    pub frames: u32,
    pub largest_gap: Option<f64>,
    pub last_swap_gap: Option<f64>,
    swap: Option<Swap>,
    /// A finished swap figure no `participantSwapped` event has taken yet.
    unclaimed: Option<f64>,
    /// The largest gap of each of the last [`RECENT_S`] spans of a second or more: (the
    /// span's first frame time, its largest gap), filled in turn from `cursor`.
    recent: [(f64, f64); RECENT_S],
    cursor: usize,
}

#[derive(Debug)]
struct Swap {
    /// When the rendering update that painted it ran its animation frames (performance.now()
    /// ms in the first animation frame after the swap).
    paint: Option<f64>,
    /// The old video's last frame before the swap reached the screen.
    old_last: Option<f64>,
    /// The old video's frame reported before the paint was dated, judged when it is: at most
    /// one, as a video runs one frame callback per rendering update, and the first update after
    /// the swap paints it.
    old_unjudged: Option<f64>,
    /// The new video's latest frame before its first callback after the swap: the one it held
    /// when the swap was made, or one presented before the paint.
    held: Option<f64>,
    /// The new video's first frame after the swap.
    new_first: Option<f64>,
    /// The largest gap among the new video's frames since (and a previous swap's, when one
    /// was still being measured).
    gap: f64,
    frames_after: u32,
    ends_at: f64,
}

impl Swap {
    /// When the new video's first picture was seen (as the end-to-end tests count it): a frame
    /// presented at or after the paint, the held one first; else the picture it held, one
    /// refresh after the paint (a video that held none shows its first frame).
    fn first_picture(&self) -> Option<f64> {
        let Some(p) = self.paint else {
            return self.held.or(self.new_first);
        };
        match (self.held, self.new_first) {
            (Some(h), _) if h >= p => Some(h),
            (h, Some(n)) if n >= p && (h.is_none() || n < p + VSYNC_MS) => Some(n),
            (Some(_), _) => Some(p + VSYNC_MS),
            (None, n) => n,
        }
    }

    /// The figure so far: the gap that spans the swap (to `until` while the new video has
    /// shown nothing) and the gaps after it.
    fn figure(&self, until: f64) -> f64 {
        let span = match self.old_last {
            Some(last) => (self.first_picture().unwrap_or(until) - last).max(0.0),
            None => 0.0,
        };
        self.gap.max(span)
    }
}

/// The largest gap among `frames` frames presented over `span` ms, at worst: the compositor
/// shows at most one per refresh.
fn worst_gap(span: f64, frames: u32) -> f64 {
    let k = f64::from(frames.max(1));
    (span / k).max(span - (k - 1.0) * VSYNC_MS)
}

impl Meter {
    /// A frame callback of the active video: its latest frame presented at `t`, `frames`
    /// presented since its previous callback (1 when not known). Returns the swap figure when
    /// this frame completes one.
    pub fn frame(&mut self, t: f64, frames: u32) -> Option<f64> {
        let frames = frames.max(1);
        // Where this callback's frames follow on from, and how many of them the viewer saw.
        let (prev, seen) = match &mut self.swap {
            Some(s) if s.new_first.is_none() => {
                if s.paint.is_none_or(|p| t < p) {
                    // Presented before the paint, or not known yet to be after it: the picture
                    // the video holds (the first seen if presented after the paint).
                    s.held = Some(t);
                    return None;
                }
                s.new_first = Some(t);
                match s.first_picture() {
                    // Its first picture showed before this frame: these frames follow it.
                    Some(first) if first < t => {
                        s.frames_after = 1;
                        (Some(first), frames)
                    }
                    // This frame is the first picture: the gap that spans the swap is the
                    // figure's, and the viewer has seen one frame of it so far.
                    _ => (None, 1),
                }
            }
            _ => (self.last_frame, frames),
        };
        if let Some(prev) = prev {
            let gap = worst_gap((t - prev).max(0.0), seen);
            self.note(t, gap);
            if let Some(s) = &mut self.swap {
                s.gap = s.gap.max(gap);
            }
        }
        self.last_frame = Some(t);
        self.frames = self.frames.saturating_add(seen);
        let s = self.swap.as_mut()?;
        s.frames_after = s.frames_after.saturating_add(seen);
        (s.frames_after >= FRAMES_AFTER_SWAP).then(|| self.finish_at(t))
    }

    /// The tile's active video was replaced at `now` by one whose latest frame was presented
    /// at `held` (if it has presented one).
    pub fn swapped(&mut self, now: f64, held: Option<f64>) {
        let gap = self.swap.as_ref().map_or(0.0, |s| s.figure(now));
        self.swap = Some(Swap {
            paint: None,
            old_last: self.last_frame,
            old_unjudged: None,
            held,
            new_first: None,
            gap,
            frames_after: 0,
            ends_at: now + SWAP_WINDOW_MS,
        });
    }

    /// The animation frame after a swap ran at `now` (performance.now() ms): the rendering
    /// update it ran in paints the swap, after its frame callbacks and animation frames, as the
    /// end-to-end tests date it (their own animation frame, measure.js `scheduleTops`).
    pub fn painted(&mut self, now: f64) {
        let Some(s) = self.swap.as_mut().filter(|s| s.paint.is_none()) else {
            return;
        };
        s.paint = Some(now);
        if let Some(t) = s.old_unjudged.take().filter(|t| *t < now) {
            if s.old_last.is_none_or(|l| t > l) {
                s.old_last = Some(t);
            }
        }
    }

    /// Whether a swap waits for its paint to be dated.
    pub fn awaiting_paint(&self) -> bool {
        self.swap.as_ref().is_some_and(|s| s.paint.is_none())
    }

    /// A frame callback of the video the swap being measured replaced: its latest frame
    /// presented at `t`. Seen if presented before the swap was painted (all the frames the
    /// callback reports, then); one at or after the paint says nothing of when the others
    /// came, so none of them counts. Judged when the paint is dated, if it is not yet.
    pub fn frame_before_swap(&mut self, t: f64) {
        let Some(s) = &mut self.swap else { return };
        match s.paint {
            None => s.old_unjudged = Some(t),
            Some(p) if t < p && s.old_last.is_none_or(|l| t > l) => s.old_last = Some(t),
            Some(_) => {}
        }
    }

    /// The tile shows nothing any more: the time until the next video is not a frame gap.
    pub fn blank(&mut self) {
        self.last_frame = None;
        self.swap = None;
    }

    pub fn measuring(&self) -> bool {
        self.swap.is_some()
    }

    pub fn ends_at(&self) -> Option<f64> {
        self.swap.as_ref().map(|s| s.ends_at)
    }

    /// Closes a measurement whose window ran out without enough frames.
    pub fn expire(&mut self, now: f64) -> Option<f64> {
        let s = self.swap.as_mut()?;
        if now < s.ends_at {
            return None;
        }
        if let (Some(last), Some(_)) = (self.last_frame, s.new_first) {
            s.gap = s.gap.max(now - last);
        } else if let Some(held) = s.first_picture() {
            s.gap = s.gap.max(now - held);
        }
        Some(self.finish_at(now))
    }

    /// The largest gap since `t` (within the last [`RECENT_S`] seconds), the one still open
    /// at `now` included.
    pub fn largest_since(&self, t: f64, now: f64) -> f64 {
        let mut largest = self.last_frame.map_or(0.0, |last| now - last);
        for (start, gap) in self.recent {
            // A span that began within a second before `t` may hold a gap after it.
            if start >= t - 1000.0 {
                largest = largest.max(gap);
            }
        }
        largest
    }

    pub fn take_unclaimed(&mut self) -> Option<f64> {
        self.unclaimed.take()
    }

    /// A gap that ended at `t`: the largest, and the largest of its second.
    fn note(&mut self, t: f64, gap: f64) {
        self.largest_gap = Some(self.largest_gap.map_or(gap, |g| g.max(gap)));
        if t - self.recent[self.cursor].0 >= 1000.0 {
            self.cursor = (self.cursor + 1) % RECENT_S;
            self.recent[self.cursor] = (t, 0.0);
        }
        let span = &mut self.recent[self.cursor];
        span.1 = span.1.max(gap);
    }

    fn finish_at(&mut self, now: f64) -> f64 {
        let gap = self.swap.take().map_or(0.0, |s| s.figure(now));
        self.note(now, gap);
        self.last_swap_gap = Some(gap);
        self.unclaimed = Some(gap);
        gap
    }
}
