/**
 * A session's sealed state through one request (`affinity.handoff`, core/session/sealed-state.ts).
 *
 * Request side: the state cookie never reaches an origin (forward-headers.ts strips it with the
 * worker's other cookies). An attempt to an origin other than the one that sealed the state — the
 * session moved: failover, disable, removal, `repin`, rebalancing — carries the opened state as
 * `Affinity-Handoff-State` and the sealing origin as `Affinity-Handoff-From`. Whether an attempt needs
 * it is known from the cookie's clear fields; the cookie is opened (one AES-GCM decryption) only then.
 *
 * Response side (`settleState`): what the answering origin's `Affinity-State` asks for — seal a new
 * value, `;clear` — or, with none, a handed-over state re-sealed for the origin that now holds the
 * session, so that it is handed over once; a state cookie that cannot be the session's is removed.
 * The outcome says which tag the session's token carries from now on, and whether it changed.
 */
import type { AffinityConfig } from '../core/config/config-schema';
import {
  IV_BYTES,
  MAX_STATE_BYTES,
  openState,
  readStateWord,
  sealState,
  stateTag,
  type StateCookie,
  type StateKey,
  type StateOpening,
} from '../core/session/sealed-state';
import { logEvent } from '../log';
import { clearedStateCookieHeader, stateCookieHeader } from './affinity-cookie';
import type { KeyPair } from '../signing-keys';

export const STATE_HEADER = 'affinity-state';
export const HANDOFF_STATE_HEADER = 'affinity-handoff-state';
export const HANDOFF_FROM_HEADER = 'affinity-handoff-from';

export interface SessionStateSources {
  /** The state cookie's clear fields; undefined without one. */
  cookie: StateCookie | undefined;
  /** Whether the request carried a state cookie at all (one without the form of a state included). */
  present: boolean;
  sessionId: string;
  /** The tag the session's authentic token carries; undefined without one. */
  tag: string | undefined;
  affinity: AffinityConfig;
  nowSeconds: number;
  keys: () => Promise<KeyPair<StateKey>>;
}

export class SessionState {
  #opening?: Promise<StateOpening | undefined>;
  /** The origin id the state was handed to in this request, once an attempt carried it. */
  handedTo?: string;

  constructor(readonly sources: SessionStateSources) {}

  /**
   * Whether the session carries a state its token names, young enough to open (the clear fields only:
   * nothing opened). A state is re-sealed whenever the session's token is, so an active session's
   * state is never older than `ttl`.
   */
  get carried(): boolean {
    const { cookie, tag, nowSeconds, affinity } = this.sources;
    return cookie !== undefined && tag !== undefined && nowSeconds - cookie.issuedAt <= affinity.ttl;
  }

  /** The origin that sealed the state, if the session carries one. */
  get originId(): string | undefined {
    return this.carried ? this.sources.cookie!.originId : undefined;
  }

  /** The handoff headers for an attempt to `originId`: none when the state is that origin's, or none opens. */
  async handoffFor(originId: string): Promise<[string, string][] | undefined> {
    const from = this.originId;
    if (from === undefined || from === originId) return undefined;
    const opened = await this.open();
    if (!opened?.ok) return undefined;
    this.handedTo = originId;
    return [
      [HANDOFF_STATE_HEADER, opened.value],
      [HANDOFF_FROM_HEADER, from],
    ];
  }

  /** Opens the state cookie, once per request. */
  open(): Promise<StateOpening | undefined> {
    const { cookie, tag, sessionId, affinity, nowSeconds } = this.sources;
    if (!cookie) return Promise.resolve(undefined);
    this.#opening ??= this.sources
      .keys()
      .then((keys) =>
        openState(
          cookie,
          { cookie: affinity.cookie, sessionId, stateTag: tag, nowSeconds, maxAgeSeconds: affinity.ttl },
          keys,
        ),
      );
    return this.#opening;
  }

