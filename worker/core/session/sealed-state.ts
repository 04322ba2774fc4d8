/**
 * A session's state, sealed at the edge (`affinity.handoff`): what an origin checkpoints with
 * `Affinity-State`, kept by the client in `<cookie>_state`, which only this worker can open.
 *
 *   1.<key id>.<origin id>.<issued at, base36 seconds>.<iv>.<AES-GCM ciphertext and tag>
 *
 * AES-256-GCM (WebCrypto) under a key HKDF-derived from the affinity secret with its own label; the
 * additional data binds the cookie name, the session id, the origin that sent the state and the
 * issue time, so a state cannot be moved to another session, origin or cookie, nor re-dated. The
 * origin id and the time are in clear (the affinity cookie shows the origin id already): the worker
 * knows without opening anything whether a request goes to another origin than the state's.
 *
 * A state is bound to its session's affinity token as well: the token carries the state's tag, a
 * keyed MAC of session id and value (core/session/affinity-token.ts). A client that keeps an older state
 * cookie next to a newer token gets nothing from it, and the worker knows the value changed without
 * opening the cookie.
 *
 * The value is visible ASCII, packed 7 bits a character before sealing, so that the 3,072-byte limit
 * fits a browser's 4,096-byte cookie after the tag and base64url (a length-preserving packing: no
 * compression, whose output length would tell something of the content).
 *
 * Nothing here reads a clock or draws randomness: `issuedAt`, `now` and the IV are passed in.
 */
import { decodeBase64Url, encodeBase64Url } from '../text/base64url';

/** The largest state an origin may checkpoint, in bytes (visible ASCII). */
export const MAX_STATE_BYTES = 3072;
/** What an origin sends to remove the session's state. */
export const CLEAR_STATE = ';clear';
export const IV_BYTES = 12;

const HKDF_INFO = 'edge-affinity session state v1';
const TAG_INFO = 'edge-affinity session state tag v1';
const KEY_ID_INFO = 'edge-affinity session state key id v1';
const STATE_PATTERN =
  /^1\.([A-Za-z0-9_-]{6})\.([A-Za-z0-9._-]{1,64})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{23,3700})$/;
/** Visible ASCII (RFC 5234 VCHAR): what a header carries without escaping, and what packs in 7 bits. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const encoder = new TextEncoder();

export interface StateKey {
  /** Six base64url characters that say which secret sealed a state; nothing of the secret itself. */
  readonly id: string;
  /** AES-256-GCM, for sealing and opening. */
  readonly key: CryptoKey;
  /** HMAC-SHA256, for the state's tag in the affinity token. */
  readonly tagKey: CryptoKey;
}

export interface StateKeys {
  readonly current: StateKey;
  readonly previous?: StateKey;
}

/** What is sealed, and what it is bound to. */
export interface StateContents {
  /** The affinity cookie's name: the state cookie is `<cookie>_state`, and a state sealed under another name never opens. */
  cookie: string;
  sessionId: string;
  /** The origin that sent the state. */
  originId: string;
  /** Unix time, seconds. */
  issuedAt: number;
  value: string;
}

/** What an origin's `Affinity-State` asks for. */
export type StateWord =
  | { kind: 'set'; value: string }
  | { kind: 'clear' }
  | { kind: 'refused'; reason: 'too-large' | 'not-visible-ascii' | 'empty'; bytes: number };

/** Reads an origin's `Affinity-State` header value. */
export function readStateWord(header: string): StateWord {
  if (header.trim() === CLEAR_STATE) return { kind: 'clear' };
  if (header === '') return { kind: 'refused', reason: 'empty', bytes: 0 };
  if (header.length > MAX_STATE_BYTES) return { kind: 'refused', reason: 'too-large', bytes: header.length };
  if (!VISIBLE_ASCII.test(header)) return { kind: 'refused', reason: 'not-visible-ascii', bytes: header.length };
  return { kind: 'set', value: header };
}

/** Derives the state keys from a secret (once per isolate, by the caller's cache) and their id. */
export async function importStateKey(secret: string): Promise<StateKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
    'deriveKey',
    'deriveBits',
  ]);
  const hkdf = (info: string) => ({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: new Uint8Array(0),
    info: encoder.encode(info),
  });
  const [key, tagKey, idBits] = await Promise.all([
    crypto.subtle.deriveKey(hkdf(HKDF_INFO), material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    crypto.subtle.deriveKey(hkdf(TAG_INFO), material, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
    crypto.subtle.deriveBits(hkdf(KEY_ID_INFO), material, 64),
  ]);
  return { id: encodeBase64Url(new Uint8Array(idBits)).slice(0, 6), key, tagKey };
}

/**
 * The state's tag in the affinity token: 128 bits of HMAC over session id, sealing origin and value.
 * The origin is in it so that a state re-sealed for the session's new origin has a new tag: the cookie
 * the old origin sealed no longer opens, and cannot be handed over a second time.
 */
export async function stateTag(sessionId: string, originId: string, value: string, key: StateKey): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key.tagKey, encoder.encode(`${sessionId}\n${originId}\n${value}`));
  return encodeBase64Url(new Uint8Array(mac).slice(0, 16));
}

