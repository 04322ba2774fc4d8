/**
 * A response that carries our `Set-Cookie` must not be stored by a shared cache: a CDN or a corporate
 * proxy would hand the one session it stored to everybody behind it (HAProxy's `cookie … nocache`
 * does the same). RFC 9111 §5.2.2.7: `private` forbids shared caches to store the response and still
 * lets the client's own cache keep it, so the origin's caching for that one browser stays intact.
 */

/** Directives addressed to shared caches only, which `private` makes meaningless (RFC 9111 §5.2.2). */
const SHARED_ONLY = new Set(['public', 's-maxage', 'proxy-revalidate']);

/**
 * Headers that instruct shared caches and take precedence over `Cache-Control` there: RFC 9213's
 * `CDN-Cache-Control`, Cloudflare's own, and the older `Surrogate-Control`.
 */
const CDN_DIRECTIVES = ['cdn-cache-control', 'cloudflare-cdn-cache-control', 'surrogate-control'];

/**
 * Marks the response `private` (unless it already is, or is `no-store`) and drops CDN-only directives.
 * A qualified `private="…"` names only some fields and lets shared caches store the rest, our
 * `Set-Cookie` included, so it is replaced by the unqualified form.
 */
export function keepOutOfSharedCaches(headers: Headers): void {
  for (const name of CDN_DIRECTIVES) if (headers.has(name)) headers.delete(name);
  const directives = (headers.get('cache-control') ?? '')
    .split(',')
    .map((directive) => directive.trim())
    .filter(Boolean);
  const lower = directives.map((directive) => directive.toLowerCase());
  if (lower.includes('no-store') || lower.includes('private')) return;
  const kept = directives.filter((_, i) => {
    const name = lower[i]!.split('=', 1)[0]!.trim();
    return !SHARED_ONLY.has(name) && name !== 'private';
  });
  headers.set('cache-control', ['private', ...kept].join(', '));
}
