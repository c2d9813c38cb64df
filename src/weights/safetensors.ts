/**
 * Safetensors reader and writer (format: 8-byte little-endian header length, a JSON header mapping
 * tensor names to {dtype, shape, data_offsets} plus an optional `__metadata__` string map, then the
 * raw little-endian tensor bytes). The reader validates the whole header before handing out any
 * tensor, and reads each tensor straight from the file, so a 1.8 GB file is never held twice.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { SafetensorsError } from '../errors.js';
import { openForReading, writeAll, writeFileAtomic } from '../util/fs.js';
import { DTYPE_SIZES, isDtype, type Dtype, type TypedData } from './dtype.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Byte offsets relative to the start of the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface TensorData {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: TypedData;
}

/** Refuse headers above this size: real headers are tens of kilobytes. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface ParsedHeader {
  readonly headerLength: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/**
 * Validates a header: `headerBytes` is the JSON, `dataLength` the size of the data section.
 * Offsets must be in range, sized exactly shape x dtype, non-overlapping and cover the data.
 */
export function parseHeader(source: string, headerBytes: Uint8Array, dataLength: number): ParsedHeader {
  const fail = (msg: string): never => { throw new SafetensorsError(`${source}: ${msg}`); };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof entry !== 'object' || entry === null) fail(`tensor ${name}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry!;
    if (!isDtype(dtype)) fail(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      fail(`tensor ${name}: data_offsets [${begin}, ${end}] out of range (data section is ${dataLength} bytes)`);
    }
    const expected = numElements(shape as number[]) * DTYPE_SIZES[dtype as Dtype];
    if (end - begin !== expected) {
      fail(`tensor ${name}: ${end - begin} bytes but shape ${JSON.stringify(shape)} x ${dtype} needs ${expected}`);
    }
    tensors.set(name, { name, dtype: dtype as Dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of sorted) {
    if (t.begin < cursor) fail(`tensor ${t.name}: data_offsets [${t.begin}, ${t.end}] overlap the previous tensor`);
    if (t.begin > cursor) fail(`tensor ${t.name}: gap of ${t.begin - cursor} bytes before it (offsets must cover the data)`);
    cursor = t.end;
  }
  if (cursor !== dataLength) fail(`tensors cover ${cursor} bytes but the data section is ${dataLength} bytes`);
  return { headerLength: headerBytes.length, metadata, tensors };
}

function allocTyped(dtype: Dtype, n: number): TypedData {
  switch (dtype) {
    case 'F32': return new Float32Array(n);
    case 'I32': return new Int32Array(n);
    case 'I64': return new BigInt64Array(n);
    case 'F16':
    case 'BF16': return new Uint16Array(n);
  }
}

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
      if (bytes.size < 8) throw new SafetensorsError(`${source}: ${bytes.size} bytes is too short for a safetensors file`);
      const lenBytes = new Uint8Array(8);
      bytes.read(lenBytes, 0);
      const len = new DataView(lenBytes.buffer).getBigUint64(0, true);
      if (len > BigInt(Math.min(MAX_HEADER_BYTES, bytes.size - 8))) {
        throw new SafetensorsError(`${source}: header length ${len} exceeds the file (${bytes.size} bytes) or the ${MAX_HEADER_BYTES}-byte limit`);
      }
      const header = new Uint8Array(Number(len));
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
    for (const e of entries) writeAll(fd, await dataOf(e));
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

