/**
 * The REQUEST authorizer's modes, metrics and request handling, on AWS's own sample event
 * (test/fixtures/apigw-custom-auth-request-type-request.json) over the memory fakes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { createSecretKey, randomBytes } from 'node:crypto';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { InMemoryReplayLedger } from '../../../packages/verify/src/core/replay';
import { AttestationVerifier, type EnforcementOptions } from '../../../packages/verify/src/core/verifier';
import { authorizerHandler, requestUrl, type AuthorizerOptions } from '../../../packages/service/src/handlers/authorizer';
import { verdictName, type AuthorizerVerdict, type MetricsSink } from '../../../packages/service/src/handlers/metrics';
import type { LogFields, Logger } from '../../../packages/service/src/handlers/log';
import { ManualClock } from '../../support/memory';
import { bindingFor, makeProof } from '../../support/proof';
import { ISSUER, TENANT, claimsAt, forge, hs256, newInstallKey } from '../core/helpers';

const fixture = JSON.parse(
  readFileSync(join(__dirname, '../../fixtures/apigw-custom-auth-request-type-request.json'), 'utf8'),
) as APIGatewayRequestAuthorizerEvent;
/** The URL the sample event's client addressed: X-Forwarded-Proto, Host, requestContext.path. */
const FIXTURE_URL = 'https://....execute-api.us-east-1.amazonaws.com/request';
const ARN = fixture.methodArn;

class Recorder implements Logger, MetricsSink {
  readonly lines: { event: string; fields?: LogFields }[] = [];
  readonly verdicts: AuthorizerVerdict[] = [];
  info(event: string, fields?: LogFields) {
    this.lines.push({ event, ...(fields ? { fields } : {}) });
  }
  warn(event: string, fields?: LogFields) {
    this.info(event, fields);
  }
  error(event: string, fields?: LogFields) {
    this.info(event, fields);
  }
  record(verdict: AuthorizerVerdict) {
    this.verdicts.push(verdict);
  }
}

const secret = { kid: 'current', key: createSecretKey(randomBytes(32)) };
const install = newInstallKey();
const jkt = jwkThumbprint(install.jwk);

function setup(options: AuthorizerOptions = {}, enforcement: EnforcementOptions = {}) {
  const clock = new ManualClock();
  const verifier = new AttestationVerifier({
    keys: { keys: async () => ({ publicKeys: new Map(), secrets: [secret] }) },
    tenantId: TENANT,
    issuer: ISSUER,
    clock,
    ...enforcement,
  });
  const recorder = new Recorder();
  const handler = authorizerHandler(verifier, recorder, { metrics: recorder, ...options });
  const token = (claims: Record<string, unknown> = {}) =>
    forge(
      { alg: 'HS256', typ: 'JWT' },
      claimsAt(clock.now, { jti: randomBytes(16).toString('base64url'), did: jkt, cnf: { jkt }, ...claims }),
      hs256(secret.key),
    );
  return { clock, handler, recorder, token };
}

const event = (headers: Record<string, string>, extra: Partial<APIGatewayRequestAuthorizerEvent> = {}): APIGatewayRequestAuthorizerEvent => ({
  ...fixture,
  headers: { ...fixture.headers, ...headers },
  multiValueHeaders: { ...fixture.multiValueHeaders, ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) },
  ...extra,
});

const effect = (result: Awaited<ReturnType<ReturnType<typeof authorizerHandler>>>) => (result.policyDocument.Statement[0] as { Effect: string }).Effect;

