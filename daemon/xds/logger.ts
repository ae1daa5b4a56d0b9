// The logging the xDS server needs from the daemon; `console` fits it.
export interface XdsLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}
