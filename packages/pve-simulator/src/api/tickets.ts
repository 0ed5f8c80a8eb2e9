import crypto from 'node:crypto';
import { Caller } from '../access/permissions';
import { Clock } from '../clock';
import { ClusterState } from '../state/cluster';

const TICKET_LIFETIME_MS = 2 * 3600_000;

interface IssuedTicket {
  userid: string;
  csrf: string;
  expires: number;
}

/**
 * Ticket logins (POST /access/ticket), for completeness: `PVE:user:HEXTIME::sig`,
 * valid two hours, sent as `Cookie: PVEAuthCookie=...` plus a CSRFPreventionToken
 * header on writes. The portal uses API tokens.
 */
export class TicketStore {
  private readonly tickets = new Map<string, IssuedTicket>();

  constructor(
    private readonly state: ClusterState,
    private readonly clock: Clock,
  ) {}

  login(username: string, password: string, realm?: string) {
    const userid = realm && !username.includes('@') ? `${username}@${realm}` : username;
    const user = this.state.users.get(userid);
    if (!user?.password || user.password !== password) return undefined;
    const hexTime = Math.floor(this.clock.now() / 1000).toString(16).toUpperCase();
    const ticket = `PVE:${userid}:${hexTime}::${crypto.randomBytes(48).toString('base64')}`;
    const csrf = `${hexTime}:${crypto.randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    this.tickets.set(ticket, { userid, csrf, expires: this.clock.now() + TICKET_LIFETIME_MS });
    return { username: userid, ticket, CSRFPreventionToken: csrf, clustername: this.state.clusterName, cap: {} };
  }

  /** The caller for a cookie, or why not. */
  verify(cookieHeader: string | undefined, csrfHeader: string | undefined, method: string): { caller: Caller } | { failure: string } | undefined {
    const ticket = /(?:^|;\s*)PVEAuthCookie=([^;]+)/.exec(cookieHeader ?? '')?.[1];
    if (!ticket) return undefined;
    const issued = this.tickets.get(decodeURIComponent(ticket));
    if (!issued || issued.expires < this.clock.now()) return { failure: 'Authentication failed!' };
    if (method !== 'GET' && csrfHeader !== issued.csrf) return { failure: 'Permission denied - invalid csrf token' };
    return { caller: { userid: issued.userid, fullId: issued.userid } };
  }
}
