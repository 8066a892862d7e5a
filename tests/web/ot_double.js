// An in-page test double of the vendor's OT client, with a "server" side the tests drive.
// A double is for the unit tests of the shell only: the end-to-end tests use a real client,
// and a conformance test holds the assumptions below to the real @vonage/client-sdk-video.
//
// Remote streams are real MediaStreams (a canvas captured at 30 fps); everything the
// "network" does is delivered through `setTimeout(0)` in FIFO order.

/**
 * Every assumption this double makes about the vendor's `OT` (the real client's behaviour it
 * copies), in one place. Change the code below and this list together: the conformance test
 * checks each entry against the real client.
 */
export const ASSUMPTIONS = Object.freeze({
  initSessionCache:
    'OT.initSession(appId, sessionId) returns the same Session object for the same session ID, handlers included; the appId is not checked there',
  connectOrder:
    'session.connect(token, cb) completes later: sessionConnected, then cb(undefined), then connectionCreated for the own connection, then for every other one, then streamCreated for the streams of others',
  connectError:
    'a failed connect calls cb(err), err an Error with the vendor\'s name and numeric code: OT_AUTHENTICATION_ERROR 1004 (a token for another session), OT_INVALID_SESSION_ID 1005 (a session that does not or no longer exists), OT_CONNECT_FAILED 1006',
  completionErrors:
    'completion callbacks of publish, subscribe and signal get undefined on success, an Error with name and code on failure (OT_NOT_CONNECTED 1010, OT_STREAM_NOT_FOUND 1501); subscribe\'s callback comes before the Subscriber\'s videoElementCreated',
  signalFrom: 'a signal sent by the app server (REST) arrives with from === null; a client signal with from = its Connection',
  signalEvents: 'a signal fires signal and then signal:<type>, both with { type: "signal:<type>", data, from }',
  disconnectReason:
    'sessionDisconnected carries reason (clientDisconnected, forceDisconnected, networkDisconnected, serverRotation); the session\'s publisher is destroyed before it fires, its subscribers after it',
  disconnectAsync: 'session.disconnect() fires sessionDisconnected later, not inside the call',
  insertDefaultUI:
    'with insertDefaultUI: false a Subscriber fires videoElementCreated with { element: <video> } (not in the DOM), and OT.initPublisher takes no target element',
  trackSources:
    'OT.initPublisher takes MediaStreamTracks as videoSource/audioSource, does not clone them, and stops them when the publisher is destroyed',
  ownStream: "the Publisher fires streamCreated once session.publish made its stream live, before publish's callback",
  emitters:
    'Session, Publisher and Subscriber have on(name, fn) and off(name, fn), and on({ name: fn }); a handler that throws is caught (counted here) and the later handlers of that event are not called',
});

let worldCount = 0;

class Emitter {
  constructor(world) {
    this._world = world;
    this._handlers = new Map();
    world._emitters.add(this);
  }
  on(name, fn, context) {
    // The vendor also takes a map of handlers: on({ eventName: fn }, context).
    if (name !== null && typeof name === 'object') {
      for (const [n, f] of Object.entries(name)) this.on(n, f, fn);
      return this;
    }
    if (typeof name !== 'string' || typeof fn !== 'function') throw new TypeError('on(name, fn)');
    if (!this._handlers.has(name)) this._handlers.set(name, []);
    this._handlers.get(name).push({ fn, context });
    return this;
  }
  off(name, fn, context) {
    if (name !== null && typeof name === 'object') {
      for (const [n, f] of Object.entries(name)) this.off(n, f, fn);
      return this;
    }
    const list = this._handlers.get(name);
    if (!list) return this;
    const i = list.findIndex((h) => h.fn === fn && h.context === context);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this._handlers.delete(name);
    return this;
  }
  _emit(name, event) {
    const list = (this._handlers.get(name) || []).slice();
    event.type ??= name; // a signal keeps `signal:<type>` on the generic `signal` listeners too
    event.target = this;
    // As the vendor's (one emit in one try/catch): a handler that throws stops the ones after
    // it for this event. We count it; the tests assert none happened.
    try {
      for (const h of list) h.fn.call(h.context, event);
    } catch (e) {
      this._world.handlerErrors.push(e);
    }
  }
  _listenerCount() {
    let n = 0;
    for (const list of this._handlers.values()) n += list.length;
    return n;
  }
}

