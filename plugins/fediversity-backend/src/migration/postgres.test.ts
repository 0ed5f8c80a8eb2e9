import { isCleanShutdownReading, lsnPosition, parseControlData } from './postgres';

describe('lsnPosition', () => {
  it('orders LSNs by their 64-bit WAL position, the high word first', () => {
    expect(lsnPosition('0/4006CA0')).toBe(0x4006ca0n);
    expect(lsnPosition('1/0')).toBeGreaterThan(lsnPosition('0/FFFFFFFF'));
    // A plain string comparison would get these wrong.
    expect(lsnPosition('0/A000000')).toBeGreaterThan(lsnPosition('0/9FFFFFF'));
    expect(lsnPosition('10/0')).toBeGreaterThan(lsnPosition('9/FFFFFFFF'));
  });

  it('refuses what is not an LSN (an empty replay position, SQL, anything else)', () => {
    for (const value of ['', '0/', '0/4006CA0; SELECT 1', 'x/1']) expect(() => lsnPosition(value)).toThrow(/Unexpected LSN/);
  });
});

describe('isCleanShutdownReading', () => {
  const reading = (state: string, redo = '0/D08180', extra = '') =>
    `${extra}pg_control version number:            1300\nDatabase cluster state:               ${state}\nLatest checkpoint location:           0/D08180\nLatest checkpoint's REDO location:    ${redo}\n`;
  const check = (output: string) => isCleanShutdownReading(output, parseControlData(output));

  it('trusts a whole reading of a shutdown checkpoint', () => {
    expect(check(reading('shut down'))).toBe(true);
  });

  it('ignores a reading taken before the checkpoint ended, a torn one, or one of another checkpoint', () => {
    expect(check(reading('shutting down'))).toBe(false);
    expect(check(reading('in production'))).toBe(false);
    expect(check(reading('shut down', '0/D08180', 'WARNING: Calculated CRC checksum does not match value stored in file.\n'))).toBe(false);
    expect(check(reading('shut down', '0/D07000'))).toBe(false);
  });
});
