import { InputError } from '@backstage/errors';

/** Words made only of these characters mean the same to every POSIX shell, quoted or not. */
const SAFE_BARE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/**
 * Quotes one argument for a POSIX shell: the shell turns the result back into exactly `arg`.
 * Single quotes disable every expansion; an embedded `'` becomes `'\''`.
 * NUL cannot be carried by any argv, so it is refused rather than silently truncated.
 */
export function shellQuote(arg: string): string {
  if (typeof arg !== 'string') {
    throw new InputError(`Command argument must be a string, got ${typeof arg}`);
  }
  if (arg.includes('\0')) {
    throw new InputError('Command argument contains a NUL byte');
  }
  if (SAFE_BARE_WORD.test(arg)) {
    return arg;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argv array into one command line for a remote POSIX shell (ssh sends one string, not argv). */
export function toCommandLine(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new InputError('Command argv must be a non-empty array');
  }
  return argv.map(shellQuote).join(' ');
}

/**
 * The inverse of `toCommandLine` for servers that run commands without a shell (the demo hosts).
 * Accepts bare words, '…', "…" without expansions, and backslash escapes outside quotes.
 * Anything a shell would interpret (`;`, `|`, `$`, globs, redirections…) is refused, not guessed at.
 */
export function parseCommandLine(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let i = 0;
  const fail = (why: string): never => {
    throw new InputError(`Unsupported command line (${why}) at offset ${i}`);
  };
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      if (inWord) {
        words.push(current);
        current = '';
        inWord = false;
      }
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) fail('unterminated single quote');
      current += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) fail('unterminated double quote');
      const content = line.slice(i + 1, end);
      if (/[$`\\!]/.test(content)) fail('expansion inside double quotes');
      current += content;
      inWord = true;
      i = end + 1;
    } else if (c === '\\') {
      if (i + 1 >= line.length || line[i + 1] === '\n') fail('line continuation');
      current += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/[A-Za-z0-9_@%+:,./=-]/.test(c) || c.charCodeAt(0) > 0x7f) {
      // `=` is accepted bare so that `env NAME=value cmd` parses; non-ASCII is literal in every shell.
      current += c;
      inWord = true;
      i++;
    } else {
      fail(`shell syntax ${JSON.stringify(c)}`);
    }
  }
  if (inWord) words.push(current);
  return words;
}
