/** Deterministic stand-ins for session ids: 16 base64url characters, like the ones the worker mints. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function sessionIds(count: number, seed = 1): string[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: reproducible and fast; the point is realistic keys, not cryptographic ones.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    let id = '';
    for (let c = 0; c < 16; c++) id += ALPHABET[next() & 63];
    ids.push(id);
  }
  return ids;
}
