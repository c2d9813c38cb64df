/**
 * Builds torch.save-style archives byte by byte for tests: a pickle writer that emits raw opcodes
 * (so tests can also write malicious programs), a zip writer (stored / deflate entries, data
 * descriptors, forced ZIP64 fields), and a helper that lays out a state_dict the way torch does.
 */
import { crc32, deflateRawSync } from 'node:zlib';

/** Emits pickle opcodes; every method returns `this` so programs read top to bottom. */
export class PickleWriter {
  private readonly parts: number[] = [];

  op(...bytes: number[]): this { this.parts.push(...bytes); return this; }
  proto(n: number): this { return this.op(0x80, n); }
  mark(): this { return this.op(0x28); }
  stop(): this { return this.op(0x2e); }
  none(): this { return this.op(0x4e); }
  bool(v: boolean): this { return this.op(v ? 0x88 : 0x89); }
  emptyTuple(): this { return this.op(0x29); }
  tuple(): this { return this.op(0x74); }
  emptyDict(): this { return this.op(0x7d); }
  setitem(): this { return this.op(0x73); }
  setitems(): this { return this.op(0x75); }
  reduce(): this { return this.op(0x52); }
  build(): this { return this.op(0x62); }
  binpersid(): this { return this.op(0x51); }
  put(i: number): this { return this.op(0x71, i); }
  get(i: number): this { return this.op(0x68, i); }
  memoize(): this { return this.op(0x94); }
  global(module: string, name: string): this { return this.op(0x63, ...ascii(`${module}\n${name}\n`)); }
  stackGlobal(): this { return this.op(0x93); }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a, ...le(n, 4));
  }

  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return b.length < 256 ? this.op(0x8c, b.length, ...b) : this.op(0x58, ...le(b.length, 4), ...b);
  }

  ints(xs: readonly number[]): this {
    this.mark();
    xs.forEach((x) => this.int(x));
    return this.tuple();
  }

  bytes(): Uint8Array { return Uint8Array.from(this.parts); }
}

function ascii(s: string): number[] { return [...s].map((c) => c.charCodeAt(0)); }

function le(n: number, width: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(width * 8, BigInt(n));
  for (let i = 0; i < width; i++) { out.push(Number(v & 0xffn)); v >>= 8n; }
  return out;
}

export interface ZipEntryInput {
  readonly name: string;
  readonly data: Uint8Array;
  readonly method?: 'stored' | 'deflate';
  /** Write sizes/CRC in a data descriptor after the data (bit 3), as PyTorch's writer does. */
  readonly descriptor?: boolean;
  /** An already-deflated payload (method deflate; `data` is ignored), for entries too big to hold inflated. */
  readonly deflated?: { readonly payload: Uint8Array; readonly size: number; readonly crc32: number };
}

export interface ZipOptions {
  /** Saturate the 32-bit size/offset fields and put the real values in ZIP64 extra fields. */
  readonly zip64?: boolean;
}

