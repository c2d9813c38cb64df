/**
 * score-dataset's engine: the rows of a dataset (one shard of them) not yet in the result log, scored a
 * batch at a time and appended as each batch finishes. Rerunning the same command resumes: rows already
 * logged are skipped, a group with any row missing is scored again as a whole (so its ranking is over
 * the whole group) and only its missing rows are written. Where the batches are scored is the caller's:
 * here through scoreBatches (`scoreDataset`), or by queue workers (src/queue, through `runDataset`).
 */
import { scoreBatches, type ScoredPair, type StreamScorer } from '../api/scoreStream.js';
import { ImageRewardError, InputError } from '../errors.js';
import { rankRewards } from '../model/imageRewardModel.js';
import { NO_PROGRESS, withTask, type Progress } from '../util/progress.js';
import { memoryPeak, type MemoryPeak } from './memory.js';
import { ResultLog } from './resultLog.js';
import { rowFingerprint, type DatasetRow, type ResultRecord } from './row.js';
import { inShard, type Shard } from './shard.js';
import type { DatasetSource } from './source.js';

export interface ScoreDatasetOptions {
  /** The JSONL result log rows are appended to. */
  readonly log: string;
  readonly shard?: Shard;
  /** Stop at the first row that cannot be scored (rows before it are kept). */
  readonly failFast?: boolean;
  readonly progress?: Progress;
  /** Most rows per batch (default 8 x batchSize); a batch holds at most batchSize distinct images. */
  readonly maxPairs?: number;
}

export interface ScoreDatasetSummary {
  /** Rows of the input (of this shard). */
  readonly rows: number;
  /** Rows scored by this run. */
  readonly scored: number;
  /** Rows that were already in the log. */
  readonly resumed: number;
  /** Error rows in the log (this run's and earlier runs'), of this shard. */
  readonly errors: number;
  readonly seconds: number;
  /** Rows scored by this run per second. */
  readonly imagesPerSecond: number;
  /** Seconds until the first batch was written (null when nothing was scored). */
  readonly firstResultSeconds: number | null;
  readonly memory: MemoryPeak;
}

/** A row to score, and whether the log holds it already (then it is scored only for its group's ranking). */
export type PendingRow = DatasetRow & { readonly logged: boolean };

/**
 * Scores the pending rows, yielding the result records of each finished batch: one per pending row
 * that is not `logged`, in any order; a group's rows must be ranked within one batch.
 */
export type BatchScorer = (pending: AsyncIterable<PendingRow> | Iterable<PendingRow>) => AsyncIterable<readonly ResultRecord[]>;

/** The unit a shard takes and a batch keeps whole: the group, else the row. */
const unitOf = (r: DatasetRow): number => r.group ?? r.row;

/** Rows that must share a batch: the rows of one group. */
export const sameGroup = (a: DatasetRow, b: DatasetRow): boolean => a.group !== undefined && a.group === b.group;

function checkLogged(row: DatasetRow, log: ResultLog): boolean {
  const had = log.logged.get(row.row);
  if (had === undefined) return false;
  if (had.fingerprint !== rowFingerprint(row.prompt, row.imageName)) {
    throw new InputError(`${log.path} holds row ${row.row} for another prompt or image than ${JSON.stringify(row.imageName)} of the input: it was written for another input; give another --output or remove it`);
  }
  return true;
}

/** The rows of `source` in the shard that still need scoring, whole groups at a time. */
async function* pendingRows(source: DatasetSource, log: ResultLog, shard: Shard | undefined): AsyncGenerator<PendingRow> {
  let group: PendingRow[] = [];
  const flush = function* (): Generator<PendingRow> {
    if (group.some((r) => !r.logged)) yield* group;
    group = [];
  };
  for await (const row of source.rows()) {
    if (!inShard(unitOf(row), shard)) continue;
    const pending = { ...row, logged: checkLogged(row, log) };
    if (group.length > 0 && unitOf(group[0]!) !== unitOf(row)) yield* flush();
    group.push(pending);
  }
  yield* flush();
}

/** Rows of the shard, and how many of them the log holds (and how many of those failed). */
async function countRows(source: DatasetSource, log: ResultLog, shard: Shard | undefined): Promise<{ rows: number; logged: number; errors: number }> {
  let rows = 0;
  let logged = 0;
  let errors = 0;
  for await (const row of source.rows()) {
    if (!inShard(unitOf(row), shard)) continue;
    rows++;
    if (checkLogged(row, log)) {
      logged++;
      if (log.logged.get(row.row)!.failed) errors++;
    }
  }
  return { rows, logged, errors };
}

