import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3Location } from '../blob';
import { freeLoopbackPort } from './freePort';

/** An S3 server (s3rver) on 127.0.0.1 with one bucket: smoke-test quality, not S3 conformance. */
export interface TestS3 {
  location: S3Location;
  stop(): Promise<void>;
}

export async function startTestS3(bucket: string): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'fediversity-s3-'));
  const port = await freeLoopbackPort();
  const server = new S3rver({ address: '127.0.0.1', port, directory: dir, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  await server.run();
  return {
    // s3rver's fixed credentials.
    location: { endpoint: `http://127.0.0.1:${port}`, bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