/** Seals a state (its value already read by `readStateWord`) into the state cookie's value. */
export async function sealState(contents: StateContents, key: StateKey, iv: Uint8Array<ArrayBuffer>): Promise<string> {
  const head = ['1', key.id, contents.originId, contents.issuedAt.toString(36), encodeBase64Url(iv)].join('.');
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: additionalData(contents) },
    key.key,
    packAscii(contents.value),
  );
  return `${head}.${encodeBase64Url(new Uint8Array(sealed))}`;
}

/** What a state cookie holds, read without opening it: whose state it is, and from when. */
export interface StateCookie {
  text: string;
  keyId: string;
  originId: string;
  issuedAt: number;
}

/** The clear fields of a state cookie; undefined when it has not the form of one. */
export function readStateCookie(text: string): StateCookie | undefined {
  const match = STATE_PATTERN.exec(text);
  if (!match) return undefined;
  const [, keyId = '', originId = '', issued = ''] = match;
  return { text, keyId, originId, issuedAt: parseInt(issued, 36) };
}

export type StateOpening =
  | { ok: true; value: string; originId: string; issuedAt: number; signedWith: 'current' | 'previous' }
  /**
   * `forged`: it does not open under a configured key for this cookie and session (tampered, another
   * session's, a retired key's); `stale`: older than `maxAgeSeconds`; `replaced`: authentic, but not
   * the state the session's token names (an older one kept by the client).
   */
  | { ok: false; reason: 'forged' | 'stale' | 'replaced' };

export interface StateExpectation {
  cookie: string;
  sessionId: string;
  /** The tag the session's token carries: only the state it names opens. */
  stateTag: string | undefined;
  nowSeconds: number;
  /** A state older than this is dropped (`affinity.ttl`: an idle session lapses as fast). */
  maxAgeSeconds: number;
}

/** Opens a state cookie for the session that expects it. Never throws. */
export async function openState(
  cookie: StateCookie,
  expected: StateExpectation,
  keys: StateKeys,
): Promise<StateOpening> {
  const signer =
    keys.current.id === cookie.keyId ? 'current' : keys.previous?.id === cookie.keyId ? 'previous' : undefined;
  if (!signer || expected.stateTag === undefined) return { ok: false, reason: signer ? 'replaced' : 'forged' };
  if (expected.nowSeconds - cookie.issuedAt > expected.maxAgeSeconds) return { ok: false, reason: 'stale' };
  const parts = cookie.text.split('.');
  const iv = decodeBase64Url(parts[4]!);
  const sealed = decodeBase64Url(parts[5]!);
  if (!iv || !sealed || iv.length !== IV_BYTES) return { ok: false, reason: 'forged' };
  const key = keys[signer]!;
  const bound = {
    cookie: expected.cookie,
    sessionId: expected.sessionId,
    originId: cookie.originId,
    issuedAt: cookie.issuedAt,
  };
  let value: string;
  try {
    const packed = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: additionalData(bound) },
      key.key,
      sealed,
    );
    value = unpackAscii(new Uint8Array(packed));
  } catch {
    return { ok: false, reason: 'forged' };
  }
  if ((await stateTag(expected.sessionId, cookie.originId, value, key)) !== expected.stateTag)
    return { ok: false, reason: 'replaced' };
  return { ok: true, value, originId: cookie.originId, issuedAt: cookie.issuedAt, signedWith: signer };
}

/** One line per bound field: none of them can hold a line break. */
function additionalData({
  cookie,
  sessionId,
  originId,
  issuedAt,
}: Omit<StateContents, 'value'>): Uint8Array<ArrayBuffer> {
  return new Uint8Array(encoder.encode(`edge-affinity state\n${cookie}\n${sessionId}\n${originId}\n${issuedAt}`));
}

/** Seven bits a character, most significant first; the last byte's unused bits are zero. */
export function packAscii(text: string): Uint8Array<ArrayBuffer> {
  const packed = new Uint8Array(Math.ceil((text.length * 7) / 8));
  let bit = 0;
  for (let i = 0; i < text.length; i++, bit += 7) {
    const code = text.charCodeAt(i) & 0x7f;
    const byte = bit >> 3;
    const offset = bit & 7;
    packed[byte]! |= (code << 1) >> offset;
    if (offset > 1) packed[byte + 1]! |= (code << (9 - offset)) & 0xff;
  }
  return packed;
}

/** The inverse of `packAscii`: a trailing group of zero bits is padding, never a character (visible ASCII has no 0). */
export function unpackAscii(packed: Uint8Array): string {
  const count = Math.floor((packed.length * 8) / 7);
  let text = '';
  for (let i = 0, bit = 0; i < count; i++, bit += 7) {
    const byte = bit >> 3;
    const offset = bit & 7;
    const pair = (packed[byte]! << 8) | (packed[byte + 1] ?? 0);
    const code = (pair >> (9 - offset)) & 0x7f;
    if (code === 0) break;
    text += String.fromCharCode(code);
  }
  return text;
}
