/**
 * The one small interface behind which both consistent-hash algorithms live, so that routing does not
 * care which is configured and the benchmarks can measure both the same way.
 */
import { createRendezvousSelector } from './rendezvous';
import { createRingSelector } from './hash-ring';

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

export type SelectionAlgorithm = 'rendezvous' | 'ring';

/** Builds the selector once per configuration; picking is then allocation-light and build-free. */
export function createSelector(algorithm: SelectionAlgorithm, origins: readonly WeightedOrigin[]): OriginSelector {
  return algorithm === 'ring' ? createRingSelector(origins) : createRendezvousSelector(origins);
}
