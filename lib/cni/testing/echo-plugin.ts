// A small weft plugin built on skel.ts, for delegation tests: run as an executable (echo-plugin-main.ts,
// bundled by the test) and in-process, it must behave the same. ADD answers with the config's
// "testResult" (a result of any version); every verb fails with "testError" ({code, msg, details}) when
// the config has one, and logs a line to stderr.
import { CniError } from '../errors.ts';
import { readResult } from '../result.ts';
import { definePlugin } from '../skel.ts';
import type { NetConf, Result } from '../types.ts';

interface EchoConf extends NetConf {
  testResult?: Result;
  testError?: CniError;
}

function failIfAsked(conf: EchoConf, log: (line: string) => void, verb: string): void {
  log(`echo-plugin ${verb} ${conf.name}`);
  if (conf.testError) throw conf.testError;
}

export const echoPlugin = definePlugin<EchoConf>({
  about: 'weft echo test plugin',
  parseConfig(base, raw) {
    const result = raw.field('testResult');
    const error = raw.field('testError');
    return {
      ...base,
      ...(result.present && { testResult: readResult(result, base.cniVersion) }),
      ...(error.present && {
        testError: new CniError(error.field('code').integer({ min: 1 }), error.field('msg').string(), error.field('details').optionalString()),
      }),
    };
  },
  verbs: {
    add({ conf, log }) {
      failIfAsked(conf, log, 'ADD');
      return conf.testResult ?? { cniVersion: conf.cniVersion };
    },
    del: ({ conf, log }) => failIfAsked(conf, log, 'DEL'),
    check: ({ conf, log }) => failIfAsked(conf, log, 'CHECK'),
    gc: ({ conf, log }) => failIfAsked(conf, log, 'GC'),
    status: ({ conf, log }) => failIfAsked(conf, log, 'STATUS'),
  },
});
