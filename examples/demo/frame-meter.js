// Measures what a person sees: for each tile, the time between frames presented in it,
// whichever of the tile's <video> elements is the shown one (`[data-active="true"]`) at the
// time. A swap that shows video continuously leaves no gap; a reconnect leaves one.
//
// Kept cheap, since it runs next to the call on every frame: one requestVideoFrameCallback
// loop per tile (on its shown video only) that does a little arithmetic, and the shown video is
// looked up again only when the tile's DOM says it may have changed (a MutationObserver on
// the tile: videos added or removed, `data-active` changed), not on every animation frame.

const KEEP_MS = 60_000;

export class FrameMeter {
  #tiles = new Map();

  get supported() {
    return 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  }

  /** Starts measuring `tile` (an element holding the videos) under `key`. */
  watch(key, tile) {
    let t = this.#tiles.get(key);
    if (t) {
      t.tile = tile;
    } else {
      t = {
        key,
        tile,
        video: null,
        observer: null,
        loop: 0,
        lastFrameAt: null,
        frames: 0,
        largestGapMs: null,
        samples: [], // { at: epoch ms, gapMs }
      };
      this.#tiles.set(key, t);
    }
    if (!this.supported) {
      return;
    }
    t.observer?.disconnect();
    t.observer = new MutationObserver(() => this.#findShown(t));
    t.observer.observe(tile, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-active'] });
    this.#findShown(t);
  }

  unwatch(key) {
    this.#tiles.get(key)?.observer?.disconnect();
    this.#tiles.delete(key);
  }

  /** Per tile: frames presented, largest gap, current stall and recent samples. */
  stats() {
    const now = Date.now();
    return [...this.#tiles.values()].map((t) => ({
      key: t.key,
      frames: t.frames,
      largestGapMs: t.largestGapMs,
      stallMs: t.lastFrameAt === null ? null : now - t.lastFrameAt,
      samples: t.samples,
    }));
  }

  /** Forgets every recorded gap (e.g. to measure from a given moment). */
  reset() {
    for (const t of this.#tiles.values()) {
      t.largestGapMs = null;
      t.samples = [];
    }
  }

  // The shown video of a tile may have changed: follow the new one's frames.
  #findShown(t) {
    if (this.#tiles.get(t.key) !== t) {
      return;
    }
    const active = t.tile.querySelector('video[data-active="true"]');
    if (active && active !== t.video) {
      t.video = active;
      this.#follow(t, active);
    } else if (!active) {
      t.video = null;
    }
  }

  #follow(t, video) {
    // One loop per tile: a newer #follow (even of the same video, shown again) ends this one.
    const loop = (t.loop = (t.loop ?? 0) + 1);
    const onFrame = () => {
      if (this.#tiles.get(t.key) !== t || t.video !== video || t.loop !== loop) {
        return; // no longer the shown video of a watched tile: stop following it
      }
      const at = Date.now();
      if (t.lastFrameAt !== null) {
        const gapMs = at - t.lastFrameAt;
        t.largestGapMs = Math.max(t.largestGapMs ?? 0, gapMs);
        t.samples.push({ at, gapMs });
        while (t.samples.length && t.samples[0].at < at - KEEP_MS) {
          t.samples.shift();
        }
      }
      t.lastFrameAt = at;
      t.frames++;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
}
