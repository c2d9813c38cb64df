/**
 * The one error the model hub raises: a file could not be fetched or failed its check. It lists
 * every file still missing and the cache path to place it at, so an offline user can copy them in.
 */
import { ImageRewardError } from '../errors.js';

export interface MissingFile {
  /** Where it is downloaded from. */
  readonly url: string;
  /** Where the cache expects it. */
  readonly path: string;
}

export class DownloadError extends ImageRewardError {
  readonly missing: readonly MissingFile[];

  constructor(message: string, missing: readonly MissingFile[], options?: { cause?: unknown }) {
    super('DOWNLOAD_FAILED', missing.length === 0 ? message : `${message}\n${placeFilesHint(missing)}`, options);
    this.missing = missing;
  }
}

/** "To work offline, place these files:" followed by `url -> path` lines. */
export function placeFilesHint(missing: readonly MissingFile[]): string {
  return [
    'To work offline, download these files elsewhere and place them at the paths shown',
    '(or pass a local model path and --vocab):',
    ...missing.map((m) => `  ${m.url}\n    -> ${m.path}`),
  ].join('\n');
}
