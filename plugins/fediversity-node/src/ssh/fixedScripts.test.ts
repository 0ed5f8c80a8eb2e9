import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHORISE_KEY_SCRIPT, REVOKE_KEY_SCRIPT } from './fixedScripts';

/** The scripts as a host runs them: Debian's sh, argv only, a home of the test's own. */
describe('the fixed key scripts, run by sh', () => {
  let home: string;
  const run = (script: string, ...args: string[]) => execFileSync('sh', ['-c', script, 'sh', ...args], { env: { PATH: process.env.PATH, HOME: home } });
  const keys = () => readFileSync(join(home, '.ssh/authorized_keys'), 'utf8');

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'fediversity-keys-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('authorises a key once, and revokes exactly the keys with that comment', () => {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh/authorized_keys'), 'ssh-ed25519 AAAAportal portal\n\n# a comment line\n', { mode: 0o644 });
    const migration = 'ssh-ed25519 AAAAmigration fediversity-migration-0123abcd';
    run(AUTHORISE_KEY_SCRIPT, migration);
    run(AUTHORISE_KEY_SCRIPT, migration);
    run(AUTHORISE_KEY_SCRIPT, 'ssh-ed25519 AAAAother fediversity-migration-0123abcde');
    expect(keys().split('\n').filter(line => line === migration)).toHaveLength(1);

    run(REVOKE_KEY_SCRIPT, 'fediversity-migration-0123abcd');
    expect(keys()).toBe('ssh-ed25519 AAAAportal portal\n\n# a comment line\nssh-ed25519 AAAAother fediversity-migration-0123abcde\n');
    expect(statSync(join(home, '.ssh/authorized_keys')).mode & 0o777).toBe(0o600);
    // Again: nothing left to take out, nothing else touched.
    run(REVOKE_KEY_SCRIPT, 'fediversity-migration-0123abcd');
    expect(keys()).toContain('AAAAportal');
  });

  it('takes its argument as data: a comment with shell and awk syntax matches only itself', () => {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    const hostile = `x\\n"; system("touch ${join(home, 'pwned')}"); "$(touch ${join(home, 'pwned2')})`;
    writeFileSync(join(home, '.ssh/authorized_keys'), 'ssh-ed25519 AAAAportal portal\n');
    run(REVOKE_KEY_SCRIPT, hostile);
    expect(keys()).toBe('ssh-ed25519 AAAAportal portal\n');
    expect(() => statSync(join(home, 'pwned'))).toThrow();
    expect(() => statSync(join(home, 'pwned2'))).toThrow();
  });

  it('has nothing to do, and succeeds, where there is no authorized_keys', () => {
    run(REVOKE_KEY_SCRIPT, 'fediversity-migration-0123abcd');
    expect(() => statSync(join(home, '.ssh/authorized_keys'))).toThrow();
  });
});
