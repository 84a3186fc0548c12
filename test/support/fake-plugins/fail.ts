// Fake plugin "fail": records the call, then fails every command except VERSION with the error JSON given by
// the config keys `code` (default 100), `msg` and `details`, a line on stderr, and exit status `exitCode` (1).
import { readStdin, record } from './common.ts';

const { text, conf } = readStdin();
record(text, conf);
if (process.env['CNI_COMMAND'] === 'VERSION') {
  process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: ['1.0.0', '1.1.0'] }));
} else {
  process.stderr.write('fake plugin fail: about to fail\n');
  const code = typeof conf['code'] === 'number' ? conf['code'] : 100;
  const msg = typeof conf['msg'] === 'string' ? conf['msg'] : 'fake failure';
  const details = typeof conf['details'] === 'string' ? conf['details'] : undefined;
  process.stdout.write(JSON.stringify({ cniVersion: conf['cniVersion'], code, msg, details }));
  process.exitCode = typeof conf['exitCode'] === 'number' ? conf['exitCode'] : 1;
}
