/**
 * How every admin answer is made. No browser or shared cache keeps one: each is live state (the
 * configuration in force, health, traffic) or a change's outcome. And each is JSON unless the client
 * asks for HTML (content negotiation, RFC 9110 §12.5.1).
 */
import type { Context } from 'hono';
import { accepts } from 'hono/accepts';

export const NO_STORE = { 'cache-control': 'no-store' } as const;

/** Whether the client asked for HTML rather than JSON. */
export function wantsHtml(c: Context): boolean {
  return (
    accepts(c, { header: 'Accept', supports: ['application/json', 'text/html'], default: 'application/json' }) ===
    'text/html'
  );
}
