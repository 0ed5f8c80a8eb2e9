import { HostShell } from '../migration/hosts';
import { StrategyEnv } from '../migration/strategy';

/** A target that answers every command with success and no output. */
const quietTarget: HostShell = { role: 'target', run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) };

/** A strategy's environment for unit tests: no checkpoint, logs and sleeps that do nothing, unless given. */
export function testStrategyEnv(fields: Pick<StrategyEnv, 'jobId' | 'params' | 'source'> & Partial<StrategyEnv>): StrategyEnv {
  return {
    target: quietTarget,
    signal: new AbortController().signal,
    checkpoint: {},
    saveCheckpoint: async () => {},
    secret: async ref => {
      throw new Error(`no secret ${ref} in this test`);
    },
    log: async () => {},
    sleep: async () => {},
    now: () => Date.now(),
    ...fields,
  };
}
