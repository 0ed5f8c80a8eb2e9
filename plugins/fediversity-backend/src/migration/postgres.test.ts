import { lsnPosition } from './postgres';

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
