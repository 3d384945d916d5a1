import { DurationError, formatDuration, MAX_EXPIRE_AFTER_SECONDS, parseDuration, parseExpireAfter } from '../../packages/cli/src/duration';

describe('parseDuration', () => {
  it.each([
    ['30d', 30 * 86400],
    ['12h', 12 * 3600],
    ['90m', 90 * 60],
    ['45s', 45],
    ['2w', 14 * 86400],
    ['1d12h', 36 * 3600],
    [' 7D ', 7 * 86400],
  ])('%s is %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '30', 'd', '1.5d', '-1d', '30 d', '30days', '1y', '1d 2h', '0x10m'])('refuses %p', (text) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
  });

  it('refuses values beyond a safe integer instead of rounding them', () => {
    expect(() => parseDuration('99999999999999999999w')).toThrow(/too long/);
  });
});

describe('parseExpireAfter', () => {
  it('accepts the admin API bounds exactly', () => {
    expect(parseExpireAfter('1m')).toBe(60);
    expect(parseExpireAfter('3650d')).toBe(MAX_EXPIRE_AFTER_SECONDS);
  });

  it('refuses durations the admin API would refuse, saying the range', () => {
    expect(() => parseExpireAfter('59s')).toThrow(/1m at the earliest and 3650d at the latest/);
    expect(() => parseExpireAfter('3651d')).toThrow(DurationError);
  });
});

describe('formatDuration', () => {
  it('uses the largest whole unit, as one would type it', () => {
    expect(formatDuration(300)).toBe('5m');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(30 * 86400)).toBe('30d');
    expect(formatDuration(90 * 60)).toBe('90m');
    expect(formatDuration(61)).toBe('61s');
  });

  it('round-trips through parseDuration', () => {
    for (const seconds of [60, 61, 300, 5400, 86400, 7 * 86400, 3650 * 86400]) expect(parseDuration(formatDuration(seconds))).toBe(seconds);
  });
});
