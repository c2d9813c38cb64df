/**
 * The safetensors header, checked from bytes alone (no files): 8-byte little-endian header length,
 * then a JSON header mapping tensor names to {dtype, shape, data_offsets} plus an optional
 * `__metadata__` string map; the raw little-endian tensor bytes follow. Shared by the file reader
 * (safetensors.ts) and the streaming one (safetensorsStream.ts).
 */
import { SafetensorsError } from '../errors.js';
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
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface ParsedHeader {
  readonly headerLength: number;
  /** Bytes of the data section (the tensors cover it exactly). */
  readonly dataLength: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/**
 * Validates a header: `headerBytes` is the JSON, `dataLength` the size of the data section (unknown
 * for a stream: then the tensors' extent is the data length, and the stream must end there).
 * Offsets must be in range, sized exactly shape x dtype, non-overlapping and cover the data.
 */
export function parseHeader(source: string, headerBytes: Uint8Array, dataLength?: number): ParsedHeader {
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
    if (begin > end || (dataLength !== undefined && end > dataLength)) {
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
  if (dataLength !== undefined && cursor !== dataLength) fail(`tensors cover ${cursor} bytes but the data section is ${dataLength} bytes`);
  return { headerLength: headerBytes.length, dataLength: cursor, metadata, tensors };
}

/**
 * The header's byte length from the first 8 bytes of a file of `size` bytes, refused when it
 * exceeds the file or MAX_HEADER_BYTES.
 */
export function headerLength(source: string, first8: Uint8Array, size: number): number {
  if (size < 8 || first8.length < 8) throw new SafetensorsError(`${source}: ${size} bytes is too short for a safetensors file`);
  const len = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const limit = Math.min(MAX_HEADER_BYTES, size - 8);
  if (len > BigInt(limit)) {
    throw new SafetensorsError(`${source}: ${notSafetensors(first8, limit === MAX_HEADER_BYTES ? `the ${MAX_HEADER_BYTES}-byte limit of a header` : `the whole file, ${size} bytes`)}`);
  }
  return Number(len);
}

/**
 * Why a file whose first 8 bytes are no header length (they say more than the file holds, or than any header) is not
 * safetensors, naming what it looks like instead: a zip (torch.save's .pt), a pickle, text.
 */
function notSafetensors(first: Uint8Array, past: string): string {
  const hex = [...first].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  let looksLike = '';
  if (first[0] === 0x50 && first[1] === 0x4b && first[2] === 0x03 && first[3] === 0x04) {
    looksLike = 'it is a zip archive, as torch.save writes a .pt checkpoint: load it as a .pt (rename it) or convert it with `imagereward convert`';
  } else if (first[0] === 0x80 && first[1]! >= 2 && first[1]! <= 5) {
    looksLike = 'it is a Python pickle (a legacy torch.save checkpoint?), not safetensors';
  } else if (first.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f))) {
    looksLike = `it is text (starts with ${JSON.stringify(new TextDecoder().decode(first))})`;
  }
  return `not a safetensors file (a safetensors file starts with the 8-byte length of its JSON header; `
    + `these first 8 bytes, ${hex}, give more than ${past})${looksLike ? `: ${looksLike}` : ''}`;
}

/** A fresh typed array of `n` elements of `dtype`. */
export function allocTyped(dtype: Dtype, n: number): TypedData {
  switch (dtype) {
    case 'F32': return new Float32Array(n);
    case 'I32': return new Int32Array(n);
    case 'I64': return new BigInt64Array(n);
    case 'F16':
    case 'BF16': return new Uint16Array(n);
  }
}
