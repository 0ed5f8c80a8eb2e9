import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseCommandLine, shellQuote, toCommandLine } from './commandLine';
import { HOSTILE_ARGS } from './hostileArgs';

const run = promisify(execFile);

describe('shell quoting', () => {
  it('leaves plain words bare and single-quotes everything else', () => {
    expect(shellQuote('nixos-rebuild')).toBe('nixos-rebuild');
    expect(shellQuote('/etc/nixos#host')).toBe(`'/etc/nixos#host'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe(`''`);
    expect(shellQuote('a=b')).toBe(`'a=b'`);
  });

  it('refuses NUL and empty argv', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(() => toCommandLine([])).toThrow(/non-empty/);
  });

  it.each(['sh', 'bash'])('round-trips hostile arguments through a real %s', async shell => {
    const line = toCommandLine(['printf', '%s\\0', ...HOSTILE_ARGS]);
    const { stdout } = await run(shell, ['-c', line], { encoding: 'utf8' });
    expect(stdout.split('\0').slice(0, -1)).toEqual(HOSTILE_ARGS);
  });

  it('parses back exactly what it produced', () => {
    expect(parseCommandLine(toCommandLine(['printf', ...HOSTILE_ARGS]))).toEqual(['printf', ...HOSTILE_ARGS]);
    expect(parseCommandLine(`env NIX_CONFIG="a b" nixos-rebuild  switch`)).toEqual([
      'env',
      'NIX_CONFIG=a b',
      'nixos-rebuild',
      'switch',
    ]);
  });

  it.each(['a; b', 'a | b', 'echo $(id)', 'echo `id`', 'a > b', 'ls *', 'echo "$HOME"', "echo 'open", 'a && b'])(
    'refuses shell syntax instead of guessing: %s',
    line => {
      expect(() => parseCommandLine(line)).toThrow(/Unsupported command line/);
    },
  );
});
