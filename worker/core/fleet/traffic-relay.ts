/**
 * A location object's relay of its isolates' traffic reports to the fleet aggregator, and the receipts
 * that keep a restart from losing or doubling what it held. Pure: batches, `now` and each forward's
 * outcome in; what to forward, when, and what each isolate may forget out.
 *
 * Batches merge into one as they arrive (counts add, sketches take register maxima: the aggregator's
 * own arithmetic, so the figures are those of a single level), and one merged batch goes out per
 * interval: the aggregator's load grows with locations, not isolates. The first batch after a quiet
 * interval goes out at once; one that carries requests to a draining origin within `drainIntervalMs`
 * of the last forward ("drained" is judged by them). Other forwards keep to slots one interval apart
 * at a phase of the object's own, the next slot at least half an interval after the last forward: a
 * deploy restarts every location object at once, and without it their forwards would keep reaching
 * the aggregator together, 300 in the same second of every ten.
 *
 * Nothing is stored per report: a storage write for every isolate's report would cost more than the
 * report itself. Instead an isolate keeps each batch it handed over until the location says it went
 * out. Its receipt names the object's incarnation (drawn when the object starts) and the round the
 * batch goes out in; the ledger, stored after every forward the aggregator took, has the last round
 * of each recent incarnation. A batch whose incarnation is gone without having forwarded its round
 * was lost with that object's memory, and its isolate sends it again; one whose round went out is
 * forgotten. A forward that fails goes out again with the next round, in it, so the receipts of both
 * are settled by that round. What is held stays bounded: a merged batch is as large as the origins it
 * names, however many reports went into it.
 */
import { TrafficTally, type TrafficBatch } from './traffic-counts';

/** Where a batch went: which incarnation of the location object took it, and in which round it goes out. */
export interface Receipt {
  incarnation: string;
  round: number;
}

/** Per incarnation of a location object, the last round the aggregator took, and when. */
export type RelayLedger = Record<string, { round: number; at: number }>;

/**
 * How many incarnations the ledger remembers. An isolate reports every 10 s, and so learns of its
 * receipt at its next report; an object restarted this many times in between is an outage, not a
 * deploy, and a receipt of an incarnation no longer listed counts as lost (sent again).
 */
export const LEDGER_INCARNATIONS = 8;

export interface RelayTiming {
  /** Milliseconds between two forwards. */
  intervalMs: number;
  /** Milliseconds between two forwards while they carry requests to a draining origin. */
  drainIntervalMs: number;
  /** Where in the interval this object's slots fall, in [0, intervalMs): drawn when it starts. */
  phaseMs: number;
}

/** What becomes of a batch an isolate handed over, by the location's latest answer. */
export type Settlement = 'forwarded' | 'waiting' | 'lost';

export function settleReceipt(receipt: Receipt, answer: { incarnation: string; ledger: RelayLedger }): Settlement {
  if ((answer.ledger[receipt.incarnation]?.round ?? 0) >= receipt.round) return 'forwarded';
  return receipt.incarnation === answer.incarnation ? 'waiting' : 'lost';
}

/** How many batches an isolate keeps for its location object to vouch for: five minutes of reports. */
export const MAX_UNCONFIRMED_BATCHES = 30;

/**
 * An isolate's batches that its location object took and has not yet said it forwarded, oldest first,
 * at most `limit` of them: past that the oldest is let go, since a location that has answered nothing
 * for that long has most likely forwarded it already, or lost it for good.
 */
export class UnconfirmedBatches {
  #kept: { receipt: Receipt; batch: TrafficBatch }[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.#kept.length;
  }

  /**
   * A location object's answer to the batch just sent: keeps that batch, forgets those that went out,
   * and hands back those it lost (to be sent again) and how many were let go.
   */
  settle(
    answer: { incarnation: string; receipt: Receipt; ledger: RelayLedger },
    batch: TrafficBatch,
  ): { lost: TrafficBatch[]; dropped: number } {
    const lost: TrafficBatch[] = [];
    const waiting = this.#kept.filter((kept) => {
      const settled = settleReceipt(kept.receipt, answer);
      if (settled === 'lost') lost.push(kept.batch);
      return settled === 'waiting';
    });
    waiting.push({ receipt: answer.receipt, batch });
    const dropped = waiting.splice(0, Math.max(0, waiting.length - this.limit)).length;
    this.#kept = waiting;
    return { lost, dropped };
  }
}

export class TrafficRelay {
  readonly #pending = new TrafficTally();
  #draining = false;
  /** The round what is pending goes out in. */
  #round = 1;
  #inFlight?: { round: number; batch: TrafficBatch; draining: boolean };
  #forwardedAt = -Infinity;
  #ledger: RelayLedger;

  constructor(
    readonly incarnation: string,
    ledger: RelayLedger,
    private readonly timing: RelayTiming,
  ) {
    this.#ledger = ledger;
  }

  get ledger(): RelayLedger {
    return this.#ledger;
  }

  /** Takes one isolate's batch into the next forward. */
  take(batch: TrafficBatch, { draining }: { draining: boolean }): Receipt {
    this.#pending.absorb(batch);
    if (draining) this.#draining = true;
    return { incarnation: this.incarnation, round: this.#round };
  }

  /** When the next forward is due; undefined while nothing waits, or one is under way. */
  get dueAt(): number | undefined {
    if (this.#pending.isEmpty || this.#inFlight) return undefined;
    const { intervalMs, drainIntervalMs, phaseMs } = this.timing;
    if (this.#draining || this.#forwardedAt === -Infinity) return this.#forwardedAt + drainIntervalMs;
    const earliest = this.#forwardedAt + intervalMs / 2;
    return phaseMs + Math.ceil((earliest - phaseMs) / intervalMs) * intervalMs;
  }

  /**
   * The merged batch to send now (the shell asks at `dueAt`), if anything waits and no forward is
   * under way; what arrives meanwhile goes out in the round after.
   */
  startForward(now: number): { round: number; batch: TrafficBatch } | undefined {
    if (this.#pending.isEmpty || this.#inFlight) return undefined;
    this.#inFlight = { round: this.#round++, batch: this.#pending.drain(), draining: this.#draining };
    this.#draining = false;
    this.#forwardedAt = now;
    return this.#inFlight;
  }

  /** The aggregator took the forward: the ledger to store, so that a later incarnation can vouch for it. */
  forwarded(now: number): RelayLedger {
    const round = this.#inFlight?.round;
    this.#inFlight = undefined;
    if (round === undefined) return this.#ledger;
    const kept = Object.entries(this.#ledger)
      .filter(([incarnation]) => incarnation !== this.incarnation)
      .sort(([, a], [, b]) => b.at - a.at)
      .slice(0, LEDGER_INCARNATIONS - 1);
    this.#ledger = Object.fromEntries([[this.incarnation, { round, at: now }], ...kept]);
    return this.#ledger;
  }

  /** The forward failed: its batch goes out with the next round (its receipts are settled by that one). */
  failed(): void {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    if (!inFlight) return;
    this.#pending.absorb(inFlight.batch);
    if (inFlight.draining) this.#draining = true;
  }
}
