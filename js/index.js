// video-handoff: the public JS API over the WebAssembly shell (see index.d.ts for the docs).
//
// The wasm is loaded on the first join(), not at import: importing the package has no side
// effects. `init()` resolves `new URL('video_handoff_bg.wasm', import.meta.url)`, which plain
// ES module pages and bundlers (Vite, webpack 5, Rollup) handle without plugins. The events,
// their payloads, the options and the errors are declared once, in Rust (src/web/contract);
// this file adds only what JS does best: promises, handlers, AbortSignal, getUserMedia.

import init, { Call, eventTypes } from '../pkg/video_handoff.js';

/** Errors the SDK raises or reports: an `Error` with `name` "HandoffError" and a stable `code`. */
export class HandoffError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'HandoffError';
    this.code = code;
  }
}

function toError(value) {
  if (value instanceof HandoffError) return value;
  return new HandoffError('internal', `video-handoff failed: ${(value && value.message) || value}`, { cause: value });
}

// What join() needs of a call that the app must not reach: set by HandoffCall's static block.
let internals;

let loading;
function load() {
  loading ??= init().then(
    () => new Set(eventTypes()),
    (e) => {
      loading = undefined;
      throw new HandoffError('wasmLoadFailed', `could not load video-handoff's WebAssembly: ${e && e.message}`, { cause: e });
    },
  );
  return loading;
}

class HandoffCall {
  #core;
  #types;
  #handlers = new Map();
  #state = 'idle';
  #localElement;
  #finalStats;
  #closed;
  #resolveClosed;
  #onClosed = [];

  constructor(core, types) {
    this.#core = core;
    this.#types = types;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  static {
    internals = {
      emit: (call, event) => call.#emit(event),
      start: (call, media, owned) => call.#core.start(media?.videoSource ?? null, media?.audioSource ?? null, media?.name ?? null, owned),
      // Runs `undo` once the call has closed (join()'s own listeners).
      whenClosed: (call, undo) => (call.#core ? call.#onClosed.push(undo) : undo()),
    };
  }

  #emit(event) {
    if (event.type === 'stateChanged') this.#state = event.state;
    const list = this.#handlers.get(event.type);
    if (list) {
      for (const fn of [...list]) {
        try {
          fn.call(this, event);
        } catch (e) {
          // An app handler's error must not break the call or the vendor's event loop.
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
    if (event.type === 'stateChanged' && event.state === 'closed') this.#release();
  }

  /** After `closed` was delivered: the handlers go, and the wasm call is freed. */
  #release() {
    const core = this.#core;
    if (!core) return;
    this.#finalStats = core.stats();
    this.#localElement = core.localElement;
    this.#core = undefined;
    this.#handlers.clear();
    this.#onClosed.splice(0).forEach((undo) => undo());
    // Not while a method of the call may still be on the stack: after this task.
    queueMicrotask(() => core.free());
    this.#resolveClosed();
  }

  get state() {
    return this.#core ? this.#core.state : 'closed';
  }

  get sessionId() {
    return this.#core ? (this.#core.sessionId ?? null) : null;
  }

  get participants() {
    return Object.freeze(this.#core ? this.#core.participants() : []);
  }

  get localElement() {
    return this.#core ? this.#core.localElement : this.#localElement;
  }

  on(type, handler) {
    if (!this.#types.has(type)) throw new HandoffError('invalidArgument', `unknown event type ${JSON.stringify(type)}`);
    if (typeof handler !== 'function') throw new HandoffError('invalidArgument', 'on(type, handler): handler must be a function');
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler);
    return this;
  }

  off(type, handler) {
    this.#handlers.get(type)?.delete(handler);
    return this;
  }

  moveTo(sessionId, options) {
    if (!this.#core) throw new HandoffError('closed', 'the call is closed');
    this.#core.moveTo(sessionId, options);
  }

  stats() {
    return this.#core ? this.#core.stats() : { ...this.#finalStats, state: 'closed', sessionId: null };
  }

  close() {
    this.#core?.close();
    return this.#closed;
  }
}

async function localMedia(publisher, signal) {
  if (publisher === false) return { media: null, owned: false };
  const p = publisher || {};
  if (p.videoSource !== undefined || p.audioSource !== undefined) return { media: p, owned: false };
  if (!globalThis.navigator?.mediaDevices?.getUserMedia) {
    throw new HandoffError('mediaFailed', 'getUserMedia is not available (a secure context is needed)');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (e) {
    throw new HandoffError('mediaFailed', `camera/microphone: ${e && e.name}: ${e && e.message}`, { cause: e });
  }
  const stop = () => stream.getTracks().forEach((t) => t.stop());
  // getUserMedia cannot be cancelled: an abort while it asked stops what it then gives.
  if (signal?.aborted) {
    stop();
    throw aborted(signal);
  }
  const media = { videoSource: stream.getVideoTracks()[0] ?? null, audioSource: stream.getAudioTracks()[0] ?? null, name: p.name };
  return { media, owned: true, stop };
}

function aborted(signal) {
  return new HandoffError('aborted', 'join() was aborted', { cause: signal.reason });
}

/**
 * Joins `options.sessionId`; resolves with the call once it is live, rejects with a
 * `HandoffError` (invalid options, no camera, the first connect failing for good, aborted).
 */
export async function join(options) {
  if (options === null || typeof options !== 'object') {
    throw new HandoffError('invalidOptions', 'join(options) needs an options object');
  }
  const signal = options.signal;
  if (signal?.aborted) throw aborted(signal);
  const types = await load();
  let call;
  let core;
  try {
    core = new Call(options, (event) => internals.emit(call, event), HandoffError);
  } catch (e) {
    throw toError(e);
  }
  call = new HandoffCall(core, types);
  try {
    for (const [type, fn] of Object.entries(options.on || {})) call.on(type, fn);
  } catch (e) {
    core.free();
    throw e;
  }

  let media;
  try {
    media = await localMedia(options.publisher, signal);
    if (signal?.aborted) {
      media.stop?.();
      throw aborted(signal);
    }
  } catch (e) {
    core.free();
    throw e instanceof HandoffError ? e : toError(e);
  }

  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (ok, value) => {
      if (settled) return;
      settled = true;
      call.off('stateChanged', onState).off('handoffFailed', onFailed).off('sessionEnded', onEnded);
      if (ok) resolve(value);
      else {
        call.close();
        reject(value);
      }
    };
    const onState = ({ state }) => {
      if (state === 'live') settle(true, call);
      else if (state === 'closed') settle(false, new HandoffError('closed', 'the call closed before it was live'));
    };
    const onFailed = ({ error, willRetry }) => {
      if (!willRetry) settle(false, error);
    };
    const onEnded = ({ reason }) => settle(false, new HandoffError('sessionEnded', `the session ended: ${reason}`));
    call.on('stateChanged', onState).on('handoffFailed', onFailed).on('sessionEnded', onEnded);

    if (signal) {
      const onAbort = () => {
        if (!settled) settle(false, aborted(signal));
        else call.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      internals.whenClosed(call, () => signal.removeEventListener('abort', onAbort));
    }
    try {
      internals.start(call, media.media, media.owned);
    } catch (e) {
      settle(false, toError(e));
    }
  });
}
