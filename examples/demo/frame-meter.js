// Measures what a person sees: for each tile, the time between frames presented in it,
// whichever of the tile's <video> elements is the shown one (`[data-active="true"]`) at the
// time. A swap that shows video continuously leaves no gap; a reconnect leaves one.

const KEEP_MS = 60_000;

export class FrameMeter {
  #tiles = new Map();
  #raf = 0;

  get supported() {
    return 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  }

  /** Starts measuring `tile` (an element holding the videos) under `key`. */
  watch(key, tile) {
    if (this.#tiles.has(key)) {
      this.#tiles.get(key).tile = tile;
      return;
    }
    this.#tiles.set(key, {
      key,
      tile,
      video: null,
      lastFrameAt: null,
      frames: 0,
      largestGapMs: null,
      samples: [], // { at: epoch ms, gapMs }
    });
    this.#raf ||= requestAnimationFrame(() => this.#poll());
  }

  unwatch(key) {
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

  // Watches for the shown video of each tile changing, and hooks frame callbacks on it.
  #poll() {
    this.#raf = 0;
    if (!this.supported) {
      return;
    }
    for (const t of this.#tiles.values()) {
      const active = t.tile.querySelector('video[data-active="true"]');
      if (active && active !== t.video) {
        t.video = active;
        this.#follow(t, active);
      } else if (!active) {
        t.video = null;
      }
    }
    if (this.#tiles.size > 0) {
      this.#raf = requestAnimationFrame(() => this.#poll());
    }
  }

  #follow(t, video) {
    const onFrame = () => {
      if (this.#tiles.get(t.key) !== t || t.video !== video) {
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