// The vendor's errors: Error objects with its name and numeric code.
const OT_CODES = {
  OT_AUTHENTICATION_ERROR: 1004,
  OT_INVALID_SESSION_ID: 1005,
  OT_CONNECT_FAILED: 1006,
  OT_NOT_CONNECTED: 1010,
  OT_RATE_LIMIT_EXCEEDED: 1018,
  OT_STREAM_NOT_FOUND: 1501,
};

function otError(name, message, code = OT_CODES[name]) {
  return Object.assign(new Error(message), { name, code });
}

class Connection {
  constructor(id, data, fields = {}) {
    this.connectionId = id;
    this.data = data;
    this.creationTime = Date.now();
    // A test may give any field a value of the wrong type (a vendor that breaks its typings).
    Object.assign(this, fields);
  }
}

// Media of one remote stream: a small canvas drawn at 30 fps, captured at 30 fps.
export class Media {
  constructor(world, label) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = 64;
    this.canvas.height = 48;
    this.ctx = this.canvas.getContext('2d');
    this.label = label;
    this.n = 0;
    this.stream = this.canvas.captureStream(30);
    world._media.add(this);
    this.draw();
  }
  draw() {
    this.n++;
    this.ctx.fillStyle = `hsl(${(this.n * 7) % 360} 70% 50%)`;
    this.ctx.fillRect(0, 0, 64, 48);
    this.ctx.fillStyle = '#fff';
    this.ctx.fillText(String(this.n), 4, 24);
  }
  stop(world) {
    for (const t of this.stream.getTracks()) t.stop();
    world._media.delete(this);
  }
}

class Stream {
  constructor(world, session, connection, { hasVideo = true, hasAudio = true, name = '', fields = {} } = {}) {
    this.streamId = `st-${++world._ids}`;
    this.connection = connection;
    this.hasVideo = hasVideo;
    this.hasAudio = hasAudio;
    this.name = name;
    this.creationTime = Date.now();
    this.videoType = hasVideo ? 'camera' : undefined;
    this._session = session;
    this._media = hasVideo ? new Media(world, this.streamId) : null;
    Object.assign(this, fields);
  }
}

class Subscriber extends Emitter {
  constructor(world, session, stream, props) {
    super(world);
    this.id = `sub-${++world._ids}`;
    this.stream = stream;
    this.session = session;
    this.element = undefined;
    this._volume = typeof props.audioVolume === 'number' ? props.audioVolume : 50;
    this._video = null;
    this._destroyed = false;
    world._subscribers.add(this);
  }
  setAudioVolume(v) {
    this._volume = v;
    if (this._video) this._video.volume = Math.max(0, Math.min(1, v / 100));
    return this;
  }
  getAudioVolume() {
    return this._volume;
  }
  _start() {
    if (this._destroyed) return;
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.volume = Math.max(0, Math.min(1, this._volume / 100));
    if (this.stream._media) {
      video.srcObject = new MediaStream(this.stream._media.stream.getVideoTracks().map((t) => t.clone()));
    }
    video.play().catch(() => {});
    this._video = video;
    this._emit('videoElementCreated', { element: video });
  }
  _destroy(reason) {
    if (this._destroyed) return;
    this._destroyed = true;
    const video = this._video;
    if (video) {
      if (video.srcObject) for (const t of video.srcObject.getTracks()) t.stop();
      video.srcObject = null;
      video.remove();
    }
    this._world._subscribers.delete(this);
    this._emit('destroyed', { reason });
    this._world._emitters.delete(this);
  }
}

class Publisher extends Emitter {
  constructor(world, props) {
    super(world);
    this.id = `pub-${++world._ids}`;
    this.session = undefined;
    this.stream = undefined;
    this._tracks = [props.videoSource, props.audioSource].filter((t) => t instanceof MediaStreamTrack);
    for (const t of this._tracks) {
      if (world._publishedTracks.has(t)) world.misuses.push('two publishers share one MediaStreamTrack');
      world._publishedTracks.add(t);
    }
    this._destroyed = false;
    world._publishers.add(this);
  }
  destroy() {
    if (this._destroyed) return this;
    this._destroyed = true;
    if (this.session) this.session._unpublishQuietly(this);
    for (const t of this._tracks) {
      t.stop();
      this._world._publishedTracks.delete(t);
    }
    this._world._publishers.delete(this);
    this._emit('destroyed', {});
    this._world._emitters.delete(this);
    return this;
  }
}

