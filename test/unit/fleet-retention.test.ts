import { describe, expect, it } from 'vitest';
import { REMOVED_ORIGIN_RETENTION_MS, retireRemovedOrigins } from '../../worker/core/fleet/fleet-retention';
import type { FleetTotals } from '../../worker/core/fleet/fleet-window';
import { emptyCounts } from '../../worker/core/fleet/traffic-counts';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function totalsOf(...ids: string[]): FleetTotals {
  return { since: T0, origins: Object.fromEntries(ids.map((id) => [id, emptyCounts()])), unserved: {} };
}

describe('retiring the totals of origins gone from the configuration', () => {
  it('keeps them for the retention period from when they were first found missing, then drops them', () => {
    const totals = totalsOf('kept', 'gone');
    const configured = new Set(['kept']);
    expect(retireRemovedOrigins(totals, configured, T0)).toEqual([]);
    expect(totals.removedSince).toEqual({ gone: T0 });
    expect(retireRemovedOrigins(totals, configured, T0 + REMOVED_ORIGIN_RETENTION_MS - 1)).toEqual([]);
    expect(Object.keys(totals.origins)).toEqual(['kept', 'gone']);
    expect(retireRemovedOrigins(totals, configured, T0 + REMOVED_ORIGIN_RETENTION_MS)).toEqual(['gone']);
    expect(Object.keys(totals.origins)).toEqual(['kept']);
    expect(totals.removedSince).toEqual({});
  });

  it('starts the period again for an origin that came back to the configuration in between', () => {
    const totals = totalsOf('flapping');
    retireRemovedOrigins(totals, new Set(), T0);
    retireRemovedOrigins(totals, new Set(['flapping']), T0 + 10 * 60_000);
    expect(totals.removedSince).toEqual({});
    retireRemovedOrigins(totals, new Set(), T0 + 20 * 60_000);
    expect(retireRemovedOrigins(totals, new Set(), T0 + REMOVED_ORIGIN_RETENTION_MS + 10 * 60_000)).toEqual([]);
    expect(retireRemovedOrigins(totals, new Set(), T0 + REMOVED_ORIGIN_RETENTION_MS + 20 * 60_000)).toEqual([
      'flapping',
    ]);
  });
});
