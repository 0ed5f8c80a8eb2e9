import { z } from 'zod';
import { entityRefSchema } from './refs';

/**
 * `spec.dependsOn` on a System: the arrows of the architecture notes between layers. The catalog's built-in
 * processor only reads `dependsOn` on Components and Resources, so our processor emits these relations.
 */
export const layerSystemSpecSchema = z
  .object({
    owner: entityRefSchema({ defaultKind: 'Group', kinds: ['Group', 'User'] }),
    domain: entityRefSchema({ defaultKind: 'Domain', kinds: ['Domain'] }).optional(),
    dependsOn: z.array(entityRefSchema({ defaultKind: 'System', kinds: ['System'] }), {
      invalid_type_error: 'spec.dependsOn must be a list of System references',
    }),
  })
  .passthrough();

export type LayerSystemSpec = z.infer<typeof layerSystemSpecSchema>;