  /**
   * Whether the answer can change the state without saying anything of it: a state cookie the token
   * does not name (to remove), or one this request opened (handed over, or found not to open).
   */
  get unsettled(): boolean {
    return this.sources.present && (!this.carried || this.#opening !== undefined);
  }

  /** What was opened in this request, if anything was. */
  opened(): Promise<StateOpening | undefined> {
    return this.#opening ?? Promise.resolve(undefined);
  }
}

/** What the answer does to the session's state. */
export interface StateOutcome {
  /** The state cookie's `Set-Cookie`, when it changes. */
  setCookie?: string;
  /** The tag the session's token carries from now on. */
  tag: string | undefined;
  /** The tag differs from the one the request's token carried: the token is re-issued. */
  tagChanged: boolean;
}

export interface AnswerFacts {
  /** The answering origin's id. */
  originId: string;
  /** Its response headers, from which `Affinity-State` is taken out. */
  headers: Headers;
  /** The session's pin is being released (`Affinity-Control: release`). */
  released: boolean;
  /**
   * The session's token is re-issued with this answer (sliding expiry): the state it names is sealed
   * anew with it, so that it lives as long as the session is active, not `ttl` from when it was set.
   */
  refresh: boolean;
  requestUrl: string;
}

/** The state after the answer; the origin's `Affinity-State` is removed from `headers` whatever it says. */
export async function settleState(state: SessionState, answer: AnswerFacts): Promise<StateOutcome> {
  const { affinity, tag, sessionId, nowSeconds } = state.sources;
  const word = answer.headers.get(STATE_HEADER);
  if (word !== null) answer.headers.delete(STATE_HEADER);
  const unchanged = { tag, tagChanged: false };
  const cleared = (): StateOutcome => ({
    ...(state.sources.present && { setCookie: clearedStateCookieHeader(affinity, answer.requestUrl) }),
    tag: undefined,
    tagChanged: tag !== undefined,
  });
  if (answer.released) return cleared();
  const said = word === null ? undefined : readStateWord(word);
  if (said?.kind === 'clear') return cleared();
  const seal = async (value: string, originId = answer.originId, force = false): Promise<StateOutcome> => {
    const keys = await state.sources.keys();
    const newTag = await stateTag(sessionId, originId, value, keys.current);
    if (!force && newTag === tag && state.originId === originId) return unchanged;
    const contents = { cookie: affinity.cookie, sessionId, originId, issuedAt: nowSeconds, value };
    const sealed = await sealState(contents, keys.current, crypto.getRandomValues(new Uint8Array(IV_BYTES)));
    return {
      setCookie: stateCookieHeader(sealed, affinity, answer.requestUrl),
      tag: newTag,
      tagChanged: newTag !== tag,
    };
  };
  // Sealed anew with a re-issued token even when the value repeats: its issue time slides with it.
  if (said?.kind === 'set') return seal(said.value, answer.originId, answer.refresh);
  if (said?.kind === 'refused') {
    logEvent('warn', said.reason === 'too-large' ? 'handoff.too-large' : 'handoff.refused', {
      origin: answer.originId,
      reason: said.reason,
      bytes: said.bytes,
      limit: MAX_STATE_BYTES,
    });
  }
  const opened = await state.opened();
  // Handed over in this request, and the new origin said nothing of it: sealed for that origin now,
  // so that it is handed over once, and travels on should the session move again.
  if (opened?.ok && state.handedTo === answer.originId) return seal(opened.value);
  if (answer.refresh && state.carried) {
    const refreshed = await state.open(); // opened once per request, whoever asks first
    if (refreshed?.ok) return seal(refreshed.value, refreshed.originId, true);
    return cleared();
  }
  // A state cookie that cannot be this session's (forged, stale, replaced, or with no token naming it).
  if (state.sources.present && (!state.carried || (opened && !opened.ok))) return cleared();
  return unchanged;
}
