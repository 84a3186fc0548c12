// Name rules shared by the annotation parser, the NAD model and the plan.
import { CniError, validateIfName } from '@multus-ts/cni';

/** multi-net-spec 3.3: a NAD name (and a namespace) is a DNS-1123 label. */
export const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_LABEL_MAX = 63;
/** An object name such as an IPAMClaim's: a DNS-1123 subdomain. */
export const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1123_SUBDOMAIN_MAX = 253;

/** Why `s` is not a DNS-1123 label, or undefined when it is one. */
export function dns1123LabelProblem(s: string): string | undefined {
  if (s.length > DNS1123_LABEL_MAX) return `must be no more than ${DNS1123_LABEL_MAX} characters`;
  if (!DNS1123_LABEL_RE.test(s)) {
    return 'must consist of lower case alphanumeric characters or "-", and must start and end with an alphanumeric character';
  }
  return undefined;
}

export function dns1123SubdomainProblem(s: string): string | undefined {
  if (s.length > DNS1123_SUBDOMAIN_MAX) return `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`;
  if (!DNS1123_SUBDOMAIN_RE.test(s)) {
    return 'must consist of lower case alphanumeric characters, "-" or ".", and must start and end with an alphanumeric character';
  }
  return undefined;
}

/** Why `s` is not a valid Linux interface name (the kernel's dev_valid_name rules), or undefined. */
export function ifNameProblem(s: string): string | undefined {
  try {
    validateIfName(s);
    return undefined;
  } catch (err) {
    if (err instanceof CniError) return err.msg;
    throw err;
  }
}
