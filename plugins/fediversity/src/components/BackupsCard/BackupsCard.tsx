import { useState } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Alert, Badge, Button, Flex, Text } from '@backstage/ui';
import { jobCreatePermission } from '@fediversity/plugin-fediversity-common';
import { BackupItem, DrillRecord, fediversityApiRef, GuestLocation, UnavailableGuest } from '../../api';
import {
  CardFrame,
  ErrorAlert,
  formatBytes,
  formatDuration,
  formatTime,
  Loading,
  useEntityPermission,
  usePolled,
} from '../common';

type RestoreMode = 'fresh' | 'in-place';

/**
 * Backups of an instance's guest with restore (confirmed first; in place waits for an approval on the job), and
 * the results of restore drills: how long a restore took and how old the restored data was. After a migration the
 * archives of the guests it ran on before are listed too, labelled, and restorable as a new guest only: in place
 * would mean the current guest.
 */
export function BackupsCard(props: { pollMs?: number }) {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(fediversityApiRef);
  const { allowed: mayRestore } = useEntityPermission(jobCreatePermission, entity);
  const [confirm, setConfirm] = useState<{ backup: BackupItem; mode: RestoreMode }>();
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<Error>();
  const state = usePolled(
    async () => {
      const [backups, drills] = await Promise.all([api.listBackups(entityRef), api.listDrills(entityRef)]);
      return { backups, drills };
    },
    props.pollMs ?? 30_000,
    [api, entityRef],
  );

  const act = async (action: () => Promise<{ jobId: string; kind: string }>, what: string) => {
    setActionError(undefined);
    setNotice(undefined);
    try {
      const started = await action();
      setNotice(`${what}: job ${started.jobId} (${started.kind}) started. Follow it on the Jobs page.`);
      state.retry();
    } catch (e) {
      setActionError(e as Error);
    }
  };

  let body;
  if (state.error && !state.value) {
    body = <ErrorAlert title="Could not load backups" error={state.error} />;
  } else if (!state.value) {
    body = <Loading what="backups" />;
  } else {
    body = (
      <Flex direction="column" gap="3">
        <UnavailableGuests guests={state.value.backups.unavailable} />
        <BackupList
          backups={state.value.backups.items}
          mayRestore={mayRestore}
          onRestore={(backup, mode) => setConfirm({ backup, mode })}
        />
        {confirm && (
          <section aria-label="Confirm restore" style={{ border: '1px solid #c80', padding: 12, borderRadius: 4 }}>
            <Text as="p" weight="bold">
              {confirmQuestion(confirm.backup, confirm.mode)}
            </Text>
            <Text as="p">{confirmExplanation(confirm.backup, confirm.mode)}</Text>
            <Flex gap="2">
              <Button
                variant="primary"
                destructive={confirm.mode === 'in-place'}
                onPress={() => {
                  const { backup, mode } = confirm;
                  setConfirm(undefined);
                  const from = backup.former ? backup.guest : undefined;
                  act(() => api.restoreBackup({ entityRef, volid: backup.id, mode, ...(from ? { from } : {}) }), 'Restore');
                }}
              >
                Yes, restore
              </Button>
              <Button variant="tertiary" onPress={() => setConfirm(undefined)}>
                No
              </Button>
            </Flex>
          </section>
        )}
        <DrillResults
          drills={state.value.drills}
          mayRun={mayRestore}
          onRun={() => act(() => api.startDrill(entityRef), 'Restore drill')}
        />
      </Flex>
    );
  }
  return (
    <CardFrame title="Backups and restore">
      <Flex direction="column" gap="2">
        {notice && <Alert status="success" icon title={notice} />}
        {actionError && <ErrorAlert title="The action failed" error={actionError} />}
        {body}
      </Flex>
    </CardFrame>
  );
}

