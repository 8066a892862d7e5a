// Type test: the public API as an app uses it. Compiles with `tsc --noEmit`; every
// `@ts-expect-error` line proves that a wrong use is refused.
import { join, HandoffError } from "video-handoff";
import type {
  CallStats,
  HandoffCall,
  HandoffErrorCode,
  HandoffEvents,
  JoinOptions,
  LeaveCause,
  MoveOptions,
  OTLike,
  Participant,
  RejectCode,
} from "video-handoff";

declare const OT: OTLike;

async function app(grid: HTMLElement): Promise<void> {
  const call: HandoffCall = await join({
    OT,
    applicationId: "app",
    sessionId: "2_MX4",
    token: "T",
    tokenProvider: async (sid: string) => `token-for-${sid}`,
    resolveSession: (old) => (old === "x" ? null : { sessionId: "2_MX5" }),
    participantKey: (c) => c.data,
    maxOverlapMs: 10_000,
    publisher: false,
    sessionMigration: true,
    signal: AbortSignal.timeout(10_000),
    on: { participantJoined: ({ participant }) => grid.append(participant.element) },
  });
  call.on("participantSwapped", (e) => {
    const gap: number | null = e.frameGapMs;
    void gap;
  });
  call.on("sessionMigrated", ({ sessionId, frameGapMs }) => {
    const id: string = sessionId;
    const gap: number | null = frameGapMs;
    void [id, gap];
  });
  call.on("handoffFailed", ({ error, willRetry }) => {
    const code: string = error.code;
    const isError: Error = error;
    void [code, isError, willRetry];
  });
  call.on("announceFailed", ({ sessionId, error }) => {
    const known: HandoffErrorCode = error.code;
    void [sessionId, known];
  });
  call.on("signalRejected", ({ reason, field, message }) => {
    const code: RejectCode = reason;
    if (reason === "wrongType") void field?.length;
    // @ts-expect-error: not a rejection reason
    if (reason === "wrongTipe") void message;
    void code;
  });
  call.on("recoveryStarted", ({ reason }) => {
    // @ts-expect-error: not a disconnect reason
    if (reason === "rotation") void reason;
  });
  call.on("stateChanged", function (e) {
    // Handlers are called with the call as `this`.
    if (e.state === "live") this.moveTo("2_MX7");
    // @ts-expect-error: not a call state
    if (e.state === "connected") void e;
  });
  call.on("subscribeFailed", ({ key, streamId, error }) => void [key ?? "unknown", streamId, error.message]);
  call.on("handoffCompleted", ({ largestFrameGapMs, endedBy }) => {
    const cause: LeaveCause = endedBy;
    // @ts-expect-error: endedBy is a closed set
    const other: "timeout" = endedBy;
    void [largestFrameGapMs, cause, other];
  });
  call.on("sessionEnded", ({ reason }) => void reason);
  const people: readonly Participant[] = call.participants;
  people.forEach((p) => grid.append(p.element));
  const stats: CallStats = call.stats();
  stats.tiles.forEach((t) => void t.lastSwapFrameGapMs);
  call.moveTo("2_MX6", { token: "T6" });
  const move: MoveOptions = { token: "T7", reason: "breakout", deadline: Date.now() + 60_000, spreadMs: 500, id: "m1" };
  call.moveTo("2_MX7", move);
  // @ts-expect-error: spreadMs is a number of ms
  call.moveTo("2_MX8", { spreadMs: "soon" });
  await call.close();

  try {
    await join({ OT, applicationId: "a", sessionId: "s" });
  } catch (e) {
    if (e instanceof HandoffError && e.code === "invalidOptions") console.log(e.message);
  }

  // @ts-expect-error: OT is required
  await join({ applicationId: "a", sessionId: "s" });
  // @ts-expect-error: an object that is not an OT client
  await join({ OT: {}, applicationId: "a", sessionId: "s" });
  // @ts-expect-error: no such event
  call.on("participantMoved", () => {});
  // @ts-expect-error: the payload of participantLeft has no participant
  call.on("participantLeft", (e) => e.participant);
  // @ts-expect-error: tokenProvider takes a session ID and gives a token
  await join({ OT, applicationId: "a", sessionId: "s", tokenProvider: (n: number) => n });
  // @ts-expect-error: participants are read-only
  call.participants.push(people[0]);
  // @ts-expect-error: an unknown error code
  new HandoffError("oops", "no such code");
}

const options: JoinOptions = { OT, applicationId: "a", sessionId: "s", token: "t" };
type Swap = HandoffEvents["participantSwapped"];
const swap: Swap = { type: "participantSwapped", key: "k", from: "a", to: "b", frameGapMs: 67 };
void [app, options, swap];
