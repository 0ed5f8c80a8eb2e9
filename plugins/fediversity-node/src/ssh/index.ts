export { shellQuote, toCommandLine, parseCommandLine } from './commandLine';
export {
  assertHostname,
  assertUsername,
  assertUnitName,
  assertPort,
  assertZfsDataset,
  assertRemotePath,
} from './identifiers';
export type { RemotePathOptions } from './identifiers';
export {
  sha256Fingerprint,
  keyBlobAlgorithm,
  describeHostKey,
  parsePublicKeyLine,
  pinFingerprint,
  hostKeyMatchesPin,
  knownHostsLine,
} from './hostKeys';
export type { HostKeyPin, HostPublicKey } from './hostKeys';
export { HostKeyMismatchError, RemoteCommandAbortedError, RemoteCommandError } from './errors';
export { SshConnection } from './SshConnection';
export { enrollHostKey } from './enrollHostKey';
export type {
  SshTarget,
  SshConnectOptions,
  KillMode,
  ExecOptions,
  ExecResult,
  RunOptions,
  RunResult,
  UploadOptions,
} from './SshConnection';
export type { EnrollHostKeyOptions } from './enrollHostKey';
export { sshArgv, rsyncPushArgv, pipeToPeerArgv } from './hostToHost';
export type { PeerEndpoint, RsyncPushOptions } from './hostToHost';
export { generateSshKeyPair, loadOrCreateSshKeyPair } from './keys';
export type { SshKeyPair } from './keys';
export { startTestSshd } from './testing/testSshd';
export type { TestSshd, TestSshdOptions } from './testing/testSshd';
export { testSshdConfig } from './testing/testSshdConfig';
export type { TestSshdConfigOptions } from './testing/testSshdConfig';
export { AUTHORISE_KEY_SCRIPT, PUBLISH_GENERATION_SCRIPT, REVOKE_KEY_SCRIPT, WRITE_PRIVATE_FILE_SCRIPT } from './fixedScripts';
