import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { normalizeFingerprint } from '@fediversity/plugin-fediversity-node';

/** How to reach one configured Proxmox VE cluster (`fediversity.proxmox.clusters[]`). */
export interface PveClusterConfig {
  /** Short name, used in entity names and annotations. */
  name: string;
  url: string;
  tokenId: string;
  tokenSecret: string;
  caPem?: string;
  fingerprint?: string;
}

/** Cluster names become part of entity names (`<cluster>-ct-105`), so they are kept simple. */
const CLUSTER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * Reads `fediversity.proxmox.clusters`. An empty list means "use the embedded simulator". Errors name the
 * offending key but never echo a secret.
 */
export function readPveClusterConfigs(config: Config): PveClusterConfig[] {
  const entries = config.getOptionalConfigArray('fediversity.proxmox.clusters') ?? [];
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const where = `fediversity.proxmox.clusters[${index}]`;
    const name = entry.getString('name');
    if (!CLUSTER_NAME.test(name)) {
      throw new InputError(
        `${where}.name must be lowercase letters, digits and dashes (at most 32), got ${JSON.stringify(name)}`,
      );
    }
    if (seen.has(name)) throw new InputError(`${where}.name ${name} is used twice`);
    seen.add(name);

    const url = entry.getString('url');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InputError(`${where}.url is not a URL`);
    }
    if (parsed.protocol !== 'https:') throw new InputError(`${where}.url must use https`);

    const tokenId = entry.getString('tokenId');
    if (!/^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$/.test(tokenId)) {
      throw new InputError(`${where}.tokenId must look like USER@REALM!TOKENID`);
    }
    const tokenSecret = entry.getString('tokenSecret');
    const caPem = entry.getOptionalString('caPem');
    const fingerprint = entry.getOptionalString('fingerprint');
    if (!caPem && !fingerprint) {
      throw new InputError(
        `${where} needs caPem or fingerprint: the portal pins each cluster's certificate and never turns TLS checks off`,
      );
    }
    if (caPem && !caPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new InputError(`${where}.caPem is not a PEM certificate`);
    }
    return {
      name,
      url,
      tokenId,
      tokenSecret,
      caPem,
      fingerprint: fingerprint ? normalizeFingerprint(fingerprint) : undefined,
    };
  });
}
