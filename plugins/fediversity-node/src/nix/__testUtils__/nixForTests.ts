import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNixInstantiate, isNixInstantiateAvailable, NixInstantiate } from '../nixInstantiate';

export interface NixForTests {
  nix: NixInstantiate;
  /** A scratch directory of the test file's own, removed by close(). */
  dir: string;
  close(): Promise<void>;
}

const MISSING = 'nix-instantiate is not installed (Debian: nix-bin)';

/**
 * `describe` for tests that run Debian's nix-instantiate. Where it is missing, as root (CI) the test file
 * fails, so it never passes having checked nothing; as another user its tests are skipped with a warning,
 * as the tests of the other real tools are.
 */
export function describeWithNix(): jest.Describe {
  if (!spawnSync('nix-instantiate', ['--version']).error) return describe;
  if (process.getuid?.() === 0) throw new Error(MISSING);
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: ${MISSING}`);
  return describe.skip;
}

/** Debian's nix-instantiate and a scratch directory for a test file's describeWithNix() block. */
export async function startNixForTests(prefix: string): Promise<NixForTests> {
  if (!(await isNixInstantiateAvailable())) throw new Error(MISSING);
  const nix = await createNixInstantiate();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    nix,
    dir,
    async close() {
      await nix.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
