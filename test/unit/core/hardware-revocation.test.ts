/**
 * The revocation list (PROTOCOL.md §5.6): parsing Google's format, attest's cached copy (an hour at
 * most, the last good copy kept through failures), and the scheduled refresh that never stores a copy
 * it could not fetch or parse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CachedRevocationList,
  parseAttestationStatus,
  StatusListFormatError,
  type StatusListSource,
} from '../../../packages/service/src/core/hardware/revocation';
import type { StatusListFetcher, StatusListStore } from '../../../packages/service/src/core/hardware/status-refresh';
import { revocationListHandler } from '../../../packages/service/src/handlers/revocation-list';
import type { LogFields, Logger } from '../../../packages/service/src/handlers/log';
import { ManualClock } from '../../support/memory';

const FIXTURE = readFileSync(join(__dirname, '../../fixtures/attestation-status.json'), 'utf8');

describe('parseAttestationStatus', () => {
  it('returns every serial, revoked and suspended alike, lower-case without leading zeros', () => {
    expect([...parseAttestationStatus(FIXTURE)].sort()).toEqual(['2c8cdddfd5e03bfc', 'beef01', 'c8966fcb2fbb0d7a', 'e1c0']);
    expect(parseAttestationStatus('{"entries":{}}').size).toBe(0);
  });

  it.each([
    ['not JSON', '<html>rate limited</html>'],
    ['no entries', '{"list": []}'],
    ['entries as an array', '{"entries": []}'],
    ['a serial that is not hex', '{"entries": {"xyz": {"status": "REVOKED"}}}'],
    ['an entry without status', '{"entries": {"ab": {"reason": "KEY_COMPROMISE"}}}'],
    ['null', 'null'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseAttestationStatus(text)).toThrow(StatusListFormatError);
  });
});

class FakeSource implements StatusListSource {
  readonly location = 'fake://status';
  reads = 0;
  constructor(public next: () => Promise<string | undefined>) {}
  async read() {
    this.reads++;
    return this.next();
  }
}

function cached(source: StatusListSource, clock: ManualClock) {
  const warnings: Array<[string, Record<string, string | number>]> = [];
  const list = new CachedRevocationList(source, { clock, warn: (event, fields) => warnings.push([event, fields]) });
  return { list, warnings };
}

describe('CachedRevocationList', () => {
  it('reads storage once an hour at most, and concurrent callers share one read', async () => {
    const clock = new ManualClock();
    const source = new FakeSource(async () => FIXTURE);
    const { list } = cached(source, clock);
    const [a, b] = await Promise.all([list.revokedSerials(), list.revokedSerials()]);
    expect(a.has('beef01')).toBe(true);
    expect(b).toBe(a);
    expect(source.reads).toBe(1);
    clock.advance(3599);
    await list.revokedSerials();
    expect(source.reads).toBe(1);
    clock.advance(1);
    source.next = async () => '{"entries":{"abc":{"status":"REVOKED"}}}';
    expect([...(await list.revokedSerials())]).toEqual(['abc']);
    expect(source.reads).toBe(2);
  });

  it('keeps the last good copy when a read fails or the copy is broken, says so, and tries again a minute later', async () => {
    const clock = new ManualClock();
    const source = new FakeSource(async () => FIXTURE);
    const { list, warnings } = cached(source, clock);
    await list.revokedSerials();
    clock.advance(3600);
    source.next = async () => Promise.reject(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    expect((await list.revokedSerials()).has('beef01')).toBe(true);
    expect(warnings).toEqual([['revocation_list_unreadable', { location: 'fake://status', error: 'TimeoutError: socket hang up', keptSerials: 4 }]]);
    clock.advance(59);
    await list.revokedSerials();
    expect(source.reads).toBe(2);
    clock.advance(1);
    source.next = async () => 'not json';
    expect((await list.revokedSerials()).size).toBe(4);
    expect(warnings[1]![0]).toBe('revocation_list_unreadable');
  });

  it('before any copy exists, no serial is revoked and the log says the list is missing (once an hour)', async () => {
    const clock = new ManualClock();
    const source = new FakeSource(async () => undefined);
    const { list, warnings } = cached(source, clock);
    expect((await list.revokedSerials()).size).toBe(0);
    await list.revokedSerials();
    expect(warnings).toEqual([['revocation_list_missing', { location: 'fake://status' }]]);
    clock.advance(3600);
    source.next = async () => FIXTURE;
    expect((await list.revokedSerials()).size).toBe(4);
  });
});

describe('the revocation function', () => {
  function logger() {
    const lines: Array<[string, string, LogFields | undefined]> = [];
    const log: Logger = {
      info: (event, fields) => lines.push(['info', event, fields]),
      warn: (event, fields) => lines.push(['warn', event, fields]),
      error: (event, fields) => lines.push(['error', event, fields]),
    };
    return { log, lines };
  }
  const store = (): StatusListStore & { written: string[] } => {
    const written: string[] = [];
    return { location: 's3://bucket/hardware/attestation-status.json', written, write: async (text) => void written.push(text) };
  };
  const fetcher = (fetch: () => Promise<string>): StatusListFetcher => ({ url: 'https://android.googleapis.com/attestation/status', fetch });

  it('stores the list as fetched, once it parses, and logs how many serials it holds', async () => {
    const { log, lines } = logger();
    const target = store();
    await revocationListHandler({ fetcher: fetcher(async () => FIXTURE), store: target }, log)();
    expect(target.written).toEqual([FIXTURE]);
    expect(lines).toEqual([['info', 'revocation_list_stored', expect.objectContaining({ serials: 4, bytes: Buffer.byteLength(FIXTURE) })]]);
  });

  it.each([
    ['a fetch that fails', async () => Promise.reject(new Error('getaddrinfo ENOTFOUND android.googleapis.com'))],
    ['a body that is not the list', async () => '<html>502 Bad Gateway</html>'],
  ])('%s stores nothing (the last copy stays), logs an error and fails the invocation', async (_what, fetch) => {
    const { log, lines } = logger();
    const target = store();
    await expect(revocationListHandler({ fetcher: fetcher(fetch), store: target }, log)()).rejects.toThrow();
    expect(target.written).toEqual([]);
    expect(lines).toEqual([['error', 'revocation_list_refresh_failed', expect.objectContaining({ keptPreviousCopy: true, location: target.location })]]);
  });
});
