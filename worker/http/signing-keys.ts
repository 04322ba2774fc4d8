/**
 * The HMAC keys of this isolate, imported once rather than per request (an import costs about as
 * much as a verification), and again only if the secrets change.
 */
import { importSigningKey, type SigningKeys } from '../core/affinity-token';

export class SigningKeyCache {
  #secrets?: { current: string; previous: string | undefined };
  #keys?: Promise<SigningKeys>;

  get(current: string, previous: string | undefined): Promise<SigningKeys> {
    const retired = previous || undefined;
    if (!this.#keys || this.#secrets?.current !== current || this.#secrets.previous !== retired) {
      this.#secrets = { current, previous: retired };
      this.#keys = importKeys(current, retired);
      this.#keys.catch(() => (this.#keys = undefined));
    }
    return this.#keys;
  }
}

async function importKeys(current: string, previous: string | undefined): Promise<SigningKeys> {
  const [currentKey, previousKey] = await Promise.all([
    importSigningKey(current),
    previous && previous !== current ? importSigningKey(previous) : undefined,
  ]);
  return previousKey ? { current: currentKey, previous: previousKey } : { current: currentKey };
}
