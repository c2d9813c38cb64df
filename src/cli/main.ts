/**
 * `imagereward` entry point. Exit codes: 0 success, 2 bad input (any ImageRewardError or bad
 * arguments), 1 internal failure. Errors go to stderr; with --json they are a JSON object too.
 * Global flags, accepted by every command: --verbose and --quiet. SIGINT / SIGTERM remove the temp
 * files of the job under way (util/interrupt.ts) and exit 130 / 143, saying what was undone.
 */
import { parseArgs } from 'node:util';
import { ImageRewardError } from '../errors.js';
import { exitOnInterrupt } from '../util/interrupt.js';
import { createProgress } from '../util/progress.js';
import type { CliContext, CliIO, Command, OptionSpec } from './command.js';
import { COMMANDS } from './commands/index.js';
import { packageVersion } from './version.js';

const GLOBAL_OPTIONS: OptionSpec = {
  verbose: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

const GLOBAL_USAGE = [
  'global options (any command):',
  '  --verbose          details: why a backend was skipped, full key lists, stack traces of internal errors',
  '  -q, --quiet        no progress and no informational lines (errors and warnings still print)',
].join('\n');

/** The IO a command runs with, given the global flags. */
function context(io: CliIO, verbose: boolean, quiet: boolean): CliContext {
  const progress = createProgress(quiet ? 'off' : io.isTTY ? 'bar' : 'lines', { line: (text) => io.err(text) });
  return { ...io, verbose, quiet, progress, info: (line) => { if (!quiet) io.err(line); } };
}

const defaultIO: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: Boolean(process.stderr.isTTY),
};

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4);
  return [
    'usage: imagereward <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    GLOBAL_USAGE,
    '',
    'Run `imagereward <command> --help` for a command\'s options, `imagereward --version [--json]` for the version.',
  ].join('\n');
}

/** `--cache` given to a command that only has the model cache: say which flag is which. */
function cacheHint(command: Command, message: string): string {
  if (!message.includes("Unknown option '--cache'") || !('cache-dir' in command.options)) return '';
  return `\n(${command.name} has no feature cache: --cache DIR belongs to features, eval and train-head; the model cache is --cache-dir DIR)`;
}

/** Thrown for bad command-line usage; reported like bad input (exit 2). */
export class UsageError extends ImageRewardError {
  constructor(message: string) {
    super('INPUT_INVALID', message);
  }
}

/** `imagereward --version [--json]`: the version alone, or {"name", "version"}. */
function printVersion(rest: readonly string[], io: CliIO): number {
  const extra = rest.filter((a) => a !== '--json');
  if (extra.length > 0) throw new UsageError(`no arguments allowed but --json (got ${extra.join(' ')})`);
  const { name, version } = packageVersion();
  io.out(rest.includes('--json') ? JSON.stringify({ name, version }) : version);
  return 0;
}

export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(helpText());
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  const verbose = rest.includes('--verbose');
  if (io === defaultIO) {
    exitOnInterrupt((signal, notes) => {
      if (io.isTTY) process.stderr.write('\n'); // past a progress bar
      io.err(`imagereward ${name}: interrupted by ${signal}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`);
    });
  }
  try {
    if (name === '--version') return printVersion(rest, io);
    if (!command) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${command.usage}\n\n${GLOBAL_USAGE}`);
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}${cacheHint(command, (err as Error).message)}\n${command.usage}`);
    }
    return await command.run(parsed, context(io, parsed.values.verbose === true, parsed.values.quiet === true));
  } catch (err) {
    const internal = !(err instanceof ImageRewardError);
    const message = err instanceof Error ? err.message : String(err);
    io.err(`imagereward ${name}: ${internal ? 'internal error: ' : ''}${message}`);
    const details = err instanceof ImageRewardError ? err.details : undefined;
    if (details !== undefined) io.err(verbose ? details : '(run again with --verbose for the details)');
    if (json) io.out(JSON.stringify({ error: { code: internal ? 'INTERNAL' : (err as ImageRewardError).code, message, ...(verbose && details !== undefined ? { details } : {}) } }));
    if (internal && (verbose || process.env.IMAGEREWARD_DEBUG) && err instanceof Error) io.err(err.stack ?? '');
    return internal ? 1 : 2;
  }
}
