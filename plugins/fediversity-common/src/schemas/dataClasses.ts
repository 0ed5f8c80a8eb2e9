import { z } from 'zod';
import { absolutePathSchema, kebabCaseSchema } from './refs';

/** Programs a quiesce command must not start with: commands run as argv without a shell (design invariant). */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'fish', 'busybox', 'eval', 'env']);

/**
 * One command as an argv array, run over SSH without a shell: `[systemctl, stop, mastodon-web.service]`.
 * argv[0] is a bare program name or an absolute path, and never a shell.
 */
export const commandSchema = z
  .array(z.string().min(1, 'an argument must not be empty').max(4096), {
    invalid_type_error: 'a command is an argv list of strings, not a shell string',
  })
  .min(1, 'a command needs at least the program name')
  .superRefine((argv, ctx) => {
    const program = argv[0];
    if (program === undefined) {
      return;
    }
    if (!/^(\/[A-Za-z0-9._+-]+)+$|^[A-Za-z0-9._+-]+$/.test(program)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [0],
        message: `"${program}" is not a program name or absolute path`,
      });
    } else if (SHELLS.has(program.split('/').pop()!)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [0],
        message: `"${program}" is a shell; commands are argv arrays run without a shell`,
      });
    }
  });

export type Command = z.infer<typeof commandSchema>;

const commandListSchema = z.array(commandSchema);

/**
 * How a data class reaches the standby / migration target (replication.md, architecture notes):
 * - `postgresql-streaming`: asynchronous but live physical replication; promote at cut-over.
 * - `mariadb-replication`: binlog replication for MariaDB/MySQL; promote at cut-over.
 * - `dump-restore`: quiesce, dump, restore (small databases, Redis `dump.rdb`).
 * - `rsync-quiesced`: copy live, quiesce, final rsync of the delta (shut the app down, then rsync).
 * - `zfs-send`: snapshot + incremental `zfs send`; quiesce before the last snapshot.
 * - `s3-mirror`: generic blob copy between buckets (rclone / mc mirror), last mirror after quiesce.
 * - `rebuild`: derived data (caches, feeds, search indexes) rebuilt on the target, never copied.
 */
export const REPLICATION_STRATEGIES = [
  'postgresql-streaming',
  'mariadb-replication',
  'dump-restore',
  'rsync-quiesced',
  'zfs-send',
  's3-mirror',
  'rebuild',
] as const;

export const replicationStrategySchema = z.enum(REPLICATION_STRATEGIES);
export type ReplicationStrategy = z.infer<typeof replicationStrategySchema>;

export const DATABASE_ENGINES = ['postgresql', 'mariadb', 'mysql', 'sqlite', 'redis'] as const;

const commonFields = {
  /** Unique within the app: `database`, `media`, `state`. */
  name: kebabCaseSchema,
  /** Commands that stop writes to this data class before the final sync (argv arrays, in order). */
  quiesce: commandListSchema.optional(),
  /** Commands that undo `quiesce` (e.g. when a migration is rolled back, or on the target after cut-over). */
  unquiesce: commandListSchema.optional(),
  /** Seconds to wait after quiescing before the final sync (Nextcloud: clients need 6-7 minutes). */
  settleSeconds: z.number().int().min(0).max(3600).optional(),
  /** Known pitfalls for people and later automation, e.g. Synapse's `e2e_one_time_keys_json`. */
  caveats: z.array(z.string().min(1)).optional(),
};

const databaseClassSchema = z.object({
  ...commonFields,
  kind: z.literal('database'),
  engine: z.enum(DATABASE_ENGINES),
  replication: replicationStrategySchema,
  /** For file databases (SQLite): the database file. */
  path: absolutePathSchema.optional(),
});

const directoriesClassSchema = z.object({
  ...commonFields,
  kind: z.literal('directories'),
  /** Directories only this app writes (the notes' "exclusive filesystem"). */
  directories: z.array(absolutePathSchema).min(1, 'list at least one directory'),
  replication: replicationStrategySchema,
});

const blobClassSchema = z.object({
  ...commonFields,
  kind: z.literal('blob'),
  /** `native`: the app speaks S3 itself; `plugin`: through an extension (e.g. synapse-s3-storage-provider). */
  support: z.enum(['native', 'plugin']),
  replication: replicationStrategySchema,
});

/** Which strategies fit which kind of data; checked so a catalog entry cannot promise an impossible replication. */
function strategyFits(dataClass: DataClass): string | undefined {
  const { replication } = dataClass;
  if (replication === 'rebuild') {
    return undefined;
  }
  switch (dataClass.kind) {
    case 'database':
      if (replication === 'postgresql-streaming' && dataClass.engine !== 'postgresql') {
        return `postgresql-streaming needs engine postgresql, not ${dataClass.engine}`;
      }
      if (replication === 'mariadb-replication' && !['mariadb', 'mysql'].includes(dataClass.engine)) {
        return `mariadb-replication needs engine mariadb or mysql, not ${dataClass.engine}`;
      }
      if (['rsync-quiesced', 'zfs-send'].includes(replication) && dataClass.engine !== 'sqlite') {
        return `${replication} copies files; a ${dataClass.engine} server needs a dump or replication`;
      }
      if (replication === 's3-mirror') {
        return 's3-mirror is for blob data, not databases';
      }
      return undefined;
    case 'directories':
      return ['rsync-quiesced', 'zfs-send'].includes(replication)
        ? undefined
        : `directories replicate with rsync-quiesced or zfs-send, not ${replication}`;
    case 'blob':
      return replication === 's3-mirror' ? undefined : `blob data replicates with s3-mirror, not ${replication}`;
    default:
      return undefined;
  }
}

export const dataClassSchema = z
  .discriminatedUnion('kind', [databaseClassSchema, directoriesClassSchema, blobClassSchema], {
    errorMap: (issue, ctx) =>
      issue.code === z.ZodIssueCode.invalid_union_discriminator
        ? { message: 'kind must be one of database, directories, blob' }
        : { message: ctx.defaultError },
  })
  .superRefine((dataClass, ctx) => {
    const misfit = strategyFits(dataClass);
    if (misfit) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['replication'], message: misfit });
    }
    if (dataClass.kind === 'database' && dataClass.engine === 'sqlite' && !dataClass.path) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['path'], message: 'a sqlite database needs its file path' });
    }
    // Anything copied (not rebuilt) needs a consistent final copy, hence a way to stop writes and to resume them.
    if (dataClass.replication !== 'rebuild') {
      for (const field of ['quiesce', 'unquiesce'] as const) {
        if (!dataClass[field]?.length) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [field],
            message: `${dataClass.replication} needs at least one ${field} command`,
          });
        }
      }
    }
  });

export type DataClass = z.infer<typeof dataClassSchema>;

/** `spec.dataClasses` of an app definition: every kind of data the app keeps, with its replication. */
export const dataClassesSchema = z
  .array(dataClassSchema, { required_error: 'spec.dataClasses is required' })
  .min(1, 'list at least one data class')
  .superRefine((classes, ctx) => {
    const seen = new Set<string>();
    classes.forEach((dataClass, index) => {
      if (seen.has(dataClass.name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [index, 'name'],
          message: `data class name "${dataClass.name}" is used twice`,
        });
      }
      seen.add(dataClass.name);
    });
  });