/** A zip archive of the entries, in order. */
export function buildZip(entries: readonly ZipEntryInput[], opts: ZipOptions = {}): Uint8Array {
  const body: Uint8Array[] = [];
  let bodyLength = 0;
  const push = (...parts: (number[] | Uint8Array)[]) => {
    for (const part of parts) { const b = Uint8Array.from(part); body.push(b); bodyLength += b.length; }
  };
  const central: number[] = [];
  const z64 = opts.zip64 === true;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const method = e.method === 'deflate' || e.deflated ? 8 : 0;
    const payload = e.deflated?.payload ?? (method === 8 ? deflateRawSync(e.data) : e.data);
    const crc = e.deflated?.crc32 ?? crc32(e.data) >>> 0;
    const size = e.deflated?.size ?? e.data.length;
    const flags = e.descriptor ? 0x8 : 0;
    const offset = bodyLength;
    const sizesExtra = z64 ? [...le(1, 2), ...le(16, 2), ...le(size, 8), ...le(payload.length, 8)] : [];
    const size32 = (n: number) => (z64 ? 0xffffffff : n);
    const inLocal = (n: number) => (e.descriptor && !z64 ? 0 : size32(n));
    push([...le(0x04034b50, 4), ...le(45, 2), ...le(flags, 2), ...le(method, 2), 0, 0, 0, 0,
      ...le(e.descriptor ? 0 : crc, 4), ...le(inLocal(payload.length), 4), ...le(inLocal(size), 4),
      ...le(name.length, 2), ...le(sizesExtra.length, 2), ...name, ...sizesExtra], payload);
    if (e.descriptor) {
      push([...le(0x08074b50, 4), ...le(crc, 4)]);
      push(z64 ? [...le(payload.length, 8), ...le(size, 8)] : [...le(payload.length, 4), ...le(size, 4)]);
    }
    const centralExtra = z64 ? [...le(1, 2), ...le(24, 2), ...le(size, 8), ...le(payload.length, 8), ...le(offset, 8)] : [];
    central.push(...le(0x02014b50, 4), ...le(45, 2), ...le(45, 2), ...le(flags, 2), ...le(method, 2), 0, 0, 0, 0,
      ...le(crc, 4), ...le(size32(payload.length), 4), ...le(size32(size), 4), ...le(name.length, 2),
      ...le(centralExtra.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(size32(offset), 4), ...name, ...centralExtra);
  }
  const cdOffset = bodyLength;
  push(central);
  if (z64) {
    const zip64At = bodyLength;
    push([...le(0x06064b50, 4), ...le(44, 8), ...le(45, 2), ...le(45, 2), ...le(0, 4), ...le(0, 4),
      ...le(entries.length, 8), ...le(entries.length, 8), ...le(central.length, 8), ...le(cdOffset, 8)]);
    push([...le(0x07064b50, 4), ...le(0, 4), ...le(zip64At, 8), ...le(1, 4)]);
  }
  push([...le(0x06054b50, 4), 0, 0, 0, 0, ...le(z64 ? 0xffff : entries.length, 2), ...le(z64 ? 0xffff : entries.length, 2),
    ...le(z64 ? 0xffffffff : central.length, 4), ...le(z64 ? 0xffffffff : cdOffset, 4), 0, 0]);
  return new Uint8Array(Buffer.concat(body));
}

/** One state_dict entry: a view (offset/size/stride in elements) into a storage record. */
export interface TensorSpec {
  readonly key: string;
  /** torch storage class name, e.g. FloatStorage, HalfStorage, LongStorage. */
  readonly storageClass: string;
  readonly storageKey: string;
  /** Storage element count written into the persistent id. */
  readonly numel: number;
  readonly shape: readonly number[];
  readonly stride?: readonly number[];
  readonly offset?: number;
}

function rowMajor(shape: readonly number[]): number[] {
  const out: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { out.unshift(s); s *= shape[d]!; }
  return out;
}

/** The pickle torch.save writes for a state_dict (OrderedDict of _rebuild_tensor_v2 calls). */
export function stateDictPickle(tensors: readonly TensorSpec[]): Uint8Array {
  const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) {
    p.str(t.key).global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', t.storageClass).str(t.storageKey).str('cpu').int(t.numel).tuple().binpersid();
    p.int(t.offset ?? 0).ints(t.shape).ints(t.stride ?? rowMajor(t.shape)).bool(false);
    p.global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  return p.setitems().stop().bytes();
}

/** A complete torch-style archive: `<prefix>/data.pkl`, `<prefix>/data/<key>` records, `<prefix>/version`. */
export function torchArchive(pickle: Uint8Array, storages: Readonly<Record<string, Uint8Array>>,
  opts: ZipOptions & { prefix?: string; method?: 'stored' | 'deflate'; extra?: readonly ZipEntryInput[] } = {}): Uint8Array {
  const prefix = opts.prefix ?? 'archive';
  const entries: ZipEntryInput[] = [{ name: `${prefix}/data.pkl`, data: pickle, descriptor: true, method: opts.method }];
  for (const [key, data] of Object.entries(storages)) entries.push({ name: `${prefix}/data/${key}`, data, descriptor: true, method: opts.method });
  entries.push({ name: `${prefix}/version`, data: new TextEncoder().encode('3\n'), descriptor: true }, ...(opts.extra ?? []));
  return buildZip(entries, opts);
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
