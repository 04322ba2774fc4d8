/** Content negotiation for the admin API: JSON unless the client asks for HTML (RFC 9110 §12.5.1). */
import type { Context } from 'hono';
import { accepts } from 'hono/accepts';

export function wantsHtml(c: Context): boolean {
  return (
    accepts(c, { header: 'Accept', supports: ['application/json', 'text/html'], default: 'application/json' }) ===
    'text/html'
  );
}
