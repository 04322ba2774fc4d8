import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorsOf, documentationPages, linksOf, pathOf, read, ROOT } from './markdown';

describe('the documentation’s links', () => {
  const pages = documentationPages();

  it('are found on every page (the test reads what it should)', () => {
    expect(pages).toContain('docs/configuration.md');
    expect(linksOf('README.md', read('README.md')).length).toBeGreaterThan(10);
  });

  it('all resolve: every file exists, and every anchor is a heading of the page it points to', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const link of linksOf(page, read(page))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) continue; // https:, mailto: — not ours to check offline
        const [path = '', anchor] = link.target.split('#');
        const file = path === '' ? page : pathOf(link, path);
        if (!existsSync(join(ROOT, file))) {
          broken.push(`${link.page}:${link.line}: ${link.target} (no file ${file})`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor)) {
          broken.push(`${link.page}:${link.line}: ${link.target} (no heading #${anchor} in ${file})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
