/**
 * Which location an isolate belongs to, for the tier of per-location objects: the Cloudflare location
 * (colo) that serves it, as the platform says in `request.cf.colo` (an IATA airport code, "AMS").
 *
 * The value names a Durable Object, so it is taken only in that shape, upper-cased: anything else —
 * no `request.cf` (local runs, tests), or a value of another shape — is the one default location, so a
 * surprise from the platform costs the tier its spread, never a request its answer. Pure.
 */
import * as v from 'valibot';

/** The location of isolates that cannot say theirs. */
export const DEFAULT_LOCATION = 'default';

const COLO = v.pipe(v.string(), v.toUpperCase(), v.regex(/^[A-Z]{3}$/));

export function locationOf(colo: unknown): string {
  const read = v.safeParse(COLO, colo);
  return read.success ? read.output : DEFAULT_LOCATION;
}