class Session extends Emitter {
  constructor(world, appId, sessionId) {
    super(world);
    this.sessionId = sessionId;
    this.applicationId = appId;
    this.connection = undefined;
    this._subscribers = new Set();
    this._publisher = null;
  }
  connect(token, completion) {
    const world = this._world;
    if (typeof token !== 'string') throw new TypeError('connect(token, callback)');
    world.calls.push(['connect', this.sessionId, token]);
    // A connect always completes, as the vendor's does (its own timeouts end it): one still
    // pending when the world is disposed fails then (see `dispose`).
    const callback = (err) => {
      if (world._connecting.delete(callback)) completion(err);
    };
    world._connecting.add(callback);
    world._later(() => {
      const server = world._sessionState(this.sessionId);
      const fail = world._failConnects.get(this.sessionId);
      // As the platform: a session that does not (or no longer) exist, then a token that is
      // not for this session, then the test's injected failures.
      if (server.destroyed || world._unknown.has(this.sessionId)) {
        callback(otError('OT_INVALID_SESSION_ID', 'Invalid session ID'));
        return;
      }
      const forSession = world._tokens.get(token);
      if (forSession !== undefined && forSession !== this.sessionId) {
        callback(otError('OT_AUTHENTICATION_ERROR', 'Invalid token'));
        return;
      }
      if (fail > 0) {
        world._failConnects.set(this.sessionId, fail - 1);
        callback(otError('OT_CONNECT_FAILED', 'connect failed'));
        return;
      }
      const me = new Connection(`c-local-${++world._ids}`, world.localData);
      this.connection = me;
      server.clients.add(this);
      server.connections.set(me.connectionId, me);
      this._emit('sessionConnected', {});
      callback(undefined);
      // As the vendor's: the own connection first, then the others'.
      this._emit('connectionCreated', { connection: me });
      for (const c of server.connections.values()) {
        if (c !== me) this._emit('connectionCreated', { connection: c });
      }
      for (const s of server.streams.values()) this._emit('streamCreated', { stream: s });
    });
    return this;
  }
  disconnect() {
    const world = this._world;
    world.calls.push(['disconnect', this.sessionId]);
    if (!this.connection) return Promise.resolve();
    this._drop('clientDisconnected');
    return Promise.resolve();
  }
  _drop(reason) {
    const world = this._world;
    const server = world._sessionState(this.sessionId);
    const me = this.connection;
    server.clients.delete(this);
    if (me) server.connections.delete(me.connectionId);
    // As the vendor's: the publisher is destroyed first, then sessionDisconnected fires, and
    // the subscribers are destroyed after it.
    if (this._publisher) {
      const p = this._publisher;
      this._unpublishQuietly(p);
      p.destroy();
    }
    this.connection = undefined;
    const subs = [...this._subscribers];
    this._subscribers.clear();
    world._later(() => {
      this._emit('sessionDisconnected', { reason });
      for (const sub of subs) sub._destroy('sessionDisconnected');
    });
  }
  publish(publisher, callback) {
    const world = this._world;
    if (!(publisher instanceof Publisher)) throw new TypeError('publish(publisher)');
    world._later(() => {
      if (!this.connection) {
        callback && callback(otError('OT_NOT_CONNECTED', 'not connected'));
        return;
      }
      if (publisher._destroyed) return;
      const server = world._sessionState(this.sessionId);
      const stream = new Stream(world, this, this.connection, { name: 'local' });
      stream._media && stream._media.stop(world); // our own stream's media is the publisher's
      stream._media = null;
      publisher.stream = stream;
      publisher.session = this;
      this._publisher = publisher;
      server.streams.set(stream.streamId, stream);
      publisher._emit('streamCreated', { stream });
      callback && callback(undefined);
    });
    return publisher;
  }
  _unpublishQuietly(publisher) {
    if (this._publisher !== publisher) return;
    const server = this._world._sessionState(this.sessionId);
    if (publisher.stream) server.streams.delete(publisher.stream.streamId);
    this._publisher = null;
    publisher.session = undefined;
  }
  unpublish(publisher) {
    this._unpublishQuietly(publisher);
    publisher.destroy();
  }
  subscribe(stream, target, props, callback) {
    const world = this._world;
    if (!(stream instanceof Stream)) throw new TypeError('subscribe(stream, ...)');
    if (target !== undefined) world.misuses.push('subscribe with a target element');
    if (!props || props.insertDefaultUI !== false) world.misuses.push('subscribe without insertDefaultUI: false');
    const sub = new Subscriber(world, this, stream, props || {});
    this._subscribers.add(sub);
    world._later(() => {
      if (sub._destroyed) return;
      const server = world._sessionState(this.sessionId);
      if (!server.streams.has(stream.streamId) || world._failSubscribes.has(this.sessionId)) {
        callback && callback(otError('OT_STREAM_NOT_FOUND', 'stream gone'));
        return;
      }
      // As the vendor's: the callback first, then videoElementCreated.
      callback && callback(undefined);
      sub._start();
    });
    return sub;
  }
  unsubscribe(sub) {
    this._subscribers.delete(sub);
    sub._destroy('Unsubscribe') // the vendor's reason, capitalized;
  }
  /** Recorded (`calls`), completed like the vendor's: callback later, error when not connected. */
  signal(opts, callback) {
    const world = this._world;
    world.calls.push(['signal', this.sessionId, opts && opts.type, opts && opts.data]);
    const failing = world._failSignals.has(this.sessionId);
    world._later(() => {
      if (!callback) return;
      if (!this.connection) callback(otError('OT_NOT_CONNECTED', 'not connected'));
      else if (failing) callback(otError('OT_RATE_LIMIT_EXCEEDED', 'signal refused'));
      else callback(undefined);
    });
    return Promise.resolve();
  }
}

