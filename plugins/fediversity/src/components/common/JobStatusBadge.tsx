import { Badge } from '@backstage/ui';
import { JobStatus } from '@fediversity/plugin-fediversity-common';

const LABELS: Record<JobStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  awaiting_approval: 'Needs approval',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function jobStatusLabel(status: JobStatus): string {
  return LABELS[status] ?? status;
}

export function JobStatusBadge(props: { status: JobStatus }) {
  return <Badge>{jobStatusLabel(props.status)}</Badge>;
}
