import { ConfigReader } from '@backstage/config';
import { DEFAULT_SCHEDULE, readProviderSchedules } from './ProxmoxEntityProviderConfig';

describe('readProviderSchedules', () => {
  it('uses the default without configuration', () => {
    expect(readProviderSchedules(new ConfigReader({}))('demo')).toEqual(DEFAULT_SCHEDULE);
  });

  it('reads a schedule per cluster', () => {
    const schedules = readProviderSchedules(
      new ConfigReader({
        fediversity: {
          proxmox: {
            clusters: [
              { name: 'prod', schedule: { frequency: { minutes: 10 }, timeout: { minutes: 3 } } },
              { name: 'lab' },
            ],
          },
        },
      }),
    );
    expect(schedules('prod')).toMatchObject({ frequency: { minutes: 10 }, timeout: { minutes: 3 } });
    expect(schedules('lab')).toEqual(DEFAULT_SCHEDULE);
  });

  it('names the cluster entry of an invalid schedule', () => {
    expect(() =>
      readProviderSchedules(
        new ConfigReader({
          fediversity: { proxmox: { clusters: [{ name: 'prod', schedule: { frequency: 'often' } }] } },
        }),
      ),
    ).toThrow(/clusters\[0\]\.schedule/);
  });
});
