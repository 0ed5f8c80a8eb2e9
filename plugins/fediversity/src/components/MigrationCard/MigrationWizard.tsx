import { useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { Alert, Button, Flex, Text } from '@backstage/ui';
import { fediversityApiRef, MigrationPreflight, MigrationTarget } from '../../api';
import { ErrorAlert, Loading } from '../common';
import { useMigrationTargets } from './useMigrationTargets';

/**
 * Choose a target node (another cluster = another provider) and storage → run the preflight checks → start.
 * Nothing changes before "Start migration"; the preflight is read-only.
 */
export function MigrationWizard(props: {
  entityRef: string;
  current: { cluster?: string; node?: string };
  onStarted: (jobId: string) => void;
  onClose: () => void;
}) {
  const api = useApi(fediversityApiRef);
  const targets = useMigrationTargets();
  const [choice, setChoice] = useState<{ key: string; storage: string }>({ key: '', storage: '' });
  const [preflight, setPreflight] = useState<MigrationPreflight>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();

  if (targets.error) return <ErrorAlert title="Could not list nodes and storages" error={targets.error} />;
  if (targets.loading || !targets.value) return <Loading what="nodes and storages" />;
  const candidates = targets.value.filter(
    t => !(t.cluster === props.current.cluster && t.node === props.current.node),
  );
  if (candidates.length === 0) {
    return (
      <Flex direction="column" gap="2">
        <Text color="secondary">There is no other node to migrate to.</Text>
        <Button variant="tertiary" onPress={props.onClose}>
          Close
        </Button>
      </Flex>
    );
  }
  const selected = candidates.find(t => `${t.cluster}/${t.node}` === choice.key);
  const target: MigrationTarget | undefined =
    selected && choice.storage ? { cluster: selected.cluster, node: selected.node, storage: choice.storage } : undefined;

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Flex direction="column" gap="3" aria-label="Migration wizard">
      <Text weight="bold">1. Target</Text>
      <Flex gap="3" align="end">
        <label>
          <Text>Target node</Text>
          <br />
          <select
            value={choice.key}
            onChange={e => {
              setChoice({ key: e.target.value, storage: '' });
              setPreflight(undefined);
            }}
          >
            <option value="">Choose a node…</option>
            {candidates.map(t => (
              <option key={`${t.cluster}/${t.node}`} value={`${t.cluster}/${t.node}`}>
                {t.node} ({t.cluster === props.current.cluster ? 'this provider' : `provider ${t.cluster}`})
              </option>
            ))}
          </select>
        </label>
        <label>
          <Text>Target storage</Text>
          <br />
          <select
            value={choice.storage}
            disabled={!selected}
            onChange={e => {
              setChoice({ ...choice, storage: e.target.value });
              setPreflight(undefined);
            }}
          >
            <option value="">Choose a storage…</option>
            {selected?.storages.map(s => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <Button
          variant="secondary"
          isDisabled={!target || busy}
          onPress={() => run(async () => setPreflight(await api.preflightMigration(props.entityRef, target!)))}
        >
          Run preflight checks
        </Button>
      </Flex>
      {error && <ErrorAlert title="The migration could not go ahead" error={error} />}
      {preflight && (
        <section aria-label="Preflight results">
          <Text weight="bold">2. Preflight</Text>
          <ul style={{ margin: 0 }}>
            {preflight.checks.map(check => (
              <li key={check.name}>
                <Text color={check.ok ? 'success' : 'danger'}>
                  {check.ok ? '✓' : '✗'} {check.name}: {check.message}
                </Text>
              </li>
            ))}
          </ul>
          {!preflight.ok && (
            <Alert status="warning" icon title="Preflight failed" description="Fix the failed checks or pick another target." />
          )}
        </section>
      )}
      <Flex gap="2">
        <Button
          variant="primary"
          isDisabled={!target || !preflight?.ok || busy}
          onPress={() =>
            run(async () => {
              const started = await api.startMigration(props.entityRef, target!);
              props.onStarted(started.jobId);
            })
          }
        >
          Start migration
        </Button>
        <Button variant="tertiary" onPress={props.onClose}>
          Close
        </Button>
      </Flex>
    </Flex>
  );
}
