// Bearer-token authentication and an RBAC-shaped allow-list. A token without rules may do everything (like
// system:masters); a token with rules may do only what they grant, with PolicyRule's shape (apiGroups,
// resources incl. `pods/status`, verbs, optional resourceNames), so a ClusterRole from deployments/ can be
// pasted in and its denials tested. Denials are the real server's 403 text.
import type { IncomingMessage } from 'node:http';
import { AuthLog, ClientCertAuthenticator } from './client-certs.ts';
import type { ResourceDef } from './resources.ts';
import { errors, type KubeError } from './status.ts';

export interface PolicyRule {
  apiGroups?: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface TokenGrant {
  token: string;
  /** User name in 403 messages. Default `admin` for unrestricted tokens, `test-user` otherwise. */
  user?: string;
  /** Groups of the user (a CSR records them as its requester's). */
  groups?: string[];
  /** Absent: everything is allowed. Present: only what a rule grants. */
  rules?: PolicyRule[];
}

export interface AccessRequest {
  verb: string;
  def: ResourceDef;
  subresource: string;
  namespace: string;
  name: string;
}

export class Authenticator {
  readonly #grants = new Map<string, TokenGrant>();
  /** With anonymous auth on, a request without a token is `system:anonymous` (403s) instead of a 401. */
  anonymous: boolean;
  /** Client certificates (TLS mode): tried before the bearer token. */
  readonly certificates = new ClientCertAuthenticator();
  /** Who was authenticated, with what. */
  readonly log = new AuthLog();

  constructor(grants: TokenGrant[], anonymous = false) {
    for (const g of grants) this.add(g);
    this.anonymous = anonymous;
  }

  add(grant: TokenGrant): void {
    this.#grants.set(grant.token, grant);
  }

  remove(token: string): boolean {
    return this.#grants.delete(token);
  }

  /** The grant for this request's bearer token; throws the 401 when there is none. */
  authenticate(req: IncomingMessage): TokenGrant {
    const viaCert = this.certificates.authenticate(req);
    if (viaCert) {
      this.log.record(viaCert.identity.user, `x509:${viaCert.identity.serial}`);
      return viaCert.grant;
    }
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      if (this.anonymous && header === '') return { token: '', user: 'system:anonymous', rules: [] };
      throw errors.unauthorized();
    }
    const grant = this.#grants.get(m[1] as string);
    if (!grant) throw errors.unauthorized();
    this.log.record(grant.user ?? (grant.rules ? 'test-user' : 'admin'), 'token');
    return grant;
  }

  /** The 403 for a request the grant does not allow, or undefined when it is allowed. */
  authorize(grant: TokenGrant, a: AccessRequest): KubeError | undefined {
    if (!grant.rules) return undefined;
    const resource = a.subresource ? `${a.def.plural}/${a.subresource}` : a.def.plural;
    const ok = grant.rules.some(
      (r) =>
        (r.apiGroups ?? ['']).some((g) => g === '*' || g === a.def.group) &&
        r.resources.some((x) => x === '*' || x === resource) &&
        r.verbs.some((v) => v === '*' || v === a.verb) &&
        (!r.resourceNames || r.resourceNames.length === 0 || r.resourceNames.includes(a.name)),
    );
    if (ok) return undefined;
    const user = grant.user ?? 'test-user';
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
    const why = `User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.def.group}" ${scope}`;
    return errors.forbidden({ group: a.def.group, resource: a.def.plural }, a.name, why);
  }
}
