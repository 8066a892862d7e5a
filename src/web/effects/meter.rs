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
//! The gap that spans a swap is the last frame of the old video to the first frame of the new
//! one; a swap's figure is the largest gap from there until the new video has presented
//! [`FRAMES_AFTER_SWAP`] frames (or [`SWAP_WINDOW_MS`] passed without them, in which case the
//! time without a frame so far is the figure). The old video's last frame is the last it
//! presented before the swap reached the screen (about one refresh after the swap), whenever
//! its callback comes: a page busy at the swap runs the old video's callbacks after it, and
//! the end-to-end tests count those frames where they were presented.
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
    /// When the swap was made (performance.now() ms).
    at: f64,
    /// The rendering update that painted it: the first frame callback's `now` after it (a
    /// callback runs in a rendering update, and the first one after the swap paints it).
    paint: Option<f64>,
    /// The old video's last frame before the swap reached the screen.
    old_last: Option<f64>,
    /// The old video's latest callback's frame (where its next callback's frames begin).
    old_seen: Option<f64>,
    /// The new video's first frame after the swap.
    new_first: Option<f64>,
    /// The largest gap among the new video's frames since (and a previous swap's, when one
    /// was still being measured).
    gap: f64,
    frames_after: u32,
    ends_at: f64,
}

impl Swap {
    /// When the new video's first picture was seen: the one it already held, one refresh
    /// after the paint (as the end-to-end tests count it), unless a new frame came between the
    /// paint and then (one presented before the paint was not seen).
    fn first_picture(&self) -> Option<f64> {
        match (self.paint, self.new_first) {
            (Some(p), Some(n)) if n >= p && n < p + VSYNC_MS => Some(n),
            (Some(p), _) => Some(p + VSYNC_MS),
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

impl Meter {
    /// A frame callback of the active video: its latest frame presented at `t`, `frames`
    /// presented since its previous callback (1 when not known; the first callback of a
    /// video just swapped in counts as one frame). Returns the swap figure when this frame
    /// completes one.
    pub fn frame(&mut self, t: f64, frames: u32) -> Option<f64> {
        // The frames a person saw: a video just swapped in shows one so far, whatever it
        // presented underneath before.
        let frames = if self.measuring_first_frame() {
            1
        } else {
            frames.max(1)
        };
        let first_after_swap = match &mut self.swap {
            Some(s) if s.new_first.is_none() => {
                s.new_first = Some(t);
                // The picture it held showed before this frame: one frame of its own.
                if let Some(held) = s.paint.map(|p| p + VSYNC_MS).filter(|h| *h < t) {
                    s.frames_after = 1;
                    s.gap = s.gap.max(t - held);
                }
                true
            }
            _ => false,
        };
        if let (Some(last), false) = (self.last_frame, first_after_swap) {
            let span = (t - last).max(0.0);
            let gap = if frames > 1 {
                let k = f64::from(frames);
                (span / k).max(span - (k - 1.0) * VSYNC_MS)
            } else {
                span
            };
            self.note(t, gap);
            if let Some(s) = &mut self.swap {
                s.gap = s.gap.max(gap);
            }
        }
        self.last_frame = Some(t);
        self.frames = self.frames.saturating_add(frames);
        match &mut self.swap {
            Some(s) => {
                s.frames_after = s.frames_after.saturating_add(frames);
                if s.frames_after >= FRAMES_AFTER_SWAP {
                    return Some(self.finish_at(t));
                }
                None
            }
            None => None,
        }
    }

    /// The tile's active video was replaced at `now`.
    pub fn swapped(&mut self, now: f64) {
        let gap = self.swap.as_ref().map_or(0.0, |s| s.figure(now));
        self.swap = Some(Swap {
            at: now,
            paint: None,
            old_last: self.last_frame,
            old_seen: None,
            new_first: None,
            gap,
            frames_after: 0,
            ends_at: now + SWAP_WINDOW_MS,
        });
    }

    /// A frame callback of the tile's videos ran in the rendering update that began at `now`:
    /// the first one after a swap dates its paint.
    pub fn rendering(&mut self, now: f64) {
        if let Some(s) = self
            .swap
            .as_mut()
            .filter(|s| s.paint.is_none() && now >= s.at)
        {
            s.paint = Some(now);
        }
    }

    /// A frame callback of the video the swap being measured replaced: its latest frame
    /// presented at `t`, `frames` since its previous callback. The frames it presented before
    /// the swap was painted were seen; those of a late callback that straddle the paint are
    /// taken as evenly spread since its previous one (where the e2e places them by when the
    /// track delivered them).
    pub fn frame_before_swap(&mut self, t: f64, frames: u32) {
        let Some(s) = &mut self.swap else { return };
        let prev = s.old_seen.or(s.old_last);
        s.old_seen = Some(t);
        let seen = match (s.paint, prev) {
            // Not painted yet, as far as the callbacks tell, or presented before the paint.
            (None, _) => t,
            (Some(paint), _) if t < paint => t,
            (Some(paint), Some(prev)) if frames > 1 && t > prev => {
                let every = (t - prev) / f64::from(frames);
                let before = ((paint - prev) / every).ceil() - 1.0;
                if before < 1.0 {
                    return;
                }
                prev + before * every
            }
            _ => return,
        };
        if s.old_last.is_none_or(|l| seen > l) {
            s.old_last = Some(seen);
        }
    }

    /// The tile shows nothing any more: the time until the next video is not a frame gap.
    pub fn blank(&mut self) {
        self.last_frame = None;
        self.swap = None;
    }

    /// The next frame is the first of a video just swapped in: its gap spans the swap.
    fn measuring_first_frame(&self) -> bool {
        self.swap.as_ref().is_some_and(|s| s.frames_after == 0)
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
