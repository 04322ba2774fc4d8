/**
 * What an affinity cookie says (origin id, session id, expiry), read the way the worker reads it:
 * through its own verification (core/session/affinity-token.ts), not by splitting the token on dots. A test
 * that reads a pin this way also learns that the worker signed it, and the token's layout stays the
 * business of one module.
 */
import { importSigningKey, verifyAffinityToken, type AffinityClaims } from '../../worker/core/session/affinity-token';

/**
 * The claims of `cookie`: a bare token, a `name=token` pair as a `Cookie` header carries it, or a
 * whole `Set-Cookie` value. Expired tokens are read too (their claims are signed all the same); a
 * token that `secret` did not sign throws.
 */
export async function claimsOf(cookie: string, secret: string): Promise<AffinityClaims> {
  const pair = cookie.split(';')[0]!.trim();
  const token = pair.includes('=') ? pair.slice(pair.indexOf('=') + 1) : pair;
  const verdict = await verifyAffinityToken(token, { current: await importSigningKey(secret) }, 0);
  if (verdict.status === 'invalid') throw new Error(`not an affinity token signed with the test secret: ${token}`);
  return verdict.claims;
}
