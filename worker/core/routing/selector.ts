/**
 * The configured consistent-hash algorithm, behind the one small interface routing knows, in which
 * both algorithms live (rendezvous.ts, hash-ring.ts): routing does not care which is configured, and
 * the benchmarks measure both the same way.
 */
import type { SelectionAlgorithm } from '../config/config-schema';
import { createRingSelector } from './hash-ring';
import { createRendezvousSelector } from './rendezvous';

export type { SelectionAlgorithm };

/** Builds the selector once per configuration; picking is then allocation-light and build-free. */
export function createSelector(algorithm: SelectionAlgorithm, origins: readonly WeightedOrigin[]): OriginSelector {
  return algorithm === 'ring' ? createRingSelector(origins) : createRendezvousSelector(origins);
}

export interface WeightedOrigin {
  readonly id: string;
  /** Share of new sessions relative to the others; 0 takes none. */
  readonly weight: number;
}

export interface OriginSelector {
  /**
   * The first `count` origins (indices into the list the selector was built from), best first, in
   * `key`'s preference order, skipping those `accept` refuses and those of weight 0. Synchronous,
   * so implementations may reuse scratch buffers between calls.
   */
  pick(key: string, accept: (index: number) => boolean, count: number): number[];
}
