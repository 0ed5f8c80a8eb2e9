/**
 * Turns a pattern as PVE stores it (unanchored Perl syntax, possibly wrapped in the
 * stringified-qr forms `(?^:...)` / `(?^i:...)`) into an anchored JavaScript RegExp,
 * the way PVE::JSONSchema applies it (`$value =~ m/^$pattern$/`).
 * Node 20 has no inline modifiers, so a `(?^i:` anywhere makes the whole regex
 * case-insensitive; PVE's patterns only use it for whole-value matches.
 */
export function perlPatternToRegExp(pattern: string): RegExp {
  const caseInsensitive = pattern.includes('(?^i:');
  const body = pattern.replace(/\(\?\^i?:/g, '(?:');
  return new RegExp(`^(?:${body})$`, caseInsensitive ? 'i' : '');
}
