/**
 * The names whose values an origin issues and the worker learns (`affinity.learn`): a response header
 * (`header:mcp-session-id`) or a cookie (`cookie:JSESSIONID`). Their rules, as the configuration
 * schema checks them, and their compiled form.
 */
import * as v from 'valibot';
import { HTTP_TOKEN as TOKEN } from '../text/http-token';

const ENTRY_PATTERN = new RegExp(`^(header|cookie):${TOKEN}$`);

export const MAX_LEARNED_NAMES = 4;

export interface LearnedName {
  readonly kind: 'header' | 'cookie';
  /** Header names lower-cased (RFC 9110 §5.1: case-insensitive); cookie names as written (RFC 6265: case-sensitive). */
  readonly name: string;
  /**
   * `header:mcp-session-id`, `cookie:JSESSIONID`: what an envelope is signed for (so it cannot be
   * replayed under another name) and what logs call it.
   */
  readonly label: string;
}

/** Compiles validated `affinity.learn` entries. */
export function parseLearnedNames(entries: readonly string[]): LearnedName[] {
  return entries.map((entry) => {
    const kind = entry.startsWith('header:') ? 'header' : 'cookie';
    const written = entry.slice(kind.length + 1);
    const name = kind === 'header' ? written.toLowerCase() : written;
    return { kind, name, label: `${kind}:${name}` };
  });
}

/**
 * `Cookie` and `Set-Cookie` are where cookies travel, not values to learn: as a header, every cookie
 * of the response would be folded into one envelope.
 */
const COOKIE_HEADERS = new Set(['header:cookie', 'header:set-cookie']);

/** One entry: `header:<name>` or `cookie:<name>`, never the cookie headers themselves. */
const LearnedNameSchema = v.pipe(
  v.string('must be a string'),
  v.regex(ENTRY_PATTERN, 'must be "header:<name>" or "cookie:<name>" (an RFC 9110 token)'),
  v.check(
    (entry) => !COOKIE_HEADERS.has(entry.toLowerCase()),
    'must not be the Cookie or Set-Cookie header: learn a cookie as "cookie:<name>"',
  ),
);

/** The `affinity.learn` list: up to four entries, none named twice. */
export const LearnedNamesSchema = v.pipe(
  v.array(LearnedNameSchema, 'must be an array of "header:<name>" or "cookie:<name>" entries'),
  v.maxLength(MAX_LEARNED_NAMES, `must list at most ${MAX_LEARNED_NAMES} names`),
  // Runs even when some entries have other problems, so that every problem is reported at once.
  v.rawCheck(({ dataset, addIssue }) => {
    const entries: unknown = dataset.value;
    if (!Array.isArray(entries)) return;
    const seen = new Set<string>();
    entries.forEach((entry: unknown, index) => {
      if (typeof entry !== 'string' || !ENTRY_PATTERN.test(entry)) return;
      const [learned] = parseLearnedNames([entry]);
      if (seen.has(learned!.label)) {
        addIssue({
          message: `names "${learned!.label}" a second time`,
          path: [{ type: 'array', origin: 'value', input: entries, key: index, value: entry }],
        });
      }
      seen.add(learned!.label);
    });
  }),
);

/**
 * Index of the entry that names the affinity cookie itself, if one does: the worker strips its own
 * cookie from what origins receive, so an origin cannot issue it, and a client would be handed two
 * values under one name.
 */
export function entryNamingCookie(entries: unknown, cookie: string): number {
  if (!Array.isArray(entries)) return -1;
  return entries.findIndex((entry) => entry === `cookie:${cookie}`);
}
