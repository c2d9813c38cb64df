/**
 * Fetching what the browser build loads (weights, vocab, configs, image URLs) with progress: every
 * byte received is reported as { url, loaded, total } (total from content-length, when the server
 * sends one and the body is not re-encoded). A failed fetch is a DownloadError naming the URL.
 */
import { InputError } from '../errors.js';
import { DownloadError } from '../hub/errors.js';

export interface FetchProgress {
  readonly url: string;
  readonly loaded: number;
  /** Bytes expected, when the server says (absent otherwise). */
  readonly total?: number;
}

export type ProgressCallback = (progress: FetchProgress) => void;

/** The URL resolved against the page (relative URLs work as in fetch); an InputError when it is none. */
export function absoluteUrl(url: string): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch (err) {
    throw new InputError(`${JSON.stringify(url)} is not a valid URL${base === undefined ? ' (a relative URL needs a page to resolve against)' : ''}`, { cause: err });
  }
}

/** A successful response for `url`, or a DownloadError saying what went wrong. */
export async function fetchOk(url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new DownloadError(`cannot fetch ${what} ${url}: ${(err as Error).message}`, [], { cause: err });
  }
  if (!response.ok) throw new DownloadError(`cannot fetch ${what} ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd(), []);
  if (!response.body) throw new DownloadError(`cannot fetch ${what} ${url}: the response has no body`, []);
  return response;
}

/** The total the server announces, unless the body is re-encoded (then the length is of the encoded bytes). */
function announcedTotal(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length'));
  return (!encoding || encoding === 'identity') && Number.isSafeInteger(length) && length > 0 ? length : undefined;
}

/** The body of `url` as a stream that reports progress as it is read. */
export async function fetchStream(url: string, what: string, onProgress?: ProgressCallback): Promise<ReadableStream<Uint8Array>> {
  const response = await fetchOk(url, what);
  const total = announcedTotal(response);
  let loaded = 0;
  onProgress?.({ url, loaded, ...(total !== undefined ? { total } : {}) });
  return response.body!.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      loaded += chunk.length;
      onProgress?.({ url, loaded, ...(total !== undefined ? { total } : {}) });
      controller.enqueue(chunk);
    },
  }));
}

/** The whole body of `url` (small files: vocab, configs, images), refused beyond `maxBytes`. */
export async function fetchBytes(url: string, what: string, maxBytes: number, onProgress?: ProgressCallback): Promise<Uint8Array> {
  const reader = (await fetchStream(url, what, onProgress)).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new DownloadError(`${what} ${url} is larger than the limit of ${maxBytes} bytes`, []);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
