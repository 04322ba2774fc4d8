/**
 * Preference orders fixed once and checked in Node and in workerd alike: if either runtime, or a
 * change to the hashing, ranked these keys differently, sessions would move between isolates or
 * after an upgrade.
 */
import { createSelector, type SelectionAlgorithm } from '../../worker/core/routing/selector';

export const GOLDEN_ORIGINS = [1, 2, 3, 1, 1].map((weight, i) => ({ id: `app-${i + 1}`, weight }));
export const GOLDEN_KEYS = ['alpha', 'bravo', 'charlie', 'delta', 'AAAAAAAAAAAAAAAA', 'header:user-42'];

export const GOLDEN_RANKINGS: Record<SelectionAlgorithm, Record<string, string>> = {
  rendezvous: {
    alpha: '01234',
    bravo: '14230',
    charlie: '41032',
    delta: '12430',
    AAAAAAAAAAAAAAAA: '42013',
    'header:user-42': '02314',
  },
  ring: {
    alpha: '12034',
    bravo: '32410',
    charlie: '21403',
    delta: '43201',
    AAAAAAAAAAAAAAAA: '24031',
    'header:user-42': '02134',
  },
};

/** Each golden key's full preference order as a string of origin indices, e.g. "14230". */
export function rankGoldenKeys(algorithm: SelectionAlgorithm): Record<string, string> {
  const selector = createSelector(algorithm, GOLDEN_ORIGINS);
  return Object.fromEntries(GOLDEN_KEYS.map((key) => [key, selector.pick(key, () => true, 5).join('')]));
}
