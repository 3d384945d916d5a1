/**
 * House rules a reviewer would otherwise have to catch by eye, over every source file git knows
 * (committed or about to be): no line over 160 characters, and no comment that points at an issue
 * number, which says nothing to a reader without the tracker and goes stale when the issue closes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const MAX_LINE = 160;
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|sh)$/;
/** The word issue and a number (with or without #), or a number in parentheses after #: tracker citations. */
const ISSUE_CITATION = /\bissue\s*#?\d+|\(#\d+\)/i;

function sourceFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return listed
    .split('\n')
    .filter((path) => SOURCE.test(path) && !path.includes('/dist/'))
    .filter((path) => {
      try {
        readFileSync(join(ROOT, path));
        return true;
      } catch {
        return false; // deleted in the work tree, not yet in the index
      }
    });
}

/** `path:line` of every line for which `bad` holds. */
function offending(bad: (line: string) => boolean): string[] {
  return sourceFiles().flatMap((path) =>
    readFileSync(join(ROOT, path), 'utf8')
      .split('\n')
      .flatMap((line, index) => (bad(line) ? [`${path}:${index + 1}`] : [])),
  );
}

test('finds the sources it checks', () => {
  const files = sourceFiles();
  expect(files).toEqual(expect.arrayContaining(['packages/contracts/src/routes.ts', 'test/package/source-lines.test.ts']));
  expect(files.some((path) => path.includes('node_modules'))).toBe(false);
});

test(`no source line is over ${MAX_LINE} characters`, () => {
  expect(offending((line) => line.length > MAX_LINE)).toEqual([]);
});

test('no source line cites an issue number', () => {
  expect(offending((line) => ISSUE_CITATION.test(line))).toEqual([]);
});
