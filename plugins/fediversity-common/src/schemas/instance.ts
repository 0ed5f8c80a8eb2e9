import { z } from 'zod';
import { ANNOTATION_APP } from '../annotations';

const FULL_COMPONENT_REF = /^component:[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/i;

/**
 * Annotations of a running instance (Component type `service`, made by provisioning): `fediversity.eu/app` names
 * the app definition it runs, as a full Component reference (`component:default/mastodon`).
 */
export const instanceAnnotationsSchema = z
  .object({
    [ANNOTATION_APP]: z
      .string()
      .regex(FULL_COMPONENT_REF, 'must be a full Component reference like component:default/mastodon'),
  })
  .passthrough();
