import { describe, expect, it } from 'vitest';
import { loggedPath } from '../../worker/core/text/logged-path';

describe('loggedPath', () => {
  it('keeps each path parameter’s name and drops its value, in every segment', () => {
    expect(loggedPath('/cart;jsessionid=8F3A9C1D/checkout')).toBe('/cart;jsessionid=…/checkout');
    expect(loggedPath('/a;sid=1;v=2/b;token=x')).toBe('/a;sid=…;v=…/b;token=…');
    expect(loggedPath('/a;secret-without-name/b')).toBe('/a;…/b');
    expect(loggedPath(`/a;${'n'.repeat(40)}=1`)).toBe('/a;…');
    expect(loggedPath('/a;=1;')).toBe('/a;…;…');
  });

  it('leaves a path without parameters as it is', () => {
    for (const path of ['/', '/shop/cart', '/a=b/c', '/%3Bx']) expect(loggedPath(path)).toBe(path);
  });
});
