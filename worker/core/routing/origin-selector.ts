/**
 * The one small interface behind which both consistent-hash algorithms live (rendezvous.ts,
 * hash-ring.ts), so that routing does not care which is configured and the benchmarks can measure
 * both the same way. selector.ts builds the configured one.
 */
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
