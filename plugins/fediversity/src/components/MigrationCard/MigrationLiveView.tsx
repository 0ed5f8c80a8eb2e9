import { useState } from 'react';
import { Entity } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { Alert, Badge, Button, Flex, Text, TextAreaField } from '@backstage/ui';
import {
  JobDetails,
  JobStep,
  jobApprovePermission,
  jobCancelPermission,
  jobRetryPermission,
  TERMINAL_JOB_STATUSES,
} from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';
import {
  ErrorAlert,
  EventLines,
  JobStatusBadge,
  Loading,
  useEntityPermission,
  useLiveJob,
} from '../common';
import { DECOMMISSION_JOB_KIND, MIGRATION_JOB_KIND } from './jobKinds';
import { measuredLag } from './measuredLag';

const STEP_LABELS: Record<JobStep['status'], string> = {
  pending: 'pending',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  waiting_approval: 'waiting for approval',
  compensated: 'rolled back',
};

/** How the view names a job of the card's two kinds, and what approving it means. */
interface KindWording {
  noun: string;
  approvalIntro: string;
  approve: string;
}

const WORDING: Record<string, KindWording> = {
  [MIGRATION_JOB_KIND]: { noun: 'Migration', approvalIntro: 'Approving starts the downtime. Then, in order:', approve: 'Approve the cut-over' },
  [DECOMMISSION_JOB_KIND]: {
    noun: 'Decommission',
    approvalIntro: 'Approving destroys the old guest and its disks; there is no undo. Then, in order:',
    approve: 'Approve the destruction',
  },
};

/**
 * A migration as it runs, or the decommission of the guest it left: the state machine's steps with progress, the
 * streaming event log, the approval at the point of no return (what happens next and, for a migration, the measured
 * lag), cancel (rolls back) before that point, retry after a failure. Buttons appear only for people the permission
 * policy allows.
 */
