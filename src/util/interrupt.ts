/**
 * What SIGINT / SIGTERM must undo. Long jobs register a cleanup while it is live (a temp file to
 * remove, a lock to release, a partial download to report) and unregister it when the job settles;
 * on a signal every live cleanup runs (synchronously, once) and the process exits 130 (SIGINT) or
 * 143 (SIGTERM), the shell's 128 + signal number.
 *
 * Handlers are installed only while a cleanup is live, so a library user's process keeps Node's
 * default signal behaviour otherwise; if the application has SIGINT / SIGTERM listeners of its own,
 * the cleanups still run but exiting is left to those listeners. The CLI calls exitOnInterrupt once:
 * its handlers then stay for the whole run (always exit 130 / 143, with one line on what was undone).
 *
 * A handler runs only when the event loop turns: synchronous loops that may run for long (tensor
 * by tensor conversion, training epochs) yield now and then (see `yieldToSignals`).
 */
import { rmSync } from 'node:fs';
import { basename } from 'node:path';

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

const EXIT_CODES: Readonly<Record<InterruptSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Runs on a signal; returns what it did, for the CLI's line ("removed .x.tmp"), or nothing. */
export type Cleanup = () => string | undefined;

const live = new Set<Cleanup>();
let installed = false;
let report: ((signal: InterruptSignal, notes: readonly string[]) => void) | undefined;

function runCleanups(): string[] {
  const notes: string[] = [];
  for (const cleanup of [...live]) {
    live.delete(cleanup);
    try {
      const note = cleanup();
      if (note) notes.push(note);
    } catch {
      // a cleanup that fails must not stop the others (the file may be gone already)
    }
  }
  return notes;
}

function onSignal(signal: InterruptSignal): void {
  const notes = runCleanups();
  const ours = process.listeners(signal).filter((l) => l === handlers[signal]).length;
  if (report !== undefined || process.listenerCount(signal) === ours) {
    report?.(signal, notes);
    process.exit(EXIT_CODES[signal]);
  }
  uninstallIfIdle();
}

const handlers: Readonly<Record<InterruptSignal, () => void>> = {
  SIGINT: () => onSignal('SIGINT'),
  SIGTERM: () => onSignal('SIGTERM'),
};

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of Object.keys(handlers) as InterruptSignal[]) process.on(s, handlers[s]);
}

function uninstallIfIdle(): void {
  if (!installed || report !== undefined || live.size > 0) return;
  installed = false;
  for (const s of Object.keys(handlers) as InterruptSignal[]) process.off(s, handlers[s]);
}

/** Registers `cleanup` until the returned function is called (which does not run it). */
export function onInterrupt(cleanup: Cleanup): () => void {
  live.add(cleanup);
  install();
  return () => {
    live.delete(cleanup);
    uninstallIfIdle();
  };
}

/** Removes `path` on a signal, until the returned function is called. */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => {
    rmSync(path, { force: true });
    return `removed ${basename(path)}`;
  });
}

/**
 * The CLI's mode: handlers for the whole run; a signal runs the live cleanups, calls `onExit` with
 * the signal and what they did, and exits 130 / 143.
 */
export function exitOnInterrupt(onExit: (signal: InterruptSignal, notes: readonly string[]) => void): void {
  report = onExit;
  install();
}

/** Lets the event loop turn once (a signal handler waiting on a synchronous job runs here). */
export function yieldToSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
