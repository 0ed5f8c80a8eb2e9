import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useApi } from '@backstage/core-plugin-api';
import {
  EntityRefLink,
  catalogApiRef,
  useEntityRefLink,
} from '@backstage/plugin-catalog-react';
import {
  Cell,
  CellText,
  ColumnConfig,
  Container,
  Flex,
  SearchField,
  Select,
  Table,
  Text,
} from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { APP_DEFINITION_TYPE } from '../../appDefinition';
import {
  AppRow,
  filterApps,
  matchingRiskKeywords,
  matchingRisks,
  ownersOf,
  toAppRow,
} from './appRows';

const ALL_OWNERS = 'all';
/** URL query parameters, so a filtered list can be linked to. */
const OWNER_PARAM = 'owner';
const KEYWORD_PARAM = 'keyword';

/**
 * Every app definition in the catalog with its owner and licence, filterable by owner and by a keyword found in
 * its weaknesses or threats.
 */
export function AppsPage() {
  const catalogApi = useApi(catalogApiRef);
  const entityLink = useEntityRefLink();
  const [searchParams, setSearchParams] = useSearchParams();
  const ownerRef = searchParams.get(OWNER_PARAM) ?? undefined;
  const keyword = searchParams.get(KEYWORD_PARAM) ?? '';

  const { value: rows, loading, error } = useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: { kind: 'Component', 'spec.type': APP_DEFINITION_TYPE },
    });
    return items
      .map(toAppRow)
      .sort((a, b) => a.title.localeCompare(b.title));
  }, [catalogApi]);

  const owners = useMemo(() => ownersOf(rows ?? []), [rows]);
  const shown = useMemo(
    () => filterApps(rows ?? [], { ownerRef, keyword }),
    [rows, ownerRef, keyword],
  );

  const setParam = (name: string, value: string | undefined) => {
    setSearchParams(
      previous => {
        const next = new URLSearchParams(previous);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  };

  const columns: ColumnConfig<AppRow>[] = [
    {
      id: 'app',
      label: 'App',
      isRowHeader: true,
      cell: row => (
        <CellText
          title={row.title}
          description={row.description}
          href={entityLink(row.entity)}
        />
      ),
    },
    {
      id: 'owner',
      label: 'Owner',
      cell: row => (
        <Cell>
          {row.ownerRef ? (
            <EntityRefLink entityRef={row.ownerRef} defaultKind="group" />
          ) : (
            <Text color="secondary">No owner</Text>
          )}
        </Cell>
      ),
    },
    {
      id: 'licence',
      label: 'Licence',
      cell: row => <CellText title={row.licence ?? 'Not recorded'} />,
    },
    {
      id: 'risks',
      label: 'Weaknesses and threats',
      cell: row => <RisksCell row={row} keyword={keyword} />,
    },
  ];

  return (
    <Container>
      <Flex direction="column" gap="4" py="4">
        <Flex gap="4" align="end">
          <Select
            label="Owner"
            options={[
              { id: ALL_OWNERS, label: 'All owners' },
              ...owners.map(owner => ({ id: owner, label: owner })),
            ]}
            value={ownerRef ?? ALL_OWNERS}
            onChange={key =>
              setParam(
                OWNER_PARAM,
                key && key !== ALL_OWNERS ? String(key) : undefined,
              )
            }
          />
          <SearchField
            label="Weakness or threat keyword"
            placeholder="e.g. storage"
            value={keyword}
            onChange={value => setParam(KEYWORD_PARAM, value)}
          />
        </Flex>
        {loading && (
          <Text role="status" color="secondary">
            Loading app definitions…
          </Text>
        )}
        <Table
          columnConfig={columns}
          data={loading ? undefined : shown}
          isPending={loading}
          error={error}
          pagination={{ type: 'none' }}
          emptyState={
            <Text color="secondary">
              {rows?.length
                ? 'No app matches these filters.'
                : 'The catalog holds no app definitions yet.'}
            </Text>
          }
        />
      </Flex>
    </Container>
  );
}

/** Keywords of the weaknesses and threats; with a search keyword, only what matched it. */
function RisksCell(props: { row: AppRow; keyword: string }) {
  const { row, keyword } = props;
  const keywords = keyword
    ? matchingRiskKeywords(row, keyword)
    : [...row.swotKeywords.weaknesses, ...row.swotKeywords.threats];
  const sentences = keyword ? matchingRisks(row, keyword) : [];
  return (
    <CellText
      title={keywords.join(', ') || sentences.join('; ') || '-'}
      description={
        keyword && keywords.length > 0
          ? sentences.join('; ')
          : `${row.swot.weaknesses.length} weaknesses, ${row.swot.threats.length} threats`
      }
    />
  );
}
