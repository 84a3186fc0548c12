// certificates.k8s.io/v1 CertificateSigningRequests (cluster-scoped, subresources `status` and `approval`), with
// the registry strategy's rules that clients notice: the requester's identity is stamped into spec on create and
// status is dropped; a plain update keeps spec and status; /approval may change only the conditions and /status
// everything in status but the Approved/Denied conditions; conditions may not be removed; the certificate can be
// set once and only through /status. Validation covers the fields a CSR client sends (signerName, usages,
// expirationSeconds >= 600, the PEM framing of request and certificate; the request's signature is not checked).
import type { ResourceDef } from './resources.ts';
import { type FieldError, fieldErrors } from './status.ts';
import { canonicalJson, isObject, type KubeObject, kubeTime } from './types.ts';

export interface RequestingUser {
  name: string;
  groups: string[];
  uid?: string;
}

type Obj = Record<string, unknown>;

const KNOWN_USAGES = new Set(
  [
    'signing',
    'digital signature',
    'content commitment',
    'key encipherment',
    'key agreement',
    'data encipherment',
    'cert sign',
    'crl sign',
    'encipher only',
    'decipher only',
    'any',
    'server auth',
    'client auth',
    'code signing',
    'email protection',
    's/mime',
    'ipsec end system',
    'ipsec tunnel',
    'ipsec user',
    'timestamping',
    'ocsp signing',
    'microsoft sgc',
    'netscape sgc',
  ].sort(),
);
const TRUE_ONLY = new Set(['Approved', 'Denied', 'Failed']);

const spec = (o: KubeObject): Obj => (isObject(o.spec) ? o.spec : {});
const status = (o: KubeObject): Obj => (isObject(o.status) ? o.status : {});
const conditions = (o: KubeObject): Obj[] => {
  const c = status(o).conditions;
  return Array.isArray(c) ? c.filter(isObject) : [];
};
const ofType = (o: KubeObject, t: string) => conditions(o).filter((c) => c.type === t);

function pemLabels(base64: unknown): string[] | undefined {
  if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  const text = Buffer.from(base64, 'base64').toString('latin1');
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].map(
    (m) => m[1] as string,
  );
}

function validateSignerName(name: unknown): FieldError[] {
  if (typeof name !== 'string' || name === '') {
    return [fieldErrors.required('spec.signerName', 'signerName must be provided')];
  }
  const parts = name.split('/');
  const domain = parts[0] ?? '';
  if (
    parts.length !== 2 ||
    !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(domain)
  ) {
    return [
      fieldErrors.invalid(
        'spec.signerName',
        name,
        "must be a fully qualified domain and path of the form 'example.com/signer-name'",
      ),
    ];
  }
  return [];
}

function validate(o: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const s = spec(o);
  const labels = pemLabels(s.request);
  if (labels?.[0] !== 'CERTIFICATE REQUEST') {
    errs.push(
      fieldErrors.invalid('spec.request', '<request data>', 'PEM block type must be CERTIFICATE REQUEST'),
    );
  }
  const usages = Array.isArray(s.usages) ? s.usages : [];
  if (usages.length === 0) errs.push(fieldErrors.required('spec.usages', 'usages must be provided'));
  usages.forEach((u, i) => {
    if (typeof u !== 'string' || !KNOWN_USAGES.has(u)) {
      errs.push({
        field: `spec.usages[${i}]`,
        reason: 'FieldValueInvalid',
        message: `Unsupported value: ${JSON.stringify(u)}: supported values: ${[...KNOWN_USAGES].map((x) => `"${x}"`).join(', ')}`,
      });
    } else if (usages.indexOf(u) !== i) {
      errs.push({
        field: `spec.usages[${i}]`,
        reason: 'FieldValueInvalid',
        message: `Duplicate value: "${u}"`,
      });
    }
  });
  errs.push(...validateSignerName(s.signerName));
  const exp = s.expirationSeconds;
  if (exp !== undefined && (typeof exp !== 'number' || exp < 600)) {
    errs.push(
      fieldErrors.invalid(
        'spec.expirationSeconds',
        exp,
        'may not specify a duration less than 600 seconds (10 minutes)',
      ),
    );
  }
  const seen = new Set<unknown>();
  conditions(o).forEach((c, i) => {
    const at = `status.conditions[${i}]`;
    if (typeof c.type !== 'string' || c.type === '') errs.push(fieldErrors.required(`${at}.type`));
    if (typeof c.status !== 'string' || c.status === '') errs.push(fieldErrors.required(`${at}.status`));
    else if (TRUE_ONLY.has(c.type as string) && c.status !== 'True') {
      errs.push({
        field: `${at}.status`,
        reason: 'FieldValueInvalid',
        message: `Unsupported value: "${c.status}": supported values: "True"`,
      });
    }
    if (seen.has(c.type))
      errs.push({
        field: `${at}.type`,
        reason: 'FieldValueInvalid',
        message: `Duplicate value: "${c.type}"`,
      });
    seen.add(c.type);
  });
  if (ofType(o, 'Approved').length > 0 && ofType(o, 'Denied').length > 0) {
    errs.push(
      fieldErrors.invalid(
        'status.conditions',
        'Denied',
        'Approved and Denied conditions are mutually exclusive',
      ),
    );
  }
  const cert = status(o).certificate;
  if (cert !== undefined && cert !== '') {
    const certLabels = pemLabels(cert);
    if (!certLabels || certLabels.length === 0 || certLabels.some((l) => l !== 'CERTIFICATE')) {
      errs.push(
        fieldErrors.invalid(
          'status.certificate',
          '<certificate data>',
          'must contain at least one CERTIFICATE PEM block',
        ),
      );
    }
  }
  return errs;
}

