// The event timeline: every entry is text (textContent), never HTML.

const MAX_SHOWN = 300;

export class Timeline {
  #list;
  #scrollPending = false;
  /** Every entry, for the tests: `{ at: epoch ms, type, detail }`. */
  events = [];

  constructor(list) {
    this.#list = list;
  }

  /** Adds an entry; `tone` is `good`, `error` or nothing. */
  add(type, detail = {}, tone = '') {
    const at = Date.now();
    this.events.push({ at, type, detail });
    const li = document.createElement('li');
    if (tone) li.className = tone;
    const time = document.createElement('time');
    time.dateTime = new Date(at).toISOString();
    time.textContent = new Date(at).toISOString().slice(11, 23);
    const kind = document.createElement('span');
    kind.className = 'type';
    kind.textContent = type;
    const text = document.createElement('span');
    text.className = 'detail';
    text.textContent = describe(detail);
    li.append(time, kind, text);
    this.#list.append(li);
    while (this.#list.children.length > MAX_SHOWN) {
      this.#list.firstElementChild.remove();
    }
    // Scrolled to the end once per frame, not here: reading scrollHeight forces a layout, and
    // entries arrive inside the SDK's event dispatch (several during a handoff's swap).
    if (!this.#scrollPending) {
      this.#scrollPending = true;
      requestAnimationFrame(() => {
        this.#scrollPending = false;
        this.#list.scrollTop = this.#list.scrollHeight;
      });
    }
  }
}

function describe(detail) {
  if (typeof detail === 'string') return detail;
  return Object.entries(detail)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${format(v)}`)
    .join(' ');
}

function format(v) {
  if (typeof v === 'string') return v.length > 24 && v.startsWith('2_') ? `${v.slice(0, 8)}…${v.slice(-6)}` : v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(1);
  if (v instanceof Error) return `${v.name}${v.code ? `(${v.code})` : ''}: ${v.message}`;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
