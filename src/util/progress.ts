/**
 * Progress of every long job (scoring, features, training epochs, conversion, downloads), one module
 * for all. Library code reports counts to a `Progress` it is given; what the user sees is chosen once:
 * a cli-progress bar with rate and ETA on a terminal, plain lines at most every few seconds
 * otherwise (logs, CI), nothing when quiet.
 */
import cliProgress, { type Options, type Params } from 'cli-progress';

// cli-progress is CommonJS: its named exports exist only on the default export under Node's ESM loader.
const { Format, SingleBar } = cliProgress;

/** What a task counts; bytes are shown in MiB. */
export type ProgressUnit = 'images' | 'tensors' | 'epochs' | 'bytes';

export interface ProgressTask {
  /** `done` so far (of the task's total); `note` is a short status shown after the counts ("loss 0.6931"). */
  update(done: number, note?: string): void;
  /** Sets the total once it is known (a download's size, a checkpoint's tensor count). */
  setTotal(total: number): void;
  /** Ends the task: the bar stays drawn at its last state, or the last line is printed. */
  finish(): void;
}

export interface Progress {
  /** Starts a task: `label` says what runs ("score", "convert", "download ImageReward.pt"); `total` when known. */
  task(label: string, total: number | undefined, unit: ProgressUnit): ProgressTask;
}

export type ProgressMode = 'bar' | 'lines' | 'off';

export interface ProgressOptions {
  /** Where plain lines go (one call per line, no newline). */
  readonly line: (text: string) => void;
  /** Where the bar is drawn (default: process.stderr). */
  readonly stream?: NodeJS.WritableStream;
  /** Least time between two plain lines (default 2000 ms); the first and the last line are always printed. */
  readonly intervalMs?: number;
}

/** Shows nothing. */
export const NO_PROGRESS: Progress = { task: () => ({ update() {}, setTotal() {}, finish() {} }) };

const MIB = 1048576;

function amount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? (n / MIB).toFixed(1) : String(n);
}

function unitName(unit: ProgressUnit): string {
  return unit === 'bytes' ? 'MiB' : unit;
}

/** Counts, percentage, rate and ETA: `40/120 tensors (33%), 12.5 tensors/s, ETA 6s`. */
export function describeProgress(done: number, total: number | undefined, unit: ProgressUnit, elapsedMs: number): string {
  const known = total !== undefined && total > 0;
  const counts = known ? `${amount(done, unit)}/${amount(total, unit)} ${unitName(unit)} (${Math.floor((100 * done) / total)}%)` : `${amount(done, unit)} ${unitName(unit)}`;
  if (elapsedMs <= 0 || done <= 0) return counts;
  const perSecond = (done * 1000) / elapsedMs;
  const shown = unit === 'bytes' ? perSecond / MIB : perSecond;
  const rate = `${shown.toFixed(shown >= 100 ? 0 : 1)} ${unitName(unit)}/s`;
  const eta = known && done < total ? `, ETA ${formatSeconds((total - done) / perSecond)}` : '';
  return `${counts}, ${rate}${eta}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Plain lines: `label: counts, rate, ETA[, note]`, throttled to one per interval plus the first and the last. */
function linesProgress(options: ProgressOptions): Progress {
  const interval = options.intervalMs ?? 2000;
  return {
    task(label, initialTotal, unit) {
      let total = initialTotal;
      const start = Date.now();
      let lastPrinted = -Infinity;
      let lastText: string | undefined;
      let pending: string | undefined;
      const print = (text: string) => {
        options.line(text);
        lastText = text;
        lastPrinted = Date.now();
        pending = undefined;
      };
      return {
        update(done, note) {
          const text = `${label}: ${describeProgress(done, total, unit, Date.now() - start)}${note ? `, ${note}` : ''}`;
          if (lastText === undefined || Date.now() - lastPrinted >= interval || (total !== undefined && done >= total)) print(text);
          else pending = text;
        },
        setTotal(n) {
          total = n;
        },
        finish() {
          if (pending !== undefined && pending !== lastText) print(pending);
        },
      };
    },
  };
}

/** A cli-progress bar per task; the same counts, rate and ETA (cli-progress's averaged estimate). */
function barProgress(options: ProgressOptions): Progress {
  return {
    task(label, initialTotal, unit) {
      let total = initialTotal;
      const format = (opts: Options, params: Params, payload: { note?: string }): string => {
        const elapsed = Date.now() - params.startTime;
        const known = total !== undefined && total > 0;
        const bar = known ? `[${Format.BarFormat(params.progress, opts)}] ` : '';
        const text = describeProgress(params.value, known ? params.total : undefined, unit, elapsed).replace(/, ETA .*$/, '');
        const eta = known && params.value < params.total && Number.isFinite(params.eta) && params.value > 0 ? `, ETA ${formatSeconds(params.eta)}` : '';
        return `${label} ${bar}${text}${eta}${payload.note ? `, ${payload.note}` : ''}`;
      };
      const bar = new SingleBar({ format, stream: options.stream ?? process.stderr, barsize: 24, etaBuffer: 20, hideCursor: false, clearOnComplete: false });
      bar.start(total ?? 0, 0, { note: '' });
      let stopped = false;
      return {
        update(done, note) {
          if (total === undefined) bar.setTotal(Math.max(done, 1));
          bar.update(done, { note: note ?? '' });
        },
        setTotal(n) {
          total = n;
          bar.setTotal(n);
        },
        finish() {
          if (stopped) return;
          stopped = true;
          bar.stop();
        },
      };
    },
  };
}

export function createProgress(mode: ProgressMode, options: ProgressOptions): Progress {
  if (mode === 'off') return NO_PROGRESS;
  return mode === 'bar' ? barProgress(options) : linesProgress(options);
}

/** What library calls show when the caller says nothing: a bar when stderr is a terminal, else nothing. */
export function defaultProgress(): Progress {
  return process.stderr.isTTY ? createProgress('bar', { line: (t) => process.stderr.write(`${t}\n`) }) : NO_PROGRESS;
}

/** A library option `progress?: Progress | boolean`: false shows nothing, true or absent the default. */
export function progressOption(option: Progress | boolean | undefined): Progress {
  if (option === false) return NO_PROGRESS;
  return option === undefined || option === true ? defaultProgress() : option;
}

/** Runs `work` with a task that is always finished, also when `work` throws. */
export async function withTask<T>(progress: Progress, label: string, total: number | undefined, unit: ProgressUnit, work: (task: ProgressTask) => Promise<T>): Promise<T> {
  const task = progress.task(label, total, unit);
  try {
    return await work(task);
  } finally {
    task.finish();
  }
}