function BackupList(props: {
  backups: BackupItem[];
  mayRestore: boolean;
  onRestore: (backup: BackupItem, mode: RestoreMode) => void;
}) {
  if (props.backups.length === 0) return <Text color="secondary">No backups of this instance yet.</Text>;
  const backups = [...props.backups].sort((a, b) => (b.takenAt ?? 0) - (a.takenAt ?? 0));
  return (
    <table aria-label="Backups" style={{ width: '100%', borderCollapse: 'collapse' }}>
      <thead>
        <tr>
          <th align="left">Taken</th>
          <th align="left">Kind</th>
          <th align="left">Backup</th>
          <th align="left">Guest</th>
          <th align="left">Size</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {backups.map(b => (
          <tr key={backupKey(b)}>
            <td>{formatTime(b.takenAt)}</td>
            <td>
              {b.type}
              {b.checksums ? ' · file checksums' : ''}
            </td>
            <td>
              {b.id}
              {b.notes ? ` (${b.notes})` : ''}
            </td>
            <td>
              <GuestCell backup={b} />
            </td>
            <td>{formatBytes(b.sizeBytes)}</td>
            <td>
              {props.mayRestore && b.restorable && (
                <Flex gap="1">
                  <Button size="small" variant="secondary" onPress={() => props.onRestore(b, 'fresh')} aria-label={`Restore ${b.id} to a new guest`}>
                    Restore
                  </Button>
                  {/* In place would overwrite the current guest, which this archive was not taken of. */}
                  {!b.former && (
                    <Button size="small" variant="tertiary" onPress={() => props.onRestore(b, 'in-place')} aria-label={`Restore ${b.id} in place`}>
                      In place
                    </Button>
                  )}
                </Flex>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function GuestCell(props: { backup: BackupItem }) {
  const { guest, former } = props.backup;
  if (!former) return <Text color="secondary">current</Text>;
  return (
    <Flex gap="1" align="center">
      <Badge>Before migration</Badge>
      {guest && <Text>{describeGuest(guest)}</Text>}
    </Flex>
  );
}

/** Former guests whose archives could not be listed: their restore points may exist but are not shown. */
function UnavailableGuests(props: { guests: UnavailableGuest[] }) {
  return (
    <>
      {props.guests.map(({ guest, message }) => (
        <Alert
          key={describeGuest(guest)}
          status="warning"
          icon
          title={`Backups from before a migration (${describeGuest(guest)}) could not be listed`}
          description={message}
        />
      ))}
    </>
  );
}

function confirmQuestion(backup: BackupItem, mode: RestoreMode): string {
  if (mode === 'in-place') return `Replace the running guest with ${backup.id}?`;
  return `Restore ${backup.id} to a new guest?`;
}

function confirmExplanation(backup: BackupItem, mode: RestoreMode): string {
  if (mode === 'in-place') {
    return 'The running guest is stopped and its disks are replaced with the backup. Data written since it was taken is lost. The job waits for an approval before it replaces anything.';
  }
  if (backup.former && backup.guest) {
    return `The backup was taken before a migration: a new guest is created from it on ${backup.guest.cluster}/${backup.guest.node}, where the archive is, and verified; the running instance is not touched.`;
  }
  return 'A new guest is created from the backup and verified; the running instance is not touched.';
}

function describeGuest(guest: GuestLocation): string {
  return `${guest.cluster}/${guest.node}/${guest.vmid}`;
}

/** Volume ids repeat across nodes and clusters (`local:backup/…`), so a row is named by its guest too. */
function backupKey(backup: BackupItem): string {
  return backup.guest ? `${describeGuest(backup.guest)}:${backup.id}` : backup.id;
}

function DrillResults(props: { drills: DrillRecord[]; mayRun: boolean; onRun: () => void }) {
  const drills = [...props.drills].sort((a, b) => b.finishedAt - a.finishedAt);
  return (
    <section aria-label="Restore drills">
      <Flex justify="between" align="center">
        <Text weight="bold">Restore drills</Text>
        {props.mayRun && (
          <Button size="small" variant="secondary" onPress={props.onRun}>
            Run a drill now
          </Button>
        )}
      </Flex>
      {drills.length === 0 ? (
        <Text color="secondary">No restore drill has run yet.</Text>
      ) : (
        <table aria-label="Drill results" style={{ width: '100%', borderCollapse: 'collapse' }}>
          <thead>
            <tr>
              <th align="left">Finished</th>
              <th align="left">Result</th>
              <th align="left">Recovery time</th>
              <th align="left">Recovery point</th>
              <th align="left">Backup</th>
              <th align="left">Checks</th>
            </tr>
          </thead>
          <tbody>
            {drills.map(d => (
              <tr key={d.id}>
                <td>{formatTime(d.finishedAt)}</td>
                <td>{d.result === 'passed' ? 'Passed' : 'Failed'}</td>
                <td>{formatDuration(d.recoveryTimeMs / 1000)}</td>
                <td>
                  {formatTime(d.recoveryPointAt)}
                  {d.recoveryPointAt ? ` (${formatDuration((d.finishedAt - d.recoveryPointAt) / 1000)} old)` : ''}
                </td>
                <td>{d.backupId}</td>
                <td>{describeChecks(d)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** What a drill checked besides "the guest runs": why it failed, or the health and checksum results. */
export function describeChecks(drill: DrillRecord): string {
  const detail = drill.detail ?? {};
  if (drill.result === 'failed' && detail.failures?.length) return detail.failures.join('; ');
  const parts: string[] = [];
  if (detail.health?.ok) parts.push(`health ${detail.health.status}`);
  const checksums = detail.checksums;
  if (checksums?.files !== undefined) parts.push(`${checksums.matched} of ${checksums.files} files match`);
  else if (checksums?.skipped) parts.push(`no checksums (${checksums.skipped})`);
  return parts.join(' · ') || 'running, hostname';
}
