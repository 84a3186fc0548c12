// metav1.Status bodies exactly as kube-apiserver writes them. Clients branch on `reason` and `code`, and
// tests print `message`, so the wording follows the real server's (k8s.io/apimachinery/pkg/api/errors).
import { goDecodeKindError } from './go-json.ts';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  /** Always set on failures; a Success from DELETE has none. */
  code: number;
}

/** A group and a plural resource name, as the server names a kind of object in its errors. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** `pods` for the core group, `network-attachment-definitions.k8s.cni.cncf.io` otherwise. */
export function qualified(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

/** An error that is answered with its Status body. */
export class KubeError extends Error {
  readonly status: Status;
  /** Extra response headers (Retry-After). */
  readonly headers: Record<string, string>;
  constructor(status: Status, headers: Record<string, string> = {}) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'KubeError';
    this.status = status;
    this.headers = headers;
  }
  get code(): number {
    return this.status.code;
  }
}

/** Keys in metav1.Status's field order, so the bytes match the real server's. */
function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function grDetails(gr: GroupResource, name?: string): StatusDetails {
  const d: StatusDetails = {};
  if (name) d.name = name;
  if (gr.group) d.group = gr.group;
  d.kind = gr.resource;
  return d;
}

/** The Status a DELETE answers when it does not answer the object; kube-apiserver 1.20 gives it no `code`. */
export function successStatus(gr: GroupResource, name: string, uid: string): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { ...grDetails(gr, name), uid },
  } as Status;
}

/** A Status without a reason, as the server writes errors that are not API errors (etcd's, json-patch's). */
function bare(code: number, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code } as Status;
}

/** k8s' summarizeData: the body as text when it looks like an object, as hex otherwise, cut at 30 bytes. */
function summarizeBody(body: Buffer): string {
  if (body.length === 0) return '<empty>';
  const cut = body.length > 30;
  const head = body.subarray(0, 30);
  return (body[0] === 0x7b ? head.toString('utf8') : head.toString('hex')) + (cut ? ' ...' : '');
}

