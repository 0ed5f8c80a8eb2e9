import { ReactNode } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Badge, Flex, Link, Text } from '@backstage/ui';
import { fediversityApiRef, GuestLiveStatus } from '../../api';
import {
  CardFrame,
  ErrorAlert,
  formatBytes,
  formatDuration,
  formatPercent,
  Loading,
  RefLink,
  usePolled,
} from '../common';
import { InstanceFacts, readInstanceFacts } from './instanceFacts';

/**
 * What a running instance is and how its guest is doing right now: app, domain, owner, placement, the live
 * Proxmox status of the guest (polled), the deployed NixOS configuration, core services and monitoring links.
 */
export function InstanceOverviewCard(props: { pollMs?: number }) {
  const { entity } = useEntity();
  const facts = readInstanceFacts(entity);
  return (
    <CardFrame title="Instance">
      <Flex direction="column" gap="3">
        {facts.demo && (
          <Text variant="body-small" color="secondary">
            Demo instance: its guest lives in the embedded Proxmox simulator.
          </Text>
        )}
        <dl style={{ display: 'grid', gridTemplateColumns: 'max-content 1fr', gap: '4px 16px', margin: 0 }}>
          <Fact label="App">{facts.app ? <RefLink entityRef={facts.app} defaultKind="component" /> : '—'}</Fact>
          <Fact label="Version">{facts.appVersion ?? 'as pinned by the deployed flake'}</Fact>
          <Fact label="Domain">
            {facts.domain ? <Link href={`https://${facts.domain}/`}>{facts.domain}</Link> : '—'}
          </Fact>
          <Fact label="Owner">{facts.owner ? <RefLink entityRef={facts.owner} defaultKind="group" /> : '—'}</Fact>
          <Fact label="Guest">
            {facts.guestRef ? <RefLink entityRef={facts.guestRef} /> : facts.vmid ?? '—'}
          </Fact>
          <Fact label="Node">{facts.cluster && facts.node ? `${facts.node} (cluster ${facts.cluster})` : '—'}</Fact>
          <Fact label="Storage">{facts.storage ?? '—'}</Fact>
          <Fact label="NixOS">{nixosText(facts)}</Fact>
        </dl>
        <GuestStatusSection facts={facts} pollMs={props.pollMs ?? 10_000} />
        <section aria-label="Core services">
          <Text as="h4" variant="body-medium" weight="bold">
            Core services
          </Text>
          {facts.coreServices.length === 0 ? (
            <Text color="secondary">Uses no core services.</Text>
          ) : (
            <ul style={{ margin: 0 }}>
              {facts.coreServices.map(ref => (
                <li key={ref}>
                  <RefLink entityRef={ref} />
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-label="Monitoring">
          <Text as="h4" variant="body-medium" weight="bold">
            Monitoring
          </Text>
          {facts.monitoringLinks.length === 0 ? (
            <Text color="secondary">No monitoring links on this entity.</Text>
          ) : (
            <Flex gap="2">
              {facts.monitoringLinks.map(link => (
                <Link key={link.url} href={link.url}>
                  {link.title}
                </Link>
              ))}
            </Flex>
          )}
        </section>
      </Flex>
    </CardFrame>
  );
}

function nixosText(facts: InstanceFacts): string {
  const generation = facts.nixosGeneration ? `generation ${facts.nixosGeneration}` : '';
  if (facts.flakeRef) return `${generation} ${facts.flakeRef}`;
  return generation || 'not recorded';
}

function Fact(props: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>
        <Text weight="bold">{props.label}</Text>
      </dt>
      <dd style={{ margin: 0 }}>
        <Text>{props.children}</Text>
      </dd>
    </>
  );
}

function GuestStatusSection(props: { facts: InstanceFacts; pollMs: number }) {
  const { cluster, node, vmid } = props.facts;
  const api = useApi(fediversityApiRef);
  const { value, loading, error } = usePolled(
    async () => (cluster && node && vmid ? api.getGuestStatus({ cluster, node, vmid }) : undefined),
    props.pollMs,
    [api, cluster, node, vmid],
  );
  let body: ReactNode;
  if (!cluster || !node || !vmid) {
    body = <Text color="secondary">This entity names no Proxmox guest.</Text>;
  } else if (error) {
    body = <ErrorAlert title="Could not read the guest's status from Proxmox" error={error} />;
  } else if (!value) {
    body = loading ? <Loading what="the guest's status" /> : null;
  } else {
    body = <GuestStatusFacts status={value} />;
  }
  return (
    <section aria-label="Live status">
      <Text as="h4" variant="body-medium" weight="bold">
        Live status
      </Text>
      {body}
    </section>
  );
}

function GuestStatusFacts(props: { status: GuestLiveStatus }) {
  const s = props.status;
  return (
    <Flex gap="3" align="center">
      <Badge>{s.lock ? `${s.status} (locked: ${s.lock})` : s.status}</Badge>
      <Text>CPU {formatPercent(s.cpu)}{s.cpus ? ` of ${s.cpus}` : ''}</Text>
      <Text>
        Memory {formatBytes(s.memBytes)} / {formatBytes(s.maxMemBytes)}
      </Text>
      <Text>
        Disk {formatBytes(s.diskBytes)} / {formatBytes(s.maxDiskBytes)}
      </Text>
      <Text>Up {formatDuration(s.uptimeSeconds)}</Text>
    </Flex>
  );
}
