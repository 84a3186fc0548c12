// Fake plugin "recorder": records every call and behaves like a well-behaved plugin (echoes prevResult on ADD,
// answers VERSION with every version up to 1.1.0, succeeds silently on DEL, CHECK, GC and STATUS).
import { behave, maybeFail, readStdin, record } from './common.ts';

const { text, conf } = readStdin();
record(text, conf);
maybeFail(conf);
behave(conf);
