/**
 * One row of a dataset to score: its prompt and image exactly as the input gives them (they are what
 * the output echoes), what to load for the image, and the row's key. The key (row index plus a
 * fingerprint of prompt and image) is how a resumed run knows which rows OUT already holds, and how
 * shard outputs and queue results are joined exactly once.
 */
import { createHash } from 'node:crypto';
import type { ImageInput } from '../api/imageInput.js';
import type { PairFailure, ScorePair } from '../api/scoreStream.js';

export interface DatasetRow extends ScorePair {
  /** 0-based position in the input (over all shards). */
  readonly row: number;
  /** The prompt as given (a malformed row may have none: then its `failure` says why). */
  readonly prompt: string;
  /** The image as the input names it (a path relative to the input, a tar member). */
  readonly imageName: string;
  /** What is loaded: a resolved path or the bytes of a tar member. */
  readonly image: ImageInput;
  /** Grouped inputs (test.json): the group's 0-based index; the group is ranked as a whole. */
  readonly group?: number;
  readonly failure?: PairFailure;
}

/** What one row of OUT holds. */
export type ResultRecord = {
  readonly row: number;
  readonly prompt: string | null;
  readonly image: string | null;
  readonly group?: number;
} & ({ readonly reward: number; readonly ranking?: number | null } | { readonly error: PairFailure; readonly ranking?: null });

/** 16 hex digits of sha256(prompt NUL image): what makes row i of one input differ from row i of another. */
export function rowFingerprint(prompt: string | null, image: string | null): string {
  return createHash('sha256').update(JSON.stringify([prompt, image])).digest('hex').slice(0, 16);
}

export function rowKey(row: number, prompt: string | null, image: string | null): string {
  return `${row}:${rowFingerprint(prompt, image)}`;
}

/** A row the reader could not make sense of: scored as a failure, keyed by what it has. */
export function badRow(row: number, message: string, fields: { prompt?: unknown; image?: unknown } = {}): DatasetRow {
  const prompt = typeof fields.prompt === 'string' ? fields.prompt : (null as unknown as string);
  const image = typeof fields.image === 'string' ? fields.image : (null as unknown as string);
  return { row, prompt, imageName: image, image, failure: { code: 'DATASET_INVALID', message } };
}
