/**
 * Where the admin API lives: app.ts mounts it under the prefix, the admin session cookie is scoped to
 * the prefix, and the pages link to its routes. Nothing under the prefix is ever proxied.
 */
export const ADMIN_PREFIX = '/_affinity';
const PREFIX_SEGMENT = ADMIN_PREFIX.slice(1);

/** How often a segment is percent-decoded at most: an origin's stack may decode twice (`%255F`). */
const DECODE_ROUNDS = 3;

/**
 * The admin path that a request path (with its query) names, canonical, or null when it names none.
 * Not only `/_affinity/…`: every spelling an origin's server or framework could read as it — another
 * case, percent-encoded, with path parameters (`/_affinity;x/…`), after empty segments
 * (`//_affinity`, `/;x/_affinity`), with an encoded slash or a backslash — is the admin API too. So none of them is ever proxied:
 * each is answered by the admin app, under its auth, as the canonical path it spells.
 */
export function adminPathOf(path: string): string | null {
  const queryAt = path.indexOf('?');
  const pathname = queryAt < 0 ? path : path.slice(0, queryAt);
  let start = 0;
  while (pathname[start] === '/') start++;
  if (!'_%;\\'.includes(pathname[start] ?? '/')) return null; // almost every request stops here
  let read = pathname;
  for (let round = 0; round < DECODE_ROUNDS && read.includes('%'); round++) read = decoded(read);
  // A backslash is a slash to IIS and some Java stacks; an empty or parameter-only segment is nothing
  // to most servers (Tomcat drops `/;x/`): the first segment that names something is the one read.
  const segments = read.replaceAll('\\', '/').split('/');
  let first = 0;
  while (first < segments.length && (segments[first] === '' || segments[first]!.startsWith(';'))) first++;
  if ((segments[first] ?? '').split(';', 1)[0]!.toLowerCase() !== PREFIX_SEGMENT) return null;
  const rest = segments.slice(first + 1);
  return ADMIN_PREFIX + (rest.length > 0 ? `/${rest.join('/')}` : '') + (queryAt < 0 ? '' : path.slice(queryAt));
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape is left as it is: no server reads it as the prefix either
  }
}

/** Routes of the admin app, relative to the prefix. */
export const ADMIN_ROUTES = {
  /** The status page, and its JSON. */
  status: '/status',
  /** `POST` the sign-in form here: it starts an admin session. */
  signIn: '/session',
  /** `POST` here to end the admin session. */
  signOut: '/session/end',
  /** The fleet's figures for Prometheus (bearer token only). */
  metrics: '/metrics',
} as const;

/** The path a browser uses for an admin route. */
export function adminPath(route: (typeof ADMIN_ROUTES)[keyof typeof ADMIN_ROUTES]): string {
  return `${ADMIN_PREFIX}${route}`;
}
