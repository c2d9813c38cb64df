/**
 * Typed errors. Every error this library raises on purpose is an ImageRewardError whose `code`
 * names the kind of problem; the CLI maps them to exit code 2 (bad input) and anything else to 1.
 */
export type ErrorCode =
  | 'SAFETENSORS_INVALID'
  | 'WEIGHTS_MISMATCH'
  | 'CONFIG_INVALID'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_UNSAFE'
  | 'IMAGE_INVALID'
  | 'IMAGE_UNSUPPORTED'
  | 'TOKENIZER_INPUT'
  | 'VOCAB_INVALID'
  | 'INPUT_INVALID'
  | 'FILE_UNREADABLE'
  | 'BACKEND_UNAVAILABLE'
  | 'DOWNLOAD_FAILED'
  | 'DATASET_INVALID'
  | 'TRAINING_NO_IMPROVEMENT'
  | 'QUEUE_UNAVAILABLE'
  | 'QUEUE_JOB_FAILED';

export interface ErrorOptions {
  readonly cause?: unknown;
  /** The long form (every key of a weights mismatch, ...): the CLI prints it under --verbose only. */
  readonly details?: string;
}

export class ImageRewardError extends Error {
  readonly code: ErrorCode;
  /** What `message` summarises, in full (see ErrorOptions.details); absent when the message says it all. */
  readonly details?: string;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.name = new.target.name;
    if (options?.details !== undefined) this.details = options.details;
  }
}

/** A safetensors file whose header or layout is wrong. */
export class SafetensorsError extends ImageRewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SAFETENSORS_INVALID', message, options);
  }
}

/** Weights that do not fit the model: missing keys, wrong shapes, non-finite values. */
export class WeightsError extends ImageRewardError {
  constructor(message: string, options?: ErrorOptions) {
    super('WEIGHTS_MISMATCH', message, options);
  }
}

/** A model config (med_config.json, vit_config.json) that is malformed. */
export class ConfigError extends ImageRewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A file that cannot be read at all (missing, a directory, no permission). */
export class FileError extends ImageRewardError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('FILE_UNREADABLE', message, options);
    this.path = path;
  }
}

/** Bad arguments to a public function: wrong types, NaN, empty lists, mismatched lengths. */
export class InputError extends ImageRewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_INVALID', message, options);
  }
}

/** A backend that was asked for by name but cannot be loaded. */
export class BackendError extends ImageRewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}

/** The Redis of the queue mode cannot be reached or went away (UNAVAILABLE), or a job failed for good (JOB_FAILED). */
export class QueueError extends ImageRewardError {
  /** The Redis URL, password removed. */
  readonly url: string;

  constructor(code: 'QUEUE_UNAVAILABLE' | 'QUEUE_JOB_FAILED', url: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.url = url;
  }
}
