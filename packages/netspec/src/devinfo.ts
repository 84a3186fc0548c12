// Device Information Specification v1.1.0 (referenced by multi-net-spec 5.3.7): the `device-info` map and the
// well-known file paths a device plugin (dp/) and a CNI plugin (cni/) write it to. Paths only: no I/O here.
import { CniError } from '@multus-ts/cni';
import { z } from 'zod';
import { NETSPEC_ERRORS } from './catalogue.ts';

export const DEVINFO_BASE_DIR = '/var/run/k8s.cni.cncf.io/devinfo';
export const DEVINFO_VERSION = '1.1.0';
/** Runtime/capability key a plugin declares to receive the per-attachment device-info file path. */
export const DEVINFO_CAPABILITY = 'CNIDeviceInfoFile';
const MAX_DEVINFO_BYTES = 64 * 1024;

const nonEmpty = z.string().min(1);

const PciSchema = z.looseObject({
  'pci-address': nonEmpty,
  'vhost-net': z.string().optional(),
  'rdma-device': z.string().optional(),
  'pf-pci-address': z.string().optional(),
  'representor-device': z.string().optional(),
});
const VdpaSchema = z.looseObject({
  'parent-device': nonEmpty,
  driver: z.enum(['vhost', 'virtio']),
  path: z.string().optional(),
  'pci-address': z.string().optional(),
  'pf-pci-address': z.string().optional(),
});
const VhostUserSchema = z.looseObject({ mode: z.enum(['client', 'server']), path: nonEmpty });
const MemifSchema = z.looseObject({
  role: z.enum(['master', 'slave']),
  path: nonEmpty,
  mode: z.enum(['ethernet', 'ip', 'inject-punt']),
});

/** Version 1.x (1.0.0 producers are still common); the type's own map must be present. */
export const DeviceInfoSchema = z
  .looseObject({
    type: z.enum(['pci', 'vdpa', 'vhost-user', 'memif']),
    version: z.string().regex(/^1\.\d+\.\d+$/, 'expected a 1.x.y version'),
    pci: PciSchema.optional(),
    vdpa: VdpaSchema.optional(),
    'vhost-user': VhostUserSchema.optional(),
    memif: MemifSchema.optional(),
  })
  .refine((d) => d[d.type] !== undefined, { message: 'the map named by "type" is missing' });
export type DeviceInfo = z.infer<typeof DeviceInfoSchema>;

/** Validates a device-info document (text as read from a devinfo file, or an object). Throws code 6. */
export function parseDeviceInfo(input: string | unknown, what = 'document'): DeviceInfo {
  let value: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_DEVINFO_BYTES) {
      throw CniError.of(
        NETSPEC_ERRORS,
        'ERR_DEVINFO_INVALID',
        { what },
        `larger than ${MAX_DEVINFO_BYTES} bytes`,
      );
    }
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw CniError.of(NETSPEC_ERRORS, 'ERR_DEVINFO_INVALID', { what }, (e as Error).message);
    }
  }
  const r = DeviceInfoSchema.safeParse(value);
  if (!r.success)
    throw CniError.of(NETSPEC_ERRORS, 'ERR_DEVINFO_INVALID', { what }, z.prettifyError(r.error));
  return r.data;
}

function flatten(s: string): string {
  return s.replaceAll('/', '-');
}

/** One path component made from untrusted parts: `/` flattened, NUL and lone dots refused. */
function component(s: string): string {
  const out = flatten(s);
  if (out === '' || out === '.' || out === '..' || out.includes('\0')) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_DEVINFO_INVALID', { what: 'file name' }, JSON.stringify(s));
  }
  return out;
}

/** The device plugin's file: `dp/<resourceName with / -> ->-<deviceID with / -> ->-device.json`. */
export function dpDeviceInfoPath(resourceName: string, deviceID: string, baseDir = DEVINFO_BASE_DIR): string {
  return `${baseDir}/dp/${component(`${resourceName}-${deviceID}-device.json`)}`;
}

/** The per-attachment CNI file: `cni/<network>-<containerID>_<ifName>` with every `/` turned into `-`. */
export function cniDeviceInfoPath(
  network: string,
  containerId: string,
  ifName: string,
  baseDir = DEVINFO_BASE_DIR,
): string {
  return `${baseDir}/cni/${component(`${network}-${containerId}_${ifName}`)}`;
}
