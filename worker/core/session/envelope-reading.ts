/**
 * What the envelopes a request carries under learned names mean for it: which origin holds its
 * application session, which values go back to the origin in their place, and the key of that
 * session's preference list.
 */
import type { EnvelopeOpening } from './learned-envelope';
import type { LearnedName } from './learned-names';

/** The envelope's outcome as the decision log reports it. */
export type EnvelopeOutcome = 'valid' | 'previous-key' | 'unknown-origin' | 'tampered' | 'plain' | 'absent';

/** A value the client sent under a learned name, and what opening it found. */
export interface CarriedValue {
  learned: LearnedName;
  text: string;
  opening: EnvelopeOpening;
}

/** An authentic envelope, opened: the origin receives `value` in its place. */
export interface UnsealedValue {
  learned: LearnedName;
  /** The envelope as the client sent it. */
  envelope: string;
  originId: string;
  value: string;
  signedWith: 'current' | 'previous';
}

export interface EnvelopeReading {
  outcome: EnvelopeOutcome;
  /** The learned name the outcome is about: the envelope that routes, else the first value carried. */
  learned?: string;
  /** Index of the origin a valid envelope names. */
  pinned?: number;
  /** An authentic envelope whose origin left the configuration. */
  lapsedPin?: 'removed';
  /**
   * The session key of the application session the authentic envelope belongs to, from the origin's
   * own value: every request of that session, concurrent ones included, ranks origins alike, so when
   * its origin is gone they all move to the same survivor.
   */
  sessionKey?: string;
  /** Every authentic envelope the request carried, in the order of `affinity.learn`. */
  unsealed: readonly UnsealedValue[];
}

export const NO_ENVELOPE: EnvelopeReading = { outcome: 'absent', unsealed: [] };

/**
 * Interprets the openings against the configured origins. The first authentic envelope that names a
 * configured origin routes (in the order of `affinity.learn`); failing that, the first authentic one
 * tells that its origin is gone. Anything else carried routes nothing and is passed on untouched.
 */
export function interpretEnvelopes(
  carried: readonly CarriedValue[],
  indexOf: ReadonlyMap<string, number>,
): EnvelopeReading {
  const unsealed = carried.flatMap(({ learned, text, opening }): UnsealedValue[] =>
    opening.ok
      ? [{ learned, envelope: text, originId: opening.originId, value: opening.value, signedWith: opening.signedWith }]
      : [],
  );
  const routing = unsealed.find((envelope) => indexOf.has(envelope.originId)) ?? unsealed[0];
  if (routing) {
    const learned = routing.learned.label;
    // The label is a token, which holds no ':', so no two (name, value) pairs give one key; and no
    // `affinity.key` form or random session id starts with "learned:".
    const sessionKey = `learned:${learned}:${routing.value}`;
    const pinned = indexOf.get(routing.originId);
    if (pinned === undefined) return { outcome: 'unknown-origin', learned, lapsedPin: 'removed', sessionKey, unsealed };
    const outcome = routing.signedWith === 'previous' ? 'previous-key' : 'valid';
    return { outcome, learned, pinned, sessionKey, unsealed };
  }
  const forged = carried.find(({ opening }) => !opening.ok && opening.reason === 'forged');
  if (forged) return { outcome: 'tampered', learned: forged.learned.label, unsealed };
  return carried[0] ? { outcome: 'plain', learned: carried[0].learned.label, unsealed } : NO_ENVELOPE;
}
