import { DEFAULT_POLICY, compareVersions, policyViolations, type Policy } from '../../../packages/service/src/core/policy';

const clean = { rooted: false, emulator: false, debugger: false, hooked: false };

describe('compareVersions', () => {
  it.each([
    ['1.10.0', '1.9', 1],
    ['1.9', '1.10.0', -1],
    ['1.2', '1.2.0', 0],
    ['2', '1.99.99', 1],
    ['1.2.0-beta', '1.2.0', -1],
    ['1.2.0', '1.2.0-beta', 1],
    ['1.2.0+42', '1.2.0', 0],
    ['1.3.0-beta', '1.2.0', 1],
    ['1.2.0-alpha', '1.2.0-rc.1', -1],
    ['1.2.0-alpha', '1.2.0-alpha.1', -1],
    ['1.2.0-alpha.2', '1.2.0-alpha.10', -1],
    ['1.2.0-rc.1', '1.2.0-rc.1', 0],
    ['1.2.0-1', '1.2.0-alpha', -1],
    ['1.2.1+build', '1.2.0', 1],
    ['x.1', '0.1', 0],
  ])('compares %s with %s as %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });
});

describe('policyViolations', () => {
  it('rejects only hooking under the default policy', () => {
    expect(policyViolations(DEFAULT_POLICY, { rooted: true, emulator: true, debugger: true, hooked: false }, '0.0.1')).toEqual([]);
    expect(policyViolations(DEFAULT_POLICY, { ...clean, hooked: true }, '1.0.0')).toEqual(['device_hooked']);
  });

  it('reports every rejected signal in a fixed order, then the SDK version', () => {
    const strict: Policy = { reject: { rooted: true, emulator: true, debugger: true, hooked: true }, minSdkVersion: '2.0' };
    expect(policyViolations(strict, { rooted: true, emulator: true, debugger: true, hooked: true }, '1.9.9')).toEqual([
      'device_rooted',
      'device_emulator',
      'device_debugger',
      'device_hooked',
      'sdk_too_old',
    ]);
    expect(policyViolations(strict, clean, '2.0.0')).toEqual([]);
  });
});
