/**
 * One piece of work an isolate's concurrent requests share (a KV read, a Durable Object call) rather
 * than each starting its own.
 *
 * The work belongs to the request that started it. If the runtime ends that request first (its client
 * left, its `waitUntil` ran out), the work's promise may never settle, and a flag that waits for it to
 * settle would stay set for the isolate's lifetime: every later request would wait on work that is not
 * coming. So a task older than `abandonAfterMs` is abandoned: nobody joins it, the next caller starts
 * the work afresh, and whoever joined it stops waiting once it is that old.
 */
export class SharedTask {
  #task?: Promise<void>;
  #startedAt = -Infinity;

  /** @param abandonAfterMs how long the work may take before it is taken for lost */
  constructor(private readonly abandonAfterMs: number) {}

  /** Whether work started less than `abandonAfterMs` ago is still under way. */
  isRunning(now: number): boolean {
    return this.#task !== undefined && now - this.#startedAt < this.abandonAfterMs;
  }

  /** Joins the work under way, or starts `work`; resolves when it settles or is abandoned. Never rejects. */
  run(now: number, work: () => Promise<void>): Promise<void> {
    if (!this.isRunning(now)) {
      const task: Promise<void> = work()
        .catch(() => {})
        .finally(() => {
          if (this.#task === task) this.#task = undefined;
        });
      this.#task = task;
      this.#startedAt = now;
    }
    return untilAbandoned(this.#task!, this.#startedAt + this.abandonAfterMs - now);
  }
}

async function untilAbandoned(task: Promise<void>, remainingMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const abandoned = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, remainingMs))));
  try {
    await Promise.race([task, abandoned]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
