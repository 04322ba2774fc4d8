import { describe, expect, it } from 'vitest';
import { SharedTask } from '../../worker/shared-task';

const never = () => new Promise<void>(() => {});

describe('work shared by an isolate’s concurrent requests', () => {
  it('runs once for every caller that joins it while it is under way', async () => {
    const shared = new SharedTask(1000);
    let runs = 0;
    let finish!: () => void;
    const work = () => (runs++, new Promise<void>((resolve) => (finish = resolve)));
    const joined = [shared.run(0, work), shared.run(10, work), shared.run(20, work)];
    finish();
    await Promise.all(joined);
    expect(runs).toBe(1);
    expect(shared.isRunning(30)).toBe(false);
  });

  it('is abandoned once older than its bound: nobody waits on it longer, and the next caller starts afresh', async () => {
    const shared = new SharedTask(50);
    const started = Date.now();
    await shared.run(started, never); // a request the runtime ended: its work never settles
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(shared.isRunning(started + 49)).toBe(true);
    expect(shared.isRunning(started + 50)).toBe(false);
    let ran = false;
    await shared.run(started + 50, async () => void (ran = true));
    expect(ran).toBe(true);
  });

  it('never rejects, whatever the work throws', async () => {
    const shared = new SharedTask(1000);
    await expect(shared.run(0, () => Promise.reject(new Error('KV unreachable')))).resolves.toBeUndefined();
  });
});
