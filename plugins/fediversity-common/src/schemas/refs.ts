import { parseEntityRef } from '@backstage/catalog-model';
import { z } from 'zod';

/**
 * An entity reference string (`group:default/social-team`, or `social-team` with a default kind), checked to name
 * one of `kinds`. Kinds compare case-insensitively, as the catalog does.
 */
export function entityRefSchema(options: { defaultKind: string; kinds: string[] }) {
  const allowed = options.kinds.map(kind => kind.toLocaleLowerCase('en-US'));
  return z.string().superRefine((value, ctx) => {
    let kind: string;
    try {
      kind = parseEntityRef(value, { defaultKind: options.defaultKind, defaultNamespace: 'default' }).kind;
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not an entity reference` });
      return;
    }
    if (!allowed.includes(kind.toLocaleLowerCase('en-US'))) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `"${value}" must reference a ${options.kinds.join(' or ')}, not a ${kind}`,
      });
    }
  });
}

/** A lowercase kebab-case word list item, also valid inside a catalog tag (`[a-z0-9]` words joined by `-`). */
export const kebabCaseSchema = z
  .string()
  .max(40)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be lowercase kebab-case (a-z, 0-9, single dashes)');

/** An absolute POSIX path without `..` segments, so it can be passed to rsync/zfs as one argument safely. */
export const absolutePathSchema = z
  .string()
  .regex(/^(\/[A-Za-z0-9._@+-]+)+\/?$/, 'must be an absolute path of [A-Za-z0-9._@+-] segments')
  .refine(path => !path.split('/').includes('..'), 'must not contain ".." segments');

/** Spec keys that look like they hold credentials. Secrets never go into the catalog (design invariant). */
export const SECRET_LOOKING_KEY = /(secret|password|passwd|token|access.?key|private.?key|credential)/i;

/** Adds an issue for every key of `spec` that looks like a secret. */
export function rejectSecretLookingKeys(spec: Record<string, unknown>, ctx: z.RefinementCtx) {
  for (const key of Object.keys(spec)) {
    if (SECRET_LOOKING_KEY.test(key)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [key],
        message: 'looks like a secret; secrets never go into the catalog (reference a secret store instead)',
      });
    }
  }
}