export function MigrationLiveView(props: { jobId: string; entity: Entity; pollMs?: number; onFinished?: () => void }) {
  const api = useApi(fediversityApiRef);
  const { job, events, error, setJob } = useLiveJob(props.jobId, { pollMs: props.pollMs });
  const mayApprove = useEntityPermission(jobApprovePermission, props.entity).allowed;
  const mayCancel = useEntityPermission(jobCancelPermission, props.entity).allowed;
  const mayRetry = useEntityPermission(jobRetryPermission, props.entity).allowed;
  const [comment, setComment] = useState('');
  const [actionError, setActionError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  if (!job) {
    return error ? <ErrorAlert title="Could not load the migration" error={error} /> : <Loading what="the migration" />;
  }
  const act = async (action: () => Promise<JobDetails>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      setJob(await action());
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const wording = WORDING[job.kind] ?? WORDING[MIGRATION_JOB_KIND];
  const finished = TERMINAL_JOB_STATUSES.includes(job.status);
  const pastNoReturn = job.steps.some(s => s.pointOfNoReturn && s.status !== 'pending');
  const gate = job.steps.find(s => s.status === 'waiting_approval');

  return (
    <Flex direction="column" gap="3" aria-label={`${wording.noun} progress`}>
      <Flex gap="2" align="center">
        <Text weight="bold">
          {wording.noun} {job.id}
        </Text>
        <JobStatusBadge status={job.status} />
        {job.cancelRequested && !finished && <Badge>Cancelling</Badge>}
      </Flex>
      <MigrationDestination job={job} />
      <label>
        <Text variant="body-small">
          {job.progress.stepsDone} of {job.progress.stepsTotal || job.steps.length} steps done
        </Text>
        <br />
        <progress
          aria-label="Overall progress"
          max={job.progress.stepsTotal || job.steps.length || 1}
          value={job.progress.stepsDone}
          style={{ width: '100%' }}
        />
      </label>
      <ol aria-label="Steps" style={{ margin: 0, paddingLeft: 20 }}>
        {job.steps.map(s => (
          <StepItem key={s.name} step={s} job={job} />
        ))}
      </ol>
      {job.error && (
        <Alert
          status="danger"
          icon
          title={`The ${wording.noun.toLowerCase()} ${job.status === 'failed' ? 'failed' : 'stopped'}`}
          description={job.error.message}
        />
      )}
      {actionError && <ErrorAlert title="The action failed" error={actionError} />}
      {gate && job.status === 'awaiting_approval' && (
        <ApprovalPanel
          job={job}
          gate={gate}
          lag={job.kind === MIGRATION_JOB_KIND ? measuredLag(events) : undefined}
          wording={wording}
          mayApprove={mayApprove}
          comment={comment}
          setComment={setComment}
          busy={busy}
          onApprove={() => act(() => api.approveJob(job.id, { step: gate.name, comment: comment || undefined }))}
        />
      )}
      <Flex gap="2">
        {mayCancel && !finished && !pastNoReturn && (
          <Button variant="secondary" destructive isDisabled={busy || job.cancelRequested} onPress={() => act(() => api.cancelJob(job.id, { reason: 'cancelled from the portal' }))}>
            Cancel and roll back
          </Button>
        )}
        {mayRetry && job.status === 'failed' && (
          <Button variant="secondary" isDisabled={busy} onPress={() => act(() => api.retryJob(job.id))}>
            Retry from the failed step
          </Button>
        )}
        {finished && props.onFinished && (
          <Button variant="tertiary" onPress={props.onFinished}>
            Close
          </Button>
        )}
      </Flex>
      <section aria-label="Event log">
        <Text weight="bold">Event log</Text>
        <EventLines events={events} label={`${wording.noun} event log`} />
      </section>
    </Flex>
  );
}

/**
 * Where the migration goes (its `provision` params), and, once it succeeded, where the instance now runs; for a
 * decommission, the guest it destroys.
 */
function MigrationDestination(props: { job: JobDetails }) {
  const source = props.job.params.sourceGuest as { cluster?: string; node?: string; vmid?: number } | undefined;
  if (props.job.kind === DECOMMISSION_JOB_KIND && source?.vmid !== undefined) {
    const guest = `guest ${source.vmid} on ${source.node} (cluster ${source.cluster})`;
    return props.job.status === 'succeeded' ? <Text color="success">Destroyed {guest}.</Text> : <Text>Destroys {guest}</Text>;
  }
  const provision = props.job.params.provision as
    | { cluster?: string; node?: string; storage?: string; vmid?: number }
    | undefined;
  if (!provision?.node) return null;
  const guest = provision.vmid !== undefined ? `guest ${provision.vmid} on ` : '';
  const where = `${guest}${provision.node} (cluster ${provision.cluster}), storage ${provision.storage}`;
  return props.job.status === 'succeeded' ? (
    <Text color="success">The instance now runs as {where}.</Text>
  ) : (
    <Text>To {where}</Text>
  );
}

function StepItem(props: { step: JobStep; job: JobDetails }) {
  const { step, job } = props;
  const current = job.progress.current?.step === step.name && step.status === 'running' ? job.progress.current : undefined;
  return (
    <li aria-label={`Step ${step.title ?? step.name}`}>
      <Flex gap="2" align="center">
        <Text weight={step.status === 'running' || step.status === 'waiting_approval' ? 'bold' : 'regular'}>
          {step.title ?? step.name}
        </Text>
        <Badge>{STEP_LABELS[step.status] ?? step.status}</Badge>
        {step.pointOfNoReturn && <Badge>point of no return</Badge>}
        {step.attempt > 1 && <Text variant="body-small">attempt {step.attempt}</Text>}
      </Flex>
      {current?.total ? (
        <progress aria-label={`Progress of ${step.name}`} max={current.total} value={current.done ?? 0} style={{ width: '60%' }} />
      ) : null}
      {current?.message && <Text variant="body-small"> {current.message}</Text>}
      {step.error && <Text color="danger">{step.error.message}</Text>}
      {step.approval && (
        <Text variant="body-small" color="secondary">
          Approved by {step.approval.approvedBy}
          {step.approval.comment ? `: ${step.approval.comment}` : ''}
        </Text>
      )}
    </li>
  );
}

function ApprovalPanel(props: {
  job: JobDetails;
  gate: JobStep;
  lag?: string[];
  wording: KindWording;
  mayApprove: boolean;
  comment: string;
  setComment: (c: string) => void;
  busy: boolean;
  onApprove: () => void;
}) {
  const after = props.job.steps.filter(s => s.index > props.gate.index);
  return (
    <section aria-label="Approval" style={{ border: '1px solid #c80', padding: 12, borderRadius: 4 }}>
      <Text weight="bold">{props.gate.title ?? props.gate.name}: approval needed</Text>
      <Text as="p">{props.wording.approvalIntro}</Text>
      <ol style={{ margin: 0 }}>
        {after.map(s => (
          <li key={s.name}>
            {s.title ?? s.name}
            {s.pointOfNoReturn ? ' — point of no return: cancelling is no longer possible from here' : ''}
          </li>
        ))}
      </ol>
      {props.job.kind === MIGRATION_JOB_KIND && (
        <Text as="p">Measured lag: {props.lag ? props.lag.join('; ') : 'no catch-up measurement in the log yet'}</Text>
      )}
      {props.mayApprove ? (
        <Flex direction="column" gap="2">
          <TextAreaField label="Comment (kept with the approval)" value={props.comment} onChange={props.setComment} />
          <Button variant="primary" isDisabled={props.busy} onPress={props.onApprove}>
            {props.wording.approve}
          </Button>
        </Flex>
      ) : (
        <Text color="secondary">Only the instance's owners can approve this step.</Text>
      )}
    </section>
  );
}
