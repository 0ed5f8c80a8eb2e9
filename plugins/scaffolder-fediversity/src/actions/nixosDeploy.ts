import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { HOST_APP_NAMES, HOSTNAME_PATTERN } from '@fediversity/plugin-fediversity-common';
import {
  assertRemotePath,
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

/** SFTP requests kept in flight while uploading; each file takes a few round trips (open, write, close, rename). */
const UPLOADS_IN_FLIGHT = 8;

/**
 * Creates the flake's directories first (parents before children, each level at once), then uploads every file
 * with several in flight: one file per round trip made the flake's ~30 files slow on far links, and creating a
 * directory while uploading into it would race.
 */
async function uploadAll(connection: SshConnection, flakeDir: string, files: RenderedFile[], signal?: AbortSignal) {
  await ensureDirectories(connection, flakeDir, files);
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      signal?.throwIfAborted();
      await connection.uploadFile(`${flakeDir}/${file.path}`, file.content, { mode: file.mode });
    }
  };
  await Promise.all(Array.from({ length: UPLOADS_IN_FLIGHT }, worker));
}

async function ensureDirectories(connection: SshConnection, flakeDir: string, files: RenderedFile[]) {
  const directories = new Set<string>();
  const addWithParents = (dir: string) => {
    for (let current = dir; current !== '/' && current !== '.'; current = posix.dirname(current)) directories.add(current);
  };
  addWithParents(flakeDir);
  for (const file of files) addWithParents(posix.dirname(`${flakeDir}/${file.path}`));
  const byDepth = new Map<number, string[]>();
  for (const dir of directories) {
    const depth = dir.split('/').length;
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), dir]);
  }
  const sftp = await connection.sftp();
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    await Promise.all(byDepth.get(depth)!.map(dir => ensureDirectory(sftp, dir)));
  }
}

const SFTP_NO_SUCH_FILE = 2;

/** Check-then-act: mkdir answers a bare "failure" for an existing directory, which says nothing about why. */
async function ensureDirectory(sftp: Awaited<ReturnType<SshConnection['sftp']>>, dir: string) {
  assertRemotePath(dir, 'flake directory');
  const stats = await new Promise<{ isDirectory(): boolean } | undefined>((resolve, reject) =>
    sftp.stat(dir, (error, found) => {
      if (!error) resolve(found);
      else if ((error as { code?: number }).code === SFTP_NO_SUCH_FILE) resolve(undefined);
      else reject(error);
    }),
  );
  if (stats && !stats.isDirectory()) throw new InputError(`${dir} exists on the guest and is not a directory`);
  if (!stats) {
    await new Promise<void>((resolve, reject) => sftp.mkdir(dir, { mode: 0o755 }, error => (error ? reject(error) : resolve())));
  }
}

function hashFiles(files: RenderedFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    hash.update(file.path).update('\0').update(file.content).update('\0');
  }
  return hash.digest('hex');
}
