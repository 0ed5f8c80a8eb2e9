import { Fragment, useState } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { Button, Container, Flex, Text } from '@backstage/ui';
import { JOB_STATUSES, JobStatus, JobSummary } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';
import {
  ErrorAlert,
  formatTime,
  JobEventLog,
  jobStatusLabel,
  JobStatusBadge,
  Loading,
  RefLink,
  useJobUpdates,
  usePolled,
} from '../common';

export interface JobFilters {
  status: JobStatus | '';
  kind: string;
  owner: string;
  entity: string;
}

interface JobRow extends JobSummary {
  owner?: string;
}

/**
 * Every job the user may read, newest first, filtered by status, kind, owner and entity; each row links to its
 * entity and opens its log. Status and kind filter on the server; owner and entity (substring) here, since the
 * owner lives in the catalog.
 */
export function JobsPage(props: { pollMs?: number }) {
  const api = useApi(fediversityApiRef);
  const catalogApi = useApi(catalogApiRef);
  const [filters, setFilters] = useState<JobFilters>({ status: '', kind: '', owner: '', entity: '' });
  const [open, setOpen] = useState<string>();
  const kinds = usePolled(() => api.listJobs({ limit: 500 }).then(r => [...new Set(r.items.map(j => j.kind))].sort()), undefined, [api]);
  const jobs = usePolled<JobRow[]>(
    async () => {
      const { items } = await api.listJobs({
        status: filters.status || undefined,
        kind: filters.kind || undefined,
        limit: 500,
      });
      const refs = [...new Set(items.map(j => j.entityRef))];
      const owners = new Map<string, string>();
      if (refs.length) {
        const { items: entities } = await catalogApi.getEntitiesByRefs({ entityRefs: refs, fields: ['kind', 'metadata.name', 'metadata.namespace', 'spec.owner'] });
        entities.forEach(e => e && owners.set(stringifyEntityRef(e), String(e.spec?.owner ?? '')));
      }
      return items.map(j => ({ ...j, owner: owners.get(j.entityRef) }));
    },
    undefined,
    [api, catalogApi, filters.status, filters.kind],
  );
  useJobUpdates(jobs.retry, { pollMs: props.pollMs ?? 5000 });

  const rows = (jobs.value ?? []).filter(
    j =>
      (!filters.owner || (j.owner ?? '').includes(filters.owner)) &&
      (!filters.entity || j.entityRef.includes(filters.entity)),
  );
  const owners = [...new Set((jobs.value ?? []).map(j => j.owner).filter((o): o is string => !!o))].sort();

  return (
    <Container>
        <Flex direction="column" gap="3" py="4">
          <Text as="h2" variant="title-small" weight="bold">
            Jobs
          </Text>
          <Flex gap="3" align="end" role="search" aria-label="Job filters">
            <FilterSelect label="Status" value={filters.status} options={JOB_STATUSES.map(s => [s, jobStatusLabel(s)])} onChange={status => setFilters({ ...filters, status: status as JobStatus | '' })} />
            <FilterSelect label="Kind" value={filters.kind} options={(kinds.value ?? []).map(k => [k, k])} onChange={kind => setFilters({ ...filters, kind })} />
            <FilterSelect label="Owner" value={filters.owner} options={owners.map(o => [o, o])} onChange={owner => setFilters({ ...filters, owner })} />
            <label>
              <Text>Entity</Text>
              <br />
              <input type="search" value={filters.entity} placeholder="e.g. social-example-org" onChange={e => setFilters({ ...filters, entity: e.target.value })} />
            </label>
          </Flex>
          {jobs.error && <ErrorAlert title="Could not load jobs" error={jobs.error} />}
          {!jobs.value && !jobs.error && <Loading what="jobs" />}
          {jobs.value && rows.length === 0 && <Text color="secondary">No jobs match these filters.</Text>}
          {rows.length > 0 && (
            <table aria-label="Jobs" style={{ width: '100%', borderCollapse: 'collapse' }}>
              <thead>
                <tr>
                  <th align="left">Created</th>
                  <th align="left">Kind</th>
                  <th align="left">Entity</th>
                  <th align="left">Owner</th>
                  <th align="left">Status</th>
                  <th align="left">Step</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map(j => (
                  <Fragment key={j.id}>
                    <tr>
                      <td>{formatTime(j.createdAt)}</td>
                      <td>{j.kind}</td>
                      <td>
                        <RefLink entityRef={j.entityRef} />
                      </td>
                      <td>{j.owner ? <RefLink entityRef={j.owner} defaultKind="group" /> : '—'}</td>
                      <td>
                        <JobStatusBadge status={j.status} />
                        {j.error ? ` ${j.error.message}` : ''}
                      </td>
                      <td>
                        {j.currentStep ?? ''} ({j.progress.stepsDone}/{j.progress.stepsTotal})
                      </td>
                      <td>
                        <Button size="small" variant="tertiary" onPress={() => setOpen(open === j.id ? undefined : j.id)}>
                          {open === j.id ? 'Hide log' : 'Show log'}
                        </Button>
                      </td>
                    </tr>
                    {open === j.id && (
                      <tr>
                        <td colSpan={7}>
                          <JobEventLog jobId={j.id} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          )}
        </Flex>
    </Container>
  );
}

function FilterSelect(props: { label: string; value: string; options: Array<[string, string]>; onChange: (value: string) => void }) {
  return (
    <label>
      <Text>{props.label}</Text>
      <br />
      <select value={props.value} onChange={e => props.onChange(e.target.value)}>
        <option value="">Any</option>
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}
