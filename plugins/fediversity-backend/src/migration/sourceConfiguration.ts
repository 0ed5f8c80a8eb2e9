import { DataDirectoryLink, linkTargetFrom, listDataDirectoryLinksArgv, parseDataDirectoryLinks, restoreDataDirectoryLinksArgv } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { asUser } from './hosts';
import { PostgresOnHost } from './postgres';
import { StrategyEnv } from './strategy';

/**
 * Settings naming files PostgreSQL reads when it starts (the certificates only with `ssl` on). Not every
 * path-valued setting: a log directory is made, an archive command is a command line.
 */
const FILES_READ_AT_START = ['hba_file', 'ident_file', 'ssl_cert_file', 'ssl_key_file', 'ssl_ca_file', 'ssl_crl_file', 'ssl_crl_dir', 'ssl_dh_params_file'];

/** The source data directory's links the base backup skips (dataDirectoryLinks.ts in fediversity-node). */
async function sourceDataDirectoryLinks(env: StrategyEnv, source: PostgresOnHost): Promise<DataDirectoryLink[]> {
  const listed = await env.source.run(asUser(env.params.source, source.pg.osUser, listDataDirectoryLinksArgv(source.pg.dataDir)), { signal: env.signal });
  return parseDataDirectoryLinks(listed.stdout);
}

/**
 * Makes the source data directory's links again in the target's copy, which the base backup left without
 * them (NixOS's postgresql.conf is one): the same link text, where the copy has nothing by that name.
 * Answers the names it made.
 */
export async function restoreDataDirectoryLinks(env: StrategyEnv, clusters: { source: PostgresOnHost; target: PostgresOnHost }): Promise<string[]> {
  const links = await sourceDataDirectoryLinks(env, clusters.source);
  if (!links.length) return [];
  const made = await env.target.run(asUser(env.params.target, clusters.target.pg.osUser, restoreDataDirectoryLinksArgv(clusters.target.pg.dataDir, links)), {
    signal: env.signal,
  });
  return made.stdout.split('\0').filter(Boolean);
}

/**
 * The target's copy of the source's data directory gets the source's links again (restoreDataDirectoryLinks:
 * NixOS links its postgresql.conf into the Nix store), and settings made there (ALTER SYSTEM, or that
 * postgresql.conf) name the source's files. The files the copy would look for that the target lacks: it
 * could not start without them. pg_wal is left out (the base backup writes its own).
 */
export async function configurationFilesMissingOnTarget(env: StrategyEnv, clusters: { source: PostgresOnHost; target: PostgresOnHost }): Promise<string[]> {
  const { source, target } = clusters;
  const dataDir = source.pg.dataDir;
  // The data directory is an allow-listed plain path: a plain SQL literal.
  const settings = await source.query(
    `SELECT coalesce(string_agg(DISTINCT setting, E'\\n'), '') FROM pg_settings ` +
      `WHERE name IN (${FILES_READ_AT_START.map(name => `'${name}'`).join(', ')}) AND setting LIKE '/%' ` +
      `AND starts_with(sourcefile, '${dataDir}/') AND (name NOT LIKE 'ssl%' OR current_setting('ssl') = 'on')`,
    env.signal,
  );
  const linked = (await sourceDataDirectoryLinks(env, source)).map(link => linkTargetFrom(target.pg.dataDir, link));
  const wanted = [...new Set([...settings.split('\n').filter(Boolean), ...linked])];
  const missing: string[] = [];
  for (const path of wanted) {
    const found = await env.target.run(asUser(env.params.target, target.pg.osUser, ['test', '-e', path]), { signal: env.signal, check: false });
    if (found.exitCode !== 0) missing.push(path);
  }
  return missing;
}

/** Refuses a migration whose copy could not start on the target (configurationFilesMissingOnTarget). */
export async function checkConfigurationFiles(env: StrategyEnv, clusters: { source: PostgresOnHost; target: PostgresOnHost }) {
  const missing = await configurationFilesMissingOnTarget(env, clusters);
  if (missing.length) {
    throw new PermanentJobError(
      `The source's configuration in its data directory names files the target lacks, and the copy would look for them ` +
        `there: ${missing.join(', ')}. Put them on the target (the same NixOS configuration builds the same store paths), ` +
        `or move those settings out of the data directory`,
    );
  }
}
