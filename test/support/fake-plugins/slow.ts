// Fake plugin "slow": records its own pid and the pid of a child it starts (so a test can check that the whole
// process group died), then sleeps `sleepMs` (default 5 minutes) before behaving like the recorder.
import { spawn } from 'node:child_process';
import { behave, readStdin, record } from './common.ts';

const { text, conf } = readStdin();
const child = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
record(text, conf, { childPid: child.pid });
process.stderr.write('fake plugin slow: sleeping\n');
const sleepMs = typeof conf['sleepMs'] === 'number' ? conf['sleepMs'] : 300_000;
setTimeout(() => {
  child.kill('SIGKILL');
  behave(conf);
}, sleepMs);
