import { parseEntityRef } from '@backstage/catalog-model';
import { EntityRefLink } from '@backstage/plugin-catalog-react';

/** A link to an entity; a short or malformed ref (owners are often written `platform`) never breaks the card. */
export function RefLink(props: { entityRef: string; defaultKind?: string; defaultNamespace?: string }) {
  try {
    const ref = parseEntityRef(props.entityRef, {
      defaultKind: props.defaultKind ?? 'component',
      defaultNamespace: props.defaultNamespace ?? 'default',
    });
    return <EntityRefLink entityRef={ref} />;
  } catch {
    return <>{props.entityRef}</>;
  }
}
