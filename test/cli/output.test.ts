import { formatFields, formatTable, isoOr, isoSeconds } from '../../packages/cli/src/output';

describe('formatTable', () => {
  const rows = [
    { name: 'com.example.app', size: 3000000, note: 'release' },
    { name: 'com.x.y', size: 12, note: '' },
  ];
  const columns = [
    { header: 'APP', value: (r: (typeof rows)[number]) => r.name },
    { header: 'SIZE', value: (r: (typeof rows)[number]) => String(r.size), align: 'right' as const },
    { header: 'NOTE', value: (r: (typeof rows)[number]) => r.note },
  ];

  it('aligns columns two spaces apart, numbers to the right, without trailing spaces', () => {
    expect(formatTable(rows, columns)).toBe(['APP                 SIZE  NOTE', 'com.example.app  3000000  release', 'com.x.y               12', ''].join('\n'));
  });

  it('keeps a value with a newline or tab on its row', () => {
    const out = formatTable([{ name: 'a\nb', size: 1, note: 'x\ty' }], columns);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).toContain('a b');
    expect(out).toContain('x y');
  });

  it('prints only the header for no rows', () => {
    expect(formatTable([], columns)).toBe('APP  SIZE  NOTE\n');
  });
});

describe('formatFields and times', () => {
  it('aligns values after the longest key', () => {
    expect(formatFields([['app', 'com.example.app'], ['version', '1.0.0']])).toBe('app      com.example.app\nversion  1.0.0\n');
  });

  it('prints unix seconds as ISO 8601 UTC without milliseconds', () => {
    expect(isoSeconds(1_800_000_000)).toBe('2027-01-15T08:00:00Z');
    expect(isoOr(undefined, 'never')).toBe('never');
  });
});
