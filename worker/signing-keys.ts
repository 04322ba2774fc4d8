/**
 * Keys of this isolate, imported (or derived) once rather than per request — an import costs about as
 * much as a verification — and again only if the secrets change. One cache per kind of key: the
 * affinity cookie's, the envelopes' of learned values, and the sealed states'.
 */
import type { SigningKey } from './core/session/affinity-token';

/** The key of the current secret, and the previous one's during a rotation. */
export interface KeyPair<K> {
  readonly current: K;
  readonly previous?: K;
}

export class SigningKeyCache<K = SigningKey> {
  #secrets?: { current: string; previous: string | undefined };
  #keys?: Promise<KeyPair<K>>;

  /** @param importKey turns a secret into the key this cache holds (`importSigningKey`, `importEnvelopeKey`, `importStateKey`). */
  constructor(private readonly importKey: (secret: string) => Promise<K>) {}

  get(current: string, previous: string | undefined): Promise<KeyPair<K>> {
    const retired = previous || undefined;
    if (!this.#keys || this.#secrets?.current !== current || this.#secrets.previous !== retired) {
      this.#secrets = { current, previous: retired };
      this.#keys = this.#importKeys(current, retired);
      this.#keys.catch(() => (this.#keys = undefined));
    }
    return this.#keys;
  }

  async #importKeys(current: string, previous: string | undefined): Promise<KeyPair<K>> {
    const [currentKey, previousKey] = await Promise.all([
      this.importKey(current),
      previous && previous !== current ? this.importKey(previous) : undefined,
    ]);
    return previousKey ? { current: currentKey, previous: previousKey } : { current: currentKey };
  }
}
