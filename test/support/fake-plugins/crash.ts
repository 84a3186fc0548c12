// Fake plugin "crash": records the call, then for the commands listed in the config key `crashOn` (default
// ["ADD"]) prints the first half of a result on stdout and a line on stderr, and kills itself with SIGKILL (as the
// OOM killer would); every other command behaves like the recorder. Config key `recordFile`: where to record
// (else the FAKE_CNI_RECORD variable).
import { writeSync } from 'node:fs';
import { behave, maybeFail, RECORD_ENV, readStdin, record } from './common.ts';

const { text, conf } = readStdin();
// The daemon passes plugins no variables but PATH: the record file may also come from the config.
if (typeof conf['recordFile'] === 'string') process.env[RECORD_ENV] = conf['recordFile'];
record(text, conf);
const crashOn = Array.isArray(conf['crashOn']) ? (conf['crashOn'] as unknown[]) : ['ADD'];
if (crashOn.includes(process.env['CNI_COMMAND'] ?? '')) {
  writeSync(2, 'fake plugin crash: about to die\n');
  writeSync(1, '{"cniVersion":"1.0.0","interfaces":[{"name":"');
  process.kill(process.pid, 'SIGKILL');
} else {
  maybeFail(conf);
  behave(conf);
}
