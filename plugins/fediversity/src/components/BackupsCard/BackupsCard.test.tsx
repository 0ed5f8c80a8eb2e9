import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { BackupItem, UnavailableGuest } from '../../api';
import { BackupsCard } from './BackupsCard';
import { apiError, ENTITY_REF, fakeApi, instanceNamed, renderWithEntity } from '../common/__testUtils__';

const taken = Date.UTC(2026, 10, 25, 2, 0, 0);
const backups = [
  { type: 'vzdump' as const, id: 'local:backup/vzdump-lxc-105-2026_11_25-02_00_00.tar.zst', takenAt: taken, sizeBytes: 734 * 1024 ** 2, restorable: true, checksums: true },
  { type: 'pve-snapshot' as const, id: 'before-upgrade', takenAt: taken - 86_400_000, restorable: false },
];
/** What GET /backups answers. */
function listing(items: BackupItem[], unavailable: UnavailableGuest[] = []) {
  return { items, unavailable };
}

const drill = {
  id: 'd1',
  entityRef: ENTITY_REF,
  jobId: 'j-d1',
  backupId: backups[0].id,
  recoveryPointAt: taken,
  recoveryTimeMs: 95_000,
  result: 'passed' as const,
  finishedAt: taken + 3_600_000,
  detail: { failures: [], health: { ok: true, status: 200 }, checksums: { files: 812, matched: 812 } },
};

