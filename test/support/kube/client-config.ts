// A @kubernetes/client-node KubeConfig pointed at an emulator (in-process or spawned), for tests.
import { KubeConfig } from '@kubernetes/client-node';

export function kubeConfigFor(
  emu: { url: string; token: string; caPem?: string },
  token = emu.token,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: 'emulator',
      server: emu.url,
      // client-node 2.x refuses plain http unless TLS verification is "skipped" (there is none to skip).
      skipTLSVerify: emu.url.startsWith('http:'),
      ...(emu.caPem ? { caData: Buffer.from(emu.caPem).toString('base64') } : {}),
    },
    { name: 'emulator', token },
  );
  return kc;
}