/** The result lines of one scored batch: grouped rows get their 1-based rank among the group's scored rows. */
export function batchRecords(results: readonly (ScoredPair & { pair: DatasetRow })[]): ResultRecord[] {
  const groups = new Map<number, { row: number; reward: number }[]>();
  for (const r of results) {
    if (r.pair.group === undefined || !('reward' in r)) continue;
    const members = groups.get(r.pair.group) ?? [];
    members.push({ row: r.pair.row, reward: r.reward });
    groups.set(r.pair.group, members);
  }
  const ranks = new Map<number, number>();
  for (const members of groups.values()) {
    const ranking = rankRewards(members.map((m) => m.reward));
    members.forEach((m, k) => ranks.set(m.row, ranking[k]!));
  }
  return results.map((r): ResultRecord => {
    const { row, prompt, imageName: image, group } = r.pair;
    const grouped = group === undefined ? {} : { group, ranking: ranks.get(row) ?? null };
    return 'error' in r ? { row, prompt, image, error: r.error, ...grouped } as ResultRecord
      : { row, prompt, image, reward: r.reward, ...grouped } as ResultRecord;
  });
}

/** Thrown by --fail-fast: the first row that failed. */
export class RowFailure extends ImageRewardError {
  readonly row: number;

  constructor(record: ResultRecord & { error: { code: ImageRewardError['code']; message: string } }) {
    super(record.error.code, `row ${record.row} (${JSON.stringify(record.image)}): ${record.error.message}`);
    this.row = record.row;
  }
}

/** Batches scored here, through the model's streaming scorer. */
export function localScorer(ir: StreamScorer, maxPairs?: number): BatchScorer {
  return async function* (pending) {
    const batches = scoreBatches(ir, pending, { ...(maxPairs !== undefined ? { maxPairs } : {}), sameUnit: sameGroup });
    for await (const batch of batches) yield batchRecords(batch).filter((_, i) => !batch[i]!.pair.logged);
  };
}

export async function scoreDataset(ir: StreamScorer, source: DatasetSource, options: ScoreDatasetOptions): Promise<ScoreDatasetSummary> {
  return runDataset(source, options, localScorer(ir, options.maxPairs));
}

/**
 * Scores the shard's missing rows with `scorer` and appends each batch. A record is written only for a
 * pending row of this run that the log does not hold yet (matched by row key): a batch delivered twice
 * (a queue job retried after its results came in) or a record for a row the run did not ask for
 * changes nothing, and a pending row the scorer never answers is an error, not a silent gap.
 */
export async function runDataset(source: DatasetSource, options: Omit<ScoreDatasetOptions, 'maxPairs'>, scorer: BatchScorer): Promise<ScoreDatasetSummary> {
  const start = performance.now();
  const log = await ResultLog.open(options.log);
  try {
    const counted = await countRows(source, log, options.shard);
    let done = counted.logged;
    let errors = counted.errors;
    let scored = 0;
    let firstResult: number | null = null;
    const wanted = new Map<number, string>();
    async function* tracked(): AsyncGenerator<PendingRow> {
      for await (const row of pendingRows(source, log, options.shard)) {
        if (!row.logged) wanted.set(row.row, rowFingerprint(row.prompt, row.imageName));
        yield row;
      }
    }
    await withTask(options.progress ?? NO_PROGRESS, 'score-dataset', counted.rows, 'images', async (task) => {
      task.update(done, `${errors} errors`);
      for await (const batch of scorer(tracked())) {
        const records = batch.filter((r) => {
          if (wanted.get(r.row) !== rowFingerprint(r.prompt, r.image)) return false;
          wanted.delete(r.row);
          return true;
        });
        const failed = options.failFast ? records.findIndex((r) => 'error' in r) : -1;
        log.append(failed >= 0 ? records.slice(0, failed) : records);
        if (failed >= 0) throw new RowFailure(records[failed] as ResultRecord & { error: { code: ImageRewardError['code']; message: string } });
        firstResult ??= performance.now();
        done += records.length;
        scored += records.length;
        errors += records.filter((r) => 'error' in r).length;
        task.update(done, `${errors} errors`);
      }
    });
    if (wanted.size > 0) {
      throw new ImageRewardError('DATASET_INVALID', `${wanted.size} rows were not scored (row ${wanted.keys().next().value} first): the scorer ended without them; rerun to score them`);
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      rows: counted.rows,
      scored,
      resumed: counted.logged,
      errors,
      seconds: round(seconds),
      imagesPerSecond: round(scored / seconds),
      firstResultSeconds: firstResult === null ? null : round((firstResult - start) / 1000),
      memory: memoryPeak(),
    };
  } finally {
    log.close();
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
