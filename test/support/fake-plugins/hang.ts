// Fake plugin "hang": records the call (with the pid of a child it starts, so a test can check that the whole
// process group was killed), then never answers for the commands listed in the config key `hangOn` (default
// ["ADD"]); every other command behaves like the recorder. Config key `recordFile`: where to record (else the
// FAKE_CNI_RECORD variable).
import { spawn } from 'node:child_process';
import { behave, maybeFail, RECORD_ENV, readStdin, record } from './common.ts';

const { text, conf } = readStdin();
// The daemon passes plugins no variables but PATH: the record file may also come from the config.
if (typeof conf['recordFile'] === 'string') process.env[RECORD_ENV] = conf['recordFile'];
const hangOn = Array.isArray(conf['hangOn']) ? (conf['hangOn'] as unknown[]) : ['ADD'];
const command = process.env['CNI_COMMAND'] ?? '';
if (hangOn.includes(command)) {
  const child = spawn('/bin/sleep', ['3600'], { stdio: 'ignore' });
  record(text, conf, { childPid: child.pid, hanging: true });
  process.stderr.write(`fake plugin hang: hanging in ${command}\n`);
  setInterval(() => undefined, 60_000);
} else {
  record(text, conf);
  maybeFail(conf);
  behave(conf);
}
