import crypto from 'node:crypto';
import { Caller, callerFromTokenId } from '../access/permissions';
import { ClusterState } from '../state/cluster';

export type AuthResult = { caller: Caller } | { failure: string };

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/**
 * `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`. Without credentials PVE
 * answers `No ticket`; a wrong token gets the generic `Authentication failed!`
 * (pve-manager >= 9.1.5 wording).
 */
export function authenticate(state: ClusterState, header: string | undefined): AuthResult {
  const match = /^PVEAPIToken[= ](([^!=\s]+@[^!=\s]+)!([^=\s]+))=(\S+)$/.exec(header?.trim() ?? '');
  if (!match) return { failure: 'No ticket' };
  const [, fullId, , , secret] = match;
  const token = state.tokens.get(fullId);
  if (!token || !sameSecret(token.secret, secret) || !state.users.has(callerFromTokenId(fullId).userid)) {
    return { failure: 'Authentication failed!' };
  }
  return { caller: callerFromTokenId(fullId) };
}
