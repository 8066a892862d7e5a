// What the shell's browser tests assume of the vendor's `OT` object, as checks that run in a
// page against a given OT and a given "world" (who else is in the session, what the server
// does). `conformance.test.mjs` runs them twice: against the real @vonage/client-sdk-video
// connected to the sandbox, and against the in-page double (ot_double.js). Every check must
// hold in both, and where a check records an order of events the double's must equal the
// real client's: a double that drifts from the vendor fails here, not in a user's call.
//
// world (all async): session() -> sessionId; token(sid, data); tokenFor(otherSid) (a token for
// another session); unknownSession(); remotePublishes(sid, name) -> streamId (a participant
// who joins and publishes a camera); serverSignal(sid, type, data); destroy(sid) (rotation).

const settle = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = fn();
    if (v) return v;
    await settle(20);
  }
  throw new Error(`timed out: ${what}`);
}

/** The shape of an error the vendor hands to a callback. */
function errorShape(e) {
  if (!e) return null;
  return { isError: e instanceof Error, name: e.name, code: e.code };
}

export async function conformance({ OT, appId, world }) {
  const checks = [];
  const orders = {};
  const check = (name, ok, detail) => checks.push({ name, ok: Boolean(ok), detail: detail === undefined ? '' : JSON.stringify(detail) });

  // initSession: one cached Session per session ID, whatever the arguments.
  const sid = await world.session();
  const s1 = OT.initSession(appId, sid);
  check('initSession returns the cached Session for the same ID', OT.initSession(appId, sid) === s1);
  const other = await world.session();
  check('initSession returns another Session for another ID', OT.initSession(appId, other) !== s1);

  // Connect errors: Error objects with the vendor's name and numeric code.
  const refused = (session, token) => new Promise((resolve) => session.connect(token, (err) => resolve(errorShape(err))));
  const auth = await refused(OT.initSession(appId, other), await world.tokenFor(sid));
  check('a token for another session: an Error named OT_AUTHENTICATION_ERROR, code 1004', auth?.isError && auth.name === 'OT_AUTHENTICATION_ERROR' && auth.code === 1004, auth);
  const unknown = await world.unknownSession();
  const invalid = await refused(OT.initSession(appId, unknown), await world.token(unknown, 'x'));
  check('an unknown session: an Error named OT_INVALID_SESSION_ID, code 1005', invalid?.isError && invalid.name === 'OT_INVALID_SESSION_ID' && invalid.code === 1005, invalid);

  // A remote participant is there before we connect; the order of what connecting fires.
  const remoteStream = await world.remotePublishes(sid, 'remote');
  const order = [];
  const seen = { streams: [], signals: [] };
  s1.on({
    sessionConnected: () => order.push('sessionConnected'),
    connectionCreated: (e) => order.push(e.connection.connectionId === s1.connection?.connectionId ? 'connectionCreated(own)' : 'connectionCreated(other)'),
    streamCreated: (e) => {
      order.push('streamCreated');
      seen.streams.push(e.stream);
    },
  });
  const token = await world.token(sid, 'me');
  const connectErr = await new Promise((resolve) => s1.connect(token, (e) => {
    order.push('callback');
    resolve(e);
  }));
  check('connect succeeds with a good token', !connectErr, errorShape(connectErr));
  await until(() => seen.streams.length > 0, 'the remote stream announced');
  await settle(300);
  orders.connect = order.slice();
  check('connect: sessionConnected fires before the callback', order.indexOf('sessionConnected') < order.indexOf('callback'), order);
  check('connect: the remote participant and its stream are announced', order.includes('connectionCreated(other)') && order.includes('streamCreated'), order);
  const stream = seen.streams.find((s) => s.streamId === remoteStream) ?? seen.streams[0];
  check('a Stream carries its connection and hasVideo', stream?.connection?.connectionId && stream.hasVideo === true);

  // Subscribing with insertDefaultUI: false: a <video> handed out, not in the document.
  const subOrder = [];
  let element = null;
  const sub = s1.subscribe(stream, undefined, { insertDefaultUI: false, subscribeToAudio: false, audioVolume: 0 }, (e) => {
    subOrder.push(e ? `callback(${e.name})` : 'callback');
  });
  sub.on('videoElementCreated', (e) => {
    subOrder.push('videoElementCreated');
    element = e.element;
  });
  await until(() => element && subOrder.includes('callback'), 'the subscriber completed');
  orders.subscribe = subOrder.slice();
  check('videoElementCreated hands out an HTMLVideoElement outside the document', element instanceof HTMLVideoElement && !element.isConnected);
  check('the subscriber has no element of its own (insertDefaultUI: false)', sub.element === undefined || sub.element === null, typeof sub.element);
  sub.setAudioVolume(100);
  check('setAudioVolume(100) after subscribing without audio reads back 100', sub.getAudioVolume() === 100, sub.getAudioVolume());

  // Signals from the app server (REST): `signal:<type>` and `signal`, from === null.
  const signals = [];
  s1.on('signal', (e) => signals.push({ via: 'signal', type: e.type, from: e.from, data: e.data }));
  s1.on('signal:conformance', (e) => signals.push({ via: 'signal:conformance', type: e.type, from: e.from, data: e.data }));
  await world.serverSignal(sid, 'conformance', 'from the server');
  await until(() => signals.length >= 2, 'the server signal');
  orders.signal = signals.map((s) => s.via);
  check('a server signal arrives with from === null', signals.every((s) => s.from === null), signals);
  check('a server signal carries its type (signal:<type>, on both listeners) and data', signals.every((s) => s.type === 'signal:conformance' && s.data === 'from the server'), signals);

  // A handler that throws: the vendor runs an event's handlers in one EventEmitter emit
  // inside one try/catch, so the handlers after it do not run for that event.
  const throwOrder = [];
  s1.on('signal:throwing', () => {
    throwOrder.push('first');
    throw new Error('an app handler that throws, on purpose');
  });
  s1.on('signal:throwing', () => throwOrder.push('second'));
  await world.serverSignal(sid, 'throwing', 'x');
  await until(() => throwOrder.length > 0, 'the throwing handler ran');
  await settle(200);
  orders.throwing = throwOrder.slice();

  // A client signal completes its callback.
  const sent = await new Promise((resolve) => s1.signal({ type: 'conformance', data: 'x' }, (e) => resolve(errorShape(e))));
  check('session.signal completes with no error when connected', sent === null, sent);

  // A publisher on given MediaStreamTracks, insertDefaultUI: false.
  const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const [videoTrack, audioTrack] = [media.getVideoTracks()[0].clone(), media.getAudioTracks()[0].clone()];
  let pubElement = null;
  const pubOrder = [];
  const publisher = OT.initPublisher(undefined, { insertDefaultUI: false, videoSource: videoTrack, audioSource: audioTrack, name: 'me' }, (e) => pubOrder.push(e ? `initCallback(${e.name})` : 'initCallback'));
  publisher.on('videoElementCreated', (e) => {
    pubOrder.push('videoElementCreated');
    pubElement = e.element;
  });
  publisher.on('streamCreated', () => pubOrder.push('streamCreated'));
  const pubErr = await new Promise((resolve) => s1.publish(publisher, (e) => {
    pubOrder.push('publishCallback');
    resolve(e);
  }));
  check('publish succeeds', !pubErr, errorShape(pubErr));
  await until(() => pubOrder.includes('streamCreated'), 'the publisher streamCreated');
  check('the publisher has no element of its own (insertDefaultUI: false)', publisher.element === undefined || publisher.element === null);
  check('the published stream is the own connection\'s', publisher.stream?.connection?.connectionId === s1.connection.connectionId);
  orders.publish = pubOrder.filter((x) => x !== 'videoElementCreated'); // the double has no local preview element
  check('a publisher hands its <video> out (or the double, which has none)', pubElement === null || pubElement instanceof HTMLVideoElement);

  // The server ends the session (rotation): sessionDisconnected with the reason; the session's
  // subscribers and publisher are destroyed, and the publisher stops the tracks it was given.
  const endOrder = [];
  sub.on('destroyed', () => endOrder.push('subscriberDestroyed'));
  publisher.on('destroyed', () => endOrder.push('publisherDestroyed'));
  let reason = null;
  s1.on('sessionDisconnected', (e) => {
    endOrder.push('sessionDisconnected');
    reason = e.reason;
  });
  await world.destroy(sid);
  await until(() => reason !== null, 'sessionDisconnected');
  await settle(300);
  check('a rotation ends the session with reason serverRotation', reason === 'serverRotation', reason);
  check('the subscriber is destroyed with its session', endOrder.includes('subscriberDestroyed'), endOrder);
  check('the publisher is destroyed with its session', endOrder.includes('publisherDestroyed'), endOrder);
  check('a destroyed publisher stops the tracks it was given', videoTrack.readyState === 'ended' && audioTrack.readyState === 'ended', [videoTrack.readyState, audioTrack.readyState]);
  check('the session has no connection once disconnected', !s1.connection, typeof s1.connection);
  orders.end = endOrder.slice();

  // Signalling after the session ended fails with OT_NOT_CONNECTED.
  const late = await new Promise((resolve) => s1.signal({ type: 'conformance', data: 'x' }, (e) => resolve(errorShape(e))));
  check('session.signal when not connected: OT_NOT_CONNECTED', late?.name === 'OT_NOT_CONNECTED', late);
  for (const t of media.getTracks()) t.stop();
  return { checks, orders };
}