/** A fresh fake platform: `world.OT` for the SDK, the rest for the test. */
export class World {
  constructor() {
    this.id = ++worldCount;
    this._ids = 0;
    this._emitters = new Set();
    this._subscribers = new Set();
    this._publishers = new Set();
    this._publishedTracks = new Set();
    this._media = new Set();
    this._sessions = new Map(); // client-side Session objects by ID
    this._server = new Map(); // server-side state by session ID
    this._failConnects = new Map();
    this._failSignals = new Set();
    this._tokens = new Map(); // token -> the session it was made for (see `token`)
    this._unknown = new Set(); // session IDs the platform never created
    this._failSubscribes = new Set();
    this._pending = new Set();
    this._connecting = new Set(); // completions of connects still under way
    this.localData = 'me';
    this.calls = [];
    this.misuses = [];
    this.handlerErrors = [];
    const world = this;
    this.OT = {
      initSession(appId, sessionId) {
        if (typeof appId !== 'string' || typeof sessionId !== 'string') throw new TypeError('initSession(appId, sessionId)');
        let s = world._sessions.get(sessionId);
        if (!s) {
          s = new Session(world, appId, sessionId);
          world._sessions.set(sessionId, s);
        }
        return s;
      },
      initPublisher(target, props, callback) {
        if (target !== undefined) world.misuses.push('initPublisher with a target element');
        const p = new Publisher(world, props || {});
        world._later(() => callback && callback(undefined));
        return p;
      },
    };
    this._timer = setInterval(() => {
      for (const m of this._media) m.draw();
    }, 1000 / 30);
  }

  _later(fn) {
    const id = setTimeout(() => {
      this._pending.delete(id);
      fn();
    }, 0);
    this._pending.add(id);
  }

  _sessionState(sid) {
    let s = this._server.get(sid);
    if (!s) {
      s = { connections: new Map(), streams: new Map(), clients: new Set(), destroyed: false };
      this._server.set(sid, s);
    }
    return s;
  }

  _toClients(sid, fn) {
    this._later(() => {
      for (const c of this._sessionState(sid).clients) fn(c);
    });
  }

  // ---- server side ----

