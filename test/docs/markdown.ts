/**
 * The Markdown of the README and docs/ as the tests read it: headings and their GitHub anchors, and
 * links, outside fenced code blocks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Every Markdown page of the documentation, as paths relative to the repository. */
export function documentationPages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', 'BENCHMARKS.md', ...docs];
}

export function read(page: string): string {
  return readFileSync(join(ROOT, page), 'utf8');
}

/** The lines of a page that are prose, not code: fenced blocks are blanked, line numbers kept. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (line.startsWith('```')) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page's headings make, a repeated one numbered as GitHub does (`-1`, `-2`). */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(text)) {
    const match = /^#{1,6} (.*)$/.exec(line);
    if (!match) continue;
    const anchor = anchorOf(match[1]!);
    const count = seen.get(anchor) ?? 0;
    seen.set(anchor, count + 1);
    anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
  }
  return anchors;
}

export interface Link {
  page: string;
  line: number;
  target: string;
}

/** Every inline link of a page (`[text](target)`), images included. */
export function linksOf(page: string, text: string): Link[] {
  return prose(text).flatMap((line, index) =>
    [...line.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => ({ page, line: index + 1, target: match[1]! })),
  );
}

/** A link's target as a repository path, from the page it is on. */
export function pathOf(link: Link, path: string): string {
  return relative(ROOT, resolve(ROOT, link.page, '..', path));
}
