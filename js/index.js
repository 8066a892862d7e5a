// video-handoff: the public JS API over the WebAssembly shell (see index.d.ts for the docs).
//
// The wasm is loaded on the first join(), not at import: importing the package has no side
// effects. `init()` resolves `new URL('video_handoff_bg.wasm', import.meta.url)`, which plain
// ES module pages and bundlers (Vite, webpack 5, Rollup) handle without plugins.

import init, { Call } from '../pkg/video_handoff.js';

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
  if (value && typeof value === 'object' && typeof value.code === 'string') {
    return new HandoffError(value.code, String(value.message));
  }
  return new HandoffError('internal', String((value && value.message) || value), { cause: value });
}

let loading;
function load() {
  loading ??= init().catch((e) => {
    loading = undefined;
    throw new HandoffError('wasmLoadFailed', `could not load video-handoff's WebAssembly: ${e && e.message}`, { cause: e });
  });
  return loading;
}

const EVENTS = new Set([
  'stateChanged',
  'handoffStarted',
  'participantSwapped',
  'handoffCompleted',
  'handoffFailed',
  'subscribeFailed',
  'announceFailed',
  'recoveryStarted',
  'sessionEnded',
  'signalRejected',
  'participantJoined',
  'participantLeft',
]);

class Participant {
  #key;
  #element;
  constructor(key, element) {
    this.#key = key;
    this.#element = element;
    Object.freeze(this);
  }
  get key() {
    return this.#key;
  }
  get element() {
    return this.#element;
  }
}

class HandoffCall {
  #core;
  #handlers = new Map();
  #participants = new Map();
  #closed = false;
  #abort;

  constructor(core, handlers) {
    this.#core = core;
    for (const [type, fn] of Object.entries(handlers || {})) this.on(type, fn);
  }

  /** @internal the wasm side's event entry (set before start so nothing is missed). */
  _emit(type, payload) {
    let event = payload;
    if (type === 'participantJoined') {
      let p = this.#participants.get(payload.key);
      if (!p) {
        p = new Participant(payload.key, payload.element);
        this.#participants.set(payload.key, p);
      }
      event = { participant: p };
    } else if (type === 'participantLeft') {
      this.#participants.delete(payload.key);
    } else if (type === 'handoffFailed' || type === 'subscribeFailed' || type === 'announceFailed') {
      event = { ...payload, error: toError(payload.error) };
    } else if (type === 'stateChanged' && payload.state === 'closed') {
      this.#participants.clear();
    }
    const list = this.#handlers.get(type);
    if (!list) return;
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

  get state() {
    return this.#core.state;
  }

  get sessionId() {
    return this.#core.sessionId ?? null;
  }

  get participants() {
    return Object.freeze([...this.#participants.values()]);
  }

  get localElement() {
    return this.#core.localElement;
  }

  on(type, handler) {
    if (!EVENTS.has(type)) throw new HandoffError('invalidArgument', `unknown event type ${JSON.stringify(type)}`);
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

  moveTo(sessionId, options = {}) {
    try {
      this.#core.moveTo(sessionId, options.token ?? undefined, options.reason ?? undefined);
    } catch (e) {
      throw toError(e);
    }
  }

  stats() {
    return this.#core.stats();
  }

  close() {
    if (!this.#closed) {
      this.#closed = true;
      this.#abort?.();
      this.#abort = undefined;
      // Leaves every session now (the `closed` stateChanged is delivered inside), then lets
      // go of the app's handlers.
      this.#core.close();
      this.#handlers.clear();
    }
    return Promise.resolve();
  }

  /** @internal */
  _onAbort(undo) {
    this.#abort = undo;
  }
}

async function localMedia(publisher) {
  if (publisher === false) return null;
  const p = publisher || {};
  let videoSource = p.videoSource;
  let audioSource = p.audioSource;
  let owned = false;
  if (videoSource === undefined && audioSource === undefined) {
    if (!globalThis.navigator?.mediaDevices?.getUserMedia) {
      throw new HandoffError('mediaFailed', 'getUserMedia is not available (a secure context is needed)');
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (e) {
      throw new HandoffError('mediaFailed', `camera/microphone: ${e && e.name}: ${e && e.message}`, { cause: e });
    }
    videoSource = stream.getVideoTracks()[0] ?? null;
    audioSource = stream.getAudioTracks()[0] ?? null;
    owned = true;
  }
  return { videoSource: videoSource ?? null, audioSource: audioSource ?? null, name: p.name ?? '', owned };
}

/**
 * Joins `options.sessionId`; resolves with the call once it is live, rejects with a
 * `HandoffError` (invalid options, no camera, the first connect failing for good, aborted).
 */
export async function join(options) {
  if (options === null || typeof options !== 'object') {
    throw new HandoffError('invalidOptions', 'join(options) needs an options object');
  }
  if (options.signal?.aborted) throw new HandoffError('aborted', 'join() was aborted', { cause: options.signal.reason });
  await load();
  let call;
  let core;
  try {
    core = new Call(options, (type, payload) => call?._emit(type, payload));
  } catch (e) {
    throw toError(e);
  }
  call = new HandoffCall(core, options.on);

  let media;
  try {
    media = await localMedia(options.publisher);
  } catch (e) {
    core.free();
    throw e;
  }

  return new Promise((resolve, reject) => {
    const settle = (ok, value) => {
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

    const signal = options.signal;
    if (signal) {
      const onAbort = () => {
        if (call.state !== 'live') settle(false, new HandoffError('aborted', 'join() was aborted', { cause: signal.reason }));
        else call.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      call._onAbort(() => signal.removeEventListener('abort', onAbort));
    }
    try {
      core.start(media);
    } catch (e) {
      settle(false, toError(e));
    }
  });
}
