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

/**
 * Debian's nix-instantiate and a scratch directory for a test file. Without nix-bin it throws, so the
 * file's tests fail rather than pass having checked nothing, as the tests of the other real tools do.
 */
export async function startNixForTests(prefix: string): Promise<NixForTests> {
  if (!(await isNixInstantiateAvailable())) {
    throw new Error('nix-instantiate is not installed: apt-get install nix-bin (README, "Tests")');
  }
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
