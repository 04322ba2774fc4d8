import { describe, expect, it } from 'vitest';
import { adminPathOf } from '../../worker/admin/admin-paths';

describe('adminPathOf', () => {
  it('names the admin path of every spelling a server could read as the prefix', () => {
    const spellings: [string, string][] = [
      ['/_affinity', '/_affinity'],
      ['/_affinity/status?x=1', '/_affinity/status?x=1'],
      ['/_AFFINITY/status', '/_affinity/status'],
      ['/_Affinity', '/_affinity'],
      ['/%5Faffinity/config', '/_affinity/config'],
      ['/%5faffinity/config', '/_affinity/config'],
      ['/%5F%61ffinity/config', '/_affinity/config'],
      ['/%255Faffinity/config', '/_affinity/config'],
      ['/_affinity;/status', '/_affinity/status'],
      ['/_affinity;jsessionid=1/status', '/_affinity/status'],
      ['/_affinity;x', '/_affinity'],
      ['//_affinity/status', '/_affinity/status'],
      ['///_affinity', '/_affinity'],
      ['/_affinity%2Fstatus', '/_affinity/status'],
      ['/_affinity?next=/x', '/_affinity?next=/x'],
      ['/%2F_affinity/config', '/_affinity/config'],
      ['/%2f%2f_affinity/config', '/_affinity/config'],
      ['/_affinity%5Cconfig', '/_affinity/config'],
      ['/%5C_affinity/config', '/_affinity/config'],
      ['/\\_affinity/config', '/_affinity/config'],
      ['/;x/_affinity/config', '/_affinity/config'],
      ['/_affinity/', '/_affinity/'],
    ];
    for (const [path, canonical] of spellings) expect(adminPathOf(path), path).toBe(canonical);
  });

  it('names none for every other path, look-alikes included', () => {
    for (const path of [
      '/',
      '/shop',
      '/_affinityx',
      '/_affinity.json',
      '/x/_affinity',
      '/%5Fother',
      '/%zz',
      '/_',
      '/?_affinity',
    ]) {
      expect(adminPathOf(path), path).toBeNull();
    }
  });
});
