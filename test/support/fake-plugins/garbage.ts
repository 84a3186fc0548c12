// Fake plugin "garbage": records the call, prints bytes that are not JSON (and not even valid UTF-8) on stdout,
// a line on stderr, and exits with the config's `exitCode` (default 0).
import { readStdin, record } from './common.ts';

const { text, conf } = readStdin();
record(text, conf);
process.stderr.write('fake plugin garbage: here comes garbage\n');
process.stdout.write(Buffer.from([0x3c, 0x68, 0x74, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x00, 0x7b, 0x0a]));
process.exitCode = typeof conf['exitCode'] === 'number' ? conf['exitCode'] : 0;
