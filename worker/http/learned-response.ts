/**
 * The response side of `affinity.learn`: a value that the serving origin issues under a learned name
 * reaches the client sealed in an envelope that names that origin.
 *
 * - A learned header's value is replaced by its envelope. A header the origin repeats reaches the
 *   worker combined into one value (RFC 9110 §5.3), which a client echoes as one, so it is sealed as one.
 * - A `Set-Cookie` of a learned cookie has its value replaced and every attribute left exactly as the
 *   origin wrote it; every other `Set-Cookie` is untouched.
 * - An empty value (a cookie being deleted) is left alone, and so is one over
 *   `MAX_LEARNED_VALUE_BYTES`, which the caller logs: that session is routed as if nothing were learned.
 * - A response that hands out an envelope is for one session only, so shared caches must not keep it,
 *   exactly as for the affinity cookie.
 */
import type { SigningKey } from '../core/session/affinity-token';
import { setCookiePair, withValue } from '../core/text/cookie-text';
import type { UnsealedValue } from '../core/session/envelope-reading';
import { sealLearnedValue } from '../core/session/learned-envelope';
import type { LearnedName } from '../core/session/learned-names';
import { keepOutOfSharedCaches } from './private-response';

export interface SealingContext {
  names: readonly LearnedName[];
  /** The origin that served the response. */
  originId: string;
  /** The current envelope key, asked for only when the response sets a learned name. */
  signer: () => Promise<SigningKey>;
  /**
   * The request's authentic envelopes. When the origin sends the very value back (an MCP server sets
   * `Mcp-Session-Id` on every response), the envelope the client already holds is handed back as it is,
   * if it names this origin under the current key: sealing it again would give the same text.
   */
  unsealed: readonly UnsealedValue[];
}

export interface SealingSummary {
  sealed: number;
  /** Values left unsealed for their length: the learned name and the value's size, never the value. */
  tooLong: { learned: string; bytes: number }[];
}

/** Whether a response may carry values under the learned names: one header lookup per name, no parsing. */
export function carriesLearnedValues(headers: Headers, names: readonly LearnedName[]): boolean {
  return names.some((learned) => headers.has(learned.kind === 'header' ? learned.name : 'set-cookie'));
}

export async function sealLearnedValues(headers: Headers, context: SealingContext): Promise<SealingSummary> {
  const summary: SealingSummary = { sealed: 0, tooLong: [] };
  const seal = async (learned: LearnedName, value: string): Promise<string | undefined> => {
    const envelope = envelopeFor(learned, value, context) ?? (await sealAnew(learned, value, context, summary));
    if (envelope !== undefined) summary.sealed++;
    return envelope;
  };
  for (const learned of context.names) {
    const value = learned.kind === 'header' ? headers.get(learned.name) : null;
    const envelope = value === null ? undefined : await seal(learned, value);
    if (envelope !== undefined) headers.set(learned.name, envelope);
  }
  const cookies = context.names.filter((learned) => learned.kind === 'cookie');
  if (cookies.length > 0 && headers.has('set-cookie')) await sealSetCookies(headers, cookies, seal);
  if (summary.sealed > 0) keepOutOfSharedCaches(headers);
  return summary;
}

function envelopeFor(learned: LearnedName, value: string, context: SealingContext): string | undefined {
  const held = context.unsealed.find(
    (envelope) =>
      envelope.learned.label === learned.label &&
      envelope.value === value &&
      envelope.originId === context.originId &&
      envelope.signedWith === 'current',
  );
  return held?.envelope;
}

async function sealAnew(
  learned: LearnedName,
  value: string,
  context: SealingContext,
  summary: SealingSummary,
): Promise<string | undefined> {
  const contents = { originId: context.originId, learned: learned.label, value };
  const sealing = await sealLearnedValue(contents, await context.signer());
  if (sealing.ok) return sealing.envelope;
  if (sealing.reason === 'too-long') summary.tooLong.push({ learned: learned.label, bytes: sealing.bytes });
  return undefined;
}

/** Every `Set-Cookie` in its order, the learned ones with their value sealed. */
async function sealSetCookies(
  headers: Headers,
  cookies: readonly LearnedName[],
  seal: (learned: LearnedName, value: string) => Promise<string | undefined>,
): Promise<void> {
  let changed = false;
  const lines = headers.getSetCookie();
  for (const [index, line] of lines.entries()) {
    const pair = setCookiePair(line);
    const learned = pair && cookies.find((cookie) => cookie.name === pair.name);
    const envelope = learned && (await seal(learned, pair.value));
    if (envelope === undefined) continue;
    lines[index] = withValue(line, pair!, envelope);
    changed = true;
  }
  if (!changed) return;
  headers.delete('set-cookie');
  for (const line of lines) headers.append('set-cookie', line);
}
