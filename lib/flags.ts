// Checks of command-line flags that weft and weftd share (both parse with yargs).

/** What yargs passes a check as its second argument (typed there as the alias map): its parser's options. */
export interface ParserOptions {
  /** The flags declared with requiresArg: those that take exactly one value. */
  readonly narg: Readonly<Record<string, unknown>>;
}

/**
 * A one-value flag given wrongly, described for a usage message; undefined when there is none. yargs turns a
 * repeated flag into a list and takes `--flag ''` as given; neither means anything for these flags.
 */
export function oneValueFlagProblem(argv: Readonly<Record<string, unknown>>, options: ParserOptions): string | undefined {
  for (const name of Object.keys(options.narg)) {
    if (Array.isArray(argv[name])) return `--${name} is given more than once`;
    if (argv[name] === '') return `--${name} needs a value`;
  }
  return undefined;
}
