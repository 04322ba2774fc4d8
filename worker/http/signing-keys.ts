/**
 * HMAC keys of this isolate, imported (or derived) once rather than per request — an import costs
 * about as much as a verification — and again only if the secrets change. One cache per kind of key:
 * the affinity cookie's, and the envelopes' of learned values.
 */
import type { SigningKey, SigningKeys } from '../core/affinity-token';

export class SigningKeyCache {
  #secrets?: { current: string; previous: string | undefined };
  #keys?: Promise<SigningKeys>;

  /** @param importKey turns a secret into the key this cache holds (`importSigningKey`, `importEnvelopeKey`). */
  constructor(private readonly importKey: (secret: string) => Promise<SigningKey>) {}

  get(current: string, previous: string | undefined): Promise<SigningKeys> {
    const retired = previous || undefined;
    if (!this.#keys || this.#secrets?.current !== current || this.#secrets.previous !== retired) {
      this.#secrets = { current, previous: retired };
      this.#keys = this.#importKeys(current, retired);
      this.#keys.catch(() => (this.#keys = undefined));
    }
    return this.#keys;
  }

  async #importKeys(current: string, previous: string | undefined): Promise<SigningKeys> {
    const [currentKey, previousKey] = await Promise.all([
      this.importKey(current),
      previous && previous !== current ? this.importKey(previous) : undefined,
    ]);
    return previousKey ? { current: currentKey, previous: previousKey } : { current: currentKey };
  }
}
