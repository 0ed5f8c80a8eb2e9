import { ReactNode } from 'react';
import { Card, CardBody, CardHeader, Flex, Skeleton, Text } from '@backstage/ui';

/** Heading + body of every card of the plugin, so their titles are headings tests and people can find. */
export function CardFrame(props: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <Flex justify="between" align="center">
          <Text as="h3" variant="title-x-small" weight="bold">
            {props.title}
          </Text>
          {props.actions}
        </Flex>
      </CardHeader>
      <CardBody>{props.children}</CardBody>
    </Card>
  );
}

export function Loading(props: { what: string }) {
  return (
    <Flex direction="column" gap="2" aria-busy="true">
      <Text color="secondary">Loading {props.what}…</Text>
      <Skeleton height={48} />
    </Flex>
  );
}
