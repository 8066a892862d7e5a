// Public API of the `video-handoff` npm package.
//
// `join()` connects to a Vonage Video (OpenTok) session through the `OT` object the app passes
// in, and from then on moves the call to any session the app server names in a `handoff` signal
// (or the app names with `moveTo`) "make before break": joined alongside, swapped per participant
// once the new stream renders, the old session left last. The app's tile elements never change.

/** The part of the vendor's `OT` namespace the SDK uses (the real `typeof OT` fits). */
export interface OTLike {
  initSession(applicationId: string, sessionId: string, options?: object): unknown;
  initPublisher(
    targetElement?: HTMLElement | string,
    properties?: object,
    callback?: (error?: { name: string; message: string }) => void,
  ): unknown;
}

/** A remote connection as the SDK sees it (used to derive a participant's key). */
export interface ConnectionInfo {
  connectionId: string;
  /** The token's `data` (e.g. a user id). */
  data: string;
}

export interface LocalMediaOptions {
  /** Camera track to publish; each session's publisher gets its own `clone()`. */
  videoSource?: MediaStreamTrack | null;
  /** Microphone track to publish; each session's publisher gets its own `clone()`. */
  audioSource?: MediaStreamTrack | null;
  /** Display name of the local stream. */
  name?: string;
}

export interface JoinOptions {
  /** The vendor's `OT` (`@vonage/client-sdk-video`, `@opentok/client`) or the sandbox's. */
  OT: OTLike;
  /** Application ID (API key) passed to `OT.initSession`. */
  applicationId: string;
  /** The session to join first. */
  sessionId: string;
  /** Token for `sessionId`; without it `tokenProvider` is asked. */
  token?: string;
  /** Gives a token for a session the app server moved the call to, when its signal has none. */
  tokenProvider?: (sessionId: string) => string | Promise<string>;
  /**
   * Asked for the replacement when the live session is destroyed by a server rotation and no
   * handoff signal arrived. Return `null` to rejoin the same session ID.
   */
  resolveSession?: (
    oldSessionId: string,
  ) => { sessionId: string; token?: string } | null | Promise<{ sessionId: string; token?: string } | null>;
  /** Identifies a participant across sessions. Default: the connection's `data`. */
  participantKey?: (connection: ConnectionInfo) => string;
  /**
   * Signal type of handoff requests. Default `"handoff"`. Clients also send each other
   * `"<signalType>-moved"` in the new session (see `groupMode`).
   */
  signalType?: string;
  /** Longest overlap of old and new session, in ms. Default 30000. */
  maxOverlapMs?: number;
  /**
   * Stay in the old session until all its participants appear in the new one and each has
   * said (signal `"<signalType>-moved"`) that it shows everyone from there, so nobody still
   * watching this client's old stream sees it freeze. Default true.
   */
  groupMode?: boolean;
  /** A connect attempt not done by then counts as failed, in ms. Default 15000. */
  connectTimeoutMs?: number;
  /**
   * Local media to publish. Omitted: the SDK asks `getUserMedia` for camera and microphone and
   * stops those tracks on `close()`. `false`: publish nothing (watch only).
   */
  publisher?: LocalMediaOptions | false;
  /** Closes the call when aborted (before it is live: `join()` rejects with code `aborted`). */
  signal?: AbortSignal;
  /**
   * Handlers registered before anything happens, so that no event is missed (e.g. the
   * `participantJoined` of people already in the session). Same as `call.on(type, handler)`.
   */
  on?: { [K in keyof HandoffEvents]?: (event: HandoffEvents[K]) => void };
}

export type CallState = "idle" | "connecting" | "live" | "handoff" | "recovering" | "closed";

export interface Participant {
  /** Stable across handoffs. */
  readonly key: string;
  /**
   * The participant's tile: the same element for the whole call. The SDK puts the subscribers'
   * `<video>` elements inside it and swaps which one is shown; the app only places and sizes
   * the tile (and removes it on `participantLeft`).
   *
   * DOM contract: `<div class="video-handoff-tile" data-participant="KEY">` (set with
   * `setAttribute`, never as HTML), `position: relative`. Its `<video>` elements are stacked
   * (`position: absolute`, filling the tile, `object-fit: cover`); the one shown has
   * `data-active="true"`, is on top and is the only unmuted one; the others have
   * `data-active="false"`, are muted and keep rendering underneath until swapped in.
   */
  readonly element: HTMLElement;
}

/** Errors the SDK raises or reports carry a stable `code`. */
export class HandoffError extends Error {
  readonly name: "HandoffError";
  /**
   * Reported in `handoffFailed`: `connectFailed`, `connectTimeout`, `noToken`,
   * `tokenProviderFailed`, `resolveFailed`, `publishFailed`. When the signal's deadline leaves
   * no time for another attempt, the last attempt's error comes with `willRetry: false`.
   * Reported in `subscribeFailed`: `subscribeFailed`; in `announceFailed`: `announceFailed`.
   * Thrown or rejected: `invalidOptions`, `invalidArgument`, `mediaFailed` (getUserMedia),
   * `aborted`, `closed`, `sessionEnded`, `wasmLoadFailed`.
   */
  readonly code: HandoffErrorCode | (string & {});
  constructor(code: string, message: string, options?: ErrorOptions);
}

