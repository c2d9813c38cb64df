/**
 * Safetensors from a byte stream (a fetch body): the header is checked first, then each tensor is
 * copied out of the stream's chunks into its own typed array as the chunks arrive, so the file is
 * never assembled in one buffer beside the tensors. Each tensor is handed out once (`read` releases
 * it), so a loader that uploads tensor by tensor holds at most the not-yet-uploaded rest in JS.
 * No files and no Node: it runs in browsers and in Node alike.
 */
import { SafetensorsError } from '../errors.js';
import type { WeightSource } from './source.js';
import { allocTyped, headerLength, MAX_HEADER_BYTES, numElements, parseHeader, type TensorData, type TensorInfo } from './safetensorsHeader.js';

export interface StreamedSafetensors extends WeightSource {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

export interface StreamOptions {
  /** Called with the bytes received so far after each chunk. */
  readonly onBytes?: (received: number) => void;
}

/** Pulls exact byte counts out of a chunked stream. */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  received = 0;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>, private readonly source: string, private readonly onBytes?: (n: number) => void) {}

  /** Fills `into` completely, or throws naming how far the stream got. */
  async fill(into: Uint8Array): Promise<void> {
    let filled = 0;
    while (filled < into.length) {
      if (this.offset === this.chunk.length && !(await this.next())) {
        throw new SafetensorsError(`${this.source}: the stream ended after ${this.received} bytes, in the middle of the file`);
      }
      const n = Math.min(into.length - filled, this.chunk.length - this.offset);
      into.set(this.chunk.subarray(this.offset, this.offset + n), filled);
      this.offset += n;
      filled += n;
    }
  }

  /** True when nothing follows what was read. */
  async atEnd(): Promise<boolean> {
    return this.offset < this.chunk.length ? false : !(await this.next());
  }

  private async next(): Promise<boolean> {
    const { done, value } = await this.reader.read();
    if (done) return false;
    this.chunk = value;
    this.offset = 0;
    this.received += value.length;
    this.onBytes?.(this.received);
    return true;
  }
}

/** Reads a whole safetensors stream into per-tensor arrays; the stream is consumed (or cancelled on error). */
export async function readSafetensorsStream(stream: ReadableStream<Uint8Array>, source: string, options: StreamOptions = {}): Promise<StreamedSafetensors> {
  const reader = stream.getReader();
  const bytes = new ChunkReader(reader, source, options.onBytes);
  try {
    const first8 = new Uint8Array(8);
    await bytes.fill(first8);
    const header = new Uint8Array(headerLength(source, first8, MAX_HEADER_BYTES + 8));
    await bytes.fill(header);
    const parsed = parseHeader(source, header);
    const data = new Map<string, TensorData>();
    for (const info of [...parsed.tensors.values()].sort((a, b) => a.begin - b.begin)) {
      const out = allocTyped(info.dtype, numElements(info.shape));
      await bytes.fill(new Uint8Array(out.buffer));
      data.set(info.name, { dtype: info.dtype, shape: info.shape, data: out });
    }
    if (!(await bytes.atEnd())) throw new SafetensorsError(`${source}: more bytes follow the ${8 + header.length + parsed.dataLength} the header accounts for`);
    const info = (name: string): TensorInfo => {
      const t = parsed.tensors.get(name);
      if (!t) throw new SafetensorsError(`${source}: no tensor named ${name}`);
      return t;
    };
    return {
      source,
      metadata: parsed.metadata,
      tensors: parsed.tensors,
      names: [...parsed.tensors.keys()],
      info,
      read(name) {
        info(name);
        const t = data.get(name);
        if (!t) throw new SafetensorsError(`${source}: tensor ${name} was already read (a streamed tensor is handed out once)`);
        data.delete(name);
        return t;
      },
    };
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}
