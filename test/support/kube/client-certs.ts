// Client-certificate authentication (TLS mode) and a log of who was authenticated. As kube-apiserver's x509
// authenticator: a certificate verified against the emulator's CA, valid at the time of the request (checked per
// request, not only at the handshake) and usable for client auth makes the request the user CN with the groups O
// (plus system:authenticated); it is tried before the bearer token, and an unusable certificate falls through to
// the token (401 without one). What such a user may do is granted like tokens, by user or by group.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { PolicyRule, TokenGrant } from './auth.ts';

export interface CertGrant {
  /** Applies to this user (certificate CN); any user when absent. */
  user?: string;
  /** Applies to members of this group (certificate O); any group when absent. */
  group?: string;
  /** Absent: everything is allowed. Present: only what a rule grants. */
  rules?: PolicyRule[];
}

export interface PeerIdentity {
  user: string;
  groups: string[];
  /** The certificate's serial number (hex), to tell a rotated certificate from its predecessor. */
  serial: string;
}

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** The verified, currently valid client certificate's identity, or undefined. */
export function peerIdentity(req: IncomingMessage, now = Date.now()): PeerIdentity | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerX509Certificate !== 'function')
    return undefined;
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  if (now < cert.validFromDate.getTime() || now > cert.validToDate.getTime()) return undefined;
  const eku = cert.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(CLIENT_AUTH_EKU) && !eku.includes(ANY_EKU)) return undefined;
  let user = '';
  const groups: string[] = [];
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (line.slice(0, eq) === 'CN') user = line.slice(eq + 1);
    else if (line.slice(0, eq) === 'O') groups.push(line.slice(eq + 1));
  }
  if (user === '') return undefined;
  return { user, groups, serial: cert.serialNumber };
}

export class ClientCertAuthenticator {
  #grants: CertGrant[] = [];

  grant(g: CertGrant): void {
    this.#grants.push(g);
  }

  clear(): void {
    this.#grants = [];
  }

  /** The grant for the request's client certificate, or undefined when it has no usable one. */
  authenticate(req: IncomingMessage): { grant: TokenGrant; identity: PeerIdentity } | undefined {
    const id = peerIdentity(req);
    if (!id) return undefined;
    const matching = this.#grants.filter(
      (g) =>
        (g.user === undefined || g.user === id.user) &&
        (g.group === undefined || id.groups.includes(g.group)),
    );
    // Like RBAC without bindings, a certificate nobody granted anything is authenticated and then refused (403).
    const unrestricted = matching.some((g) => !g.rules);
    const grant: TokenGrant = {
      token: '',
      user: id.user,
      groups: [...id.groups, 'system:authenticated'],
      ...(unrestricted ? {} : { rules: matching.flatMap((g) => g.rules ?? []) }),
    };
    return { grant, identity: id };
  }
}

export interface AuthLogEntry {
  user: string;
  /** `token`, or `x509:<serial>` for a client certificate. */
  credential: string;
  count: number;
}

/** Authenticated requests by user and credential, for tests to ask "who made these calls". */
export class AuthLog {
  readonly #counts = new Map<string, AuthLogEntry>();

  record(user: string, credential: string): void {
    const key = `${user}\n${credential}`;
    const e = this.#counts.get(key);
    if (e) e.count++;
    else this.#counts.set(key, { user, credential, count: 1 });
  }

  /** Requests authenticated as `user` (with `credential` when given). */
  count(user: string, credential?: string): number {
    let n = 0;
    for (const e of this.#counts.values()) {
      if (e.user === user && (credential === undefined || e.credential === credential)) n += e.count;
    }
    return n;
  }

  entries(): AuthLogEntry[] {
    return [...this.#counts.values()].map((e) => ({ ...e }));
  }

  reset(): void {
    this.#counts.clear();
  }
}
