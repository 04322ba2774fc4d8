/**
 * Waiting in tests, in real time in every tier (Node and workerd), even while a test fakes timers and
 * the clock: the timer and the clock are the ones this module found when it was loaded.
 *
 * `until` waits for a condition, never for a guess at how long it takes: a test that sleeps a fixed
 * time is slow when the machine is quiet and flaky when it is busy. vitest's `vi.waitFor` would
 * advance faked timers on every check, which is not what a test that fakes them wants.
 */
const realSetTimeout = globalThis.setTimeout;
const realNow = Date.now;

/** Waits `ms` milliseconds of real time: for a spell that is itself the behaviour (pacing, a window). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

export interface UntilOptions {
  /** How long to wait before giving up. @default 5000 */
  timeoutMs?: number;
  /** How long to wait between two checks. @default 20 */
  everyMs?: number;
}

/**
 * Checks `condition` until it returns something other than false, undefined or null, and returns
 * that. Past the deadline it throws, naming what it waited for (`what` may be a function, to say
 * what it saw last).
 */
export async function until<T>(
  what: string | (() => string),
  condition: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  { timeoutMs = 5_000, everyMs = 20 }: UntilOptions = {},
): Promise<T> {
  const deadline = realNow() + timeoutMs;
  for (;;) {
    const found = await condition();
    if (found !== false && found !== undefined && found !== null) return found;
    if (realNow() >= deadline) {
      throw new Error(`gave up after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(everyMs);
  }
}
