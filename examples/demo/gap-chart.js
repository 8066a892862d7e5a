// A live line chart of each tile's frame gaps over the last 30 s, with the moves marked.
// Names are drawn with canvas text and listed with textContent: never parsed as HTML.
//
// Kept cheap, since it shares the main thread with the call's video: the chart is redrawn a few
// times a second (REDRAW_MS; over a 30 s window that is a step of a pixel or two), not at all
// while the page is hidden, and the legend's DOM is touched only when its text changes.

const WINDOW_MS = 30_000;
const SMOOTH_MS = 100;
const REDRAW_MS = 200;

export function colorFor(key) {
  let h = 0;
  for (const ch of key) {
    h = (h * 31 + ch.codePointAt(0)) >>> 0;
  }
  return `hsl(${h % 360} 80% 65%)`;
}

export class GapChart {
  #canvas;
  #legend;
  #meter;
  #labelOf;
  #markers = []; // { at, label }
  #timer;
  #items = new Map(); // key -> { li, name, value, text: [name, value] }

  constructor({ canvas, legend, meter, labelOf }) {
    this.#canvas = canvas;
    this.#legend = legend;
    this.#meter = meter;
    this.#labelOf = labelOf;
    this.#timer = setInterval(() => {
      if (!document.hidden) this.draw();
    }, REDRAW_MS);
    // Up to date at once when the page is shown again.
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.draw();
    });
  }

  mark(label) {
    this.#markers.push({ at: Date.now(), label });
    if (this.#markers.length > 50) {
      this.#markers.shift();
    }
  }

  draw() {
    const canvas = this.#canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) {
      return;
    }
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const stats = this.#meter.stats();
    const now = Date.now();
    const left = 40;
    const right = width - 8;
    const top = 8;
    const bottom = height - 18;
    let maxGap = 250;
    for (const s of stats) {
      for (const p of s.samples) {
        if (p.at >= now - WINDOW_MS) maxGap = Math.max(maxGap, p.gapMs);
      }
      if (s.stallMs !== null) maxGap = Math.max(maxGap, s.stallMs);
    }
    maxGap = Math.min(niceCeil(maxGap), 5000);
    const x = (at) => left + ((at - (now - WINDOW_MS)) / WINDOW_MS) * (right - left);
    const y = (gap) => bottom - (Math.min(gap, maxGap) / maxGap) * (bottom - top);

    // Grid and axis labels.
    ctx.font = '10px ui-monospace, monospace';
    ctx.textBaseline = 'middle';
    for (const g of gridLines(maxGap)) {
      ctx.strokeStyle = g === SMOOTH_MS ? 'rgba(62, 207, 142, 0.55)' : 'rgba(255, 255, 255, 0.08)';
      ctx.setLineDash(g === SMOOTH_MS ? [4, 4] : []);
      ctx.beginPath();
      ctx.moveTo(left, y(g));
      ctx.lineTo(right, y(g));
      ctx.stroke();
      ctx.fillStyle = '#9aa1b2';
      ctx.fillText(`${g}ms`, 2, y(g));
    }
    ctx.setLineDash([]);
    ctx.fillStyle = '#9aa1b2';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText('-30 s', left, height - 4);
    ctx.fillText('now', right - 20, height - 4);

    // Moves.
    for (const [i, m] of this.#markers.entries()) {
      if (m.at < now - WINDOW_MS) continue;
      ctx.strokeStyle = 'rgba(108, 140, 255, 0.6)';
      ctx.beginPath();
      ctx.moveTo(x(m.at), top);
      ctx.lineTo(x(m.at), bottom);
      ctx.stroke();
      ctx.fillStyle = '#6c8cff';
      ctx.fillText(m.label, Math.min(x(m.at) + 3, right - 40), top + 10 + (i % 2) * 12);
    }

    // One line per tile; a live stall rises at the right end until the next frame.
    for (const s of stats) {
      const color = colorFor(s.key);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let started = false;
      for (const p of s.samples) {
        if (p.at < now - WINDOW_MS) continue;
        if (!started) {
          ctx.moveTo(x(p.at), y(p.gapMs));
          started = true;
        } else {
          ctx.lineTo(x(p.at), y(p.gapMs));
        }
      }
      if (started && s.stallMs !== null && s.stallMs > SMOOTH_MS) {
        ctx.lineTo(right, y(s.stallMs));
      }
      ctx.stroke();
    }
    ctx.lineWidth = 1;
    this.#renderLegend(stats);
  }

  #renderLegend(stats) {
    const legend = this.#legend;
    const seen = new Set();
    for (const s of stats) {
      seen.add(s.key);
      let item = this.#items.get(s.key);
      if (!item) {
        const li = document.createElement('li');
        li.dataset.key = s.key;
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = colorFor(s.key);
        const name = document.createElement('span');
        name.className = 'name';
        const value = document.createElement('span');
        value.className = 'value';
        li.append(swatch, name, value);
        legend.append(li);
        item = { li, name, value, text: [null, null] };
        this.#items.set(s.key, item);
      }
      const name = this.#labelOf(s.key);
      const value = s.largestGapMs === null ? 'no frames yet' : `max ${Math.round(s.largestGapMs)} ms`;
      if (item.text[0] !== name) item.name.textContent = name;
      if (item.text[1] !== value) item.value.textContent = value;
      item.text = [name, value];
    }
    for (const [key, item] of this.#items) {
      if (!seen.has(key)) {
        item.li.remove();
        this.#items.delete(key);
      }
    }
  }
}

function niceCeil(v) {
  for (const n of [250, 500, 1000, 2000, 5000]) {
    if (v <= n) return n;
  }
  return 5000;
}

function gridLines(max) {
  return [100, 250, 500, 1000, 2000, 5000].filter((g) => g <= max);
}
