/**
 * Every admin answer is live state (the configuration in force, health, traffic) or a change's
 * outcome: no browser or shared cache may keep one and answer a later request with it.
 */
export const NO_STORE = { 'cache-control': 'no-store' } as const;
