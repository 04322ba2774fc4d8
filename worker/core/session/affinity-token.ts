/**
 * The affinity cookie's value: a compact, URL-safe token signed with HMAC-SHA256.
 *
 *   1.<key id>.<expiry, base36 seconds>.<session id>.<origin id>.<signature>
 *   2.<key id>.<expiry>.<session id>.<origin id>.<session start, base36 seconds>.<state tag>.<h>.<signature>
 *
 * Version 2 carries what only some deployments use, each field empty when unused: when the session
 * was first pinned (`affinity.maxAge` judges its absolute lifetime by it) and the tag of the session's
 * sealed state (core/session/sealed-state.ts: a state cookie is only opened with the token that names it, so an
 * older state cannot be replayed next to a newer pin). A token with neither is written as version 1,
 * byte for byte what it always was.
 *
 * The origin id is the operator's opaque label, never the origin's URL or address. The expiry is
 * signed, so a client cannot keep a pin alive past its idle lifetime by holding on to the cookie.
 * The key id says which secret signed the token, so a rotation verifies old tokens with the retired
 * key without trying every key. Verification goes through `crypto.subtle.verify`, which compares in
 * constant time. Nothing here reads a clock or a secret of its own: both are passed in.
 */
import { decodeBase64Url, encodeBase64Url } from '../text/base64url';

export interface AffinityClaims {
  originId: string;
  sessionId: string;
  /** Unix time, seconds, after which the pin no longer holds. */
  expiresAt: number;
  /** Unix time, seconds, of the session's first pin (written when `affinity.maxAge` is set). */
  startedAt?: number;
  /** The tag of the session's sealed state (core/session/sealed-state.ts), when it has one. */
  stateTag?: string;
  /** An origin handed the session over to this pin (`repin=<id>`): it is not where the hash put it. */
  handedOver?: true;
}

export interface SigningKey {
  /** Six base64url characters derived from the secret; says nothing about the secret itself. */
  readonly id: string;
  readonly key: CryptoKey;
}

export interface SigningKeys {
  readonly current: SigningKey;
  readonly previous?: SigningKey;
}

export type TokenVerdict =
  | { status: 'valid'; claims: AffinityClaims; signedWith: 'current' | 'previous' }
  | { status: 'expired'; claims: AffinityClaims }
  | { status: 'invalid' };

/** Tokens longer than this are refused before any parsing or cryptography. */
export const MAX_TOKEN_LENGTH = 200;
const TOKEN_PATTERN =
  /^1\.([A-Za-z0-9_-]{6})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{16,32})\.([A-Za-z0-9._-]{1,64})\.([A-Za-z0-9_-]{43})$/;
/** Version 2: the origin id may hold dots, but the three fields after it hold none, so the parse is one. */
const TOKEN_V2_PATTERN =
  /^2\.([A-Za-z0-9_-]{6})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{16,32})\.([A-Za-z0-9._-]{1,64})\.([0-9a-z]{0,10})\.([A-Za-z0-9_-]{0,22})\.(h?)\.([A-Za-z0-9_-]{43})$/;
const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const;
const KEY_ID_LABEL = 'edge-affinity key id';
const encoder = new TextEncoder();

/** Imports a secret as an HMAC key, once per isolate, and derives its key id. */
export async function importSigningKey(secret: string): Promise<SigningKey> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), HMAC, false, ['sign', 'verify']);
  return withKeyId(key);
}

/** An HMAC key with its id: six characters of its own MAC over a fixed label, which reveal nothing of it. */
export async function withKeyId(key: CryptoKey): Promise<SigningKey> {
  const mac = new Uint8Array(await crypto.subtle.sign(HMAC.name, key, encoder.encode(KEY_ID_LABEL)));
  return { id: encodeBase64Url(mac).slice(0, 6), key };
}

export async function signAffinityToken(claims: AffinityClaims, signer: SigningKey): Promise<string> {
  const fields = [signer.id, claims.expiresAt.toString(36), claims.sessionId, claims.originId];
  const extended = claims.startedAt !== undefined || claims.stateTag !== undefined || claims.handedOver;
  const payload = extended
    ? ['2', ...fields, claims.startedAt?.toString(36) ?? '', claims.stateTag ?? '', claims.handedOver ? 'h' : ''].join(
        '.',
      )
    : ['1', ...fields].join('.');
  const mac = new Uint8Array(await crypto.subtle.sign(HMAC.name, signer.key, encoder.encode(payload)));
  return `${payload}.${encodeBase64Url(mac)}`;
}

/**
 * Checks a token against the current and the previous key. Never throws: whatever a client sends,
 * the answer is a verdict. A token whose signature does not check out says nothing, not even that it
 * has expired.
 */
export async function verifyAffinityToken(token: string, keys: SigningKeys, nowSeconds: number): Promise<TokenVerdict> {
  if (token.length > MAX_TOKEN_LENGTH) return { status: 'invalid' };
  const parsed = parseToken(token);
  if (!parsed) return { status: 'invalid' };
  const { keyId, signature, claims } = parsed;
  const signer = keys.current.id === keyId ? 'current' : keys.previous?.id === keyId ? 'previous' : undefined;
  const mac = decodeBase64Url(signature);
  if (!signer || !mac) return { status: 'invalid' };
  const payload = encoder.encode(token.slice(0, token.length - signature.length - 1));
  const authentic = await crypto.subtle.verify(HMAC.name, keys[signer]!.key, mac, payload);
  if (!authentic) return { status: 'invalid' };
  return claims.expiresAt > nowSeconds
    ? { status: 'valid', claims, signedWith: signer }
    : { status: 'expired', claims };
}

/** The fields of a token of either version, unverified; undefined when it has neither form. */
function parseToken(token: string): { keyId: string; signature: string; claims: AffinityClaims } | undefined {
  const v1 = TOKEN_PATTERN.exec(token);
  if (v1) {
    const [, keyId = '', expiry = '', sessionId = '', originId = '', signature = ''] = v1;
    return { keyId, signature, claims: { originId, sessionId, expiresAt: parseInt(expiry, 36) } };
  }
  const v2 = TOKEN_V2_PATTERN.exec(token);
  if (!v2) return undefined;
  const [
    ,
    keyId = '',
    expiry = '',
    sessionId = '',
    originId = '',
    started = '',
    stateTag = '',
    handed = '',
    signature = '',
  ] = v2;
  const claims: AffinityClaims = { originId, sessionId, expiresAt: parseInt(expiry, 36) };
  if (started) claims.startedAt = parseInt(started, 36);
  if (stateTag) claims.stateTag = stateTag;
  if (handed) claims.handedOver = true;
  return { keyId, signature, claims };
}
