/** The configured consistent-hash algorithm, behind the one interface routing knows (origin-selector.ts). */
import { createRingSelector } from './hash-ring';
import type { OriginSelector, WeightedOrigin } from './origin-selector';
import { createRendezvousSelector } from './rendezvous';

export type { OriginSelector, WeightedOrigin } from './origin-selector';

import type { SelectionAlgorithm } from '../config/config-schema';

export type { SelectionAlgorithm };

/** Builds the selector once per configuration; picking is then allocation-light and build-free. */
export function createSelector(algorithm: SelectionAlgorithm, origins: readonly WeightedOrigin[]): OriginSelector {
  return algorithm === 'ring' ? createRingSelector(origins) : createRendezvousSelector(origins);
}
