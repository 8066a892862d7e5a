//! The continuity meter of one tile: gaps between the frames the viewer actually saw.
//!
//! The shell feeds it the frames of whichever video is active in the tile, timed as the
//! end-to-end tests time them (tests/e2e/measure.js and gaps.mjs): by the
//! `requestVideoFrameCallback` metadata's presentation time, not by when the callback ran (a
//! busy main thread runs it late while the compositor keeps presenting). One late callback
//! can stand for several frames (`presentedFrames` moved by more than one): the gap is then
//! taken at its worst case, as the e2e does: the compositor shows at most one frame per
//! refresh ([`VSYNC_MS`]), so the largest gap among k frames spread over T ms is at most
//! max(T / k, T - (k - 1) refreshes).
//!
//! The gap that spans a swap is the last frame of the old video to the first frame of the new
//! one; a swap's figure is the largest gap from there until the new video has presented
//! [`FRAMES_AFTER_SWAP`] frames (or [`SWAP_WINDOW_MS`] passed without them, in which case the
//! time without a frame so far is the figure).
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
    gap: f64,
    frames_after: u32,
    ends_at: f64,
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
        if let Some(last) = self.last_frame {
            let span = (t - last).max(0.0);
            let gap = if frames > 1 {
                let k = f64::from(frames);
                (span / k).max(span - (k - 1.0) * VSYNC_MS)
            } else {
                span
            };
            self.largest_gap = Some(self.largest_gap.map_or(gap, |g| g.max(gap)));
            if t - self.recent[self.cursor].0 >= 1000.0 {
                self.cursor = (self.cursor + 1) % RECENT_S;
                self.recent[self.cursor] = (t, 0.0);
            }
            let span = &mut self.recent[self.cursor];
            span.1 = span.1.max(gap);
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
                    return Some(self.finish());
                }
                None
            }
            None => None,
        }
    }

    /// The tile's active video was replaced at `now`.
    pub fn swapped(&mut self, now: f64) {
        let gap = self.swap.as_ref().map_or(0.0, |s| s.gap);
        self.swap = Some(Swap {
            gap,
            frames_after: 0,
            ends_at: now + SWAP_WINDOW_MS,
        });
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
        if let Some(last) = self.last_frame {
            s.gap = s.gap.max(now - last);
        }
        Some(self.finish())
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

    fn finish(&mut self) -> f64 {
        let gap = self.swap.take().map_or(0.0, |s| s.gap);
        self.last_swap_gap = Some(gap);
        self.unclaimed = Some(gap);
        gap
    }
}
