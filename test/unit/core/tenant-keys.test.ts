import fc from 'fast-check';
import type { TenantKeyRecord } from '../../../packages/service/src/core/ports';
import {
  KEY_PUBLICATION_SECONDS,
  keysToDelete,
  keyStatusAt,
  RETIREMENT_DELAY_SECONDS,
  retirementsAfterRotation,
  signingKeyAt,
  trustedKeysAt,
} from '../../../packages/service/src/core/tenant-keys';

const key = (kid: string, createdAt: number, extra: Partial<TenantKeyRecord> = {}): TenantKeyRecord => ({
  tenantId: 't',
  kid,
  keyId: `kms-${kid}`,
  createdAt,
  status: 'active',
  ...extra,
});

describe('key lifecycle', () => {
  const first = key('first', 1000);
  const rotated = key('second', 5000, { activatesAt: 5000 + KEY_PUBLICATION_SECONDS });
  const firstRetiring = { ...first, retiresAt: rotated.activatesAt! + RETIREMENT_DELAY_SECONDS };
  const records = [rotated, firstRetiring];

  it('waits the whole life of the longest token, the signing cache and the verifier skew before retiring', () => {
    expect(RETIREMENT_DELAY_SECONDS).toBe(3600 + 30 + 60);
    // Publication outlasts a verifier's 30 s refetch interval.
    expect(KEY_PUBLICATION_SECONDS).toBeGreaterThan(30);
  });

  it('keeps signing with the old key until the new one activates, then switches', () => {
    expect(signingKeyAt(records, 5000)?.kid).toBe('first');
    expect(signingKeyAt(records, rotated.activatesAt! - 1)?.kid).toBe('first');
    expect(signingKeyAt(records, rotated.activatesAt!)?.kid).toBe('second');
  });

  it('trusts the pending key from the rotation on and the old key until it retires', () => {
    expect(trustedKeysAt(records, 5000).map((k) => k.kid)).toEqual(['second', 'first']);
    expect(trustedKeysAt(records, firstRetiring.retiresAt - 1).map((k) => k.kid)).toEqual(['second', 'first']);
    expect(trustedKeysAt(records, firstRetiring.retiresAt).map((k) => k.kid)).toEqual(['second']);
  });

  it('names each status at each moment', () => {
    const at = (now: number) => records.map((r) => keyStatusAt(r, records, now));
    expect(at(5000)).toEqual(['pending', 'active']);
    expect(at(rotated.activatesAt!)).toEqual(['active', 'retiring']);
    expect(at(firstRetiring.retiresAt)).toEqual(['active', 'retired']);
    expect(keyStatusAt({ ...first, status: 'retired' }, [first], 2000)).toBe('retired');
  });

  it('deletes a key only once it has retired, and only once', () => {
    expect(keysToDelete(records, firstRetiring.retiresAt - 1)).toEqual([]);
    expect(keysToDelete(records, firstRetiring.retiresAt).map((k) => k.kid)).toEqual(['first']);
    const deleted = { ...firstRetiring, deletionScheduledAt: firstRetiring.retiresAt };
    expect(keysToDelete([rotated, deleted], firstRetiring.retiresAt + 1)).toEqual([]);
    expect(keyStatusAt(deleted, [rotated, deleted], firstRetiring.retiresAt + 1)).toBe('deleted');
  });

  it('retires every older key, once, relative to the newest activation', () => {
    const third = key('third', 6000, { activatesAt: 6060 });
    expect(retirementsAfterRotation([first, rotated])).toEqual([{ kid: 'first', retiresAt: rotated.activatesAt! + RETIREMENT_DELAY_SECONDS }]);
    // An earlier retirement stands; the superseded pending key retires too.
    expect(retirementsAfterRotation([third, rotated, firstRetiring])).toEqual([{ kid: 'second', retiresAt: 6060 + RETIREMENT_DELAY_SECONDS }]);
    expect(retirementsAfterRotation([])).toEqual([]);
  });

  it('always has exactly one signing key after any sequence of rotations, and it is trusted', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 30_000 }), (gaps, probe) => {
        let records: TenantKeyRecord[] = [key('k0', 0)];
        let now = 0;
        gaps.forEach((gap, i) => {
          now += gap;
          records.push(key(`k${i + 1}`, now, { activatesAt: now + KEY_PUBLICATION_SECONDS }));
          const retire = new Map(retirementsAfterRotation(records).map((r) => [r.kid, r.retiresAt]));
          records = records.map((r) => (retire.has(r.kid) ? { ...r, retiresAt: retire.get(r.kid)! } : r));
        });
        const signer = signingKeyAt(records, probe);
        expect(signer).toBeDefined();
        expect(trustedKeysAt(records, probe).map((r) => r.kid)).toContain(signer!.kid);
        expect(records.filter((r) => keyStatusAt(r, records, probe) === 'active')).toHaveLength(1);
        // No key verifiers trust is ever up for deletion.
        const trusted = new Set(trustedKeysAt(records, probe).map((r) => r.kid));
        expect(keysToDelete(records, probe).filter((r) => trusted.has(r.kid))).toEqual([]);
      }),
    );
  });
});
