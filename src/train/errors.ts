/** Typed errors of the training tools (dataset files, feature caches, head files). */
import { ImageRewardError } from '../errors.js';

/** A preference dataset (test.json / JSONL) that is malformed; names the file and, if known, the record. */
export class DatasetError extends ImageRewardError {
  readonly file: string;
  /** 0-based position of the offending record in the file, if the problem is in one record. */
  readonly record: number | undefined;

  constructor(file: string, record: number | undefined, problem: string, options?: { cause?: unknown }) {
    super('DATASET_INVALID', `${file}${record === undefined ? '' : ` record #${record}`}: ${problem}`, options);
    this.file = file;
    this.record = record;
  }
}

/** Training that ended without a head better than the one it started from (nothing is written). */
export class TrainingError extends ImageRewardError {
  constructor(message: string) {
    super('TRAINING_NO_IMPROVEMENT', message);
  }
}
