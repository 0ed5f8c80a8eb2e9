/**
 * Deterministic hostile strings and values for the renderer's round-trip tests: everything that
 * has meaning in Nix, JSON, shells or terminals, combined at random from a fixed seed.
 */
import type { NixValue } from './nixValue';

/** Fragments with a meaning somewhere: Nix string syntax, antiquotation, comments, control chars. */
export const HOSTILE_FRAGMENTS = [
  '"',
  '\\',
  '\\\\',
  '$',
  '${',
  '$${',
  '\\${',
  '${x}',
  '"${builtins.currentTime}"',
  "''",
  "''${",
  "'''",
  "'",
  '}',
  '{',
  '\n',
  '\r',
  '\r\n',
  '\t',
  '\u000b',
  '\u0001',
  '\u001b[31m',
  '\u007f',
  '#',
  '/*',
  '*/',
  ';',
  '=',
  ' ',
  'or',
  'inherit',
  'rec',
  'é',
  'ß',
  '日本',
  '😀',
  '👩‍👩‍👧',
  '\u0301',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u202e',
  '\ufeff',
  '\uffff',
  'a',
  'Z',
  '0',
  '-',
  '.',
  '/',
  '<nixpkgs>',
  'import ./x.nix',
  '$(id)',
  '`id`',
];

/** Every fragment alone and each hostile pair that has bitten someone. */
export const HOSTILE_STRINGS = [
  '',
  ...HOSTILE_FRAGMENTS,
  '\\"',
  '\\$',
  '"; system = "pwned',
  '${builtins.readFile /etc/passwd}',
  '\\${x}',
  '$\\{x}',
  'line1\nline2\r\nline3\rline4',
  'trailing backslash \\',
  'trailing dollar $',
  '"; } // { pwned = true; } // { x = "',
];

/** mulberry32: small, fast, and the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hostileString(random: () => number, maxFragments = 12): string {
  const count = Math.floor(random() * (maxFragments + 1));
  let result = '';
  for (let i = 0; i < count; i++) {
    if (random() < 0.15) {
      // Any BMP code point outside the surrogate range, or an astral one.
      const codePoint = random() < 0.5 ? 1 + Math.floor(random() * 0xd7ff) : 0x10000 + Math.floor(random() * 0xfffff);
      result += String.fromCodePoint(codePoint);
    } else {
      result += HOSTILE_FRAGMENTS[Math.floor(random() * HOSTILE_FRAGMENTS.length)];
    }
  }
  return result;
}

/** Attribute names whose meaning to Nix changes the value itself; the renderer refuses them. */
const RESERVED_KEY = /^(?:__|_type$|outPath$)/;

/** A random JSON-like value with hostile strings as keys and leaves. */
export function hostileValue(random: () => number, depth = 0): NixValue {
  const pick = random();
  if (depth < 3 && pick < 0.2) {
    const length = Math.floor(random() * 4);
    return Array.from({ length }, () => hostileValue(random, depth + 1));
  }
  if (depth < 3 && pick < 0.4) {
    const result: Record<string, NixValue> = {};
    const size = Math.floor(random() * 4);
    for (let i = 0; i < size; i++) {
      const key = hostileString(random, 4);
      if (!RESERVED_KEY.test(key)) result[key] = hostileValue(random, depth + 1);
    }
    return result;
  }
  if (pick < 0.5) return Math.floor((random() - 0.5) * 2 ** 40);
  if (pick < 0.55) return random() < 0.5;
  if (pick < 0.58) return null;
  return hostileString(random);
}
