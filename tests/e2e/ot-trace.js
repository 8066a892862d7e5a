// Injected into every e2e page before its scripts (addInitScript): records, with the page's
// epoch clock, what the page asked of the vendor's client and what the client reported, so a
// handoff's time can be split into phases without trusting the SDK's own account (the harness
// prints it: `phaseTimeline` in report.mjs). It wraps the `OT` object the moment the vendor's
// script defines it; the wrappers only record, then call through unchanged.
//
// window.__otTrace: [{ at, what, session, ...detail }], what is one of
//   connect, connected, connectFailed, disconnect, disconnected, publish, published,
//   subscribe, subscribed, videoElement, unsubscribe, unpublish, signalSent, signalReceived,
//   and the live counts (the handoff's extra media work, issue 13): `live` with { kind, n }
//   each time the number of live subscribers, publishers or media peer connections changes.
//   A media peer connection is one that reached `connected` and is not yet closed or failed:
//   the vendor's client also makes short-lived probe connections that never carry media.
//   And `pc` with { id, ev } for each peer connection's steps (new, local/remote description
//   with its type, gathered, the connection states, track), probes included: where a
//   subscription's seconds go (the publisher's offer, each side's ICE gathering, DTLS).
(() => {
  const trace = [];
  window.__otTrace = trace;
  const MAX = 5000;
  const record = (what, session, detail = {}) => {
    if (trace.length < MAX) trace.push({ at: Date.now(), what, session, ...detail });
  };
  const wrapped = new WeakSet();
  const live = { subscribers: 0, publishers: 0, pcs: 0 };
  const count = (kind, d) => {
    live[kind] += d;
    record('live', null, { kind, n: live[kind] });
  };
  // Counted once up and once down, whichever of destroyed/closed/failed comes first.
  const counted = (kind) => {
    let state = 0; // 0 not yet counted, 1 counted, 2 done
    return { up: () => state === 0 && ((state = 1), count(kind, 1)), down: () => state === 1 && ((state = 2), count(kind, -1)) };
  };

  const NativePC = window.RTCPeerConnection;
  if (typeof NativePC === 'function') {
    let pcs = 0;
    const TracedPC = function (...args) {
      const pc = new NativePC(...args);
      const c = counted('pcs');
      // Each connection's negotiation steps, to split a subscribe's time (phaseTimeline).
      const id = ++pcs;
      const step = (ev, more = {}) => record('pc', null, { id, ev, ...more });
      step('new');
      for (const name of ['setLocalDescription', 'setRemoteDescription']) {
        const orig = pc[name];
        pc[name] = function (desc, ...rest) {
          step(name === 'setLocalDescription' ? 'local' : 'remote', { type: desc?.type });
          return orig.call(this, desc, ...rest);
        };
      }
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && step('gathered'));
      pc.addEventListener('track', () => step('track'));
      pc.addEventListener('connectionstatechange', () => {
        step(pc.connectionState);
        if (pc.connectionState === 'connected') c.up();
        else if (pc.connectionState === 'closed' || pc.connectionState === 'failed') c.down();
      });
      const close = pc.close;
      pc.close = function () {
        c.down(); // close() fires no connectionstatechange
        return close.call(this);
      };
      return pc;
    };
    TracedPC.prototype = NativePC.prototype;
    Object.setPrototypeOf(TracedPC, NativePC); // static methods (generateCertificate)
    window.RTCPeerConnection = TracedPC;
  }

  function wrapSession(session, sid) {
    if (wrapped.has(session)) return;
    wrapped.add(session);
    const call = (name, before, wrapArgs) => {
      const orig = session[name];
      if (typeof orig !== 'function') return;
      session[name] = function (...args) {
        before?.(args);
        return orig.apply(this, wrapArgs ? wrapArgs(args) : args);
      };
    };
    const lastCallback = (args, ok, fail) => {
      const i = args.length - 1;
      if (typeof args[i] === 'function') {
        const cb = args[i];
        args[i] = function (err, ...rest) {
          if (err) fail?.(err);
          else ok?.(...rest);
          return cb.call(this, err, ...rest);
        };
      }
      return args;
    };
    call('connect', () => record('connect', sid), (args) =>
      lastCallback(args, () => record('connected', sid), (e) => record('connectFailed', sid, { code: e.code })));
    call('disconnect', () => record('disconnect', sid));
    call('publish', () => record('publish', sid), (args) => lastCallback(args, () => record('published', sid)));
    call('unpublish', () => record('unpublish', sid));
    call('unsubscribe', () => record('unsubscribe', sid));
    call('signal', (args) => record('signalSent', sid, { type: args[0]?.type }));
    const subscribe = session.subscribe;
    session.subscribe = function (stream, ...rest) {
      const streamId = stream?.streamId;
      record('subscribe', sid, { stream: streamId });
      lastCallback(rest, () => record('subscribed', sid, { stream: streamId }));
      const sub = subscribe.call(this, stream, ...rest);
      sub?.on?.('videoElementCreated', () => record('videoElement', sid, { stream: streamId }));
      const c = counted('subscribers');
      c.up();
      sub?.on?.('destroyed', c.down);
      return sub;
    };
    session.on('signal', (e) => record('signalReceived', sid, { type: e.type.replace(/^signal:/, ''), fromServer: e.from === null }));
    session.on('sessionDisconnected', (e) => record('disconnected', sid, { reason: e.reason }));
  }

  function instrument(OT) {
    if (!OT || typeof OT.initSession !== 'function' || wrapped.has(OT)) return;
    wrapped.add(OT);
    const initPublisher = OT.initPublisher;
    OT.initPublisher = function (...args) {
      const pub = initPublisher.apply(this, args);
      const c = counted('publishers');
      c.up();
      pub?.on?.('destroyed', c.down);
      return pub;
    };
    const initSession = OT.initSession;
    OT.initSession = function (apiKey, sid, ...rest) {
      const session = initSession.call(this, apiKey, sid, ...rest);
      try {
        wrapSession(session, sid);
      } catch {
        // a trace that cannot attach is a missing figure, never a broken page
      }
      return session;
    };
  }

  let real;
  Object.defineProperty(window, 'OT', {
    configurable: true,
    enumerable: true,
    get: () => real,
    set: (v) => {
      real = v;
      instrument(v);
    },
  });
})();
