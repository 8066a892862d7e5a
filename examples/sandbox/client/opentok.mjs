// video-handoff sandbox: the OT-compatible client as an ES module.
//   import OT from 'http://127.0.0.1:PORT/v2/js/opentok.mjs';
// The client itself is ./opentok.js (one source); this module loads it for its side effect and
// points it at the sandbox this module came from.
import './opentok.js';

const OT = globalThis[Symbol.for('video-handoff-sandbox.OT')];
OT.__sandbox.baseUrl = import.meta.url;

export default OT;
export { OT };
