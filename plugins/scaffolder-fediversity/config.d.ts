export interface Config {
  fediversity?: {
    /**
     * Where the portal keeps state outside the database: its SSH key and the demo hosts (relative to the backend's
     * working directory). Default: a directory under the system's temporary directory.
     */
    dataDir?: string;
    ssh?: {
      /** The portal's private SSH key for guests of real clusters (created on first use; .pub beside it). */
      privateKeyFile?: string;
    };
    nix?: {
      /** The flake uploaded to NixOS guests. Default: the repository's nix/ found above the working directory. */
      flakeDir?: string;
    };
    provisioning?: {
      /**
       * Where new instances replicate to: a second host reached over SSH with a pinned key. Without it, demo
       * clusters use a demo replica host and real clusters get no replication schedule (the task log says so).
       */
      replicationTarget?: {
        host: string;
        port?: number;
        username: string;
        /** `ssh-ed25519 AAAA…`, pinned by every run. */
        hostPublicKey: string;
        /** File copies land under <root>/<instance>/<data class>. */
        root: string;
        /**
         * For PostgreSQL standbys: under <dataRoot>/<instance>, port basePort + VMID mod 10000, streaming as
         * replicationUser (default replicator), with the password named replicationPasswordRef under
         * fediversity.replication.postgresPasswords where the guests ask for one, and replicationTls (mode:
         * prefer, require, verify-ca or verify-full; rootCert: the CA file on this host).
         */
        postgres?: {
          bin: string;
          dataRoot: string;
          osUser?: string;
          socketDir?: string;
          basePort?: number;
          replicationUser?: string;
          replicationPasswordRef?: string;
          replicationTls?: { mode?: string; rootCert?: string };
        };
      };
    };
    /**
     * The DNS provider instance records go through. Without it, provisioning records
     * "dns: skipped, no provider configured" (the embedded default).
     */
    dns?: {
      provider: 'rfc2136' | 'powerdns';
      /** Zones the portal may write; a domain goes to the most specific zone containing it. */
      zones: string[];
      /** TTL of the records, seconds (default 300). */
      ttl?: number;
      rfc2136?: {
        /** The primary accepting updates (IP or host name). */
        server: string;
        port?: number;
        tsig: {
          name: string;
          /** hmac-sha256 (default), hmac-sha384 or hmac-sha512. */
          algorithm?: string;
          /**
           * Base64 TSIG secret.
           * @visibility secret
           */
          secret: string;
        };
      };
      powerdns?: {
        /** The PowerDNS webserver, e.g. http://127.0.0.1:8081. */
        baseUrl: string;
        /**
         * X-API-Key.
         * @visibility secret
         */
        apiKey: string;
        serverId?: string;
      };
    };
  };
}
