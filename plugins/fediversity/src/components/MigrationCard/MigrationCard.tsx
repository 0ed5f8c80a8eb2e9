import { ReactNode, useState } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useAsyncEntity, useEntity } from '@backstage/plugin-catalog-react';
import { Button, Flex, Text } from '@backstage/ui';
import { jobCreatePermission, JobSummary, TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';
import {
  CardFrame,
  ErrorAlert,
  formatTime,
  JobStatusBadge,
  Loading,
  useEntityPermission,
  useJobUpdates,
  usePolled,
} from '../common';
import { readInstanceFacts } from '../InstanceOverviewCard/instanceFacts';
import { MigrationLiveView } from './MigrationLiveView';
import { MigrationWizard } from './MigrationWizard';

export const MIGRATION_JOB_KIND = 'instance.migrate';

/**
 * Migration of an instance to another node or provider: the running migration live, or a wizard to start one
 * (for people allowed to start jobs on the instance), and the history of earlier migrations.
 */
export function MigrationCard(props: { pollMs?: number }) {
  const { entity } = useEntity();
  const { refresh: refreshEntity } = useAsyncEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(fediversityApiRef);
  const facts = readInstanceFacts(entity);
  const { allowed: mayStart } = useEntityPermission(jobCreatePermission, entity);
  const [wizardOpen, setWizardOpen] = useState(false);
  const [shownJobId, setShownJobId] = useState<string>();
  const [dismissed, setDismissed] = useState<string>();
  // Refetched when a job of this entity changes (signals), polled only where the app has no signals.
  const migrations = usePolled(
    () => api.listJobs({ entityRef, kind: MIGRATION_JOB_KIND, limit: 20 }).then(r => r.items),
    undefined,
    [api, entityRef],
  );
  useJobUpdates(migrations.retry, { entityRef, pollMs: props.pollMs ?? 10_000 });

  let body;
  if (migrations.error && !migrations.value) {
    body = <ErrorAlert title="Could not load migrations" error={migrations.error} />;
  } else if (!migrations.value) {
    body = <Loading what="migrations" />;
  } else {
    // A failed migration stays in view until someone retries or closes it: it may hold locks and needs a decision.
    const newest = migrations.value[0];
    const active =
      migrations.value.find(j => !TERMINAL_JOB_STATUSES.includes(j.status)) ??
      (newest?.status === 'failed' && newest.id !== dismissed ? newest : undefined);
    const liveJobId = shownJobId ?? active?.id;
    let current: ReactNode;
    if (liveJobId) {
      current = (
        <MigrationLiveView
          key={liveJobId}
          jobId={liveJobId}
          entity={entity}
          pollMs={props.pollMs}
          onFinished={() => {
            setDismissed(liveJobId);
            setShownJobId(undefined);
            migrations.retry();
            // A finished migration moved the instance: the entity (its node, guest) is read again.
            refreshEntity?.();
          }}
        />
      );
    } else if (wizardOpen) {
      current = (
        <MigrationWizard
          entityRef={entityRef}
          current={{ cluster: facts.cluster, node: facts.node }}
          onStarted={jobId => {
            setWizardOpen(false);
            setShownJobId(jobId);
            migrations.retry();
          }}
          onClose={() => setWizardOpen(false)}
        />
      );
    } else if (mayStart) {
      current = (
        <Flex gap="2" align="center">
          <Text>
            Runs on {facts.node ?? 'an unknown node'}
            {facts.cluster ? ` (cluster ${facts.cluster})` : ''}.
          </Text>
          <Button variant="primary" onPress={() => setWizardOpen(true)}>
            Migrate…
          </Button>
        </Flex>
      );
    } else {
      current = <Text color="secondary">Only the instance's owners can migrate it.</Text>;
    }
    body = (
      <Flex direction="column" gap="3">
        {current}
        <MigrationHistory jobs={migrations.value.filter(j => j.id !== liveJobId)} onShow={setShownJobId} />
      </Flex>
    );
  }
  return <CardFrame title="Migration">{body}</CardFrame>;
}

function MigrationHistory(props: { jobs: JobSummary[]; onShow: (id: string) => void }) {
  if (props.jobs.length === 0) return <Text color="secondary">No earlier migrations.</Text>;
  return (
    <table aria-label="Migration history" style={{ width: '100%', borderCollapse: 'collapse' }}>
      <thead>
        <tr>
          <th align="left">Started</th>
          <th align="left">By</th>
          <th align="left">Status</th>
          <th align="left">Finished</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.jobs.map(j => (
          <tr key={j.id}>
            <td>{formatTime(j.createdAt)}</td>
            <td>{j.createdBy}</td>
            <td>
              <JobStatusBadge status={j.status} />
              {j.error ? ` ${j.error.message}` : ''}
            </td>
            <td>{formatTime(j.finishedAt)}</td>
            <td>
              <Button size="small" variant="tertiary" onPress={() => props.onShow(j.id)}>
                Details
              </Button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
