import { ReactNode } from 'react';
import { Entity } from '@backstage/catalog-model';
import { EntityRefLink, useEntity } from '@backstage/plugin-catalog-react';
import {
  Alert,
  Card,
  CardBody,
  CardHeader,
  Flex,
  Skeleton,
  Text,
} from '@backstage/ui';
import {
  appRefOf,
  isAppDefinition,
  isSwotEmpty,
  readSwot,
  readSwotSources,
} from '../../appDefinition';
import { SwotGrid } from './SwotGrid';
import { useAppDefinition } from './useAppDefinition';

/**
 * Entity card with the strengths, weaknesses, opportunities and threats of an app. On an app definition it shows
 * the definition's own `spec.swot`; on anything that uses an app (annotation `fediversity.eu/app`) it shows the
 * SWOT of the referenced app definition.
 */
export function SwotCard() {
  const { entity } = useEntity();
  if (isAppDefinition(entity)) {
    return (
      <SwotCardFrame>
        <AppSwot app={entity} />
      </SwotCardFrame>
    );
  }
  const appRef = appRefOf(entity);
  if (!appRef) {
    return (
      <SwotCardFrame>
        <Text color="secondary">
          This entity names no app definition, so there is no SWOT to show.
        </Text>
      </SwotCardFrame>
    );
  }
  return (
    <ReferencedAppSwot
      appRef={appRef}
      namespace={entity.metadata.namespace ?? 'default'}
    />
  );
}

function ReferencedAppSwot(props: { appRef: string; namespace: string }) {
  const { value: app, loading, error } = useAppDefinition(
    props.appRef,
    props.namespace,
  );
  if (loading) {
    return (
      <SwotCardFrame>
        <Flex direction="column" gap="2" aria-busy="true">
          <Text color="secondary">Loading the app definition…</Text>
          <Skeleton height={80} />
        </Flex>
      </SwotCardFrame>
    );
  }
  if (error || !app) {
    return (
      <SwotCardFrame>
        <Alert
          status="danger"
          icon
          title="Could not load the app definition"
          description={error?.message ?? `Nothing found for ${props.appRef}`}
        />
      </SwotCardFrame>
    );
  }
  return (
    <SwotCardFrame
      subtitle={
        <Text variant="body-small" color="secondary">
          From the app definition <EntityRefLink entityRef={app} />
        </Text>
      }
    >
      <AppSwot app={app} />
    </SwotCardFrame>
  );
}

function AppSwot(props: { app: Entity }) {
  const swot = readSwot(props.app);
  if (isSwotEmpty(swot)) {
    return (
      <Text color="secondary">
        No SWOT analysis is recorded for this app yet.
      </Text>
    );
  }
  return (
    <Flex direction="column" gap="3">
      <SwotGrid swot={swot} />
      <SwotSources sources={readSwotSources(props.app)} />
    </Flex>
  );
}

/** Says where the points were checked, or plainly that they were not, so nobody mistakes opinion for a checked fact. */
function SwotSources(props: { sources: string[] }) {
  if (props.sources.length === 0) {
    return (
      <Text variant="body-small" color="secondary">
        Not checked against a primary source yet: written from general knowledge.
      </Text>
    );
  }
  return (
    <Text variant="body-small" color="secondary">
      Checked against:{' '}
      {props.sources.map((url, index) => (
        <span key={url}>
          {index > 0 && ', '}
          <a href={url} target="_blank" rel="noopener noreferrer">
            {new URL(url).hostname}
          </a>
        </span>
      ))}
    </Text>
  );
}

function SwotCardFrame(props: { subtitle?: ReactNode; children: ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <Flex direction="column" gap="1">
          <Text as="h3" variant="title-x-small" weight="bold">
            SWOT
          </Text>
          {props.subtitle}
        </Flex>
      </CardHeader>
      <CardBody>{props.children}</CardBody>
    </Card>
  );
}
