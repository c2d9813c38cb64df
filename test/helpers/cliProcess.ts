/** Runs the real `imagereward` bin (bin/imagereward.js) in a child process, for CLI tests. */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_BIN = join(REPO_ROOT, 'bin', 'imagereward.js');

export interface CliRun {
  /** Exit code; null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcessOptions {
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * Called with stderr so far on every chunk; return a signal to send it to the child (once), e.g.
   * when a progress line shows that the job is under way.
   */
  readonly signalWhen?: (stderr: string) => NodeJS.Signals | undefined;
  /** Polled every 50 ms while the child runs (e.g. a file appearing); a signal it returns is sent once. */
  readonly signalPoll?: () => NodeJS.Signals | undefined;
}

export function runCli(argv: readonly string[], options: CliProcessOptions = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...argv], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    const send = (signal: NodeJS.Signals | undefined) => {
      if (!signal || signalled) return;
      signalled = true;
      child.kill(signal);
    };
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!signalled) send(options.signalWhen?.(stderr));
    });
    const poll = options.signalPoll && setInterval(() => { if (!signalled) send(options.signalPoll!()); }, 50);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