export type HandoffErrorCode =
  | "connectFailed"
  | "connectTimeout"
  | "noToken"
  | "tokenProviderFailed"
  | "resolveFailed"
  | "publishFailed"
  | "subscribeFailed"
  | "announceFailed"
  | "invalidOptions"
  | "invalidArgument"
  | "mediaFailed"
  | "aborted"
  | "closed"
  | "sessionEnded"
  | "wasmLoadFailed";

export interface HandoffEvents {
  stateChanged: { state: CallState };
  handoffStarted: { from: string; to: string; reason: string | null; id: string | null };
  participantSwapped: {
    key: string;
    from: string;
    to: string;
    /** Largest gap between presented frames in this tile around the swap, in ms. */
    frameGapMs: number | null;
  };
  handoffCompleted: {
    from: string;
    to: string;
    durationMs: number;
    overlapMs: number;
    /** `allMoved`, `maxOverlap`, `deadline` or `oldSessionLost`. */
    endedBy: string;
    /** Largest frame gap of any tile during this handoff, in ms. */
    largestFrameGapMs: number | null;
  };
  handoffFailed: { to: string; error: HandoffError; willRetry: boolean; nextAttemptAt: number | null };
  /**
   * A remote stream could not be subscribed to (error code `subscribeFailed`, the vendor's
   * error in its message). The participant stays shown from the other session if they have a
   * stream there; `key` is null when the stream's connection is not known yet.
   */
  subscribeFailed: { key: string | null; sessionId: string; streamId: string; error: HandoffError };
  /**
   * Telling the peers in the new session that this client shows them all from there failed
   * (error code `announceFailed`). The move goes on; peers that are still in the old session
   * keep publishing there for this client until their overlap bound (`maxOverlapMs`).
   */
  announceFailed: { sessionId: string; error: HandoffError };
  recoveryStarted: { sessionId: string; reason: string };
  /**
   * The call ended without `close()`: this client was force-disconnected, or its session was
   * disconnected outside the SDK. `stateChanged` `closed` follows.
   */
  sessionEnded: { sessionId: string; reason: string };
  /** `reason` is a stable code: `notFromServer`, `notJson`, `unsupportedVersion`, ... */
  signalRejected: { reason: string; message: string };
  participantJoined: { participant: Participant };
  participantLeft: { key: string };
}

export interface TileStats {
  key: string;
  framesPresented: number;
  /** Largest gap between presented frames since the tile was created, in ms. */
  largestFrameGapMs: number | null;
  /** Gap measured around this tile's latest swap, in ms. */
  lastSwapFrameGapMs: number | null;
}

export interface CallStats {
  state: CallState;
  sessionId: string | null;
  handoffsCompleted: number;
  tiles: TileStats[];
}

export interface HandoffCall {
  readonly state: CallState;
  /** The live session's ID. */
  readonly sessionId: string | null;
  /** The remote participants, in join order. */
  readonly participants: readonly Participant[];
  /**
   * The local preview tile (stable across handoffs): `<div class="video-handoff-tile
   * video-handoff-local" data-local="true">` with a muted `<video>` of the local camera
   * (empty with `publisher: false`).
   */
  readonly localElement: HTMLElement;
  /** Throws a `HandoffError` (`invalidArgument`) for an unknown event type. */
  on<K extends keyof HandoffEvents>(type: K, handler: (event: HandoffEvents[K]) => void): this;
  off<K extends keyof HandoffEvents>(type: K, handler: (event: HandoffEvents[K]) => void): this;
  /**
   * App-driven move (breakout rooms, region moves): same machinery as a handoff signal.
   * Throws a `HandoffError` (`invalidOptions` for an empty ID, `closed` after `close()`).
   */
  moveTo(sessionId: string, options?: { token?: string; reason?: string }): void;
  stats(): CallStats;
  /** Leaves every session, removes every listener and element the SDK made. */
  close(): Promise<void>;
}

/**
 * Joins `options.sessionId`; resolves once live (rejects with a `HandoffError`: invalid
 * options, camera/microphone refused, the connect failing without retry, aborted).
 *
 * @example
 * ```js
 * import { join } from 'video-handoff';
 * import OT from '@vonage/client-sdk-video';
 *
 * const call = await join({
 *   OT, applicationId, sessionId, token,
 *   tokenProvider: (sid) => fetch(`/token?session=${sid}`).then((r) => r.text()),
 *   on: { participantJoined: ({ participant }) => grid.append(participant.element) },
 * });
 * call.on('participantLeft', ({ key }) => grid.querySelector(`[data-participant="${CSS.escape(key)}"]`)?.remove());
 * selfView.append(call.localElement);
 * ```
 */
export function join(options: JoinOptions): Promise<HandoffCall>;
