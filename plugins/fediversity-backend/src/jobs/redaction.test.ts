import { findSecretValues, REDACTED, Redactor } from './redaction';

describe('Redactor', () => {
  it('replaces known secret values anywhere and masks values under secret-sounding keys', () => {
    const root = new Redactor(['root-secret-1']);
    const job = root.child();
    job.add('job-secret-2');
    job.add('abc'); // too short to be a secret: ignored
    expect(
      job.redact({
        message: 'using root-secret-1 and job-secret-2 for abc',
        nested: [{ password: 'plain', apiKey: 'k', db: { secretRef: 'mastodon-db' } }],
        count: 3,
      }),
    ).toEqual({
      message: `using ${REDACTED} and ${REDACTED} for abc`,
      nested: [{ password: REDACTED, apiKey: REDACTED, db: { secretRef: 'mastodon-db' } }],
      count: 3,
    });
    expect(root.redactString('job-secret-2')).toBe('job-secret-2');
    expect(job.redact(new Error('bad root-secret-1'))).toEqual({ name: 'Error', message: `bad ${REDACTED}` });
  });

  it('leaves keys alone in checkpoints, where only known values are removed', () => {
    const redactor = new Redactor(['s3cr3t-value']);
    expect(redactor.redactKnownValues({ receive_resume_token: '1-abc', note: 'has s3cr3t-value' })).toEqual({
      receive_resume_token: '1-abc',
      note: `has ${REDACTED}`,
    });
  });
});

describe('findSecretValues', () => {
  it('finds secret values in params but accepts references', () => {
    expect(
      findSecretValues({
        target: { password: 'hunter2', user: 'mastodon' },
        s3: { accessKey: 'x', secretKey: { secretRef: 's3-main' } },
        tokens: [{ token: 'abc' }],
        tokenLifetimeSeconds: 3600,
      }),
    ).toEqual(['params.target.password', 'params.tokens[0].token']);
  });
});
