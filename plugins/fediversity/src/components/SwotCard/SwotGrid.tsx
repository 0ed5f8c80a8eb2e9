import { Box, Flex, Grid, Text } from '@backstage/ui';
import { SWOT_QUADRANTS, Swot } from '../../appDefinition';

/** The four SWOT lists in a 2x2 grid: strengths | weaknesses over opportunities | threats. */
export function SwotGrid(props: { swot: Swot }) {
  const { swot } = props;
  return (
    <Grid.Root columns={{ initial: '1', sm: '2' }} gap="4">
      {SWOT_QUADRANTS.map(({ key, title }) => (
        <Grid.Item key={key}>
          <section aria-label={title}>
            <Flex direction="column" gap="1">
              <Text as="h4" variant="body-medium" weight="bold">
                {title}
              </Text>
              {swot[key].length === 0 ? (
                <Text variant="body-small" color="secondary">
                  None recorded
                </Text>
              ) : (
                <Box as="ul" m="0" pl="4">
                  {swot[key].map(item => (
                    <li key={item}>
                      <Text variant="body-small">{item}</Text>
                    </li>
                  ))}
                </Box>
              )}
            </Flex>
          </section>
        </Grid.Item>
      ))}
    </Grid.Root>
  );
}
