/*
 * video-handoff sandbox: an OT-compatible browser client for the local Vonage Video API
 * emulator (examples/sandbox). NOT the vendor's client, and never for production.
 *
 * It imitates the public behaviour of `@vonage/client-sdk-video` (`OT`): the same objects,
 * events, reasons, error names and codes, for the subset the video-handoff SDK, its demo and
 * its tests use. The wire protocol to the sandbox is examples/sandbox/PROTOCOL.md. Media is
 * real WebRTC between the browsers (the vendor's "relayed" mode): one RTCPeerConnection per
 * (publisher, subscriber) pair, signalled through the sandbox's `rtc` relay.
 *
 * This one file is the only source of truth and loads two ways:
 *   - classic script `<script src=".../v2/js/opentok.js">`: defines the global `OT`; the
 *     sandbox's URL comes from `document.currentScript.src`;
 *   - through `opentok.mjs` (ES module, `import OT from '.../v2/js/opentok.mjs'`), which imports
 *     this file for its side effect and tells it its own URL (`import.meta.url`).
 * It is written to run both as a classic script and as a module (strict, no top-level `this`).
 *
 * The `rtc` relay payloads this client defines (PROTOCOL.md §6 leaves them to the client):
 *   subscriber -> publisher: {kind:'subscribe', audio, video}   ask for media (publisher offers)
 *                            {kind:'answer', sdp}                {kind:'subCandidate', candidate}
 *                            {kind:'prefs', audio, video}        subscribeToAudio/Video: the
 *                                publisher replaceTrack()s null for a kind not wanted
 *                            {kind:'unsubscribe'}                publisher closes that link
 *   publisher -> subscriber: {kind:'offer', sdp}                 {kind:'pubCandidate', candidate}
 * (`candidate: null` is the end of candidates). Links are keyed by (connectionId, subscriberId)
 * on the publisher's side, so one page may even subscribe to its own stream. Links close on
 * unsubscribe, unpublish/destroy, streamDestroyed, connectionDestroyed and disconnect.
 */