describe('BackupsCard', () => {
  it('lists backups and drill results with recovery time and point', async () => {
    renderWithEntity(<BackupsCard />, { api: fakeApi({ listBackups: jest.fn(async () => listing(backups)), listDrills: jest.fn(async () => [drill]) }) });
    const table = await screen.findByRole('table', { name: 'Backups' });
    expect(within(table).getByText('734.0 MiB')).toBeInTheDocument();
    expect(within(table).getAllByRole('button', { name: /Restore .* to a new guest/ })).toHaveLength(1);
    const drills = screen.getByRole('table', { name: 'Drill results' });
    expect(within(drills).getByText('Passed')).toBeInTheDocument();
    expect(within(drills).getByText('1 min 35 s')).toBeInTheDocument();
    expect(within(drills).getByText('2026-11-25 02:00:00 UTC (1 h 0 min old)')).toBeInTheDocument();
    expect(within(drills).getByText('health 200 · 812 of 812 files match')).toBeInTheDocument();
    expect(within(table).getByText('vzdump · file checksums')).toBeInTheDocument();
  });

  it('says why a drill failed', async () => {
    const failed = {
      ...drill,
      id: 'd2',
      result: 'failed' as const,
      detail: { failures: ['files differ from the backup: differ: var/lib/hedgedoc/db.sqlite'], checksums: { files: 3, matched: 2 } },
    };
    renderWithEntity(<BackupsCard />, { api: fakeApi({ listDrills: jest.fn(async () => [failed]) }) });
    const drills = await screen.findByRole('table', { name: 'Drill results' });
    expect(within(drills).getByText('Failed')).toBeInTheDocument();
    expect(within(drills).getByText('files differ from the backup: differ: var/lib/hedgedoc/db.sqlite')).toBeInTheDocument();
  });

  it('restores only after confirmation, and can say no', async () => {
    const api = fakeApi({
      listBackups: jest.fn(async () => listing(backups)),
      restoreBackup: jest.fn(async () => ({ jobId: 'r-1', kind: 'backup.restore', status: 'queued' })),
    });
    renderWithEntity(<BackupsCard />, { api });
    await userEvent.click(await screen.findByRole('button', { name: /in place/ }));
    expect(screen.getByText(/Data written since it was taken is lost/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'No' }));
    expect(api.restoreBackup).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: /to a new guest/ }));
    await userEvent.click(within(screen.getByRole('region', { name: 'Confirm restore' })).getByRole('button', { name: 'Yes, restore' }));
    expect(api.restoreBackup).toHaveBeenCalledWith({ entityRef: ENTITY_REF, volid: backups[0].id, mode: 'fresh' });
    expect(await screen.findByText(/job r-1 \(backup.restore\) started/)).toBeInTheDocument();
  });

  describe('after a migration', () => {
    const formerGuest = { cluster: 'demo', node: 'pve-a', vmid: 101 };
    const currentArchive = { ...backups[0], checksums: false, guest: { cluster: 'demo', node: 'pve-b', vmid: 105 } };
    const formerArchive = {
      type: 'vzdump' as const,
      id: 'local:backup/vzdump-lxc-101-2026_11_24-02_00_00.tar.zst',
      takenAt: taken - 86_400_000,
      sizeBytes: 512 * 1024 ** 2,
      restorable: true,
      guest: formerGuest,
      former: true,
    };
    const rowOf = async (volid: string) => (await screen.findByText(volid)).closest('tr') as HTMLElement;

    it('labels the archives of the guest it ran on before, and offers to restore them only as a new guest', async () => {
      renderWithEntity(<BackupsCard />, { api: fakeApi({ listBackups: jest.fn(async () => listing([currentArchive, formerArchive])) }) });
      const former = await rowOf(formerArchive.id);
      expect(within(former).getByText('Before migration')).toBeInTheDocument();
      expect(within(former).getByText('demo/pve-a/101')).toBeInTheDocument();
      expect(within(former).getByRole('button', { name: `Restore ${formerArchive.id} to a new guest` })).toBeInTheDocument();
      expect(within(former).queryByRole('button', { name: /in place/ })).not.toBeInTheDocument();
      const current = await rowOf(currentArchive.id);
      expect(within(current).queryByText('Before migration')).not.toBeInTheDocument();
      expect(within(current).getByRole('button', { name: `Restore ${currentArchive.id} in place` })).toBeInTheDocument();
    });

    it('restores a former guest\'s archive naming that guest, after saying where the new guest goes', async () => {
      const api = fakeApi({
        listBackups: jest.fn(async () => listing([currentArchive, formerArchive])),
        restoreBackup: jest.fn(async () => ({ jobId: 'r-2', kind: 'backup.restore', status: 'queued' })),
      });
      renderWithEntity(<BackupsCard />, { api });
      await userEvent.click(within(await rowOf(formerArchive.id)).getByRole('button', { name: /to a new guest/ }));
      const confirm = screen.getByRole('region', { name: 'Confirm restore' });
      expect(within(confirm).getByText(/taken before a migration: a new guest is created from it on demo\/pve-a/)).toBeInTheDocument();
      await userEvent.click(within(confirm).getByRole('button', { name: 'Yes, restore' }));
      expect(api.restoreBackup).toHaveBeenCalledWith({ entityRef: ENTITY_REF, volid: formerArchive.id, mode: 'fresh', from: formerGuest });
    });

    it('warns about former guests whose archives could not be listed, and shows the rest', async () => {
      const unavailable = [{ guest: { cluster: 'ams1', node: 'pve-1', vmid: 230 }, message: 'The cluster ams1 is not configured any more' }];
      renderWithEntity(<BackupsCard />, { api: fakeApi({ listBackups: jest.fn(async () => listing([currentArchive], unavailable)) }) });
      expect(await screen.findByText('Backups from before a migration (ams1/pve-1/230) could not be listed')).toBeInTheDocument();
      expect(screen.getByText('The cluster ams1 is not configured any more')).toBeInTheDocument();
      expect(await rowOf(currentArchive.id)).toBeInTheDocument();
    });
  });

  it('shows a refused drill as a permission error', async () => {
    const api = fakeApi({ startDrill: jest.fn(async () => { throw apiError(403, 'NotAllowedError', `Not allowed: fediversity.job.create on ${ENTITY_REF}`); }) });
    renderWithEntity(<BackupsCard />, { api });
    expect(await screen.findByText('No backups of this instance yet.')).toBeInTheDocument();
    expect(screen.getByText('No restore drill has run yet.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Run a drill now' }));
    expect(await screen.findByText(/You are not allowed to do this: Not allowed/)).toBeInTheDocument();
  });

  it('offers no restore to people who may not start jobs', async () => {
    renderWithEntity(<BackupsCard />, { api: fakeApi({ listBackups: jest.fn(async () => listing(backups)) }), allow: false, entity: instanceNamed('denied-backups') });
    expect(await screen.findByRole('table', { name: 'Backups' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Restore/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Run a drill now' })).not.toBeInTheDocument();
  });

  it('shows loading and error states', async () => {
    const loading = renderWithEntity(<BackupsCard />, { api: fakeApi({ listBackups: jest.fn(() => new Promise(() => {})) }) });
    expect(await screen.findByText('Loading backups…')).toBeInTheDocument();
    loading.unmount();
    renderWithEntity(<BackupsCard />, { api: fakeApi({ listBackups: jest.fn(async () => { throw apiError(404, 'NotFoundError', 'component:default/x is not a recorded instance'); }) }) });
    expect(await screen.findByText('Could not load backups')).toBeInTheDocument();
    expect(screen.getByText('component:default/x is not a recorded instance')).toBeInTheDocument();
  });
});
