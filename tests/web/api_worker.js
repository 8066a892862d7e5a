// A dedicated worker (no document) that calls `join()` and posts back what it threw.
import { join, HandoffError } from '../../js/index.js';

const OT = { initSession() {}, initPublisher() {} };
try {
  await join({ OT, applicationId: 'app', sessionId: 's1', token: 't1', publisher: false });
  postMessage({ joined: true });
} catch (e) {
  postMessage({ name: e?.name, code: e?.code, message: e?.message, isHandoffError: e instanceof HandoffError });
}