(function () {
  'use strict';

  const MODULE_KEY = Symbol.for('video-handoff-sandbox.OT');
  const VERSION = '2.35.2-sandbox';

  // ---------------------------------------------------------------------------------------
  // Where the sandbox is.
  // ---------------------------------------------------------------------------------------

  const currentScript = typeof document !== 'undefined' ? document.currentScript : null;
  let baseUrl = currentScript && currentScript.src ? currentScript.src : null;

  function wsUrl() {
    const base = baseUrl || (typeof location !== 'undefined' ? location.href : 'http://127.0.0.1/');
    const url = new URL('/v2/ws', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    url.hash = '';
    return url.href;
  }

  // ---------------------------------------------------------------------------------------
  // Logging (never logs tokens).
  // ---------------------------------------------------------------------------------------

  const LOG = { NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 };
  let logLevel = LOG.WARN;
  const log = {
    error: (...a) => { if (logLevel >= LOG.ERROR) console.error('OT(sandbox):', ...a); },
    warn: (...a) => { if (logLevel >= LOG.WARN) console.warn('OT(sandbox):', ...a); },
    debug: (...a) => { if (logLevel >= LOG.DEBUG) console.debug('OT(sandbox):', ...a); },
  };

  // ---------------------------------------------------------------------------------------
  // Errors and events.
  // ---------------------------------------------------------------------------------------

  /** Vendor-style error: an Error with `name`, `message` and `code`. */
  function otError(name, message, code) {
    const err = new Error(message);
    err.name = name;
    if (code !== undefined) err.code = code;
    return err;
  }

  const CODES = {
    OT_AUTHENTICATION_ERROR: 1004,
    OT_INVALID_SESSION_ID: 1005,
    OT_CONNECT_FAILED: 1006,
    OT_NOT_CONNECTED: 1010,
    OT_INVALID_PARAMETER: 1011,
    OT_UNABLE_TO_PUBLISH: 1500,
    OT_UNABLE_TO_SUBSCRIBE: 1501,
  };

  function fromWire(frame, fallbackName, fallbackCode) {
    const name = typeof frame.name === 'string' && frame.name ? frame.name : fallbackName;
    const code = typeof frame.code === 'number' ? frame.code : (CODES[name] || fallbackCode);
    return otError(name, typeof frame.message === 'string' ? frame.message : name, code);
  }

  /** Calls an app callback; what it throws is reported, never thrown back into the caller. */
  function safeCall(fn, thisArg, args, what) {
    try {
      return fn.apply(thisArg, args);
    } catch (e) {
      console.error(`OT(sandbox): an app handler for "${what}" threw:`, e);
      return undefined;
    }
  }

  function later(fn) {
    setTimeout(fn, 0);
  }

  class OTEvent {
    constructor(type, target, cancelable, props) {
      this.type = type;
      this.target = target;
      this.cancelable = !!cancelable;
      let prevented = false;
      Object.defineProperty(this, '_prevented', { get: () => prevented, enumerable: false });
      this.preventDefault = () => {
        if (this.cancelable) prevented = true;
        else log.warn(`Event.preventDefault: the ${this.type} event is not cancelable`);
      };
      this.isDefaultPrevented = () => prevented;
      if (props) Object.assign(this, props);
    }
  }

  /** on/off/once with vendor semantics: names, space-separated names, event maps, context. */
  class EventEmitter {
    constructor() {
      Object.defineProperty(this, '_listeners', { value: new Map(), enumerable: false });
    }

    _add(name, fn, context, once) {
      if (typeof fn !== 'function') return;
      for (const n of String(name).split(/\s+/).filter(Boolean)) {
        if (!this._listeners.has(n)) this._listeners.set(n, []);
        this._listeners.get(n).push({ fn, context, once });
      }
    }

    _bind(args, once) {
      const [a, b, c] = args;
      if (a && typeof a === 'object') {
        for (const name of Object.keys(a)) this._add(name, a[name], b, once);
      } else if (typeof a === 'string') {
        this._add(a, b, c, once);
      }
      return this;
    }

    on(...args) { return this._bind(args, false); }
    once(...args) { return this._bind(args, true); }

    off(a, b, c) {
      if (a === undefined || a === null) {
        if (typeof b === 'function' || b === undefined) {
          if (b === undefined) this._listeners.clear();
          else for (const [n] of this._listeners) this._remove(n, b, c);
        }
        return this;
      }
      if (typeof a === 'object') {
        for (const name of Object.keys(a)) this._remove(name, a[name], b);
        return this;
      }
      for (const n of String(a).split(/\s+/).filter(Boolean)) {
        // off('signal:x', context) is allowed by the vendor's typings: a non-function second arg.
        if (typeof b === 'function') this._remove(n, b, c);
        else if (b && typeof b === 'object') this._remove(n, undefined, b);
        else this._listeners.delete(n);
      }
      return this;
    }

    _remove(name, fn, context) {
      const list = this._listeners.get(name);
      if (!list) return;
      const keep = list.filter((l) => !((fn === undefined || l.fn === fn) &&
        (context === undefined || l.context === context)));
      if (keep.length) this._listeners.set(name, keep);
      else this._listeners.delete(name);
    }

    /** Runs the listeners of `name` (default: `event.type`) with `event`; never throws. */
    _dispatch(event, name) {
      const key = name || event.type;
      const list = this._listeners.get(key);
      if (!list || !list.length) return event;
      for (const l of list.slice()) {
        if (l.once) this._remove(key, l.fn, l.context);
        safeCall(l.fn, l.context || this, [event], key);
      }
      return event;
    }

    _emit(type, props, cancelable) {
      return this._dispatch(new OTEvent(type, this, cancelable, props));
    }

    // vendor aliases
    addEventListener(name, fn, context) { return this.on(name, fn, context); }
    removeEventListener(name, fn, context) { return this.off(name, fn, context); }
  }

  // Attach `.promise` variants to methods as the vendor's typings show.
  function withPromise(obj, method, promiseFn) {
    obj[method].promise = promiseFn;
  }

  // ---------------------------------------------------------------------------------------
  // Model objects.
  // ---------------------------------------------------------------------------------------

  class Connection {
    constructor(w) {
      this.connectionId = String(w.connectionId);
      this.id = this.connectionId; // the vendor has both
      this.creationTime = Number(w.creationTime) || 0;
      this.data = typeof w.data === 'string' ? w.data : '';
    }
  }

  class Stream {
    constructor(w, connection) {
      this.streamId = String(w.streamId);
      this.id = this.streamId;
      this.connection = connection;
      this._update(w);
      this.creationTime = Number(w.creationTime) || 0;
    }
    _update(w) {
      this.name = typeof w.name === 'string' ? w.name : '';
      this.hasAudio = w.hasAudio !== false;
      this.hasVideo = w.hasVideo !== false;
      this.hasCaptions = false;
      this.videoType = w.videoType === undefined ? 'camera' : w.videoType;
      this.frameRate = 30;
      this.initials = '';
      const d = w.videoDimensions || {};
      this.videoDimensions = { width: Number(d.width) || 0, height: Number(d.height) || 0 };
    }
  }

  let idCounter = 0;
  function newId(prefix) {
    idCounter += 1;
    const rnd = Math.random().toString(36).slice(2, 10);
    return `${prefix}-${idCounter}-${rnd}`;
  }

  // ---------------------------------------------------------------------------------------
  // DOM helpers (the "default UI": a container with the video, inserted per insertMode).
  // ---------------------------------------------------------------------------------------

  function resolveTarget(target) {
    if (typeof document === 'undefined') return null;
    if (typeof target === 'string') return document.getElementById(target);
    if (target && typeof target === 'object' && target.nodeType === 1) return target;
    return null;
  }

  function isElementArg(x) {
    return typeof x === 'string' || (x && typeof x === 'object' && x.nodeType === 1);
  }

  function cssSize(v, dflt) {
    if (v === undefined || v === null || v === '') return dflt;
    return typeof v === 'number' ? `${v}px` : String(v);
  }

  function makeVideo(muted) {
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    video.muted = !!muted;
    if (muted) video.setAttribute('muted', '');
    return video;
  }

  function insertWidget(container, target, props) {
    const el = resolveTarget(target);
    const mode = props.insertMode || 'replace';
    container.style.width = cssSize(props.width, '264px');
    container.style.height = cssSize(props.height, '198px');
    container.style.overflow = 'hidden';
    container.style.position = 'relative';
    if (!el) {
      if (target !== undefined && target !== null && typeof target === 'string') {
        log.warn(`no element with id "${target}": appending to <body>`);
      }
      document.body.appendChild(container);
    } else if (mode === 'append') {
      el.appendChild(container);
    } else if (mode === 'before') {
      el.parentNode.insertBefore(container, el);
    } else if (mode === 'after') {
      el.parentNode.insertBefore(container, el.nextSibling);
    } else {
      // 'replace' (default): the widget takes the target element's place and its id
      if (el.id) container.id = el.id;
      if (el.parentNode) el.parentNode.replaceChild(container, el);
      else document.body.appendChild(container);
    }
  }

  function styleVideo(video, fitMode) {
    video.style.width = '100%';
    video.style.height = '100%';
    video.style.objectFit = fitMode === 'contain' ? 'contain' : 'cover';
    video.style.display = 'block';
  }

  function removeNode(node) {
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  // ---------------------------------------------------------------------------------------
  // WebRTC peer link: one RTCPeerConnection with ICE candidates queued until the remote
  // description is set.
  //
  // Audio and video share one transport (max-bundle, as the vendor's client does), and only
  // UDP candidates are sent: the sandbox's peers are on one machine or one LAN, where host
  // UDP always connects. Measured in headless Chromium with 4 interfaces: 16 candidates per
  // offer by default (8 per transport, half of them TCP), 4 this way; every candidate is a
  // message through the sandbox, an addIceCandidate that waits on WebRTC's threads, and a
  // column of connectivity checks. Three pages on two cores spent 129 ms of one page's main
  // thread in addIceCandidate during a handoff.
  // ---------------------------------------------------------------------------------------

  class PeerLink {
    constructor(onCandidate) {
      this.pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
      this.pending = [];
      this.closed = false;
      this.pc.onicecandidate = (e) => {
        if (this.closed) return;
        if (e.candidate && / tcp /i.test(e.candidate.candidate)) return;
        onCandidate(e.candidate ? e.candidate.toJSON() : null);
      };
    }
    async setRemote(desc) {
      await this.pc.setRemoteDescription(desc);
      const queued = this.pending;
      this.pending = [];
      for (const c of queued) await this._addCandidate(c);
    }
    async addCandidate(c) {
      if (this.closed) return;
      if (!this.pc.remoteDescription) this.pending.push(c);
      else await this._addCandidate(c);
    }
    async _addCandidate(c) {
      try {
        await this.pc.addIceCandidate(c || undefined);
      } catch (e) {
        log.debug('addIceCandidate failed', e);
      }
    }
    close() {
      if (this.closed) return;
      this.closed = true;
      try { this.pc.close(); } catch (e) { /* already closed */ }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Publisher
  // ---------------------------------------------------------------------------------------

  function sourceSpec(v, kind) {
    // returns { track } | { constraints } | null
    if (v === null || v === false) return null;
    if (typeof MediaStreamTrack !== 'undefined' && v instanceof MediaStreamTrack) {
      if (v.kind !== kind) throw otError('OT_INVALID_PARAMETER', `${kind}Source is a ${v.kind} track`, 1011);
      return { track: v };
    }
    if (typeof v === 'string' && v) return { constraints: { deviceId: { exact: v } } };
    return { constraints: {} }; // true / undefined: the default device
  }

  function resolutionOf(props) {
    const m = typeof props.resolution === 'string' && /^(\d+)x(\d+)$/.exec(props.resolution);
    if (m) return { width: Number(m[1]), height: Number(m[2]) };
    return { width: 640, height: 480 };
  }

  class Publisher extends EventEmitter {
    constructor(target, props, callback) {
      super();
      this.id = newId('OT_pub');
      this.accessAllowed = false;
      this.element = undefined;
      this.stream = undefined;
      this.session = undefined;
      Object.defineProperties(this, {
        _props: { value: Object.assign({}, props || {}), writable: true },
        _target: { value: target, writable: true },
        _videoTrack: { value: null, writable: true },
        _audioTrack: { value: null, writable: true },
        _videoType: { value: null, writable: true },
        _mediaStream: { value: null, writable: true },
        _video: { value: null, writable: true },
        _destroyed: { value: false, writable: true },
        _links: { value: new Map() }, // `${cid}|${subscriberId}` -> { link, sender{audio,video}, prefs }
        _publishVideo: { value: (props || {}).publishVideo !== false, writable: true },
        _publishAudio: { value: (props || {}).publishAudio !== false, writable: true },
        _ready: { value: null, writable: true },
        _publishing: { value: false, writable: true },
      });
      this._ready = this._acquire().then(
        () => {
          if (callback) safeCall(callback, undefined, [undefined], 'initPublisher callback');
          return null;
        },
        (err) => {
          if (callback) safeCall(callback, undefined, [err], 'initPublisher callback');
          else log.error(`initPublisher: ${err.name}: ${err.message}`);
          return err;
        });
      // The publish methods are callable objects with a `.promise` form, as in the vendor's API.
      const pv = this.publishVideo.bind(this);
      const pa = this.publishAudio.bind(this);
      const ds = this.destroy.bind(this);
      Object.defineProperty(this, 'publishVideo', { value: pv, writable: true });
      Object.defineProperty(this, 'publishAudio', { value: pa, writable: true });
      Object.defineProperty(this, 'destroy', { value: ds, writable: true });
      withPromise(this, 'publishVideo', (v) => new Promise((res) => { pv(v); res(); }));
      withPromise(this, 'publishAudio', (v) => new Promise((res) => { pa(v); res(); }));
      withPromise(this, 'destroy', () => new Promise((res) => { ds(); res(); }));
    }

    async _acquire() {
      const p = this._props;
      let video;
      let audio;
      try {
        video = sourceSpec(p.videoSource, 'video');
        audio = sourceSpec(p.audioSource, 'audio');
      } catch (e) {
        this._emit('accessDenied', { message: e.message });
        throw e;
      }
      if (!video && !audio) {
        throw otError('OT_NO_VALID_CONSTRAINTS', 'Video and audio were both disabled: enable at least one', 1500);
      }
      const want = {};
      if (video && video.constraints) {
        const res = resolutionOf(p);
        want.video = Object.assign({ width: res.width, height: res.height }, video.constraints);
        if (p.frameRate) want.video.frameRate = p.frameRate;
      }
      if (audio && audio.constraints) want.audio = Object.keys(audio.constraints).length ? audio.constraints : true;
      let gum = null;
      if (want.video || want.audio) {
        this._emit('accessDialogOpened');
        try {
          gum = await navigator.mediaDevices.getUserMedia(want);
        } catch (e) {
          this._emit('accessDialogClosed');
          const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
          const err = otError(denied ? 'OT_USER_MEDIA_ACCESS_DENIED'
            : (e && e.name === 'NotFoundError' ? 'OT_NO_DEVICES_FOUND' : 'OT_HARDWARE_UNAVAILABLE'),
          `getUserMedia failed: ${e && e.name}: ${e && e.message}`, 1500);
          this._emit('accessDenied', { message: err.message });
          throw err;
        }
        this._emit('accessDialogClosed');
      }
      this._videoTrack = video ? (video.track || gum.getVideoTracks()[0] || null) : null;
      this._audioTrack = audio ? (audio.track || gum.getAudioTracks()[0] || null) : null;
      this._videoType = this._videoTrack ? (video.track ? 'custom' : 'camera') : null;
      if (this._destroyed) {
        this._stopTracks();
        throw otError('OT_CANCELLED', 'The publisher was destroyed before its media was ready', 1500);
      }
      this.accessAllowed = true;
      this._emit('accessAllowed');
      if (this._videoTrack) this._videoTrack.enabled = this._publishVideo;
      if (this._audioTrack) this._audioTrack.enabled = this._publishAudio;
      for (const t of [this._videoTrack, this._audioTrack]) {
        if (t) t.addEventListener('ended', () => this._onTrackEnded(t));
      }
      this._mediaStream = new MediaStream([this._videoTrack, this._audioTrack].filter(Boolean));
      this._emit('mediaStreamAvailable', { mediaStream: this._mediaStream });
      const videoEl = makeVideo(true);
      videoEl.srcObject = this._mediaStream;
      this._video = videoEl;
      if (p.insertDefaultUI !== false) {
        const container = document.createElement('div');
        container.className = 'OT_root OT_publisher';
        container.id = this.id;
        styleVideo(videoEl, p.fitMode);
        if (p.mirror !== false && this._videoType === 'camera') videoEl.style.transform = 'scaleX(-1)';
        container.appendChild(videoEl);
        insertWidget(container, this._target, p);
        this.element = container;
      }
      videoEl.play().catch(() => { /* muted local preview; autoplay handles it */ });
      this._emit('videoElementCreated', { element: videoEl });
      return null;
    }

    _onTrackEnded(track) {
      if (this._destroyed) return;
      const ev = this._emit('mediaStopped', { track }, true);
      if (ev.isDefaultPrevented()) return;
      if (this.session && this.stream) this.session._unpublish(this, 'mediaStopped');
      else this.destroy();
    }

    _stopTracks() {
      for (const t of [this._videoTrack, this._audioTrack]) {
        if (t) { try { t.stop(); } catch (e) { /* ignore */ } }
      }
    }

    _streamProps() {
      const settings = this._videoTrack && this._videoTrack.getSettings ? this._videoTrack.getSettings() : {};
      const res = resolutionOf(this._props);
      return {
        name: typeof this._props.name === 'string' ? this._props.name : '',
        hasAudio: !!this._audioTrack && this._publishAudio,
        hasVideo: !!this._videoTrack && this._publishVideo,
        videoType: this._videoType,
        videoDimensions: this._videoTrack
          ? { width: settings.width || res.width, height: settings.height || res.height }
          : { width: 0, height: 0 },
      };
    }

    publishVideo(value) {
      this._publishVideo = !!value;
      if (this._videoTrack) this._videoTrack.enabled = this._publishVideo;
      this._sendUpdate({ hasVideo: !!this._videoTrack && this._publishVideo });
      return this;
    }

    publishAudio(value) {
      this._publishAudio = !!value;
      if (this._audioTrack) this._audioTrack.enabled = this._publishAudio;
      this._sendUpdate({ hasAudio: !!this._audioTrack && this._publishAudio });
      return this;
    }

    _sendUpdate(change) {
      if (this.session && this.stream && this.session._isConnected()) {
        this.session._send(Object.assign({ t: 'streamUpdate', streamId: this.stream.streamId }, change));
      }
    }

    getVideoSource() {
      const t = this._videoTrack;
      const s = t && t.getSettings ? t.getSettings() : {};
      return { deviceId: (t && s.deviceId) || null, type: t ? this._videoType : null, track: t || null };
    }

    getAudioSource() { return this._audioTrack || null; }

    videoWidth() { return this._video ? this._video.videoWidth || undefined : undefined; }
    videoHeight() { return this._video ? this._video.videoHeight || undefined : undefined; }
    getImgData() { return null; }
    getStyle() { return {}; }
    setStyle() { return this; }

    // --- media relay (this side offers) ---

    _onRtc(from, subscriberId, payload) {
      const key = `${from}|${subscriberId}`;
      const kind = payload && payload.kind;
      if (kind === 'subscribe') {
        this._closeLink(key);
        this._serve(from, subscriberId, payload);
      } else if (kind === 'answer') {
        const entry = this._links.get(key);
        if (entry) entry.link.setRemote(payload.sdp).catch((e) => log.warn('setRemoteDescription(answer) failed', e));
      } else if (kind === 'subCandidate') {
        const entry = this._links.get(key);
        if (entry) entry.link.addCandidate(payload.candidate);
      } else if (kind === 'prefs') {
        const entry = this._links.get(key);
        if (entry) this._applyPrefs(entry, payload);
      } else if (kind === 'unsubscribe') {
        this._closeLink(key);
      }
    }

    _serve(from, subscriberId, payload) {
      const session = this.session;
      const stream = this.stream;
      if (!session || !stream) return;
      const send = (p) => session._send({ t: 'rtc', to: from, streamId: stream.streamId, subscriberId, payload: p });
      const link = new PeerLink((candidate) => send({ kind: 'pubCandidate', candidate }));
      const entry = { link, senders: {}, from, subscriberId };
      for (const t of [this._videoTrack, this._audioTrack]) {
        if (t) entry.senders[t.kind] = link.pc.addTrack(t, this._mediaStream);
      }
      this._links.set(`${from}|${subscriberId}`, entry);
      this._applyPrefs(entry, payload);
      (async () => {
        const offer = await link.pc.createOffer();
        await link.pc.setLocalDescription(offer);
        if (!link.closed) send({ kind: 'offer', sdp: { type: link.pc.localDescription.type, sdp: link.pc.localDescription.sdp } });
      })().catch((e) => log.warn('creating the offer failed', e));
    }

    _applyPrefs(entry, prefs) {
      // A subscriber that does not want a kind gets no packets of it (replaceTrack(null)).
      const apply = (kind, want) => {
        const sender = entry.senders[kind];
        const track = kind === 'video' ? this._videoTrack : this._audioTrack;
        if (!sender || want === undefined) return;
        const next = want === false ? null : track;
        if (sender.track !== next) sender.replaceTrack(next).catch((e) => log.debug('replaceTrack failed', e));
      };
      apply('audio', prefs.audio);
      apply('video', prefs.video);
    }

    _closeLink(key) {
      const entry = this._links.get(key);
      if (!entry) return;
      this._links.delete(key);
      entry.link.close();
    }

    _closeLinksOf(connectionId) {
      for (const [key, entry] of this._links) if (entry.from === connectionId) this._closeLink(key);
    }

    _closeAllLinks() {
      for (const key of [...this._links.keys()]) this._closeLink(key);
    }

    /** Called by the session when this publisher's stream is gone. Returns true if destroyed. */
    _streamGone(reason) {
      const stream = this.stream;
      this._closeAllLinks();
      const session = this.session;
      this.stream = undefined;
      this._publishing = false;
      if (session) session._publishers.delete(this);
      this.session = undefined;
      if (!stream) return false;
      const ev = this._emit('streamDestroyed', { stream, reason }, true);
      if (!ev.isDefaultPrevented()) {
        this.destroy();
        return true;
      }
      return false;
    }

    destroy() {
      if (this._destroyed) return this;
      this._destroyed = true;
      if (this.session && this.stream) {
        // Unpublishing first: the stream goes away for everyone.
        const session = this.session;
        const stream = this.stream;
        session._publishers.delete(this);
        if (session._isConnected()) session._send({ t: 'unpublish', streamId: stream.streamId });
        session._ownStreamsGone.add(stream.streamId);
        this._closeAllLinks();
        this.stream = undefined;
        this.session = undefined;
        this._emit('streamDestroyed', { stream, reason: 'unpublished' }, true);
      } else if (this.session) {
        this.session._publishers.delete(this);
        this.session = undefined;
      }
      this._closeAllLinks();
      this._stopTracks();
      if (this._video) {
        try { this._video.pause(); } catch (e) { /* ignore */ }
        this._video.srcObject = null;
      }
      removeNode(this.element);
      this._emit('destroyed', { reason: 'destroyed' });
      return this;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Subscriber
  // ---------------------------------------------------------------------------------------

  const SUBSCRIBE_TIMEOUT_MS = 20000;
  const blockedSubscribers = new Set();

  class Subscriber extends EventEmitter {
    constructor(session, stream, target, props, callback) {
      super();
      this.id = newId('sub');
      this.stream = stream;
      this.element = undefined;
      this.session = session;
      const p = Object.assign({}, props || {});
      Object.defineProperties(this, {
        _props: { value: p },
        _target: { value: target },
        _callback: { value: callback, writable: true },
        _link: { value: null, writable: true },
        _video: { value: null, writable: true },
        _media: { value: new MediaStream() },
        _audioWanted: { value: p.subscribeToAudio !== false, writable: true },
        _videoWanted: { value: p.subscribeToVideo !== false, writable: true },
        _volume: { value: typeof p.audioVolume === 'number' ? p.audioVolume : 50, writable: true },
        _state: { value: 'connecting', writable: true }, // connecting | connected | disconnected | destroyed
        _timer: { value: null, writable: true },
        _audioBlocked: { value: false, writable: true },
      });
      const sa = this.setAudioVolume.bind(this);
      const sta = this.subscribeToAudio.bind(this);
      const stv = this.subscribeToVideo.bind(this);
      Object.defineProperty(this, 'setAudioVolume', { value: sa, writable: true });
      Object.defineProperty(this, 'subscribeToAudio', { value: sta, writable: true });
      Object.defineProperty(this, 'subscribeToVideo', { value: stv, writable: true });
      withPromise(this, 'setAudioVolume', (v) => new Promise((res) => { sa(v); res(); }));
      withPromise(this, 'subscribeToAudio', (v) => new Promise((res) => { sta(v); res(); }));
      withPromise(this, 'subscribeToVideo', (v) => new Promise((res) => { stv(v); res(); }));
    }

    _start() {
      const stream = this.stream;
      const session = this.session;
      const send = (payload) => session._send({
        t: 'rtc', to: stream.connection.connectionId, streamId: stream.streamId, subscriberId: this.id, payload,
      });
      this._send = send;
      let link;
      try {
        link = new PeerLink((candidate) => send({ kind: 'subCandidate', candidate }));
      } catch (e) {
        later(() => this._fail(otError('OT_CREATE_PEER_CONNECTION_FAILED', `RTCPeerConnection: ${e.message}`, 1501)));
        return;
      }
      this._link = link;
      link.pc.ontrack = (e) => this._onTrack(e.track);
      link.pc.onconnectionstatechange = () => this._onPcState(link.pc.connectionState);
      this._timer = setTimeout(() => {
        if (this._state === 'connecting') {
          this._fail(otError('OT_UNABLE_TO_SUBSCRIBE', `No media from stream ${stream.streamId} within ${SUBSCRIBE_TIMEOUT_MS} ms`, 1501));
        }
      }, SUBSCRIBE_TIMEOUT_MS);
      send({ kind: 'subscribe', audio: this._audioWanted, video: this._videoWanted });
    }

    _onRtc(payload) {
      if (!this._link || this._state === 'destroyed') return;
      const kind = payload && payload.kind;
      if (kind === 'offer') {
        (async () => {
          await this._link.setRemote(payload.sdp);
          const answer = await this._link.pc.createAnswer();
          await this._link.pc.setLocalDescription(answer);
          if (!this._link || this._link.closed) return;
          const d = this._link.pc.localDescription;
          this._send({ kind: 'answer', sdp: { type: d.type, sdp: d.sdp } });
        })().catch((e) => {
          if (this._state === 'connecting') {
            this._fail(otError('OT_SET_REMOTE_DESCRIPTION_FAILED', `Negotiation failed: ${e && e.message}`, 1501));
          }
        });
      } else if (kind === 'pubCandidate') {
        this._link.addCandidate(payload.candidate);
      }
    }

    _onRtcError(frame) {
      if (this._state === 'connecting') {
        this._fail(otError('OT_STREAM_NOT_FOUND', frame.message || 'The stream is not in the session', 1501));
      }
    }

    _ensureVideo() {
      if (this._video) return;
      const video = makeVideo(false);
      video.volume = Math.max(0, Math.min(1, this._volume / 100));
      video.srcObject = this._media;
      this._video = video;
      if (this._props.insertDefaultUI !== false) {
        const container = document.createElement('div');
        container.className = 'OT_root OT_subscriber';
        container.id = this.id;
        styleVideo(video, this._props.fitMode);
        container.appendChild(video);
        insertWidget(container, this._target, this._props);
        this.element = container;
      }
      this._play();
      this._emit('videoElementCreated', { element: video });
    }

    _play() {
      const video = this._video;
      if (!video) return;
      video.play().catch((e) => {
        if (this._state === 'destroyed' || !e || e.name !== 'NotAllowedError' || video.muted) return;
        // Autoplay with sound refused: play muted, as the vendor does, and say so.
        video.muted = true;
        this._audioBlocked = true;
        blockedSubscribers.add(this);
        video.play().catch(() => { /* nothing more to do */ });
        this._emit('audioBlocked');
      });
    }

    _onTrack(track) {
      if (this._state === 'destroyed') return;
      this._media.addTrack(track);
      if (track.kind === 'audio') track.enabled = this._audioWanted;
      if (track.kind === 'video') track.enabled = this._videoWanted;
      this._ensureVideo();
      this._emit('mediaStreamAvailable', { mediaStream: this._media });
    }

    _onPcState(state) {
      if (this._state === 'destroyed') return;
      if (state === 'connected') {
        if (this._state !== 'connected') {
          const first = this._callback !== undefined || this._state === 'connecting';
          this._state = 'connected';
          clearTimeout(this._timer);
          this._ensureVideo();
          this._emit('connected');
          if (first && this._callback) {
            const cb = this._callback;
            this._callback = undefined;
            safeCall(cb, undefined, [undefined], 'subscribe callback');
          }
        }
      } else if (state === 'failed' || state === 'disconnected' || state === 'closed') {
        if (this._state === 'connecting' && state === 'failed') {
          this._fail(otError('OT_ICE_WORKFLOW_FAILED', 'ICE failed: no media path to the publisher', 1501));
        } else if (this._state === 'connected') {
          this._state = 'disconnected';
          this._emit('disconnected');
        }
      }
    }

    _fail(err) {
      if (this._state === 'destroyed') return;
      const cb = this._callback;
      this._callback = undefined;
      if (cb) safeCall(cb, undefined, [err], 'subscribe callback');
      else log.error(`subscribe failed: ${err.name}: ${err.message}`);
      this._destroy('subscribeFailed', true);
    }

    /** Stops the media (the stream is gone); the element stays until `_destroy`. */
    _disconnect() {
      clearTimeout(this._timer);
      if (this._link) this._link.close();
    }

    _destroy(reason, tellPublisher) {
      if (this._state === 'destroyed') return;
      const wasConnecting = this._state === 'connecting';
      this._state = 'destroyed';
      clearTimeout(this._timer);
      blockedSubscribers.delete(this);
      if (tellPublisher && this._send && this.session && this.session._isConnected()) {
        this._send({ kind: 'unsubscribe' });
      }
      if (this._link) this._link.close();
      if (this.session) this.session._subscribers.delete(this);
      if (wasConnecting && this._callback) {
        const cb = this._callback;
        this._callback = undefined;
        safeCall(cb, undefined, [otError('OT_STREAM_DESTROYED', `The subscriber was destroyed before it connected (${reason})`, 1501)], 'subscribe callback');
      }
      if (this._video) {
        try { this._video.pause(); } catch (e) { /* ignore */ }
        this._video.srcObject = null;
      }
      for (const t of this._media.getTracks()) { try { t.stop(); } catch (e) { /* ignore */ } }
      removeNode(this.element);
      this._emit('destroyed', { reason });
    }

    setAudioVolume(value) {
      const v = Math.max(0, Math.min(100, Number(value) || 0));
      this._volume = v;
      if (this._video) this._video.volume = v / 100;
      return this;
    }

    getAudioVolume() { return this._volume; }

    subscribeToAudio(value) {
      this._audioWanted = value !== false;
      for (const t of this._media.getAudioTracks()) t.enabled = this._audioWanted;
      this._sendPrefs();
      return this;
    }

    subscribeToVideo(value) {
      const want = value !== false;
      const changed = want !== this._videoWanted;
      this._videoWanted = want;
      for (const t of this._media.getVideoTracks()) t.enabled = want;
      this._sendPrefs();
      if (changed && this.stream && this.stream.hasVideo) {
        this._emit(want ? 'videoEnabled' : 'videoDisabled', { reason: 'subscribeToVideo' });
      }
      return this;
    }

    _sendPrefs() {
      if (this._send && this._state !== 'destroyed' && this.session && this.session._isConnected()) {
        this._send({ kind: 'prefs', audio: this._audioWanted, video: this._videoWanted });
      }
    }

    isAudioBlocked() { return this._audioBlocked; }
    videoWidth() { return this._video ? this._video.videoWidth || undefined : undefined; }
    videoHeight() { return this._video ? this._video.videoHeight || undefined : undefined; }
    getImgData() { return null; }
    getStyle() { return {}; }
    setStyle() { return this; }
    restrictFrameRate() { return this; }
    setPreferredFrameRate() { return Promise.resolve(); }
    setPreferredResolution() { return Promise.resolve(); }
    getStats(cb) {
      const p = this._link ? this._link.pc.getStats().then((r) => { const o = {}; r.forEach((v, k) => { o[k] = v; }); return o; })
        : Promise.reject(otError('OT_PEER_CONNECTION_NOT_CONNECTED', 'not connected'));
      if (cb) p.then((s) => cb(undefined, s), (e) => cb(e));
      return p;
    }
    getRtcStatsReport() {
      return this._link ? this._link.pc.getStats() : Promise.reject(otError('OT_PEER_CONNECTION_NOT_CONNECTED', 'not connected'));
    }
  }

  // ---------------------------------------------------------------------------------------
  // Session
  // ---------------------------------------------------------------------------------------

  const DISCONNECT_GRACE_MS = 2000;

  class Session extends EventEmitter {
    constructor(applicationId, sessionId, options) {
      super();
      this.applicationId = applicationId;
      this.apiKey = applicationId;
      this.sessionId = sessionId;
      this.id = sessionId;
      this.connection = undefined;
      this.capabilities = { publish: 0, subscribe: 0, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 };
      this.connections = new Map();
      this.streams = new Map();
      Object.defineProperties(this, {
        _options: { value: options || {} },
        _state: { value: 'disconnected', writable: true }, // disconnected | connecting | connected | disconnecting
        _ws: { value: null, writable: true },
        _gen: { value: 0, writable: true },
        _publishers: { value: new Set() },
        _subscribers: { value: new Set() },
        _pending: { value: new Map(), writable: true }, // reqId -> handler
        _reqSeq: { value: 0, writable: true },
        _ownStreamsGone: { value: new Set() },
        _connectCb: { value: null, writable: true },
        _serverReason: { value: null, writable: true },
      });
      const c = this.connect.bind(this);
      const pub = this.publish.bind(this);
      const sub = this.subscribe.bind(this);
      Object.defineProperty(this, 'connect', { value: c, writable: true });
      Object.defineProperty(this, 'publish', { value: pub, writable: true });
      Object.defineProperty(this, 'subscribe', { value: sub, writable: true });
      withPromise(this, 'connect', (token) => new Promise((res, rej) => c(token, (e) => (e ? rej(e) : res(this)))));
      withPromise(this, 'publish', (a, b) => new Promise((res, rej) => {
        let publisher;
        const cb = (e) => (e ? rej(e) : res(publisher));
        publisher = isElementArg(a) || a === undefined || a === null || !(a instanceof Publisher) ? pub(a, b, cb) : pub(a, cb);
      }));
      withPromise(this, 'subscribe', (stream, target, props) => new Promise((res, rej) => {
        let s;
        const cb = (e) => (e ? rej(e) : res(s));
        s = sub(stream, target, props, cb);
      }));
    }

    _isConnected() { return this._state === 'connected'; }
    isConnected() { return this._state === 'connected'; }

    _send(frame) {
      const ws = this._ws;
      if (!ws || ws.readyState !== 1) return false;
      ws.send(JSON.stringify(frame));
      return true;
    }

    _request(frame, onAnswer) {
      this._reqSeq += 1;
      const reqId = this._reqSeq;
      this._pending.set(reqId, onAnswer);
      if (!this._send(Object.assign({ reqId }, frame))) {
        this._pending.delete(reqId);
        onAnswer({ t: 'error', code: 1010, name: 'OT_NOT_CONNECTED', message: 'Not connected to the session' });
      }
      return reqId;
    }

    // --- connect / disconnect ---

    connect(token, callback) {
      if (typeof token === 'function') { callback = token; token = undefined; }
      const cb = typeof callback === 'function' ? callback : null;
      const fail = (err) => later(() => {
        log.error(`connect failed: ${err.name}: ${err.message}`);
        ot._emit('exception', { code: err.code, message: err.message, title: err.name });
        if (cb) safeCall(cb, undefined, [err], 'connect callback');
      });
      if (this._state === 'connected') {
        if (cb) later(() => safeCall(cb, undefined, [undefined], 'connect callback'));
        return this;
      }
      if (this._state !== 'disconnected') {
        fail(otError('OT_CONNECT_FAILED', `Cannot connect: the session is ${this._state}`, 1006));
        return this;
      }
      if (!this.applicationId) {
        fail(otError('OT_AUTHENTICATION_ERROR', 'API Key is undefined. You must pass an API Key to initSession.', 1004));
        return this;
      }
      if (!this.sessionId || typeof this.sessionId !== 'string') {
        fail(otError('OT_INVALID_SESSION_ID', 'SessionID is undefined or not a string.', 1005));
        return this;
      }
      if (typeof token !== 'string' || !token) {
        fail(otError('OT_AUTHENTICATION_ERROR', 'Token is undefined or not a string.', 1004));
        return this;
      }
      this._gen += 1;
      const gen = this._gen;
      this._state = 'connecting';
      this._serverReason = null;
      this._connectCb = (err) => {
        this._connectCb = null;
        if (err) {
          log.error(`connect failed: ${err.name}: ${err.message}`);
          ot._emit('exception', { code: err.code, message: err.message, title: err.name });
        }
        if (cb) safeCall(cb, undefined, [err], 'connect callback');
      };
      let ws;
      try {
        ws = new WebSocket(wsUrl());
      } catch (e) {
        this._state = 'disconnected';
        this._connectCb = null;
        fail(otError('OT_CONNECT_FAILED', `Cannot open the WebSocket: ${e.message}`, 1006));
        return this;
      }
      this._ws = ws;
      ws.onopen = () => {
        if (gen !== this._gen) return;
        ws.send(JSON.stringify({ t: 'connect', sessionId: this.sessionId, token }));
      };
      ws.onmessage = (e) => {
        if (gen !== this._gen) return;
        let frame;
        try { frame = JSON.parse(e.data); } catch (err) { log.warn('unparsable frame from the sandbox'); return; }
        if (!frame || typeof frame.t !== 'string') return;
        try {
          this._onFrame(frame);
        } catch (err) {
          console.error('OT(sandbox): internal error handling a frame of type', frame.t, err);
        }
      };
      ws.onclose = (e) => {
        if (gen !== this._gen) return;
        this._onClose(e);
      };
      ws.onerror = () => { /* onclose follows */ };
      return this;
    }

    disconnect() {
      if (this._state === 'connecting') {
        const ws = this._ws;
        this._gen += 1; // ignore that socket from now on
        this._ws = null;
        this._state = 'disconnected';
        if (ws) { try { ws.close(1000); } catch (e) { /* ignore */ } }
        const cb = this._connectCb;
        if (cb) later(() => cb(otError('OT_CONNECT_FAILED', 'disconnect() was called before the session connected', 1006)));
        return Promise.resolve();
      }
      if (this._state !== 'connected') return Promise.resolve();
      this._state = 'disconnecting';
      this._send({ t: 'disconnect' });
      const ws = this._ws;
      const gen = this._gen;
      return new Promise((resolve) => {
        const finish = () => {
          if (gen !== this._gen) { resolve(); return; }
          this._teardown('clientDisconnected');
          resolve();
        };
        const timer = setTimeout(() => {
          // The server should close the socket; if it does not, close it ourselves.
          try { ws.close(1000); } catch (e) { /* ignore */ }
          finish();
        }, DISCONNECT_GRACE_MS);
        const prev = ws.onclose;
        ws.onclose = (e) => {
          clearTimeout(timer);
          ws.onclose = prev;
          finish();
        };
      });
    }

    _onClose(e) {
      const state = this._state;
      if (state === 'connecting') {
        this._state = 'disconnected';
        this._ws = null;
        const cb = this._connectCb;
        if (cb) cb(otError('OT_CONNECT_FAILED', `The sandbox closed the connection (code ${e.code}${e.reason ? `, ${e.reason}` : ''})`, 1006));
        return;
      }
      if (state === 'connected' || state === 'disconnecting') {
        this._teardown(this._serverReason || (state === 'disconnecting' ? 'clientDisconnected' : 'networkDisconnected'));
      }
    }

    /** Ends the connected session: local objects cleaned, then `sessionDisconnected` (async). */
    _teardown(reason) {
      if (this._state === 'disconnected') return;
      this._gen += 1;
      const ws = this._ws;
      this._ws = null;
      this._state = 'disconnected';
      if (ws && ws.readyState <= 1) { try { ws.close(1000); } catch (e) { /* ignore */ } }
      const pending = this._pending;
      this._pending = new Map();
      for (const [, handler] of pending) {
        safeCall(handler, undefined, [{ t: 'error', code: 1010, name: 'OT_NOT_CONNECTED', message: 'The session disconnected' }], 'pending request');
      }
      // Media stops at once; objects are destroyed after the event, as the vendor does.
      for (const s of this._subscribers) s._disconnect();
      for (const p of this._publishers) p._closeAllLinks();
      later(() => {
        const ev = this._emit('sessionDisconnected', { reason }, true);
        for (const p of [...this._publishers]) p._streamGone(reason);
        if (!ev.isDefaultPrevented()) {
          for (const s of [...this._subscribers]) s._destroy(reason, false);
        }
        if (this._state === 'disconnected') {
          // (a handler may already have called connect() again: then its state is kept)
          this.connection = undefined;
          this.connections.clear();
          this.streams.clear();
          this._ownStreamsGone.clear();
        }
      });
    }

    _onFrame(f) {
      switch (f.t) {
        case 'connected': return this._onConnected(f);
        case 'error': return this._onErrorFrame(f);
        case 'connectionCreated': {
          const c = this._conn(f.connection);
          if (c) this._emit('connectionCreated', { connection: c });
          return undefined;
        }
        case 'connectionDestroyed': {
          if (!f.connection) return undefined;
          const c = this.connections.get(f.connection.connectionId) || new Connection(f.connection);
          this.connections.delete(c.connectionId);
          for (const p of this._publishers) p._closeLinksOf(c.connectionId);
          if (this.connection && c.connectionId === this.connection.connectionId) return undefined;
          this._emit('connectionDestroyed', { connection: c, reason: f.reason || 'clientDisconnected' });
          return undefined;
        }
        case 'streamCreated': {
          const s = this._stream(f.stream);
          if (s && !this._isOwn(s)) this._emit('streamCreated', { stream: s });
          return undefined;
        }
        case 'streamDestroyed': return this._onStreamDestroyed(f);
        case 'streamPropertyChanged': return this._onStreamPropertyChanged(f);
        case 'published':
        case 'publishError':
        case 'signalAck':
        case 'signalError':
        case 'ack': return this._answer(f);
        case 'signal': return this._onSignal(f);
        case 'sessionDisconnected':
          this._serverReason = typeof f.reason === 'string' ? f.reason : 'networkDisconnected';
          this._teardown(this._serverReason);
          return undefined;
        case 'rtc': return this._onRtc(f);
        case 'rtcError': return this._onRtcError(f);
        default: return undefined; // pong and anything newer
      }
    }

    _answer(f) {
      if (f.reqId === undefined || f.reqId === null) return;
      const h = this._pending.get(f.reqId);
      if (!h) return;
      this._pending.delete(f.reqId);
      h(f);
    }

    _onErrorFrame(f) {
      if (this._state === 'connecting') {
        const err = fromWire(f, 'OT_CONNECT_FAILED', 1006);
        this._gen += 1; // the close that follows is ours to ignore
        const ws = this._ws;
        this._ws = null;
        this._state = 'disconnected';
        if (ws) { try { ws.close(1000); } catch (e) { /* ignore */ } }
        if (this._connectCb) this._connectCb(err);
        return;
      }
      if (f.reqId !== undefined && this._pending.has(f.reqId)) { this._answer(f); return; }
      log.warn(`sandbox error ${f.code} ${f.name}: ${f.message}`);
    }

    _conn(w) {
      if (!w || typeof w.connectionId !== 'string') return null;
      let c = this.connections.get(w.connectionId);
      if (!c) { c = new Connection(w); this.connections.set(c.connectionId, c); }
      return c;
    }

    _stream(w) {
      if (!w || typeof w.streamId !== 'string') return null;
      let s = this.streams.get(w.streamId);
      if (!s) {
        const c = this._conn(w.connection) || new Connection({ connectionId: '', creationTime: 0, data: '' });
        s = new Stream(w, c);
        this.streams.set(s.streamId, s);
      }
      return s;
    }

    _isOwn(stream) {
      return !!this.connection && stream.connection.connectionId === this.connection.connectionId;
    }

    _onConnected(f) {
      if (this._state !== 'connecting') return;
      this._state = 'connected';
      this.connections.clear();
      this.streams.clear();
      const own = this._conn(f.connection);
      this.connection = own;
      const role = f.role;
      this.capabilities = {
        publish: role === 'subscriber' ? 0 : 1,
        subscribe: role === 'publisheronly' ? 0 : 1,
        forceDisconnect: role === 'moderator' ? 1 : 0,
        forceUnpublish: role === 'moderator' ? 1 : 0,
        forceMute: role === 'moderator' ? 1 : 0,
      };
      const others = (Array.isArray(f.connections) ? f.connections : []).map((w) => this._conn(w)).filter(Boolean);
      const streams = (Array.isArray(f.streams) ? f.streams : []).map((w) => this._stream(w)).filter(Boolean);
      const cb = this._connectCb;
      this._connectCb = null;
      // Vendor order: sessionConnected (the connect callback is a once-listener registered at
      // connect()), then connectionCreated (own connection included), then streamCreated for
      // the streams already in the session.
      this._emit('sessionConnected', { connections: others.slice(), streams: streams.slice() });
      if (cb) cb(undefined);
      const gen = this._gen;
      for (const c of [own, ...others]) {
        if (gen !== this._gen || !c) break;
        if (this.connections.has(c.connectionId)) this._emit('connectionCreated', { connection: c });
      }
      for (const s of streams) {
        if (gen !== this._gen) break;
        if (this.streams.has(s.streamId) && !this._isOwn(s)) this._emit('streamCreated', { stream: s });
      }
    }

    _onStreamDestroyed(f) {
      const w = f.stream;
      if (!w || typeof w.streamId !== 'string') return;
      if (f.reqId !== undefined) this._answer(f);
      const stream = this.streams.get(w.streamId);
      this.streams.delete(w.streamId);
      const reason = f.reason || 'clientDisconnected';
      if (this._ownStreamsGone.has(w.streamId)) { this._ownStreamsGone.delete(w.streamId); return; }
      if (!stream) return;
      if (this._isOwn(stream)) {
        for (const p of [...this._publishers]) {
          if (p.stream && p.stream.streamId === stream.streamId) p._streamGone(reason);
        }
        return;
      }
      const subs = [...this._subscribers].filter((s) => s.stream && s.stream.streamId === stream.streamId);
      for (const s of subs) s._disconnect();
      const ev = this._emit('streamDestroyed', { stream, reason }, true);
      if (!ev.isDefaultPrevented()) {
        for (const s of subs) s._destroy(reason, false);
      }
    }

    _onStreamPropertyChanged(f) {
      const w = f.stream;
      if (!w) return;
      const stream = this.streams.get(w.streamId);
      if (!stream) return;
      const prop = f.changedProperty;
      let oldValue = f.oldValue;
      if (prop === 'hasAudio' || prop === 'hasVideo' || prop === 'videoDimensions') {
        if (oldValue === undefined) oldValue = stream[prop];
        stream[prop] = prop === 'videoDimensions'
          ? { width: Number((f.newValue || w.videoDimensions || {}).width) || 0, height: Number((f.newValue || w.videoDimensions || {}).height) || 0 }
          : (f.newValue !== undefined ? !!f.newValue : !!w[prop]);
      }
      const newValue = stream[prop] !== undefined ? stream[prop] : f.newValue;
      this._emit('streamPropertyChanged', { stream, changedProperty: prop, oldValue, newValue });
      if (prop === 'hasVideo' && oldValue !== newValue) {
        for (const s of this._subscribers) {
          if (s.stream === stream && s._videoWanted) s._emit(newValue ? 'videoEnabled' : 'videoDisabled', { reason: 'publishVideo' });
        }
      }
    }

    _onSignal(f) {
      const from = f.from && typeof f.from === 'object' && typeof f.from.connectionId === 'string'
        ? (this.connections.get(f.from.connectionId) || new Connection(f.from)) : null;
      const type = typeof f.type === 'string' ? f.type : '';
      // Vendor: one event object, type "signal:TYPE" (or "signal"), dispatched to "signal" listeners
      // first and then to "signal:TYPE" listeners.
      const ev = new OTEvent(type ? `signal:${type}` : 'signal', this, false,
        { data: typeof f.data === 'string' ? f.data : '', from });
      this._dispatch(ev, 'signal');
      if (type) this._dispatch(ev, `signal:${type}`);
    }

    _onRtc(f) {
      const payload = f.payload || {};
      const kind = payload.kind;
      if (kind === 'offer' || kind === 'pubCandidate') {
        for (const s of this._subscribers) if (s.id === f.subscriberId) s._onRtc(payload);
        return;
      }
      for (const p of this._publishers) {
        if (p.stream && p.stream.streamId === f.streamId) p._onRtc(f.from, f.subscriberId, payload);
      }
    }

    _onRtcError(f) {
      for (const s of this._subscribers) if (s.id === f.subscriberId) s._onRtcError(f);
      for (const p of this._publishers) {
        if (p.stream && p.stream.streamId === f.streamId) p._closeLink(`${f.to}|${f.subscriberId}`);
      }
    }

    // --- publish ---

    publish(a, b, c) {
      let publisher;
      let callback;
      if (a instanceof Publisher) {
        publisher = a;
        callback = typeof b === 'function' ? b : undefined;
      } else {
        // publish(targetElement?, properties?, callback?): make the publisher first
        let props = b;
        callback = c;
        if (typeof b === 'function') { callback = b; props = undefined; }
        let target = a;
        if (a && typeof a === 'object' && !isElementArg(a)) { props = a; target = undefined; }
        publisher = new Publisher(target, props);
      }
      const done = (err) => { if (callback) safeCall(callback, undefined, [err], 'publish callback'); };
      if (this._state !== 'connected') {
        later(() => done(otError('OT_NOT_CONNECTED', 'Cannot publish: the session is not connected', 1010)));
        return publisher;
      }
      if (!this.capabilities.publish) {
        later(() => done(otError('OT_PERMISSION_DENIED', 'This token does not allow publishing', 1500)));
        return publisher;
      }
      if (publisher._destroyed) {
        later(() => done(otError('OT_INVALID_PARAMETER', 'The publisher was destroyed', 1011)));
        return publisher;
      }
      if (publisher.session || publisher._publishing) {
        const same = publisher.session === this;
        later(() => done(same && publisher.stream ? undefined
          : otError('OT_INVALID_PARAMETER', 'This publisher is already publishing (one publisher publishes into one session)', 1011)));
        return publisher;
      }
      publisher._publishing = true;
      const gen = this._gen;
      publisher._ready.then((mediaErr) => {
        if (mediaErr) { publisher._publishing = false; done(mediaErr); return; }
        if (publisher._destroyed) { publisher._publishing = false; done(otError('OT_INVALID_PARAMETER', 'The publisher was destroyed', 1011)); return; }
        if (gen !== this._gen || this._state !== 'connected') {
          publisher._publishing = false;
          done(otError('OT_NOT_CONNECTED', 'The session disconnected before the stream was published', 1010));
          return;
        }
        this._request(Object.assign({ t: 'publish' }, publisher._streamProps()), (f) => {
          publisher._publishing = false;
          if (f.t === 'published' && f.stream) {
            const stream = this._stream(f.stream);
            if (publisher._destroyed) {
              // destroyed meanwhile: take the stream down again
              this._send({ t: 'unpublish', streamId: stream.streamId });
              this._ownStreamsGone.add(stream.streamId);
              done(otError('OT_INVALID_PARAMETER', 'The publisher was destroyed', 1011));
              return;
            }
            publisher.stream = stream;
            publisher.session = this;
            this._publishers.add(publisher);
            publisher._emit('streamCreated', { stream });
            done(undefined);
          } else {
            done(fromWire(f, 'OT_UNABLE_TO_PUBLISH', 1500));
          }
        });
      });
      return publisher;
    }

    unpublish(publisher) {
      if (!(publisher instanceof Publisher) || publisher.session !== this) return;
      this._unpublish(publisher, undefined);
    }

    _unpublish(publisher, reason) {
      const stream = publisher.stream;
      if (!stream) return;
      const frame = { t: 'unpublish', streamId: stream.streamId };
      if (reason) frame.reason = reason;
      this._send(frame);
      this._ownStreamsGone.add(stream.streamId);
      this.streams.delete(stream.streamId);
      publisher._streamGone(reason || 'unpublished');
    }

    getPublisherForStream(stream) {
      if (!stream) return undefined;
      for (const p of this._publishers) if (p.stream && p.stream.streamId === stream.streamId) return p;
      return undefined;
    }

    getSubscribersForStream(stream) {
      if (!stream) return [];
      return [...this._subscribers].filter((s) => s.stream && s.stream.streamId === stream.streamId);
    }

    // --- subscribe ---

    subscribe(stream, target, props, callback) {
      if (typeof target === 'function') { callback = target; target = undefined; props = undefined; }
      else if (typeof props === 'function') { callback = props; props = undefined; }
      if (target && typeof target === 'object' && !isElementArg(target)) {
        if (typeof props === 'function') callback = props;
        props = target;
        target = undefined;
      }
      const known = stream && typeof stream.streamId === 'string' ? this.streams.get(stream.streamId) : undefined;
      const sub = new Subscriber(this, known || stream, target, props, typeof callback === 'function' ? callback : undefined);
      let err = null;
      if (this._state !== 'connected') err = otError('OT_NOT_CONNECTED', 'Cannot subscribe: the session is not connected', 1010);
      else if (!this.capabilities.subscribe) err = otError('OT_PERMISSION_DENIED', 'This token does not allow subscribing', 1501);
      else if (!known) err = otError('OT_STREAM_NOT_FOUND', 'The stream is not in this session', 1501);
      if (err) {
        sub._state = 'destroyed';
        later(() => { if (sub._callback) safeCall(sub._callback, undefined, [err], 'subscribe callback'); else log.error(err.message); });
        return sub;
      }
      this._subscribers.add(sub);
      sub._start();
      return sub;
    }

    unsubscribe(subscriber) {
      if (!(subscriber instanceof Subscriber) || subscriber.session !== this) return;
      subscriber._destroy('unsubscribe', true);
    }

    // --- signals and moderation ---

    signal(opts, callback) {
      const o = opts || {};
      return new Promise((resolve, reject) => {
        const done = (err) => {
          if (callback) safeCall(callback, undefined, [err], 'signal callback');
          if (err) { if (callback) resolve(); else reject(err); } else resolve();
        };
        if (this._state !== 'connected') {
          later(() => done(otError('OT_NOT_CONNECTED', 'Unable to send signal - you are not connected to the session.', 500)));
          return;
        }
        let to = null;
        if (o.to) {
          to = typeof o.to === 'string' ? o.to : o.to.connectionId;
          if (typeof to !== 'string') { later(() => done(otError('OT_INVALID_PARAMETER', 'The "to" field must be a Connection', 400))); return; }
        }
        const frame = { t: 'signal', to, type: o.type === undefined ? '' : o.type, data: o.data === undefined ? '' : o.data };
        this._request(frame, (f) => {
          if (f.t === 'signalAck') done(undefined);
          else done(fromWire(f, 'OT_INVALID_PARAMETER', 400));
        });
      });
    }

    _moderate(frame, callback, errName, errCode) {
      return new Promise((resolve, reject) => {
        const done = (err) => {
          if (callback) safeCall(callback, undefined, [err], `${frame.t} callback`);
          if (err && !callback) reject(err); else resolve();
        };
        if (this._state !== 'connected') {
          later(() => done(otError('OT_NOT_CONNECTED', 'Not connected to the session', 1010)));
          return;
        }
        this._request(frame, (f) => (f.t === 'ack' ? done(undefined) : done(fromWire(f, errName, errCode))));
      });
    }

    forceDisconnect(connection, callback) {
      const id = connection && (connection.connectionId || (typeof connection === 'string' ? connection : undefined));
      return this._moderate({ t: 'forceDisconnect', connectionId: id }, callback, 'OT_PERMISSION_DENIED', 1520);
    }

    forceUnpublish(stream, callback) {
      const id = stream && (stream.streamId || (typeof stream === 'string' ? stream : undefined));
      return this._moderate({ t: 'forceUnpublish', streamId: id }, callback, 'OT_PERMISSION_DENIED', 1530);
    }

    setIceConfig() { return Promise.resolve(); }
    setEncryptionSecret() { return Promise.reject(otError('OT_NOT_SUPPORTED', 'Encryption is not supported by the sandbox')); }
  }

  // ---------------------------------------------------------------------------------------
  // OT
  // ---------------------------------------------------------------------------------------

  class OTNamespace extends EventEmitter {}
  const ot = new OTNamespace();
  const sessions = new Map();

  ot.version = VERSION;
  ot.Session = Session;
  ot.Publisher = Publisher;
  ot.Subscriber = Subscriber;
  ot.Stream = Stream;
  ot.Connection = Connection;
  ot.Event = OTEvent;

  ot.initSession = function initSession(applicationId, sessionId, options) {
    const key = String(sessionId);
    let s = sessions.get(key);
    if (!s) {
      s = new Session(applicationId == null ? applicationId : String(applicationId), sessionId, options);
      sessions.set(key, s);
    }
    return s;
  };

  ot.initPublisher = function initPublisher(targetElement, properties, completionHandler) {
    let target = targetElement;
    let props = properties;
    let cb = completionHandler;
    if (typeof target === 'function') { cb = target; target = undefined; props = undefined; }
    else if (typeof props === 'function') { cb = props; props = undefined; }
    if (target && typeof target === 'object' && !isElementArg(target)) {
      if (typeof props === 'function') cb = props;
      props = target;
      target = undefined;
    }
    return new Publisher(target, props, typeof cb === 'function' ? cb : undefined);
  };
  ot.initPublisher.promise = (target, props) => new Promise((res, rej) => {
    let p;
    const cb = (e) => (e ? rej(e) : res(p));
    p = ot.initPublisher(target, props, cb);
  });

  ot.getUserMedia = function getUserMedia(props) {
    const p = props || {};
    const video = sourceSpec(p.videoSource, 'video');
    const audio = sourceSpec(p.audioSource, 'audio');
    const res = resolutionOf(p);
    return navigator.mediaDevices.getUserMedia({
      video: video && video.constraints ? Object.assign({ width: res.width, height: res.height }, video.constraints) : false,
      audio: audio && audio.constraints ? (Object.keys(audio.constraints).length ? audio.constraints : true) : false,
    });
  };

  ot.getDevices = function getDevices(callback) {
    navigator.mediaDevices.enumerateDevices().then((list) => {
      const devices = list.filter((d) => d.kind === 'videoinput' || d.kind === 'audioinput')
        .map((d) => ({ kind: d.kind, deviceId: d.deviceId, label: d.label }));
      safeCall(callback, undefined, [undefined, devices], 'getDevices callback');
    }, (e) => safeCall(callback, undefined, [otError('OT_NOT_SUPPORTED', e.message), undefined], 'getDevices callback'));
  };

  ot.checkSystemRequirements = () => (typeof RTCPeerConnection === 'function' && typeof WebSocket === 'function' ? 1 : 0);
  ot.upgradeSystemRequirements = () => {};
  ot.setLogLevel = (level) => { logLevel = Number(level) || 0; };
  ot.getLogLevel = () => logLevel;
  Object.assign(ot, { NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 });
  ot.log = (...a) => { if (logLevel >= LOG.LOG) console.log('OT(sandbox):', ...a); };
  ot.debug = (...a) => log.debug(...a);
  ot.setProxyUrl = () => {};
  ot.hasMediaProcessorSupport = () => false;
  ot.hasEndToEndEncryptionSupport = () => false;
  ot.reportIssue = (cb) => {
    const err = otError('OT_REPORT_ISSUE_FAILED', 'The sandbox does not report issues');
    if (cb) later(() => safeCall(cb, undefined, [err], 'reportIssue callback'));
    return Promise.reject(err);
  };
  ot.unblockAudio = () => {
    for (const s of [...blockedSubscribers]) {
      blockedSubscribers.delete(s);
      if (s._video) { s._video.muted = false; s._video.play().catch(() => {}); }
      s._audioBlocked = false;
      s._emit('audioUnblocked');
    }
    return Promise.resolve(undefined);
  };

  // Non-vendor diagnostics, for the sandbox's own tests only.
  Object.defineProperty(ot, '__sandbox', {
    enumerable: false,
    value: {
      get baseUrl() { return baseUrl; },
      set baseUrl(v) { baseUrl = v; },
      wsUrl,
      sessions,
    },
  });

  if (currentScript) {
    // Loaded as a classic script.
    globalThis.OT = ot;
  } else {
    // Loaded as a module (by opentok.mjs): hand the instance over; also the global, if free.
    globalThis[MODULE_KEY] = ot;
    if (typeof globalThis.OT === 'undefined') globalThis.OT = ot;
  }
})();
