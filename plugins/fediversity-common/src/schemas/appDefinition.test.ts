import { validateFediversityEntity } from './entity';
import { appDefinitionSpecSchema } from './appDefinition';
import { validAppDefinition } from './testFixtures';

function issuesAfter(change: (spec: any) => void) {
  const entity = validAppDefinition();
  change(entity.spec);
  return validateFediversityEntity(entity).issues;
}

describe('app definition schema', () => {
  it('accepts a complete definition and defaults coreServices', () => {
    expect(validateFediversityEntity(validAppDefinition())).toEqual({ role: 'app-definition', issues: [] });
    const spec = { ...validAppDefinition().spec };
    delete spec.coreServices;
    expect(appDefinitionSpecSchema.parse(spec).coreServices).toEqual([]);
  });

  it('names a missing SWOT list', () => {
    expect(issuesAfter(spec => delete spec.swot.threats)).toEqual([
      { path: 'spec.swot.threats', message: 'the threats list is required and must name at least one point' },
    ]);
    expect(issuesAfter(spec => (spec.swot.opportunities = []))).toEqual([
      {
        path: 'spec.swot.opportunities',
        message: 'the opportunities list is required and must name at least one point',
      },
    ]);
  });

  it('accepts https SWOT sources and names a bad one', () => {
    expect(issuesAfter(spec => (spec.swot.sources = ['https://docs.joinmastodon.org/admin/backups/']))).toEqual([]);
    expect(issuesAfter(spec => (spec.swot.sources = ['http://example.org/']))).toEqual([
      { path: 'spec.swot.sources[0]', message: 'a SWOT source must be an https URL' },
    ]);
    expect(issuesAfter(spec => (spec.swot.sources = ['not a url']))).toEqual([
      { path: 'spec.swot.sources[0]', message: 'a SWOT source must be an https URL' },
    ]);
  });

  it('rejects open core and non-open licences, naming the policy', () => {
    expect(issuesAfter(spec => (spec.openCore = true))).toEqual([
      {
        path: 'spec.openCore',
        message: expect.stringMatching(/^rejected by the no-open-core policy: .*Dovecot/),
      },
    ]);
    expect(issuesAfter(spec => (spec.license = 'BUSL-1.1'))).toEqual([
      {
        path: 'spec.license',
        message:
          'rejected by the open-source licence policy: "BUSL-1.1" is not on the allow-list of OSI/FSF open-source SPDX licence ids',
      },
    ]);
  });

  it('reports the policies even when other fields are broken too', () => {
    const issues = issuesAfter(spec => {
      spec.openCore = true;
      spec.license = 'SSPL-1.0';
      delete spec.swot;
    });
    expect(issues.map(issue => issue.path).sort()).toEqual(['spec.license', 'spec.openCore', 'spec.swot']);
  });

  it('names wrongly typed fields', () => {
    expect(issuesAfter(spec => (spec.openCore = 'no'))).toEqual([
      { path: 'spec.openCore', message: 'Expected boolean, received string' },
    ]);
    expect(issuesAfter(spec => (spec.dataClasses[0].quiesce = 'systemctl stop gotosocial'))).toEqual([
      { path: 'spec.dataClasses[0].quiesce', message: 'Expected array, received string' },
    ]);
    expect(issuesAfter(spec => (spec.owner = 'system:default/fedi-services'))).toEqual([
      {
        path: 'spec.owner',
        message: '"system:default/fedi-services" must reference a Group or User, not a system',
      },
    ]);
  });

  it('checks data classes: strategy fits the data, quiesce commands are argv without a shell', () => {
    expect(
      issuesAfter(spec => {
        spec.dataClasses[0].engine = 'postgresql';
        delete spec.dataClasses[0].path;
      }),
    ).toEqual([
      {
        path: 'spec.dataClasses[0].replication',
        message: 'rsync-quiesced copies files; a postgresql server needs a dump or replication',
      },
    ]);
    expect(issuesAfter(spec => (spec.dataClasses[1].quiesce = [['sh', '-c', 'systemctl stop x']]))).toEqual([
      {
        path: 'spec.dataClasses[1].quiesce[0][0]',
        message: '"sh" is a shell; commands are argv arrays run without a shell',
      },
    ]);
    expect(issuesAfter(spec => delete spec.dataClasses[1].unquiesce)).toEqual([
      { path: 'spec.dataClasses[1].unquiesce', message: 'zfs-send needs at least one unquiesce command' },
    ]);
    expect(issuesAfter(spec => (spec.dataClasses[1].name = 'database'))).toEqual([
      { path: 'spec.dataClasses[1].name', message: 'data class name "database" is used twice' },
    ]);
    expect(issuesAfter(spec => (spec.dataClasses[1].directories = ['/var/lib/../etc']))).toEqual([
      { path: 'spec.dataClasses[1].directories[0]', message: 'must not contain ".." segments' },
    ]);
    expect(issuesAfter(spec => (spec.dataClasses[1].kind = 'tape'))).toEqual([
      { path: 'spec.dataClasses[1].kind', message: 'kind must be one of database, directories, blob' },
    ]);
  });

  it('keeps secrets out of the catalog', () => {
    expect(issuesAfter(spec => (spec.adminPassword = 'hunter2'))).toEqual([
      {
        path: 'spec.adminPassword',
        message: 'looks like a secret; secrets never go into the catalog (reference a secret store instead)',
      },
    ]);
  });
});
