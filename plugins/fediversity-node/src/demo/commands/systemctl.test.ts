import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DemoGuest } from '../DemoGuest';
import { demoSystemctlCommand } from './systemctl';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

describe('demo systemctl', () => {
  let guest: DemoGuest;

  beforeAll(async () => {
    guest = await makeTestGuest();
    await guest.updateState(state => ({ ...state, currentGeneration: 1 }));
  });
  afterAll(async () => {
    await rm(dirname(guest.dir), { recursive: true, force: true });
  });

  const systemctl = (...args: string[]) => runDemoCommand(demoSystemctlCommand, guest, ['systemctl', ...args]);
  const states = async (...units: string[]) => (await systemctl('is-active', ...units)).stdout.trim().split('\n');

  it('stops and starts units named by glob patterns, as an app definition quiesces and unquiesces', async () => {
    expect(await states('mastodon-web', 'mastodon-sidekiq-all.service', 'nginx')).toEqual(['active', 'active', 'active']);
    expect(await systemctl('stop', 'mastodon.target', 'mastodon-*.service')).toMatchObject({ exitCode: 0 });
    expect(await states('mastodon.target', 'mastodon-web', 'mastodon-streaming-1.service', 'nginx')).toEqual([
      'inactive',
      'inactive',
      'inactive',
      'active',
    ]);
    expect((await systemctl('is-active', '--quiet', 'mastodon-web')).exitCode).toBe(3);
    // The app's target wants its services: starting it starts them again.
    expect(await systemctl('start', 'mastodon.target')).toMatchObject({ exitCode: 0 });
    expect(await states('mastodon.target', 'mastodon-web', 'mastodon-streaming-1.service')).toEqual(['active', 'active', 'active']);
    // The latest start or stop wins, whether it names the unit or a pattern.
    await systemctl('stop', 'mastodon-web');
    expect(await states('mastodon-web', 'mastodon-sidekiq-all')).toEqual(['inactive', 'active']);
    await systemctl('stop', 'mastodon-[sw]*');
    await systemctl('start', 'mastodon-web.service');
    expect(await states('mastodon-web', 'mastodon-sidekiq-all', 'mastodon-streaming-1')).toEqual(['active', 'inactive', 'inactive']);
  });

  it('refuses invalid names and patterns where systemctl takes no pattern', async () => {
    expect((await systemctl('stop', '-mastodon')).exitCode).toBe(1);
    expect((await systemctl('stop', 'a;b')).exitCode).toBe(1);
    expect((await systemctl('is-active', 'mastodon-*')).exitCode).toBe(1);
    expect((await systemctl('enable', 'nginx')).exitCode).toBe(1);
  });
});
