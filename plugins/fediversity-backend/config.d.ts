export interface Config {
  fediversity?: {
    /**
     * Allow an in-memory SQLite database (jobs are lost on restart). For tests only.
     */
    allowInMemoryDatabase?: boolean;
    /** The instance store's catalog provider. */
    instances?: {
      /** How often instances are re-read into the catalog (default every 10 s). */
      schedule?: {
        frequency: { cron: string } | string | Record<string, number>;
        timeout: string | Record<string, number>;
        initialDelay?: string | Record<string, number>;
      };
    };
    /** The durable job engine (see the plugin's README). */
    jobs?: {
      /** Whether this instance runs jobs (default true); false makes an API-only instance. */
      worker?: boolean;
      /** Jobs this instance runs at once (default 4). */
      concurrency?: number;
      /** A job whose worker stops heartbeating is taken over this long after the last heartbeat (default 60). */
      leaseSeconds?: number;
      /** Default 10; at most half the lease. */
      heartbeatSeconds?: number;
      /** How often to look for runnable jobs, e.g. retries that came due (default 5). */
      tickSeconds?: number;
    };
    /** Migrations of instances to other hosts (src/migration). */
    migration?: {
      /**
       * SSH private keys by name, referenced from migration params as `{ secretRef: <name> }`. Migrations planned
       * from an instance use the portal's own guest key instead (`guest-access.<cluster>`).
       * @visibility secret
       */
      secrets?: { [name: string]: string };
      /** How PostgreSQL runs on real hosts; the defaults are NixOS's services.postgresql (PostgreSQL 16). */
      postgres?: {
        bin?: string;
        dataDir?: string;
        port?: number;
        socketDir?: string;
        osUser?: string;
        /** The role the target streams from the source as (default postgres). */
        replicationUser?: string;
        /**
         * The name, under `secrets`, of that role's password, where the hosts' pg_hba.conf asks for one
         * (scram-sha-256); it reaches the target only as a passfile.
         */
        replicationPasswordSecret?: string;
        /** TLS of the target's connection to the source (libpq sslmode); across providers use verify-full. */
        replicationTls?: {
          /** prefer (default), require, verify-ca or verify-full. */
          mode?: string;
          /** The CA certificate that signed the hosts' PostgreSQL certificates, a path on the hosts. */
          rootCert?: string;
        };
      };
    };
    /** Replication schedules, restores and drills (src/replication, src/backups). */
    replication?: {
      /** How often due schedules become replication.run jobs (default 30). */
      tickSeconds?: number;
      /** A restore drill of every instance this often (default 168 = weekly; 0 turns drills off). */
      drillIntervalHours?: number;
      /**
       * The portal's SSH private key (OpenSSH format) with which it reaches replication hosts.
       * @visibility secret
       */
      sshPrivateKey?: string;
      /** S3 credentials by reference name (schedules name them in credentialsRef), one pair per bucket. */
      s3Credentials?: {
        [ref: string]: {
          accessKeyId: string;
          /** @visibility secret */
          secretAccessKey: string;
        };
      };
      /**
       * Replication roles' passwords by reference name (postgres schedules name them in replicationPasswordRef),
       * where the primary's pg_hba.conf asks for one; each reaches the standby's host only as a passfile.
       */
      postgresPasswords?: {
        /** @visibility secret */
        [ref: string]: string;
      };
      /**
       * PVE bridge of an isolated network the portal reaches: fresh restores and drill guests start on it, as they
       * carry the source guest's address. Without it they start with their interfaces disconnected.
       */
      restoreBridge?: string;
      /**
       * Proxmox nodes the portal reaches over SSH (with sshPrivateKey) to run `pct exec` in their containers:
       * file manifests taken with backups and checked after restores. Without them restores skip checksums.
       */
      nodes?: Array<{
        cluster: string;
        node: string;
        host: string;
        port?: number;
        username: string;
        /** `ssh-ed25519 AAAA…`: the node's host key, pinned. */
        hostPublicKey: string;
      }>;
    };
    /**
     * Proxmox VE clusters the portal manages. Without this section the backend runs the PVE simulator in-process
     * on loopback with the demo topology.
     */
    proxmox?: {
      clusters: Array<{
        /** Short name used in entity names (`<name>-ct-105`): lowercase letters, digits, dashes. */
        name: string;
        /** `https://host:8006` */
        url: string;
        /** API token id, `USER@REALM!TOKENID`. */
        tokenId: string;
        /**
         * API token secret.
         * @visibility secret
         */
        tokenSecret: string;
        /** PEM of the CA that signed the API certificate (pve-root-ca.pem). One of caPem or fingerprint is required. */
        caPem?: string;
        /** SHA-256 fingerprint of the API certificate, `AA:BB:…`. */
        fingerprint?: string;
        /** Catalog refresh schedule for this cluster (frequency, timeout, initialDelay). */
        schedule?: {
          frequency: { cron: string } | string | Record<string, number>;
          timeout: string | Record<string, number>;
          initialDelay?: string | Record<string, number>;
        };
      }>;
    };
  };
}
