import { ReactNode, useState } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useAsyncEntity, useEntity } from '@backstage/plugin-catalog-react';
import { Button, Flex, Text } from '@backstage/ui';
import {
  instanceDecommissionPermission,
  jobCreatePermission,
  JobDetails,
  JobSummary,
  TERMINAL_JOB_STATUSES,
} from '@fediversity/plugin-fediversity-common';
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
import { DECOMMISSION_JOB_KIND, MIGRATION_JOB_KIND } from './jobKinds';
import { MigrationLiveView } from './MigrationLiveView';
import { MigrationWizard } from './MigrationWizard';


/** The instance's migrations, and the decommissions of their sources with the migration each one belongs to. */
interface MigrationJobs {
  migrations: JobSummary[];
  decommissions: JobDetails[];
}

/**
 * Migration of an instance to another node or provider: the running migration live, or a wizard to start one
 * (for people allowed to start jobs on the instance), and the history of earlier migrations. A completed
 * migration keeps its source guest until its owners decommission it from here (a job that waits for approval).
 */
export function MigrationCard(props: { pollMs?: number }) {
  const { entity } = useEntity();
  const { refresh: refreshEntity } = useAsyncEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(fediversityApiRef);
  const facts = readInstanceFacts(entity);
  const { allowed: mayStart } = useEntityPermission(jobCreatePermission, entity);
  const { allowed: mayDecommission } = useEntityPermission(instanceDecommissionPermission, entity);
  const [wizardOpen, setWizardOpen] = useState(false);
  const [shownJobId, setShownJobId] = useState<string>();
  const [dismissed, setDismissed] = useState<string>();
  // Refetched when a job of this entity changes (signals), polled only where the app has no signals.
  const jobs = usePolled<MigrationJobs>(
    async () => {
      const [migrations, decommissions] = await Promise.all(
        [MIGRATION_JOB_KIND, DECOMMISSION_JOB_KIND].map(kind =>
          api.listJobs({ entityRef, kind, limit: 20 }).then(r => r.items.filter(j => j.kind === kind)),
        ),
      );
      // Which migration a decommission belongs to is in its params, which only a job's details carry.
      return { migrations, decommissions: await Promise.all(decommissions.map(j => api.getJob(j.id))) };
    },
    undefined,
    [api, entityRef],
  );
  useJobUpdates(jobs.retry, { entityRef, pollMs: props.pollMs ?? 10_000 });

  let body;
  if (jobs.error && !jobs.value) {
    body = <ErrorAlert title="Could not load migrations" error={jobs.error} />;
  } else if (!jobs.value) {
    body = <Loading what="migrations" />;
  } else {
    // A failed migration stays in view until someone retries or closes it: it may hold locks and needs a decision.
    const { migrations, decommissions } = jobs.value;
    const newest = migrations[0];
    const active =
      [...migrations, ...decommissions].find(j => !TERMINAL_JOB_STATUSES.includes(j.status)) ??
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
            jobs.retry();
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
            jobs.retry();
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
        <MigrationHistory
          jobs={[...migrations, ...decommissions]
            .filter(j => j.id !== liveJobId)
            .sort((a, b) => b.createdAt.localeCompare(a.createdAt))}
          decommissionable={j =>
            mayDecommission &&
            j.kind === MIGRATION_JOB_KIND &&
            j.status === 'succeeded' &&
            !decommissions.some(d => d.params.migrationJobId === j.id && (d.status === 'succeeded' || !TERMINAL_JOB_STATUSES.includes(d.status)))
          }
          onShow={setShownJobId}
          onDecommissionStarted={jobId => {
            setShownJobId(jobId);
            jobs.retry();
          }}
        />
      </Flex>
    );
  }
  return <CardFrame title="Migration">{body}</CardFrame>;
}

function MigrationHistory(props: {
  jobs: Array<JobSummary | JobDetails>;
  decommissionable: (job: JobSummary) => boolean;
  onShow: (id: string) => void;
  onDecommissionStarted: (jobId: string) => void;
}) {
  const [confirming, setConfirming] = useState<string>();
  if (props.jobs.length === 0) return <Text color="secondary">No earlier migrations.</Text>;
  return (
    <Flex direction="column" gap="2">
      <table aria-label="Migration history" style={{ width: '100%', borderCollapse: 'collapse' }}>
        <thead>
          <tr>
            <th align="left">Job</th>
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
              <td>{j.kind === DECOMMISSION_JOB_KIND ? `Decommission of ${guestName(j)}` : 'Migration'}</td>
              <td>{formatTime(j.createdAt)}</td>
              <td>{j.createdBy}</td>
              <td>
                <JobStatusBadge status={j.status} />
                {j.error ? ` ${j.error.message}` : ''}
              </td>
              <td>{formatTime(j.finishedAt)}</td>
              <td>
                <Flex gap="1">
                  <Button size="small" variant="tertiary" onPress={() => props.onShow(j.id)}>
                    Details
                  </Button>
                  {props.decommissionable(j) && (
                    <Button size="small" variant="secondary" destructive onPress={() => setConfirming(j.id)}>
                      Decommission old guest…
                    </Button>
                  )}
                </Flex>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {confirming && (
        <DecommissionConfirm
          migrationJobId={confirming}
          onStarted={jobId => {
            setConfirming(undefined);
            props.onDecommissionStarted(jobId);
          }}
          onClose={() => setConfirming(undefined)}
        />
      )}
    </Flex>
  );
}

/** What a decommission destroys, as its params name it. */
function guestName(job: JobSummary | JobDetails): string {
  const guest = 'params' in job ? (job.params.sourceGuest as { cluster?: string; node?: string; vmid?: number } | undefined) : undefined;
  return guest?.vmid !== undefined ? `guest ${guest.vmid} on ${guest.node} (cluster ${guest.cluster})` : 'the old guest';
}

/** Says what a decommission does before it is started; the job itself asks for approval again before destroying. */
function DecommissionConfirm(props: { migrationJobId: string; onStarted: (jobId: string) => void; onClose: () => void }) {
  const api = useApi(fediversityApiRef);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      props.onStarted((await api.decommissionSource(props.migrationJobId)).jobId);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-label="Decommission the old guest" style={{ border: '1px solid #c80', padding: 12, borderRadius: 4 }}>
      <Text as="p">
        This starts a job that stops and destroys the guest the instance ran on before this migration, with its disks,
        once you approve it in the job. It drops the migration's replication slot there first. The guest's vzdump
        archives stay on their backup storage and stay listed under Backups.
      </Text>
      {error && <ErrorAlert title="Could not start the decommission" error={error} />}
      <Flex gap="2">
        <Button variant="primary" destructive isDisabled={busy} onPress={start}>
          Start decommission
        </Button>
        <Button variant="tertiary" onPress={props.onClose}>
          Keep the old guest
        </Button>
      </Flex>
    </section>
  );
}
