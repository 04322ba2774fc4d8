/**
 * The request side of `affinity.learn`: what a client sends under a learned name is opened, and each
 * authentic envelope is replaced by the origin's own value in what the origin receives. Anything that
 * is not an authentic envelope goes to the origin exactly as the client sent it.
 */
import type { SigningKeys } from '../core/session/affinity-token';
import { cookiePair, withValue } from '../core/text/cookie-text';
import {
  interpretEnvelopes,
  NO_ENVELOPE,
  type CarriedValue,
  type EnvelopeReading,
  type UnsealedValue,
} from '../core/session/envelope-reading';
import { openEnvelope, type EnvelopeOpening } from '../core/session/learned-envelope';
import type { LearnedName } from '../core/session/learned-names';
import { VerifiedTokens } from '../core/session/verified-tokens';

export interface LearnedRequest {
  headers: Headers;
  names: readonly LearnedName[];
  indexOf: ReadonlyMap<string, number>;
  /** The envelope keys, asked for only when the request carries something under a learned name. */
  keys: () => Promise<SigningKeys>;
}

/** At most one value per learned name is read (so at most four verifications per request). */
export async function readEnvelopes({ headers, names, indexOf, keys }: LearnedRequest): Promise<EnvelopeReading> {
  if (names.length === 0) return NO_ENVELOPE;
  const carried: CarriedValue[] = [];
  for (const learned of names) {
    const text = carriedText(headers, learned);
    if (text === undefined) continue;
    carried.push({ learned, text, opening: await openRemembered(text, learned.label, await keys()) });
  }
  return carried.length > 0 ? interpretEnvelopes(carried, indexOf) : NO_ENVELOPE;
}

type Opened = Extract<EnvelopeOpening, { ok: true }>;

/** One memory of opened envelopes per key set (verified-tokens.ts): a rotated secret starts empty. */
const memories = new WeakMap<SigningKeys, VerifiedTokens<Opened>>();

/**
 * Opens an envelope, or recalls what opening it proved before: an MCP client sends the same envelope
 * on every request of its session. Keyed by the learned name too, which the signature covers.
 */
async function openRemembered(text: string, learned: string, keys: SigningKeys): Promise<EnvelopeOpening> {
  let memory = memories.get(keys);
  if (!memory)
    memories.set(
      keys,
      (memory = new VerifiedTokens({ bytesOf: (opened) => opened.value.length + opened.originId.length })),
    );
  const key = `${learned}\n${text}`;
  const remembered = memory.get(key);
  if (remembered) return remembered;
  const opening = await openEnvelope(text, learned, keys);
  if (opening.ok) memory.remember(key, opening);
  return opening;
}

/**
 * A learned header's value (repeated fields arrive combined, RFC 9110 §5.3), or the first pair of a
 * learned cookie in `Cookie`: the most specific one (RFC 6265 §5.4). Later pairs of the same name
 * pass through as they are.
 */
function carriedText(headers: Headers, learned: LearnedName): string | undefined {
  if (learned.kind === 'header') return headers.get(learned.name) ?? undefined;
  const cookie = headers.get('cookie');
  return cookie ? cookiePair(cookie, learned.name)?.value : undefined;
}

/**
 * Puts the origin's own values back in the headers it receives, byte for byte: the learned header,
 * or that one pair's value inside `Cookie` with every other pair, and the spacing, left as they were.
 * Only where the envelope still stands: a header the worker sets or removes itself (`X-Forwarded-For`,
 * a hop-by-hop header) keeps the worker's word, whatever a client sealed under its name.
 */
export function restoreLearnedValues(headers: Headers, unsealed: readonly UnsealedValue[]): void {
  for (const { learned, envelope, value } of unsealed) {
    if (learned.kind === 'header') {
      if (headers.get(learned.name) === envelope) headers.set(learned.name, value);
      continue;
    }
    const cookie = headers.get('cookie');
    const pair = cookie ? cookiePair(cookie, learned.name) : undefined;
    if (pair?.value === envelope) headers.set('cookie', withValue(cookie!, pair, value));
  }
}
