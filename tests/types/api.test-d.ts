// Type test: the public API as an app uses it. Compiles with `tsc --noEmit`; every
// `@ts-expect-error` line proves that a wrong use is refused.
import { join, HandoffError } from "video-handoff";
import type { HandoffCall, HandoffErrorCode, HandoffEvents, JoinOptions, OTLike, Participant, CallStats } from "video-handoff";

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
    signal: AbortSignal.timeout(10_000),
    on: { participantJoined: ({ participant }) => grid.append(participant.element) },
  });
  call.on("participantSwapped", (e) => {
    const gap: number | null = e.frameGapMs;
    void gap;
  });
  call.on("handoffFailed", ({ error, willRetry }) => {
    const code: string = error.code;
    const isError: Error = error;
    void [code, isError, willRetry];
  });
  call.on("announceFailed", ({ sessionId, error }) => {
    const known: HandoffErrorCode | (string & {}) = error.code;
    void [sessionId, known];
  });
  call.on("subscribeFailed", ({ key, streamId, error }) => void [key ?? "unknown", streamId, error.message]);
  call.on("handoffCompleted", ({ largestFrameGapMs, endedBy }) => void [largestFrameGapMs, endedBy]);
  call.on("sessionEnded", ({ reason }) => void reason);
  const people: readonly Participant[] = call.participants;
  people.forEach((p) => grid.append(p.element));
  const stats: CallStats = call.stats();
  stats.tiles.forEach((t) => void t.lastSwapFrameGapMs);
  call.moveTo("2_MX6", { token: "T6" });
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
}

const options: JoinOptions = { OT, applicationId: "a", sessionId: "s", token: "t" };
type Swap = HandoffEvents["participantSwapped"];
const swap: Swap = { key: "k", from: "a", to: "b", frameGapMs: 67 };
void [app, options, swap];
