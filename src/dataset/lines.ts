/**
 * Lines of a file read as a stream, each at most `maxBytes` long: a longer line is reported as
 * too long (its text is not kept) and reading resumes after its newline, so one runaway line costs
 * neither memory nor the rest of the file. `\r\n` endings are accepted.
 */
import { createReadStream } from 'node:fs';

export interface FileLine {
  /** 1-based line number. */
  readonly number: number;
  /** The line without its newline; undefined when it was longer than maxBytes. */
  readonly text: string | undefined;
  /** Bytes of the line (without the newline). */
  readonly bytes: number;
}

export const MAX_LINE_BYTES = 1 << 20;

export async function* fileLines(path: string, maxBytes = MAX_LINE_BYTES): AsyncGenerator<FileLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let number = 0;
  const take = (): FileLine => {
    number++;
    const line = length > maxBytes ? undefined : Buffer.concat(parts).toString('utf8');
    const out = { number, text: line?.endsWith('\r') ? line.slice(0, -1) : line, bytes: length };
    parts = [];
    length = 0;
    return out;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 }) as AsyncIterable<Buffer>) {
    let at = 0;
    for (let nl = chunk.indexOf(10, at); nl >= 0; nl = chunk.indexOf(10, at)) {
      if (length + nl - at <= maxBytes) parts.push(chunk.subarray(at, nl));
      length += nl - at;
      at = nl + 1;
      yield take();
    }
    if (at < chunk.length) {
      if (length + chunk.length - at <= maxBytes) parts.push(chunk.subarray(at));
      length += chunk.length - at;
    }
  }
  if (length > 0) yield take();
}
