import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@backstage/errors';
import { replicateBlobs, runRclone } from './blob';
import { localRunner } from './commandRunner';
import { startTestS3, TestS3 } from './__testUtils__/s3Servers';

jest.setTimeout(120_000);

const rcloneInstalled = existsSync('/usr/bin/rclone');
let source: TestS3;
let target: TestS3;
let dir: string;

beforeAll(async () => {
  if (!rcloneInstalled && process.getuid?.() === 0) throw new Error('rclone is not installed (Debian: rclone)');
  source = await startTestS3('media-src');
  target = await startTestS3('media-dst');
  dir = await mkdtemp(join(tmpdir(), 'fediversity-blob-'));
});

afterAll(async () => {
  await source?.stop();
  await target?.stop();
  await rm(dir, { recursive: true, force: true });
});

const options = () => ({
  runner: localRunner,
  source: source.location,
  target: target.location,
  now: () => Date.parse('2026-11-25T21:00:00Z'),
});

/** Object key → md5 etag and size on one side, via rclone (independent of the sync's own check). */
async function listing(remote: 'src' | 'dst', bucket: string) {
  const result = await runRclone(options(), ['lsjson', '-R', '--hash', '--fast-list', '--files-only', `${remote}:${bucket}`]);
  const entries = JSON.parse(result.stdout) as Array<{ Path: string; Size: number; Hashes?: { md5?: string } }>;
  return Object.fromEntries(entries.map(e => [e.Path, `${e.Size}:${e.Hashes?.md5}`]));
}

describe('replicateBlobs (rclone between two S3 servers on loopback)', () => {
  it('mirrors the bucket, verifies size and ETag, and resyncs changes and deletions', async () => {
    if (!rcloneInstalled) {
      console.warn('Skipping: rclone not installed');
      return;
    }
    const upload = join(dir, 'upload');
    await mkdir(join(upload, 'attachments'), { recursive: true });
    for (let i = 0; i < 25; i++) await writeFile(join(upload, 'attachments', `a${i}.bin`), randomBytes(20_000 + i));
    await runRclone(options(), ['copy', '--fast-list', upload, 'src:media-src']);

    const first = await replicateBlobs(options());
    expect(first).toMatchObject({ objects: 25, bytes: 25 * 20_000 + 300, verified: true });
    expect(await listing('dst', 'media-dst')).toEqual(await listing('src', 'media-src'));

    // Change one object, delete another, and corrupt one on the target (same size): all fixed by the next run.
    await writeFile(join(dir, 'changed.bin'), randomBytes(20_003));
    await runRclone(options(), ['copyto', join(dir, 'changed.bin'), 'src:media-src/attachments/a3.bin']);
    await runRclone(options(), ['deletefile', 'src:media-src/attachments/a7.bin']);
    await writeFile(join(dir, 'corrupt.bin'), randomBytes(20_010));
    await runRclone(options(), ['copyto', join(dir, 'corrupt.bin'), 'dst:media-dst/attachments/a10.bin']);

    const second = await replicateBlobs(options());
    expect(second.objects).toBe(24);
    const after = await listing('dst', 'media-dst');
    expect(after).toEqual(await listing('src', 'media-src'));
    expect(after['attachments/a7.bin']).toBeUndefined();
  });

  it('refuses endpoints and buckets that are not plain values', async () => {
    const bad = { ...options(), target: { ...target.location, bucket: 'x; rm -rf /' } };
    await expect(replicateBlobs(bad)).rejects.toBeInstanceOf(InputError);
    const creds = { ...options(), source: { ...source.location, secretAccessKey: 'a\nb' } };
    await expect(replicateBlobs(creds)).rejects.toBeInstanceOf(InputError);
  });
});
