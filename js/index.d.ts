// Public API of the `video-handoff` npm package.
//
// `join()` connects to a Vonage Video (OpenTok) session through the `OT` object the app passes
// in, and from then on moves the call to any session the app server names in a `handoff` signal
// (or the app names with `moveTo`) "make before break": joined alongside, swapped per participant
// once the new stream renders, the old session left last. The app's tile elements never change.
//
// The options, the events and their payloads, the stats and the error codes are declared once,
// in Rust (src/web/contract), and their types are generated into pkg/video_handoff.d.ts (tsify);
// this file re-exports them and adds what js/index.js itself defines.

import type {
  AppEvent,
  CallOptions,
  CallState,
  CallStats,
  DisconnectReason,
  HandoffErrorCode,
  LeaveCause,
  LocalMedia,
  MoveFields,
  Participant,
  RejectCode,
  TileStats,
} from "../pkg/video_handoff.js";

export type {
  AppEvent,
  CallOptions,
  CallState,
  CallStats,
  DisconnectReason,
  HandoffErrorCode,
  LeaveCause,
  LocalMedia,
  MoveFields,
  Participant,
  RejectCode,
  TileStats,
};

/** The part of the vendor's `OT` namespace the SDK uses (the real `typeof OT` fits). */
export interface OTLike {
  initSession(applicationId: string, sessionId: string, options?: object): unknown;
  initPublisher(
    targetElement?: HTMLElement | string,
    properties?: object,
    callback?: (error?: { name: string; message: string }) => void,
  ): unknown;
}

/** A remote connection as the SDK sees it (what `participantKey` receives: the vendor's). */
export interface ConnectionInfo {
  connectionId: string;
  /** The token's `data` (e.g. a user id). */
  data: string;
}

/** Every event by its `type`: `HandoffEvents["participantSwapped"]` is that event's object. */
export type HandoffEvents = { [E in AppEvent as E["type"]]: E };

/** The local media to publish: the tracks, or `false` to publish nothing (watch only). */
export type LocalMediaOptions = LocalMedia;

export interface JoinOptions extends CallOptions {
  /** Closes the call when aborted (before it is live: `join()` rejects with code `aborted`). */
  signal?: AbortSignal;
  /**
   * Passed to `OT.initSession` (client 2.30+): at a server rotation the vendor's client then
   * moves itself within the same session ID (20 s of double media), and the call reports
   * `sessionMigrated` with the largest frame gap during it. Handoff signals are obeyed as
   * ever. Default false. A boolean (else `join()` rejects with `invalidOptions`).
   */
  sessionMigration?: boolean;
  /**
   * Handlers registered before anything happens, so that no event is missed (e.g. the
   * `participantJoined` of people already in the session). Same as `call.on(type, handler)`.
   */
  on?: { [K in keyof HandoffEvents]?: (event: HandoffEvents[K]) => void };
}

/**
 * What `moveTo` accepts besides the session: what a handoff signal says, checked the same way
 * (`reason`, `id` are echoed in `handoffStarted`; `deadline` bounds the retries; `spreadMs`
 * delays the connect by a random time below it).
 */
export type MoveOptions = Omit<MoveFields, "v" | "sessionId">;

/** Errors the SDK raises or reports: an `Error` with `name` "HandoffError" and a stable `code`. */
export class HandoffError extends Error {
  readonly name: "HandoffError";
  /**
   * Reported in `handoffFailed`: `connectFailed` (the vendor's words and code in the message,
   * e.g. `OT_INVALID_SESSION_ID` 1005), `connectTimeout`, `noToken`, `tokenProviderFailed`,
   * `resolveFailed`, `hookTimeout` (a hook did not answer within `hookTimeoutMs`),
   * `publishFailed`. With `willRetry: false`, `stopped` says why there is no next attempt:
   * `permanent` (1004, 1005, 1026, no token, or a hook that threw an error with
   * `permanent: true`), `maxAttempts`, `maxDuration` or `deadline`; the last attempt's error
   * says why it failed.
   * Reported in `subscribeFailed`: `subscribeFailed`; in `announceFailed`: `announceFailed`.
   * Thrown or rejected: `invalidOptions`, `invalidArgument`, `mediaFailed` (getUserMedia),
   * `aborted`, `closed`, `sessionEnded`, `wasmLoadFailed`, `unsupportedEnvironment` (no
   * document, e.g. in a worker), `internal` (a bug of the SDK).
   */
  readonly code: HandoffErrorCode;
  constructor(code: HandoffErrorCode, message: string, options?: ErrorOptions);
}

export interface HandoffCall {
  /** The state of the last `stateChanged` delivered to the handlers (never ahead of them). */
  readonly state: CallState;
  /** The live session's ID. */
  readonly sessionId: string | null;
  /** The remote participants, in join order (each the same frozen object for the whole call). */
  readonly participants: readonly Participant[];
  /**
   * The local preview tile (stable across handoffs): `<div class="video-handoff-tile
   * video-handoff-local" data-local="true">` with a muted `<video>` of the local camera
   * (empty with `publisher: false`).
   */
  readonly localElement: HTMLElement;
  /**
   * Handlers are called with the call as `this`, in the order the events happened, also when
   * a handler calls back into the call. Throws a `HandoffError` (`invalidArgument`) for an
   * unknown event type.
   */
  on<K extends keyof HandoffEvents>(type: K, handler: (this: HandoffCall, event: HandoffEvents[K]) => void): this;
  off<K extends keyof HandoffEvents>(type: K, handler: (this: HandoffCall, event: HandoffEvents[K]) => void): this;
  /**
   * App-driven move (breakout rooms, region moves): same machinery and checks as a handoff
   * signal. Throws a `HandoffError` (`invalidArgument` for a request the checks refuse,
   * `closed` after `close()`).
   */
  moveTo(sessionId: string, options?: MoveOptions): void;
  stats(): CallStats;
  /**
   * Leaves every session, removes every listener and element the SDK made, and lets go of the
   * app's handlers and hooks. Resolves once `stateChanged` `closed` has been delivered; may be
   * called from anywhere, inside handlers and hooks included.
   */
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
