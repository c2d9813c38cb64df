/**
 * Safetensors reader and writer (format: 8-byte little-endian header length, a JSON header mapping
 * tensor names to {dtype, shape, data_offsets} plus an optional `__metadata__` string map, then the
 * raw little-endian tensor bytes). The reader validates the whole header before handing out any
 * tensor, and reads each tensor straight from the file, so a 1.8 GB file is never held twice.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { SafetensorsError } from '../errors.js';
import { openForReading, writeAll, writeFileAtomic } from '../util/fs.js';
import { yieldToSignals } from '../util/interrupt.js';
import { DTYPE_SIZES, type Dtype, type TypedData } from './dtype.js';
import { allocTyped, headerLength, numElements, parseHeader, type TensorData, type TensorInfo } from './safetensorsHeader.js';

export { numElements, parseHeader, type ParsedHeader, type TensorData, type TensorInfo } from './safetensorsHeader.js';

/** Where the bytes come from: a file read tensor by tensor, or bytes already in memory. */
interface ByteSource {
  readonly size: number;
  read(into: Uint8Array, position: number): void;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const fd = openForReading(path, 'safetensors file');
  const stat = fstatSync(fd);
  return {
    size: stat.size,
    read(into, position) {
      let off = 0;
      while (off < into.length) {
        const n = readSync(fd, into, off, into.length - off, position + off);
        if (n === 0) throw new SafetensorsError(`${path}: unexpected end of file`);
        off += n;
      }
    },
    close() { closeSync(fd); },
  };
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(into, position) { into.set(bytes.subarray(position, position + into.length)); },
    close() {},
  };
}

/** An open safetensors file: validated header, tensors read on demand. Close it when done. */
export class SafetensorsReader {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private readonly bytes: ByteSource;
  private readonly dataStart: number;

  private constructor(source: string, bytes: ByteSource) {
    this.source = source;
    this.bytes = bytes;
    try {
      const lenBytes = new Uint8Array(8);
      if (bytes.size >= 8) bytes.read(lenBytes, 0);
      const header = new Uint8Array(headerLength(source, lenBytes, bytes.size));
      bytes.read(header, 8);
      this.dataStart = 8 + header.length;
      const parsed = parseHeader(source, header, bytes.size - this.dataStart);
      this.metadata = parsed.metadata;
      this.tensors = parsed.tensors;
    } catch (err) {
      bytes.close();
      throw err;
    }
  }

  static open(path: string): SafetensorsReader {
    return new SafetensorsReader(path, fileSource(path));
  }

  static fromBytes(bytes: Uint8Array, name = '<memory>'): SafetensorsReader {
    return new SafetensorsReader(name, memorySource(bytes));
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.source}: no tensor named ${name}`);
    return info;
  }

  /** Reads one tensor into a fresh typed array of its own dtype. */
  read(name: string): TensorData {
    const info = this.info(name);
    const out = allocTyped(info.dtype, numElements(info.shape));
    this.bytes.read(new Uint8Array(out.buffer), this.dataStart + info.begin);
    return { dtype: info.dtype, shape: info.shape, data: out };
  }

  close(): void {
    this.bytes.close();
  }
}

/** Convenience: reads every tensor of a file (small files and tests). */
export function readSafetensors(path: string): { metadata: Record<string, string>; tensors: Map<string, TensorData> } {
  const reader = SafetensorsReader.open(path);
  try {
    const tensors = new Map<string, TensorData>();
    for (const name of reader.names) tensors.set(name, reader.read(name));
    return { metadata: { ...reader.metadata }, tensors };
  } finally {
    reader.close();
  }
}

/** One tensor to write: its bytes may be produced lazily, so a writer can stream. */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: TypedData | (() => TypedData | Promise<TypedData>);
}

function headerFor(entries: readonly TensorToWrite[], metadata: Record<string, string> | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === '__metadata__' || seen.has(e.name)) throw new SafetensorsError(`cannot write tensor name ${e.name}: reserved or duplicated`);
    seen.add(e.name);
    const size = numElements(e.shape) * DTYPE_SIZES[e.dtype];
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  // Pad the JSON with spaces so the data section starts 8-byte aligned.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  return new TextEncoder().encode(json);
}

async function dataOf(e: TensorToWrite): Promise<Uint8Array> {
  const data = typeof e.data === 'function' ? await e.data() : e.data;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const expected = numElements(e.shape) * DTYPE_SIZES[e.dtype];
  if (bytes.length !== expected) {
    throw new SafetensorsError(`tensor ${e.name}: ${bytes.length} bytes of data but shape ${JSON.stringify(e.shape)} x ${e.dtype} needs ${expected}`);
  }
  return bytes;
}

/** Writes tensors in the given order, streaming each one; the file appears only when complete. */
export async function writeSafetensors(path: string, entries: readonly TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  const header = headerFor(entries, metadata);
  await writeFileAtomic(path, async (fd) => {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
    writeAll(fd, len);
    writeAll(fd, header);
    for (const e of entries) {
      writeAll(fd, await dataOf(e));
      await yieldToSignals(); // a 1.8 GB conversion stays interruptible tensor by tensor
    }
  });
}

/** Serializes small tensor sets to bytes in memory. */
export async function serializeSafetensors(entries: readonly TensorToWrite[], metadata?: Record<string, string>): Promise<Uint8Array> {
  const header = headerFor(entries, metadata);
  const parts: Uint8Array[] = [];
  for (const e of entries) parts.push(await dataOf(e));
  const total = 8 + header.length + parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let off = 8 + header.length;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

