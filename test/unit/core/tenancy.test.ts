import { normalisePrincipal, parseOperatorPrincipals, resolveAdminCaller } from '../../../packages/service/src/core/tenancy';
import { MemoryRegistry } from '../../support/memory';

describe('normalisePrincipal', () => {
  it.each([
    ['arn:aws:sts::123456789012:assumed-role/Deployer/ci-run-42', 'arn:aws:iam::123456789012:role/Deployer'],
    ['arn:aws:iam::123456789012:role/service-role/Deployer', 'arn:aws:iam::123456789012:role/Deployer'],
    ['arn:aws:iam::123456789012:role/Deployer', 'arn:aws:iam::123456789012:role/Deployer'],
    ['arn:aws-us-gov:sts::123456789012:assumed-role/Ops/alice', 'arn:aws-us-gov:iam::123456789012:role/Ops'],
    ['arn:aws:iam::123456789012:user/ops/alice', 'arn:aws:iam::123456789012:user/ops/alice'],
    ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:root'],
  ])('%s -> %s', (arn, expected) => {
    expect(normalisePrincipal(arn)).toBe(expected);
  });
});

describe('resolveAdminCaller', () => {
  const registry = new MemoryRegistry();
  registry.principals.set(
    'arn:aws:iam::123456789012:role/Deployer',
    { principal: 'arn:aws:iam::123456789012:role/Deployer', tenantId: 'acme', operator: false },
  );
  const options = {
    directory: registry.directory,
    operatorPrincipals: parseOperatorPrincipals(' arn:aws:iam::123456789012:user/root-ops , ,'),
    defaultTenantId: 'default',
  };

  it('maps a role session to the role’s tenant', async () => {
    expect(await resolveAdminCaller(options, 'arn:aws:sts::123456789012:assumed-role/Deployer/s1')).toEqual({
      principal: 'arn:aws:iam::123456789012:role/Deployer',
      tenantId: 'acme',
      operator: false,
      // Mapped without a role, as before roles existed: an admin.
      role: 'admin',
    });
  });

  it('makes configured operator principals operators of the default tenant', async () => {
    expect(await resolveAdminCaller(options, 'arn:aws:iam::123456789012:user/root-ops')).toMatchObject({ tenantId: 'default', operator: true });
  });

  it('fails closed: no identity or an unmapped principal has no tenant', async () => {
    expect(await resolveAdminCaller(options, null)).toBeUndefined();
    expect(await resolveAdminCaller(options, '')).toBeUndefined();
    expect(await resolveAdminCaller(options, 'arn:aws:iam::123456789012:user/mallory')).toBeUndefined();
    expect(await resolveAdminCaller(options, 'arn:aws:iam::999999999999:role/Deployer')).toBeUndefined();
  });
});
