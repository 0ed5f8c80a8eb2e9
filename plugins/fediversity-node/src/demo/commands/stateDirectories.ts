import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { DemoGuest } from '../DemoGuest';

const APP_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const STATE_PATH_LITERAL = /"(\/var\/lib\/[A-Za-z0-9_\/-]+)"/g;

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The state directories a NixOS app's services would create on their first start (systemd's
 * StateDirectory): `/var/lib/<app>` and the directories under /var/lib its module names as plain
 * string literals. Paths with a dot (files) or `${…}`, and anything below a `secrets` directory,
 * are left out.
 */
export function stateDirectoriesOf(app: string, moduleText = ''): string[] {
  const named = [...moduleText.matchAll(STATE_PATH_LITERAL)].map(match => posix.normalize(match[1]));
  const directories = named.filter(path => {
    const parts = path.split('/');
    const secretsAt = parts.indexOf('secrets');
    return secretsAt < 0 || secretsAt === parts.length - 1;
  });
  return [...new Set([`/var/lib/${app}`, ...directories])].sort();
}

/**
 * What starting the app's services leaves on a fresh demo guest: its state directories, each new
 * one (secrets aside) with a small file marked as demo data, so a demo instance has data to back up
 * and migrate. The app is the one in the host description the portal uploaded
 * (`<flake>/hosts/<hostname>.json`); answers the directories it created.
 */
export async function createStateDirectories(guest: DemoGuest, flakeDir: string, hostname: string, now: Date): Promise<string[]> {
  const description = await readIfPresent(join(flakeDir, 'hosts', `${hostname}.json`));
  let app: unknown;
  try {
    app = description === undefined ? undefined : (JSON.parse(description) as { app?: unknown }).app;
  } catch {
    return [];
  }
  if (typeof app !== 'string' || !APP_NAME.test(app)) return [];
  const moduleText = await readIfPresent(join(flakeDir, 'modules', 'apps', `${app}.nix`));
  const created: string[] = [];
  for (const directory of stateDirectoriesOf(app, moduleText)) {
    const local = await guest.resolvePath(directory);
    if (await stat(local).then(() => true, () => false)) continue;
    const secrets = posix.basename(directory) === 'secrets';
    await mkdir(local, { recursive: true, mode: secrets ? 0o700 : 0o755 });
    if (!secrets) {
      await writeFile(
        join(local, 'demo-data.txt'),
        `Demo data: written by the Fediversity demo host when ${app} first started on ${hostname} (${now.toISOString()}).\n` +
          'This is not a real machine; no application runs here.\n',
      );
    }
    created.push(directory);
  }
  return created;
}
