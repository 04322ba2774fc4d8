import { describe, expect, it } from 'vitest';
import { fleetView, mergeBatch, newFleetWindow } from '../../worker/core/fleet/fleet-window';
import { estimateDistinct, decodeSketch } from '../../worker/core/fleet/hyperloglog';
import { DEFAULT_LOCATION, locationOf } from '../../worker/core/fleet/location-name';
import { TrafficTally, type CountedRequest, type TrafficBatch } from '../../worker/core/fleet/traffic-counts';
import { LEDGER_INCARNATIONS, settleReceipt, TrafficRelay } from '../../worker/core/fleet/traffic-relay';
import { sessionIds } from '../support/keys';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const TIMING = { intervalMs: 10_000, drainIntervalMs: 1_000, phaseMs: 0 };
const served = (origin: string): CountedRequest => ({
  origin,
  decision: 'pinned',
  status: 200,
  durationMs: 20,
  failures: [],
});

/** One isolate's batch: `requests` requests to `origin`, by the sessions given. */
function batchOf(origin: string, sessions: readonly string[], at = T0): TrafficBatch {
  const tally = new TrafficTally();
  for (const session of sessions) tally.count(served(origin), session, at);
  return tally.drain();
}

const requestsIn = (batch: TrafficBatch) => Object.values(batch.origins).reduce((sum, c) => sum + c.requests, 0);

describe('the location of an isolate', () => {
  it('is its colo, upper-cased, when the platform gives one of that shape', () => {
    expect(locationOf('AMS')).toBe('AMS');
    expect(locationOf('fra')).toBe('FRA');
  });

  it('is the one default location when there is none, or the value is of another shape', () => {
    for (const colo of [undefined, null, '', 'AMS1', 'A:B', 'location:AMS', 42, {}, 'AM']) {
      expect(locationOf(colo), String(colo)).toBe(DEFAULT_LOCATION);
    }
  });
});

describe('a location object relaying its isolates’ traffic', () => {
  it('merges their batches into one forward: requests add exactly, sessions merge within the sketch’s error', () => {
    const relay = new TrafficRelay('i1', {}, TIMING);
    const ids = sessionIds(3_000, 11);
    // 30 isolates, each serving 200 sessions; every session is served by two isolates.
    for (let isolate = 0; isolate < 30; isolate++) {
      const sessions = Array.from({ length: 200 }, (_, k) => ids[(isolate * 100 + k) % 3_000]!);
      relay.take(batchOf('one', sessions), { draining: false });
    }
    const forward = relay.startForward(T0)!;
    expect(requestsIn(forward.batch)).toBe(30 * 200);
    const window = newFleetWindow(T0);
    mergeBatch(window, forward.batch, T0);
    const estimate = fleetView(window, T0).activeSessionsTotal;
    expect(Math.abs(estimate - 3_000) / 3_000).toBeLessThan(0.0975);
    expect(Math.round(estimateDistinct(decodeSketch(forward.batch.sessions.one!)))).toBe(estimate);
  });

  it('forwards the first batch after a quiet interval at once, then once per interval, or per second for a drain', () => {
    const relay = new TrafficRelay('i1', {}, TIMING);
    expect(relay.dueAt).toBeUndefined();
    relay.take(batchOf('one', ['a']), { draining: false });
    expect(relay.dueAt).toBe(-Infinity);
    relay.startForward(T0);
    relay.take(batchOf('one', ['b']), { draining: false });
    expect(relay.dueAt).toBeUndefined(); // one forward at a time
    relay.forwarded(T0 + 50);
    expect(relay.dueAt).toBe(T0 + 10_000);
    relay.take(batchOf('one', ['c']), { draining: true });
    expect(relay.dueAt).toBe(T0 + 1_000);
  });

  it('keeps its forwards to slots of its own phase, one interval apart, at least half an interval after the last', () => {
    const relay = new TrafficRelay('i1', {}, { ...TIMING, phaseMs: 3_000 });
    relay.take(batchOf('one', ['a']), { draining: false });
    relay.startForward(T0 + 8_000); // the first after a quiet interval: at once
    relay.forwarded(T0 + 8_000);
    relay.take(batchOf('one', ['b']), { draining: false });
    expect(relay.dueAt).toBe(T0 + 13_000);
    relay.startForward(T0 + 13_000);
    relay.forwarded(T0 + 13_000);
    relay.take(batchOf('one', ['c']), { draining: false });
    expect(relay.dueAt).toBe(T0 + 23_000);
  });

  it('tells isolates which of their batches went out, and which a restart lost', () => {
    const first = new TrafficRelay('i1', {}, TIMING);
    const sent = first.take(batchOf('one', ['a']), { draining: false });
    const answer = () => ({ incarnation: first.incarnation, ledger: first.ledger });
    expect(settleReceipt(sent, answer())).toBe('waiting');
    first.startForward(T0);
    const during = first.take(batchOf('one', ['b']), { draining: false }); // goes in the round after
    const ledger = first.forwarded(T0);
    expect(settleReceipt(sent, answer())).toBe('forwarded');
    expect(settleReceipt(during, answer())).toBe('waiting');
    // The object restarts before its next forward: a new incarnation, with the stored ledger.
    const second = new TrafficRelay('i2', ledger, TIMING);
    const after = { incarnation: second.incarnation, ledger: second.ledger };
    expect(settleReceipt(sent, after)).toBe('forwarded');
    expect(settleReceipt(during, after)).toBe('lost');
  });

  it('sends a failed forward again with the next round, so the receipts of both are settled by it', () => {
    const relay = new TrafficRelay('i1', {}, TIMING);
    const early = relay.take(batchOf('one', ['a', 'b']), { draining: false });
    relay.startForward(T0);
    const late = relay.take(batchOf('one', ['c']), { draining: false });
    relay.failed();
    const retry = relay.startForward(T0 + 10_000)!;
    expect(requestsIn(retry.batch)).toBe(3);
    relay.forwarded(T0 + 10_000);
    const answer = { incarnation: 'i1', ledger: relay.ledger };
    expect([settleReceipt(early, answer), settleReceipt(late, answer)]).toEqual(['forwarded', 'forwarded']);
    expect(relay.startForward(T0 + 20_000)).toBeUndefined(); // nothing left: nothing twice
  });

  it('keeps the ledger of its recent incarnations only', () => {
    let ledger = {};
    for (let i = 0; i < LEDGER_INCARNATIONS + 3; i++) {
      const relay = new TrafficRelay(`i${i}`, ledger, TIMING);
      relay.take(batchOf('one', ['a']), { draining: false });
      relay.startForward(T0 + i);
      ledger = relay.forwarded(T0 + i);
    }
    expect(Object.keys(ledger)).toHaveLength(LEDGER_INCARNATIONS);
    expect(ledger).toHaveProperty(`i${LEDGER_INCARNATIONS + 2}`);
    expect(ledger).not.toHaveProperty('i0');
  });
});
