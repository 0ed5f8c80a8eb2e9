import { ClusterState } from '../state/cluster';
import { AclEntry, parseTokenId } from '../state/model';

/** Raised as PVE's raise_perm_exc: 403 `Permission check failed (path, privs)`. */
export class PermissionDenied extends Error {
  constructor(what?: string) {
    super(`Permission check failed${what ? ` (${what})` : ''}`);
  }
}

/** Who is calling: the user, and the token when authenticated by an API token. */
export interface Caller {
  userid: string;
  tokenid?: string;
  /** `user@realm!tokenid` or the user id. */
  fullId: string;
}

/**
 * Privileges of a caller on an ACL path, PVE-style: the deepest path with an entry
 * for the subject wins (a non-propagating entry only counts on its own path); a
 * guest also inherits its pool's ACL (`/pool/<id>`). With privilege separation, a
 * token gets the intersection of its own ACL and its user's.
 */
export class PermissionChecker {
  constructor(private readonly state: ClusterState) {}

  privileges(caller: Caller, path: string): Set<string> {
    const userPrivs = this.subjectPrivileges(caller.userid, this.state.users.get(caller.userid)?.acl ?? [], path);
    if (!caller.tokenid) return userPrivs;
    const token = this.state.tokens.get(caller.fullId);
    if (!token || !token.privsep) return userPrivs;
    const tokenPrivs = this.subjectPrivileges(caller.fullId, token.acl, path);
    return new Set([...tokenPrivs].filter(p => userPrivs.has(p)));
  }

  has(caller: Caller, path: string, privs: string[], any = false): boolean {
    const granted = this.privileges(caller, path);
    return any ? privs.some(p => granted.has(p)) : privs.every(p => granted.has(p));
  }

  /** PVE's check / check_any: throws with the first missing privilege, or all for `any`. */
  check(caller: Caller, path: string, privs: string[], any = false): void {
    const granted = this.privileges(caller, path);
    if (any) {
      if (!privs.some(p => granted.has(p))) throw new PermissionDenied(`${path}, ${privs.join('|')}`);
      return;
    }
    for (const priv of privs) if (!granted.has(priv)) throw new PermissionDenied(`${path}, ${priv}`);
  }

  private subjectPrivileges(subject: string, acl: AclEntry[], path: string): Set<string> {
    if (subject === 'root@pam') return this.allPrivileges();
    const vmMatch = /^\/vms\/(\d+)$/.exec(path);
    const own = this.fromAcl(acl, path);
    if (own.atTarget || !vmMatch) return own.privs;
    const pool = this.state.guests.get(Number(vmMatch[1]))?.pool;
    if (!pool) return own.privs;
    const fromPool = this.fromAcl(acl, `/pool/${pool}`);
    return fromPool.matched ? new Set([...own.privs, ...fromPool.privs]) : own.privs;
  }

  /** Walks `/`, `/vms`, `/vms/100`: each level with entries replaces what was above. */
  private fromAcl(acl: AclEntry[], path: string): { privs: Set<string>; matched: boolean; atTarget: boolean } {
    const segments = path.split('/').filter(Boolean);
    const levels = ['/', ...segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}`)];
    let privs = new Set<string>();
    let matched = false;
    let atTarget = false;
    levels.forEach((level, depth) => {
      const isTarget = depth === levels.length - 1;
      const entries = acl.filter(e => normalise(e.path) === level && (e.propagate || isTarget));
      if (entries.length === 0) return;
      privs = new Set(entries.flatMap(e => e.roles.flatMap(role => [...(this.state.roles.get(role) ?? [])])));
      matched = true;
      atTarget = isTarget;
    });
    return { privs, matched, atTarget };
  }

  private allPrivileges(): Set<string> {
    return this.state.roles.get('Administrator') ?? new Set();
  }
}

function normalise(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

export function callerFromTokenId(fullId: string): Caller {
  const { userid, tokenid } = parseTokenId(fullId);
  return { userid, tokenid, fullId };
}
