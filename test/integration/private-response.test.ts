import { afterEach, describe, expect, it, vi } from 'vitest';
import { keepOutOfSharedCaches } from '../../worker/http/private-response';
import { affinityCookie, freshWorker, seedConfig, stubOrigins } from './support';

function after(headers: Record<string, string>): Record<string, string> {
  const out = new Headers(headers);
  keepOutOfSharedCaches(out);
  return Object.fromEntries(out);
}

describe('a response that sets the affinity cookie', () => {
  it('becomes private, keeping what the origin said for the browser’s own cache', () => {
    expect(after({ 'cache-control': 'public, max-age=3600, s-maxage=86400, proxy-revalidate' })).toEqual({
      'cache-control': 'private, max-age=3600',
    });
    expect(after({})).toEqual({ 'cache-control': 'private' });
    expect(after({ 'cache-control': 'no-cache' })).toEqual({ 'cache-control': 'private, no-cache' });
  });

  it('stays as it is when the origin already kept it out of shared caches', () => {
    expect(after({ 'cache-control': 'no-store' })).toEqual({ 'cache-control': 'no-store' });
    expect(after({ 'cache-control': 'Private, max-age=60' })).toEqual({ 'cache-control': 'Private, max-age=60' });
  });

  it('turns a private that names only some fields into one that covers the whole response', () => {
    expect(after({ 'cache-control': 'public, private="x-user", max-age=60' })).toEqual({
      'cache-control': 'private, max-age=60',
    });
  });

  it('loses the directives addressed to CDNs only, which would override Cache-Control there', () => {
    expect(
      after({
        'cache-control': 'max-age=60',
        'cdn-cache-control': 'max-age=86400',
        'cloudflare-cdn-cache-control': 'max-age=86400',
        'surrogate-control': 'max-age=86400',
      }),
    ).toEqual({ 'cache-control': 'private, max-age=60' });
  });
});

describe('the proxy, in front of an origin that marks its pages public', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps a response that issues the cookie out of shared caches, and leaves the steady state alone', async () => {
    await seedConfig({
      origins: [
        { id: 'one', url: 'http://one' },
        { id: 'two', url: 'http://two' },
      ],
    });
    const publicPage = () => new Response('page', { headers: { 'cache-control': 'public, max-age=600' } });
    stubOrigins({ one: publicPage, two: publicPage });
    const worker = freshWorker();
    const first = await worker.fetch('http://proxy.test/');
    expect(first.headers.get('cache-control')).toBe('private, max-age=600');
    const cookie = affinityCookie(first)!;
    const later = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(later.headers.getSetCookie()).toEqual([]);
    expect(later.headers.get('cache-control')).toBe('public, max-age=600');
  });
});