describe('authorizer, enforce mode', () => {
  it('denies failures, logs and counts each denial with its code, and counts a pass (with its app) without logging it', async () => {
    const { handler, recorder, token } = setup();
    expect(effect(await handler(event({ 'Attestor-Token': token() })))).toBe('Allow');
    expect(effect(await handler(event({})))).toBe('Deny');
    expect(effect(await handler(event({ 'Attestor-Token': token({ aud: 'x' }) })))).toBe('Deny');
    expect(recorder.verdicts).toEqual([
      { result: 'valid', code: 'valid', mode: 'enforce', appId: 'com.example.app' },
      { result: 'missing', code: 'missing', mode: 'enforce' },
      { result: 'invalid', code: 'wrong_audience', mode: 'enforce' },
    ]);
    expect(recorder.verdicts.map(verdictName)).toEqual(['allowed', 'denied', 'denied']);
    expect(recorder.lines).toEqual([
      { event: 'token_denied', fields: { code: 'missing', path: '/request' } },
      { event: 'token_denied', fields: { code: 'wrong_audience', path: '/request' } },
    ]);
  });

  it('never logs the token, proof or bound header', async () => {
    const { handler, recorder, token } = setup({}, { requireBinding: true });
    const t = token({ pay: bindingFor('Bearer secret-session') });
    await handler(event({ 'Attestor-Token': t, Authorization: 'Bearer other-session' }));
    await handler(event({ 'Attestor-Token': `${t}x` }));
    const logged = JSON.stringify(recorder.lines) + JSON.stringify(recorder.verdicts);
    expect(logged).not.toContain(t.slice(20, 60));
    expect(logged).not.toContain('session');
    expect(recorder.verdicts.map((v) => v.code)).toEqual(['binding_mismatch', 'malformed']);
  });

  it('uses the configured token header', async () => {
    const { handler, token } = setup({ tokenHeader: 'X-App-Token' });
    expect(effect(await handler(event({ 'x-app-token': token() })))).toBe('Allow');
    expect(effect(await handler(event({ 'Attestor-Token': token() })))).toBe('Deny');
  });

  it('denies a token or proof header sent twice', async () => {
    const { handler, recorder, token } = setup();
    const t = token();
    const twice = event({ 'Attestor-Token': t }, { multiValueHeaders: { ...fixture.multiValueHeaders, 'Attestor-Token': [token(), t] } });
    expect(effect(await handler(twice))).toBe('Deny');
    expect(recorder.verdicts.at(-1)?.code).toBe('malformed');
  });

  it('denies a request that repeats the bound header when binding is on, whichever copy the token is bound to', async () => {
    // Prepare: the attacker holds a token bound to their own session and replays it beside a victim's.
    const bound = setup({}, { requireBinding: true });
    const unbound = setup();
    const t = bound.token({ pay: bindingFor('attacker') });
    const twice = (token: string) =>
      event(
        { 'Attestor-Token': token, Authorization: 'attacker' },
        { multiValueHeaders: { ...fixture.multiValueHeaders, 'Attestor-Token': [token], authorization: ['victim', 'attacker'] } },
      );

    // Act
    const refused = await bound.handler(twice(t));
    const ignored = await unbound.handler(twice(unbound.token()));

    // Assess
    expect(effect(refused)).toBe('Deny');
    expect(bound.recorder.verdicts.at(-1)?.code).toBe('malformed');
    expect(effect(await bound.handler(event({ 'Attestor-Token': t, Authorization: 'attacker' })))).toBe('Allow');
    // Without binding the header means nothing to the authorizer, so repeating it changes nothing.
    expect(effect(ignored)).toBe('Allow');
  });

  it('checks binding against the configured header', async () => {
    const { handler, token } = setup({ bindingHeader: 'X-Session' }, { requireBinding: true });
    const t = token({ pay: bindingFor('s-1') });
    expect(effect(await handler(event({ 'Attestor-Token': t, 'x-session': 's-1' })))).toBe('Allow');
    expect(effect(await handler(event({ 'Attestor-Token': t, 'x-session': 's-2', Authorization: 's-1' })))).toBe('Deny');
  });

  it('checks proofs against the URL API Gateway reports, or against publicBaseUrl', async () => {
    // Prepare
    const ledger = new InMemoryReplayLedger({ clock: new ManualClock() });
    const derived = setup({}, { requireProof: true, ledger });
    const configured = setup({ publicBaseUrl: 'https://api.example.com/v1' }, { requireProof: true, ledger });
    const t = derived.token();
    const proof = (url: string, method = 'GET') => makeProof({ key: install, token: t, method, url, iat: derived.clock.now });
    // Act / Assess
    expect(effect(await derived.handler(event({ 'Attestor-Token': t, 'Attestor-Proof': proof(FIXTURE_URL) })))).toBe('Allow');
    expect(effect(await derived.handler(event({ 'Attestor-Token': t, 'Attestor-Proof': proof(FIXTURE_URL, 'POST') })))).toBe('Deny');
    expect(effect(await derived.handler(event({ 'Attestor-Token': t, 'Attestor-Proof': proof('https://api.example.com/v1/request') })))).toBe('Deny');
    expect(effect(await configured.handler(event({ 'Attestor-Token': t, 'Attestor-Proof': proof('https://api.example.com/v1/request') })))).toBe('Allow');
    expect(effect(await configured.handler(event({ 'Attestor-Token': t, 'Attestor-Proof': proof(FIXTURE_URL) })))).toBe('Deny');
    expect(derived.recorder.verdicts.map((v) => v.code)).toEqual(['valid', 'proof_invalid', 'proof_invalid']);
  });

  it('denies and logs an error when the ledger fails', async () => {
    const { handler, recorder, token } = setup({}, { limitedUse: true, ledger: { consume: () => Promise.reject(new Error('ThrottlingException')) } });
    expect(effect(await handler(event({ 'Attestor-Token': token() })))).toBe('Deny');
    expect(recorder.lines.map((l) => l.event)).toEqual(['authorizer_error', 'token_denied']);
    expect(recorder.verdicts).toEqual([{ result: 'invalid', code: 'verifier_error', mode: 'enforce' }]);
  });
});

