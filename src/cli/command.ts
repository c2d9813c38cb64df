/**
 * The contract every `imagereward` sub-command implements. Commands live in src/cli/commands/NAME.ts,
 * are listed in src/cli/commands/index.ts, and get their options parsed by node:util parseArgs.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Progress } from '../util/progress.js';

export interface CliIO {
  /** Writes one line (a JSON document, usually) to stdout. */
  out(line: string): void;
  /** Writes one line of progress or diagnostics to stderr. */
  err(line: string): void;
  /** True when stderr is a terminal (progress bars only then). */
  readonly isTTY: boolean;
}

/** What a command runs with: the IO plus the global flags (--verbose, --quiet) and the progress they imply. */
export interface CliContext extends CliIO {
  /** --verbose: details (why a backend was skipped, full key lists, stack traces of internal errors). */
  readonly verbose: boolean;
  /** --quiet: no progress and no informational lines; errors and warnings still go to stderr. */
  readonly quiet: boolean;
  /** A bar on a terminal, plain lines otherwise, nothing with --quiet. */
  readonly progress: Progress;
  /** An informational line on stderr (which backend runs, what is converted); dropped with --quiet. */
  info(line: string): void;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommandArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

export interface Command {
  readonly name: string;
  /** One line for `imagereward --help`. */
  readonly summary: string;
  /** Usage text for `imagereward NAME --help`. */
  readonly usage: string;
  readonly options: OptionSpec;
  /** Returns the process exit code (0 ok). Throw ImageRewardError for bad input (exit 2). */
  run(args: ParsedCommandArgs, io: CliContext): Promise<number>;
}

/** The value of a string option, if given. */
export function stringOption(args: ParsedCommandArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagOption(args: ParsedCommandArgs, name: string): boolean {
  return args.values[name] === true;
}
