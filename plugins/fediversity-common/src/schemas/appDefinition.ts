import { z } from 'zod';
import { checkOpenSourceLicense } from '../openSourceLicenses';
import { dataClassesSchema } from './dataClasses';
import { entityRefSchema, rejectSecretLookingKeys } from './refs';
import { swotKeywordsSchema, swotSchema } from './swot';

/** `spec.type` of an app definition Component. Running instances are Components of type `service`. */
export const APP_DEFINITION_TYPE = 'fediversity-app';

/** Names of the policies of the architecture notes, quoted in processing errors. */
export const NO_OPEN_CORE_POLICY = 'no-open-core policy';
export const OPEN_SOURCE_LICENSE_POLICY = 'open-source licence policy';

/**
 * A NixOS option path of the module that runs the app, e.g. `services.mastodon` (nixpkgs) or
 * `fediversity.cryptpad` (a module of our nix/ flake).
 */
export const nixosModuleSchema = z
  .string({ required_error: 'spec.nixosModule is required (the NixOS option path, e.g. services.mastodon)' })
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]*(\.[a-zA-Z][a-zA-Z0-9_-]*)+$/, 'must be a NixOS option path like services.mastodon');

/**
 * The spec of an app definition: kind Component, `spec.type: fediversity-app`. Built-in Component fields
 * (type, lifecycle, owner, system) are checked as far as we rely on them; our fields are the rest.
 */
export const appDefinitionSpecSchema = z
  .object({
    type: z.literal(APP_DEFINITION_TYPE),
    lifecycle: z.string().min(1),
    owner: entityRefSchema({ defaultKind: 'Group', kinds: ['Group', 'User'] }),
    system: entityRefSchema({ defaultKind: 'System', kinds: ['System'] }),
    /** SPDX licence expression; must pass the open-source licence policy. */
    license: z
      .string({ required_error: 'spec.license is required (an SPDX licence expression)' })
      .superRefine((expression, ctx) => {
        const licence = checkOpenSourceLicense(expression);
        if (!licence.accepted) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `rejected by the ${OPEN_SOURCE_LICENSE_POLICY}: ${licence.reason}`,
          });
        }
      }),
    /** Whether the vendor keeps features in a paid edition. Must be false: the notes reject open core. */
    openCore: z
      .boolean({ required_error: 'spec.openCore is required (false; the notes reject open-core software)' })
      .refine(openCore => !openCore, {
        message: `rejected by the ${NO_OPEN_CORE_POLICY}: the architecture notes allow no open-core software (GitLab, Dovecot and Zimbra are named); pick a fully open alternative`,
      }),
    /** Upstream project page, for people reading the SWOT. */
    upstream: z.string().url().optional(),
    nixosModule: nixosModuleSchema,
    /** Core services (app definitions in the core-services system) this app needs; instances depend on them too. */
    coreServices: z.array(entityRefSchema({ defaultKind: 'Component', kinds: ['Component'] })).default([]),
    swot: swotSchema,
    swotKeywords: swotKeywordsSchema,
    dataClasses: dataClassesSchema,
  })
  .passthrough()
  .superRefine((spec, ctx) => rejectSecretLookingKeys(spec, ctx));

export type AppDefinitionSpec = z.infer<typeof appDefinitionSpecSchema>;