  /**
   * A remote participant (token data `key`) connects to `sid`; returns its connection.
   * `fields` overrides the Connection's fields (e.g. a connectionId of the wrong type).
   */
  join(key, sid, fields) {
    const server = this._sessionState(sid);
    const c = new Connection(`c-${key}-${++this._ids}`, key, fields);
    server.connections.set(c.connectionId, c);
    this._toClients(sid, (client) => client._emit('connectionCreated', { connection: c }));
    return c;
  }

  /**
   * The participant behind `connection` publishes a camera stream into `sid` (`options`:
   * hasVideo, hasAudio, name, and `fields` to override the Stream's fields).
   */
  publish(connection, sid, options) {
    const server = this._sessionState(sid);
    const stream = new Stream(this, null, connection, options);
    server.streams.set(stream.streamId, stream);
    this._toClients(sid, (client) => client._emit('streamCreated', { stream }));
    return stream;
  }

  unpublish(stream, sid) {
    const server = this._sessionState(sid);
    if (!server.streams.delete(stream.streamId)) return;
    this._toClients(sid, (client) => {
      for (const sub of [...client._subscribers]) {
        if (sub.stream === stream) {
          client._subscribers.delete(sub);
          sub._destroy('streamDestroyed');
        }
      }
      client._emit('streamDestroyed', { stream, reason: 'clientDisconnected' });
    });
    this._later(() => stream._media && stream._media.stop(this));
  }

  /** The participant leaves `sid` (its streams there end first). */
  leave(connection, sid) {
    const server = this._sessionState(sid);
    for (const s of [...server.streams.values()]) if (s.connection === connection) this.unpublish(s, sid);
    server.connections.delete(connection.connectionId);
    this._toClients(sid, (client) => client._emit('connectionDestroyed', { connection, reason: 'clientDisconnected' }));
  }

  /** A signal to everyone in `sid`; `from` null: sent by the app server through REST. */
  signal(sid, type, data, from = null) {
    this._toClients(sid, (client) => {
      // As the vendor's: the generic listeners first; both see the type `signal:<type>`.
      const event = { type: `signal:${type}`, data, from };
      client._emit('signal', { ...event });
      client._emit(`signal:${type}`, { ...event });
    });
  }

  /** The platform destroys `sid`: every client is dropped with `reason`. */
  destroy(sid, reason = 'serverRotation') {
    const server = this._sessionState(sid);
    server.destroyed = true;
    for (const client of [...server.clients]) client._drop(reason);
    for (const s of server.streams.values()) s._media && s._media.stop(this);
    server.streams.clear();
  }

  failConnects(sid, n) {
    this._failConnects.set(sid, n);
  }

  /** A token for `sid` (connect with it elsewhere: OT_AUTHENTICATION_ERROR). Any other
   * string is accepted as a token, as the shell tests' tokens are. */
  token(sid, data = '') {
    const token = `token-${++this._ids}-${data}`;
    this._tokens.set(token, sid);
    return token;
  }

  /** A session ID the platform never created (connect: OT_INVALID_SESSION_ID). */
  unknownSessionId() {
    const sid = `2_MXunknown${++this._ids}`;
    this._unknown.add(sid);
    return sid;
  }

  /** Subscribing in `sid` fails (the completion callback gets an error). */
  failSubscribes(sid) {
    this._failSubscribes.add(sid);
  }

  /** Signals sent by clients into `sid` fail (their completion callback gets an error). */
  failSignals(sid) {
    this._failSignals.add(sid);
  }

  // ---- figures ----

  listenerCount() {
    let n = 0;
    for (const e of this._emitters) n += e._listenerCount();
    return n;
  }
  subscriberCount() {
    return this._subscribers.size;
  }
  publisherCount() {
    return this._publishers.size;
  }
  /** Remote canvases still drawing. */
  mediaCount() {
    return this._media.size;
  }
  liveClientSessions() {
    let n = 0;
    for (const s of this._server.values()) n += s.clients.size;
    return n;
  }

  /** Ends the world: stops timers and every canvas. */
  dispose() {
    clearInterval(this._timer);
    for (const id of this._pending) clearTimeout(id);
    for (const done of [...this._connecting]) done(otError('OT_CONNECT_FAILED', 'the test world was disposed'));
    for (const m of [...this._media]) m.stop(this);
  }
}
