/**
 * Errors of the checkpoint converter. CHECKPOINT_INVALID: the file is damaged or not a torch
 * checkpoint we understand; CHECKPOINT_UNSAFE: the pickle asks for code we refuse to run.
 */
import { ImageRewardError } from '../errors.js';

export class CheckpointError extends ImageRewardError {
  constructor(code: 'CHECKPOINT_INVALID' | 'CHECKPOINT_UNSAFE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Shorthand for the common case: a damaged or unsupported checkpoint. */
export function invalid(message: string, options?: { cause?: unknown }): CheckpointError {
  return new CheckpointError('CHECKPOINT_INVALID', message, options);
}

/** Shorthand for a pickle that references something we will not execute. */
export function unsafe(message: string): CheckpointError {
  return new CheckpointError('CHECKPOINT_UNSAFE', message);
}
