/**
 * The session key: what the consistent hash ranks origins by (`affinity.key`).
 *
 * With `ip`, `header:<name>` or `cookie:<name>`, a request that carries the value ranks origins by it,
 * so the same user lands on the same origin with or without an affinity cookie (API clients), and a
 * session that must move goes where that user's other clients go too. Without a value, the session's
 * own random id (from its cookie, or new) is the key, exactly as with `random`.
 */

export type SessionKeySource =
  { kind: 'random' } | { kind: 'ip' } | { kind: 'header'; name: string } | { kind: 'cookie'; name: string };

/** What a request offers for keying; the shell reads these from the request. */
export interface SessionKeyInputs {
  clientIp(): string | null | undefined;
  header(name: string): string | null | undefined;
  cookie(name: string): string | null | undefined;
}

/** Parses a validated `affinity.key` value ("random", "ip", "header:x-user-id", "cookie:sid"). */
export function parseSessionKeySource(spec: string): SessionKeySource {
  if (spec === 'ip') return { kind: 'ip' };
  if (spec.startsWith('header:')) return { kind: 'header', name: spec.slice('header:'.length).toLowerCase() };
  if (spec.startsWith('cookie:')) return { kind: 'cookie', name: spec.slice('cookie:'.length) };
  return { kind: 'random' };
}

/**
 * The key a request's value gives, or `undefined` when the request has none (then the session id is
 * the key). Prefixed by kind so that an IP and a header that happen to be equal rank independently.
 */
export function requestSessionKey(source: SessionKeySource, inputs: SessionKeyInputs): string | undefined {
  const value = readValue(source, inputs)?.trim();
  return value ? `${source.kind}:${value}` : undefined;
}

function readValue(source: SessionKeySource, inputs: SessionKeyInputs): string | null | undefined {
  switch (source.kind) {
    case 'random':
      return undefined;
    case 'ip':
      return inputs.clientIp();
    case 'header':
      return inputs.header(source.name);
    case 'cookie':
      return inputs.cookie(source.name);
  }
}
