// Structured logs: one JSON object per line ({"time","level","msg",...fields}) on stderr, which journald
// and container runtimes collect as they are and log pipelines parse without patterns.

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFields = Record<string, unknown>;

export class Logger {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly sink: (line: string) => void = (line) => process.stderr.write(line),
    private readonly fields: LogFields = {},
  ) {}

  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger {
    return new Logger(this.level, this.sink, { ...this.fields, ...fields });
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (logLevels.indexOf(level) < logLevels.indexOf(this.level)) return;
    const record = { time: new Date().toISOString(), level, msg, ...this.fields, ...fields };
    this.sink(`${JSON.stringify(record, errorsAsText)}\n`);
  }
}

/** Errors have no enumerable fields: log their message (and CNI code, when they carry one). */
function errorsAsText(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return code === undefined ? value.message : { message: value.message, code };
}
