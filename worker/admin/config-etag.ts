/**
 * Entity tags for the stored configuration, so that an operator's read-modify-write can say "only if
 * nobody changed it since I read it" (`If-Match`, RFC 9110 §13.1.1) instead of silently overwriting a
 * colleague's change.
 */
import { encodeBase64Url } from '../core/text/base64url';

export async function etagOf(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return `"${encodeBase64Url(new Uint8Array(digest)).slice(0, 22)}"`;
}

/** Strong comparison: `*` matches any stored value; weak tags never match. */
export function ifMatchHolds(ifMatch: string, current: string | null): boolean {
  if (current === null) return false;
  return ifMatch
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag === current);
}