/** Fills lastUpdateTime/lastTransitionTime of conditions that have none, as the strategy does. */
function stampConditions(o: KubeObject): void {
  const now = kubeTime();
  for (const c of conditions(o)) {
    c.lastUpdateTime ??= now;
    c.lastTransitionTime ??= now;
  }
}

function prepareForUpdate(o: KubeObject, old: KubeObject, sub: string): FieldError[] {
  o.spec = old.spec;
  const errs: FieldError[] = [];
  if (sub === '') o.status = old.status;
  else if (sub === 'approval') {
    // Only the conditions change here; the certificate stays as it was.
    const next = { ...status(o) };
    if (status(old).certificate !== undefined) next.certificate = status(old).certificate;
    else delete next.certificate;
    o.status = next;
  } else if (sub === 'status') {
    // The signer's path: approval conditions it tries to change are quietly put back, as the real strategy does.
    const approvalChanged = ['Approved', 'Denied'].some(
      (t) => canonicalJson(ofType(o, t)) !== canonicalJson(ofType(old, t)),
    );
    if (approvalChanged) o.status = { ...status(o), conditions: structuredClone(conditions(old)) };
    const before = status(old).certificate;
    if (before !== undefined && before !== '' && status(o).certificate !== before) {
      errs.push(
        fieldErrors.forbidden('status.certificate', 'updates may not modify existing certificate content'),
      );
    }
  }
  for (const t of ['Approved', 'Denied', 'Failed']) {
    if (ofType(o, t).length < ofType(old, t).length) {
      errs.push(
        fieldErrors.forbidden('status.conditions', `updates may not remove a condition of type "${t}"`),
      );
    }
  }
  stampConditions(o);
  return errs;
}

const path = (o: KubeObject, key: 'name' | 'signerName'): string =>
  key === 'name'
    ? (o.metadata.name ?? '')
    : typeof spec(o).signerName === 'string'
      ? (spec(o).signerName as string)
      : '';

export const certificateSigningRequests: ResourceDef = {
  group: 'certificates.k8s.io',
  version: 'v1',
  plural: 'certificatesigningrequests',
  singular: 'certificatesigningrequest',
  kind: 'CertificateSigningRequest',
  namespaced: false,
  shortNames: ['csr'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  storage: 'certificates.k8s.io/certificatesigningrequests',
  subresources: ['status', 'approval'],
  builtin: true,
  fields: { 'metadata.name': (o) => path(o, 'name'), 'spec.signerName': (o) => path(o, 'signerName') },
  mergeKeys: { 'metadata.ownerReferences': 'uid', 'status.conditions': 'type' },
  createOnUpdate: false,
  unconditionalUpdate: true,
  returnDeletedObject: false,
  trackGeneration: false,
  prepareForCreate: (o) => {
    o.status = {};
  },
  prepareForCreateBy: (o, user) => {
    const s = spec(o);
    s.username = user.name;
    s.groups = [...user.groups];
    if (user.uid) s.uid = user.uid;
    else delete s.uid;
    delete s.extra;
    o.spec = s;
  },
  validate,
  prepareForUpdate,
  bookmarkBody: {
    metadata: { creationTimestamp: null },
    spec: { request: null, signerName: '', usages: null },
    status: {},
  },
};
