/**
 * The signed envelope in which a value that an origin issued (a learned header or cookie,
 * `affinity.learn`) reaches the client, so that the client's next request says which origin holds
 * the state behind that value:
 *
 *   1.<key id>.<origin id>.<the origin's value, base64url>.<signature>
 *
 * - The signature is HMAC-SHA256 over everything before it *and* the learned name the envelope was
 *   issued for (`header:mcp-session-id`): an envelope cannot be replayed from one learned name into
 *   another.
 * - Its key is derived from the affinity secret with HKDF (RFC 5869) under a label of its own. The
 *   cookie and the envelope share a secret, never a key, so neither can ever verify as the other.
 * - Base64url, dots and origin-id characters only: visible ASCII (what MCP requires of a session id),
 *   RFC 6265 cookie-octets and URL-safe, so it goes wherever the origin's value went.
 * - The value is carried exactly (its text as UTF-8; header values are byte strings, so nothing is
 *   lost). It hides nothing from the client, which had the value anyway; nothing else about the
 *   origin is in it but its opaque id.
 * - No expiry: the value lives as long as the application keeps it, and so does its envelope.
 *
 * Nothing here reads a clock or a secret of its own, and opening never throws, whatever it is given.
 */
import { withKeyId, type SigningKey, type SigningKeys } from './affinity-token';
import { decodeBase64Url, encodeBase64Url } from '../text/base64url';

/** The longest value wrapped, in UTF-8 bytes; a longer one reaches the client as the origin sent it. */
export const MAX_LEARNED_VALUE_BYTES = 2048;

/**
 * The longest envelope there can be (2,849 characters): a longer text is no envelope and is refused
 * before any parsing. With a cookie name and the origin's attributes it stays within the 4,096 bytes
 * that RFC 6265 §6.1 asks every browser to keep for one cookie.
 */
export const MAX_ENVELOPE_LENGTH = '1.'.length + 6 + 1 + 64 + 1 + Math.ceil((MAX_LEARNED_VALUE_BYTES * 4) / 3) + 1 + 43;

/** The value holds no dot, so the origin id (which may) is whatever lies between the key id and it. */
const ENVELOPE_PATTERN = /^1\.([A-Za-z0-9_-]{6})\.([A-Za-z0-9._-]{1,64})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const HKDF_INFO = 'edge-affinity learned-value envelope v1';
const HMAC = 'HMAC';
const encoder = new TextEncoder();

export interface LearnedValue {
  /** The origin that issued the value. */
  originId: string;
  /** The learned name it was issued under (`header:mcp-session-id`). */
  learned: string;
  /** The value exactly as the origin sent it. */
  value: string;
}

export type Sealing =
  | { ok: true; envelope: string }
  /** Nothing to route by (an empty value: a cookie being deleted), or over `MAX_LEARNED_VALUE_BYTES`. */
  | { ok: false; reason: 'empty' | 'too-long'; bytes: number };

export type EnvelopeOpening =
  | { ok: true; originId: string; value: string; signedWith: 'current' | 'previous' }
  /**
   * `plain`: not an envelope at all (the origin's own value, or anything else a client sends);
   * `forged`: has an envelope's form but does not verify under a configured key for this learned name.
   */
  | { ok: false; reason: 'plain' | 'forged' };

/** Derives the envelope key from the affinity secret, once per isolate, and its key id. */
export async function importEnvelopeKey(secret: string): Promise<SigningKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(HKDF_INFO) },
    material,
    { name: HMAC, hash: 'SHA-256', length: 256 },
    false,
    ['sign', 'verify'],
  );
  return withKeyId(key);
}

export async function sealLearnedValue(contents: LearnedValue, signer: SigningKey): Promise<Sealing> {
  const bytes = encoder.encode(contents.value);
  if (bytes.length === 0) return { ok: false, reason: 'empty', bytes: 0 };
  if (bytes.length > MAX_LEARNED_VALUE_BYTES) return { ok: false, reason: 'too-long', bytes: bytes.length };
  const payload = ['1', signer.id, contents.originId, encodeBase64Url(bytes)].join('.');
  const mac = await crypto.subtle.sign(HMAC, signer.key, signedBytes(payload, contents.learned));
  return { ok: true, envelope: `${payload}.${encodeBase64Url(new Uint8Array(mac))}` };
}

/**
 * Opens what a client sent under a learned name: the issuing origin and the origin's value, if it is
 * an envelope this worker sealed for that name under the current or the previous key.
 */
export async function openEnvelope(text: string, learned: string, keys: SigningKeys): Promise<EnvelopeOpening> {
  const match = text.length <= MAX_ENVELOPE_LENGTH ? ENVELOPE_PATTERN.exec(text) : null;
  if (!match) return { ok: false, reason: 'plain' };
  const [, keyId = '', originId = '', encodedValue = '', signature = ''] = match;
  const signer = keys.current.id === keyId ? 'current' : keys.previous?.id === keyId ? 'previous' : undefined;
  const mac = decodeBase64Url(signature);
  const value = decodeBase64Url(encodedValue);
  if (!signer || !mac || !value) return { ok: false, reason: 'forged' };
  const payload = text.slice(0, text.length - signature.length - 1);
  const authentic = await crypto.subtle.verify(HMAC, keys[signer]!.key, mac, signedBytes(payload, learned));
  if (!authentic) return { ok: false, reason: 'forged' };
  // Only this worker's own sealing gets here, and it sealed UTF-8.
  return { ok: true, originId, value: new TextDecoder().decode(value), signedWith: signer };
}

/** The payload, then the learned name on a line of its own: neither can contain a line break. */
function signedBytes(payload: string, learned: string): BufferSource {
  return encoder.encode(`${payload}\n${learned}`);
}