export const errors = {
  notFound: (gr: GroupResource, name: string) =>
    new KubeError(failure(404, 'NotFound', `${qualified(gr)} "${name}" not found`, grDetails(gr, name))),
  /** The generic 404 of a path the server has no handler for. */
  noResource: () =>
    new KubeError(failure(404, 'NotFound', 'the server could not find the requested resource', {})),
  alreadyExists: (gr: GroupResource, name: string) =>
    new KubeError(
      failure(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, grDetails(gr, name)),
    ),
  conflict: (gr: GroupResource, name: string, why: string) =>
    new KubeError(
      failure(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
        grDetails(gr, name),
      ),
    ),
  modified: (gr: GroupResource, name: string) =>
    errors.conflict(
      gr,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    ),
  unauthorized: () => new KubeError(failure(401, 'Unauthorized', 'Unauthorized')),
  forbidden: (gr: GroupResource, name: string, why: string) =>
    new KubeError(
      failure(
        403,
        'Forbidden',
        name ? `${qualified(gr)} "${name}" is forbidden: ${why}` : `${qualified(gr)} is forbidden: ${why}`,
        grDetails(gr, name),
      ),
    ),
  /** A non-resource URL (discovery) the user may not read. */
  forbiddenPath: (user: string, verb: string, path: string) =>
    new KubeError(failure(403, 'Forbidden', `forbidden: User "${user}" cannot ${verb} path "${path}"`, {})),
  badRequest: (message: string) => new KubeError(failure(400, 'BadRequest', message)),
  invalid: (kind: string, group: string, name: string, causes: FieldError[]) => {
    const text = causes.map((c) => `${c.field}: ${c.message}`);
    const joined = text.length === 1 ? text[0] : `[${text.join(', ')}]`;
    const details: StatusDetails = { name, ...(group ? { group } : {}), kind };
    details.causes = causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field }));
    return new KubeError(
      failure(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${joined}`, details),
    );
  },
  /** 422 without a field list, as json-patch application errors are answered. */
  unprocessable: (message: string) => new KubeError(failure(422, 'Invalid', message)),
  /** 1.20's answer to a JSON patch that does not apply (any op): no detail at all. */
  patchRejected: () =>
    new KubeError(
      failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {}),
    ),
  /** 1.20's answer to a merge patch that is not JSON. */
  invalidJsonPatch: () => new KubeError(bare(500, 'Invalid JSON Patch')),
  /** A merge patch that is JSON but not an object: the merged result cannot be decoded (1.20's odd 422). */
  patchNotAnObject: (patch: string, decodeError: string) => {
    const message = `Invalid value: ${JSON.stringify(patch)}: couldn't get version/kind; json parse error: ${decodeError}`;
    return new KubeError(
      failure(422, 'Invalid', ` "" is invalid: patch: ${message}`, {
        causes: [{ reason: 'FieldValueInvalid', message, field: 'patch' }],
      }),
    );
  },
  /** An error inside the server that is no API error, e.g. strategic merge patch's: code 500, no reason. */
  unknownBare: (message: string) => new KubeError(bare(500, message)),
  /** A create/update body that is not a JSON object (the decoder's error, wrapped as transformDecodeError does). */
  unrecognizedBody: (kind: string, body: Buffer) =>
    new KubeError(
      failure(
        400,
        'BadRequest',
        `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${goDecodeKindError(body.toString('utf8')) ?? 'not an object'} (${summarizeBody(body)})`,
      ),
    ),
  /** A namespaced create in a namespace that is being deleted (NamespaceLifecycle admission). */
  namespaceTerminating: (gr: GroupResource, name: string, namespace: string) =>
    new KubeError(
      failure(
        403,
        'Forbidden',
        `${qualified(gr)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          ...grDetails(gr, name),
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      ),
    ),
  /** A LIST that must read etcd at a revision etcd does not have yet (resourceVersionMatch=Exact, or limit). */
  futureRevision: () => new KubeError(bare(500, 'etcdserver: mvcc: required revision is a future revision')),
  expired: (message: string) => new KubeError(failure(410, 'Expired', message)),
  methodNotAllowed: () =>
    new KubeError(
      failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
    ),
  /** PATCH with a Content-Type that is no patch type at all (1.20 answers without the accepted list). */
  unsupportedPatchType: () =>
    new KubeError(failure(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {})),
  unsupportedMediaType: (accepted: string[]) =>
    new KubeError(
      failure(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
      ),
    ),
  tooLarge: (limit: number) =>
    new KubeError(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`)),
  tooLargeResourceVersion: (rv: string, current: number) =>
    new KubeError(
      failure(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${current}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      }),
      { 'Retry-After': '1' },
    ),
  internal: (message: string) =>
    new KubeError(
      failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
    ),
  /** A plain (non-API) error inside the server: code 500, reason Unknown. */
  unknown: (message: string) => new KubeError(failure(500, 'Unknown', message)),
  /** Any other status code, shaped the way the server shapes it (used by fault injection). */
  generic: (code: number, message: string) => {
    if (code === 500) return errors.internal(message);
    const reasons: Record<number, string> = {
      429: 'TooManyRequests',
      502: 'InternalError',
      503: 'ServiceUnavailable',
      504: 'Timeout',
    };
    const retry = code === 429 || code === 503 || code === 504;
    return new KubeError(
      failure(code, reasons[code] ?? 'InternalError', message, retry ? { retryAfterSeconds: 1 } : {}),
      retry ? { 'Retry-After': '1' } : {},
    );
  },
};

/** One validation failure, as field.Error renders it. */
export interface FieldError {
  field: string;
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueTooLong';
  message: string;
}

export const fieldErrors = {
  required: (field: string, detail = ''): FieldError => ({
    field,
    reason: 'FieldValueRequired',
    message: detail ? `Required value: ${detail}` : 'Required value',
  }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    field,
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}: ${detail}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({
    field,
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
  }),
  tooLong: (field: string, max: number): FieldError => ({
    field,
    reason: 'FieldValueTooLong',
    message: `Too long: must have at most ${max} bytes`,
  }),
};
