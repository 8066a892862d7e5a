// The scenario both test pages run (plain ESM page and Vite build), through the public API of
// the installed package only: invalid options, join, a handoff with two participants, close.
// The result lands in `window.__result` (or `window.__error`).

import { join, HandoffError } from 'video-handoff';
import { World } from './ot_double.js';
import { handoffSignal, localMedia, waitFor as until } from './helpers.js';

async function run() {
  const out = {};
  try {
    await join({ applicationId: 'a', sessionId: 's' });
  } catch (e) {
    out.invalid = {
      isError: e instanceof Error,
      isHandoffError: e instanceof HandoffError,
      name: e.name,
      code: e.code,
      message: e.message,
    };
  }

  const world = new World();
  for (const key of ['alice', 'bob']) world.publish(world.join(key, 's1'), 's1');
  const grid = document.body.appendChild(document.createElement('div'));
  const joined = [];
  const media = localMedia();
  const call = await join({
    OT: world.OT,
    applicationId: 'app',
    sessionId: 's1',
    token: 't1',
    publisher: media,
    on: {
      participantJoined: ({ participant }) => {
        joined.push(participant);
        grid.append(participant.element);
      },
    },
  });
  out.stateAfterJoin = call.state;
  await until(() => grid.querySelectorAll('video[data-active="true"]').length === 2);
  await until(() => [...grid.querySelectorAll('video[data-active="true"]')].every((v) => v.readyState >= 2));
  const before = call.participants.map((p) => p.element);

  const swaps = [];
  call.on('participantSwapped', (e) => swaps.push(e));
  const completed = new Promise((resolve) => call.on('handoffCompleted', resolve));
  const moved = ['alice', 'bob'].map((key) => {
    const connection = world.join(key, 's2');
    world.publish(connection, 's2');
    return connection;
  });
  world.signal('s1', 'handoff', handoffSignal('s2', 't2'));
  // The peers say, in s2, that they show everyone from there (as the SDK does): until then
  // they may still watch us in s1, and the call stays there.
  await until(() => swaps.length === 2);
  for (const connection of moved) world.signal('s2', 'handoff-moved', 's1', connection);
  const done = await completed;

  out.sessionId = call.sessionId;
  out.participants = call.participants.map((p) => p.key);
  out.sameParticipantObjects = call.participants.every((p, i) => p === joined[i]);
  out.sameElements = call.participants.every((p, i) => p.element === before[i]);
  out.swaps = swaps.map((s) => ({ key: s.key, from: s.from, to: s.to, frameGapMs: s.frameGapMs }));
  out.completed = done;
  out.stats = call.stats();
  out.localPreview = call.localElement.querySelectorAll('video').length;
  try {
    call.moveTo('');
  } catch (e) {
    out.moveToEmpty = { isHandoffError: e instanceof HandoffError, code: e.code };
  }
  await call.close();
  out.stateAfterClose = call.state;
  out.listenersAfterClose = world.listenerCount();
  out.subscribersAfterClose = world.subscriberCount();
  out.videosAfterClose = document.querySelectorAll('video').length;
  world.dispose();
  media.stop();
  return out;
}

run().then(
  (r) => (window.__result = r),
  (e) => (window.__error = String((e && e.stack) || e)),
);
