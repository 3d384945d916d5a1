/**
 * cdk-nag's AwsSolutions and Serverless packs over both stacks (in their variants): no finding is
 * left unacknowledged, every acknowledgement names a rule and gives a specific reason, each one
 * still suppresses a real finding (none is stale), and all of them live in one file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import type { PolicyViolation } from 'aws-cdk-lib';
import { AttestationKeySource } from '../../packages/cdk/src/attestation-authorizer';
import { AttestorStack } from '../../packages/cdk/src/attestor-stack';
import { ExampleApiStack } from '../../packages/cdk/src/example-api-stack';
import { fastApp } from './helpers';

const ROOT = path.resolve(__dirname, '../..');

/** Both stacks as `cdk deploy` makes them, plus the variants props can produce. */
function fullApp(): App {
  const app = fastApp();
  const attestor = new AttestorStack(app, 'Attestor');
  new ExampleApiStack(app, 'ExampleKms', { keySource: AttestationKeySource.kms({ registryTable: attestor.tables.registry }) });
  new ExampleApiStack(app, 'ExampleRemote', { keySource: AttestationKeySource.remoteOf(attestor.api.restApi), cloudWatchRole: true });
  new AttestorStack(app, 'AttestorVariant', {
    webAcl: false,
    tracingEnabled: true,
    registerReservedConcurrency: null,
    demoRoute: true,
    demoAuthorizer: { limitedUse: true, requireBinding: true, requireProof: true },
  });
  new AttestorStack(app, 'AttestorMonitor', { demoRoute: true, demoAuthorizer: { mode: 'monitor' } });
  new AttestorStack(app, 'AttestorCustomDomain', {
    domain: { domainName: 'attest.example.com', hostedZone: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' } },
  });
  new AttestorStack(app, 'AttestorCached', { demoRoute: true, demoAuthorizer: { resultsCacheTtl: Duration.seconds(60), requireBinding: true } });
  return app;
}

const packs = (app: App) => [new AwsSolutionsChecks(app), new ServerlessChecks(app)];

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(app: App): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, id: key.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

/** Every finding the packs would report if nothing were acknowledged. */
function rawFindings(app: App): PolicyViolation[] {
  const proto = NagPack.prototype as unknown as { isAcknowledged: (...args: unknown[]) => boolean };
  const original = proto.isAcknowledged;
  proto.isAcknowledged = () => false;
  try {
    return packs(app).flatMap((p) => p.validateScope(app).violations);
  } finally {
    proto.isAcknowledged = original;
  }
}

let app: App;
beforeAll(() => {
  app = fullApp();
});

test('AwsSolutions and Serverless: every finding in both stacks is fixed or acknowledged', () => {
  for (const pack of packs(app)) {
    const report = pack.validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} (${v.severity}): ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  }
});

test('the packs do find things without the acknowledgements (the check above is not vacuous)', () => {
  const ids = new Set(rawFindings(app).map((v) => v.ruleName.replace(/\[.*$/, '')));
  expect([...ids]).toEqual(expect.arrayContaining(['AwsSolutions-IAM5', 'AwsSolutions-APIG4', 'Serverless-LambdaDLQ']));
});

test('every acknowledgement names one rule of the two packs and gives a specific reason', () => {
  const acks = acknowledgements(app);
  expect(acks.length).toBeGreaterThan(0);
  for (const a of acks) {
    expect(a.id).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[[^\]]+\])?$/);
    expect(a.reason.length).toBeGreaterThanOrEqual(80);
  }
  // Specific: one reason is not recycled for different rules.
  const rulesByReason = new Map<string, Set<string>>();
  for (const a of acks) rulesByReason.set(a.reason, (rulesByReason.get(a.reason) ?? new Set()).add(a.id.replace(/\[.*$/, '')));
  for (const [reason, rules] of rulesByReason) expect({ reason, rules: [...rules] }).toEqual({ reason, rules: [[...rules][0]] });
});

test('no acknowledgement is stale: each suppresses a finding the packs report on its construct or below', () => {
  const findings = rawFindings(app);
  for (const a of acknowledgements(app)) {
    const matched = findings.some(
      (v) => v.ruleName === a.id && v.violatingResources.some((r) => r.constructPath === a.path || (r.constructPath ?? '').startsWith(`${a.path}/`)),
    );
    expect({ ack: `${a.path} ${a.id}`, matched }).toEqual({ ack: `${a.path} ${a.id}`, matched: true });
  }
});

test('all acknowledgements live in packages/cdk/src/nag-acknowledgements.ts', () => {
  const dirs = ['packages/cdk/src', 'packages/cdk/bin'];
  const files = dirs.flatMap((dir) => fs.readdirSync(path.join(ROOT, dir)).map((f) => path.join(dir, f))).filter((f) => f.endsWith('.ts'));
  const withAcks = files.filter((f) => /\.acknowledge\(/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  expect(withAcks).toEqual([path.join('packages/cdk/src', 'nag-acknowledgements.ts')]);
});

test('`cdk synth` runs both packs over the app (packages/cdk/bin/attestor.ts)', () => {
  const source = fs.readFileSync(path.join(ROOT, 'packages/cdk/bin/attestor.ts'), 'utf8');
  expect(source).toMatch(/Validations\.of\(app\)\.addPlugins\(new AwsSolutionsChecks\(app\), new ServerlessChecks\(app\)\)/);
});