describe('authorizer, requireHardware', () => {
  it('enforce: denies a token without an accepted hw as hardware_missing; an allowed one tells the backend its hw', async () => {
    // Prepare
    const { handler, recorder, token } = setup({}, { requireHardware: ['android-key'] });
    // Act
    const results = [
      await handler(event({ 'Attestor-Token': token() })),
      await handler(event({ 'Attestor-Token': token({ hw: 'app-attest' }) })),
      await handler(event({ 'Attestor-Token': token({ hw: 'android-key' }) })),
    ];
    // Assess
    expect(results.map(effect)).toEqual(['Deny', 'Deny', 'Allow']);
    expect(recorder.verdicts.map((v) => v.code)).toEqual(['hardware_missing', 'hardware_missing', 'valid']);
    expect(results[2]!.context).toEqual({ appId: 'com.example.app', did: jkt, appVersion: '1.2.3', jti: expect.any(String), hw: 'android-key' });
  });

  it('monitor: lets the request through and says hardware_missing', async () => {
    const { handler, token } = setup({ mode: 'monitor' }, { requireHardware: true });
    const result = await handler(event({ 'Attestor-Token': token() }));
    expect(effect(result)).toBe('Allow');
    expect(result.context).toEqual({ attestorResult: 'invalid', attestorCode: 'hardware_missing' });
  });
});

describe('authorizer, monitor mode', () => {
  it('allows every request, telling the backend and the metrics what enforcing would have done', async () => {
    // Prepare
    const { handler, recorder, token } = setup({ mode: 'monitor' });
    const valid = token();
    // Act
    const results = [
      await handler(event({ 'Attestor-Token': valid })),
      await handler(event({})),
      await handler(event({ 'Attestor-Token': token({ iss: 'x' }) })),
    ];
    // Assess
    expect(results.map(effect)).toEqual(['Allow', 'Allow', 'Allow']);
    expect(results.map((r) => r.context)).toEqual([
      { appId: 'com.example.app', did: jkt, appVersion: '1.2.3', jti: expect.any(String) },
      { attestorResult: 'missing', attestorCode: 'missing' },
      { attestorResult: 'invalid', attestorCode: 'wrong_issuer' },
    ]);
    expect(results.map((r) => r.principalId)).toEqual([jkt, 'anonymous', 'anonymous']);
    expect(recorder.verdicts).toEqual([
      { result: 'valid', code: 'valid', mode: 'monitor', appId: 'com.example.app' },
      { result: 'missing', code: 'missing', mode: 'monitor' },
      { result: 'invalid', code: 'wrong_issuer', mode: 'monitor' },
    ]);
    expect(recorder.verdicts.map(verdictName)).toEqual(['allowed', 'would_deny', 'would_deny']);
    expect(recorder.lines).toEqual([
      { event: 'token_monitored', fields: { result: 'valid', code: 'valid', path: '/request' } },
      { event: 'token_monitored', fields: { result: 'missing', code: 'missing', path: '/request' } },
      { event: 'token_monitored', fields: { result: 'invalid', code: 'wrong_issuer', path: '/request' } },
    ]);
  });

  it('allows requests even when the key source is down', async () => {
    const clock = new ManualClock();
    const verifier = new AttestationVerifier({ keys: { keys: () => Promise.reject(new Error('down')) }, tenantId: TENANT, issuer: ISSUER, clock });
    const recorder = new Recorder();
    const result = await authorizerHandler(verifier, recorder, { mode: 'monitor', metrics: recorder })(event({ 'Attestor-Token': 'a.b.c' }));
    expect(effect(result)).toBe('Allow');
  });
});

describe('requestUrl', () => {
  it('derives the URL from X-Forwarded-Proto, Host and requestContext.path', () => {
    expect(requestUrl(fixture, undefined)).toBe(FIXTURE_URL);
    const staged = { ...fixture, requestContext: { ...fixture.requestContext, path: '/prod/request' } };
    expect(requestUrl(staged, undefined)).toBe('https://....execute-api.us-east-1.amazonaws.com/prod/request');
  });

  it('defaults to https, honours http only when forwarded as such, and needs a Host', () => {
    const { 'X-Forwarded-Proto': _proto, ...noProto } = fixture.headers as Record<string, string>;
    expect(requestUrl({ ...fixture, headers: noProto }, undefined)).toBe(FIXTURE_URL);
    expect(requestUrl({ ...fixture, headers: { ...noProto, 'x-forwarded-proto': 'http' } }, undefined)).toBe(
      'http://....execute-api.us-east-1.amazonaws.com/request',
    );
    const { Host: _host, ...noHost } = fixture.headers as Record<string, string>;
    expect(requestUrl({ ...fixture, headers: noHost }, undefined)).toBeUndefined();
  });

  it('uses publicBaseUrl with the resource path when configured', () => {
    expect(requestUrl(fixture, 'https://api.example.com/v1')).toBe('https://api.example.com/v1/request');
  });
});
