import { createHash } from 'node:crypto';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { HOST_APP_NAMES, HOSTNAME_PATTERN } from '@fediversity/plugin-fediversity-common';
import {
  DEFAULT_FLAKE_DIR,
  nixosRebuildCommand,
  RenderedFile,
  renderHostFiles,
  SshConnection,
  validateHostDescription,
} from '@fediversity/plugin-fediversity-node';
import { derivedAppOptions } from '../lib/appDefaults';
import { FediversityActionDeps, pickCluster } from './deps';
import { startHeartbeat } from './lib/progress';
import { examples } from './nixosDeploy.examples';

/** Log output of nixos-rebuild line by line, without terminal control sequences. */
function lineLogger(log: (line: string) => void) {
  let pending = '';
  const emit = (line: string) => {
    // eslint-disable-next-line no-control-regex
    const clean = line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trimEnd();
    if (clean) log(clean);
  };
  return {
    write(chunk: Buffer) {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(emit);
    },
    flush() {
      emit(pending);
      pending = '';
    },
  };
}

export function createNixosDeployAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:nixos:deploy',
    description:
      'Renders the host description (validated, JSON read by the flake; nothing interpolated into Nix), uploads it ' +
      'with the flake over SFTP, and runs nixos-rebuild switch --flake over SSH with the pinned host key, streaming ' +
      'its output to the task log.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        cluster: z => z.string().optional().describe('Cluster of the guest (chooses the SSH identity)'),
        host: z => z.string().min(1),
        port: z => z.number().int().min(1).max(65535).default(22),
        username: z => z.string().default('root'),
        hostKey: z => z.string().min(16).describe('The pinned host key (fediversity:guest:awaitReachable output)'),
        hostname: z => z.string().regex(HOSTNAME_PATTERN, 'must be a lower-case host label'),
        domain: z => z.string().min(4),
        app: z => z.enum(HOST_APP_NAMES),
        appOptions: z => z.record(z.unknown()).optional().describe('Options of the app module; some are derived from domain when left out'),
        acmeEmail: z => z.string().optional().describe('Defaults to hostmaster@<domain>'),
        acmeStaging: z => z.boolean().optional().describe("Let's Encrypt staging; defaults to true on demo clusters"),
        flakeDir: z => z.string().default(DEFAULT_FLAKE_DIR),
      },
      output: {
        flakeRef: z => z.string(),
        configSha256: z => z.string(),
        files: z => z.number().int(),
        rebuildSeconds: z => z.number().optional().describe('How long nixos-rebuild switch ran'),
      },
    },
    async handler(ctx) {
      const { input, signal } = ctx;
      const cluster = pickCluster(deps.clusters, input.cluster);
      const flakeDir = input.flakeDir ?? DEFAULT_FLAKE_DIR;
      const keyPair = await deps.guestAccess.clientKey(cluster);
      const description = validateHostDescription({
        schemaVersion: 1,
        hostname: input.hostname,
        domain: input.domain,
        app: input.app,
        appOptions: { ...derivedAppOptions(input.app, input.domain), ...(input.appOptions ?? {}) },
        acmeEmail: input.acmeEmail ?? `hostmaster@${input.domain}`,
        acmeStaging: input.acmeStaging ?? cluster.demo,
        sshAuthorizedKeys: [keyPair.publicKey],
      });
      const files: RenderedFile[] = [...(await deps.flakeFiles()), ...renderHostFiles(description)];
      const configSha256 = hashFiles(files);
      const { argv, env } = nixosRebuildCommand(description.hostname, flakeDir);
      const flakeRef = argv[argv.length - 1];
      const base = `deploy.${description.hostname}.${configSha256.slice(0, 16)}`;

      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would upload ${files.length} files to ${input.host}:${flakeDir} and run ${argv.join(' ')}; nothing was changed`,
        );
      } else {
        const connection = await SshConnection.connect({
          host: input.host,
          port: input.port ?? 22,
          username: input.username ?? 'root',
          hostKey: input.hostKey,
          privateKey: keyPair.privateKey,
        });
        try {
          await ctx.checkpoint({
            key: `${base}.upload`,
            fn: async () => {
              await uploadAll(connection, flakeDir, files, signal);
              ctx.logger.info(`Uploaded ${files.length} files to ${flakeDir} (configuration ${configSha256.slice(0, 12)})`);
            },
          });
          const switched = await ctx.checkpoint({
            key: `${base}.switch`,
            fn: async () => {
              const started = Date.now();
              await rebuild(ctx, connection, argv, env, signal, deps.timing?.heartbeatMs);
              const seconds = (Date.now() - started) / 1000;
              ctx.logger.info(`nixos-rebuild switch took ${seconds.toFixed(2)} s`);
              return { seconds };
            },
          });
          ctx.output('rebuildSeconds', switched.seconds);
        } finally {
          connection.close();
        }
      }
      ctx.output('flakeRef', flakeRef);
      ctx.output('configSha256', configSha256);
      ctx.output('files', files.length);
    },
  });
}

async function rebuild(
  ctx: { logger: { info(message: string): void } },
  connection: SshConnection,
  argv: string[],
  env: Record<string, string>,
  signal: AbortSignal | undefined,
  heartbeatMs?: number,
): Promise<void> {
  ctx.logger.info(`Running ${argv.join(' ')}`);
  const tail: string[] = [];
  const lines = lineLogger(line => {
    ctx.logger.info(line);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const stop = startHeartbeat(ctx.logger as any, `nixos-rebuild is still running`, heartbeatMs);
  try {
    const result = await connection.exec(argv, { env, signal, onStdout: lines.write, onStderr: lines.write });
    lines.flush();
    if (result.exitCode !== 0) {
      throw new InputError(
        `nixos-rebuild switch failed (exit ${result.exitCode ?? result.exitSignal}); last lines:\n${tail.join('\n')}`,
      );
    }
  } finally {
    stop();
  }
}

/**
 * Uploads a few files at a time: one file per round trip makes the flake's ~30 files slow on far links. The first
 * file of each directory goes alone, creating the directory, so parallel writes never race to create it.
 */
async function uploadAll(connection: SshConnection, flakeDir: string, files: RenderedFile[], signal?: AbortSignal) {
  const upload = (file: RenderedFile, mkdirs: boolean) => {
    signal?.throwIfAborted();
    return connection.uploadFile(`${flakeDir}/${file.path}`, file.content, { mode: file.mode, mkdirs });
  };
  const seenDirs = new Set<string>();
  const rest: RenderedFile[] = [];
  for (const file of files) {
    const dir = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/')) : '';
    if (seenDirs.has(dir)) {
      rest.push(file);
    } else {
      seenDirs.add(dir);
      await upload(file, true);
    }
  }
  const worker = async () => {
    for (let file = rest.shift(); file; file = rest.shift()) await upload(file, false);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

function hashFiles(files: RenderedFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    hash.update(file.path).update('\0').update(file.content).update('\0');
  }
  return hash.digest('hex');
}
