/**
 * A read-only zip reader for torch.save archives (PyTorch's PyTorchStreamWriter, built on miniz).
 * It trusts nothing: the central directory (classic or ZIP64) is parsed with bounds checks, every
 * local header is compared with its central entry, data ranges may not overlap or run into the
 * central directory, data descriptors must agree, and every entry read is CRC-checked. Entries are
 * read one at a time straight from the file, and only the range a caller asks for is kept, so neither
 * the archive nor a whole storage is held in memory for a tensor that views part of it.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import pako from 'pako';
import { openForReading } from '../util/fs.js';
import { invalid } from './errors.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EXTRA_ID = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const FLAG_ENCRYPTED = 0x1;
const FLAG_DESCRIPTOR = 0x8;
const FLAG_STRONG_ENCRYPTION = 0x40;

/** Chunk of file / inflate output streamed through at a time. */
const STREAM_CHUNK = 1 << 20;
/** Inflation work allowed per archive, in multiples of its entries' declared sizes (each storage read about once). */
const MAX_INFLATE_ROUNDS = 4;
/** Thrown out of pako's onData once the wanted bytes are out. */
const STOP_INFLATE = Symbol('stop inflating');

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

export interface ZipEntry {
  readonly name: string;
  readonly method: typeof METHOD_STORED | typeof METHOD_DEFLATE;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  /** Absolute file offset of the entry's (compressed) bytes, after the local header. */
  readonly dataOffset: number;
}

/** Little-endian field reader over a small buffer, failing with the archive's name on overrun. */
class Fields {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, private readonly fail: (msg: string) => never) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(at: number): number { this.need(at, 2); return this.view.getUint16(at, true); }
  u32(at: number): number { this.need(at, 4); return this.view.getUint32(at, true); }
  u64(at: number): number {
    this.need(at, 8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit field ${v} at ${at} is too large`);
    return Number(v);
  }

  private need(at: number, n: number): void {
    if (at < 0 || at + n > this.bytes.length) this.fail('record is truncated');
  }
}

interface CentralRecord {
  readonly entries: ZipEntry[];
  readonly cdOffset: number;
}

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** Entries whose CRC-32 has been checked (each is, on its first read). */
  private readonly verified = new Set<string>();
  /** Sum of the entries' declared (inflated) sizes. */
  private readonly declaredBytes: number;
  private inflateBudget: number;

  private constructor(readonly path: string, private readonly fd: number, readonly size: number) {
    try {
      this.entries = this.parse();
      this.declaredBytes = [...this.entries.values()].reduce((n, e) => n + e.size, 0);
      this.inflateBudget = MAX_INFLATE_ROUNDS * this.declaredBytes;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  static open(path: string): ZipArchive {
    const fd = openForReading(path, 'checkpoint');
    return new ZipArchive(path, fd, fstatSync(fd).size);
  }

  /** The whole (inflated) content of an entry, CRC-checked. A fresh buffer, 8-byte aligned. */
  read(name: string): Uint8Array {
    const entry = this.entry(name);
    return this.readRange(name, 0, entry.size);
  }

  /**
   * Bytes [start, end) of an entry's (inflated) content, in a fresh 8-byte-aligned buffer: only they
   * are kept, whatever the entry's size. The first read of an entry streams through all of it to check
   * its CRC-32 (stored: read from the file in chunks; deflated: inflated by pako in chunks, or whole by
   * Node's zlib when the whole entry is wanted), later reads of a stored entry read just the range, and
   * of a deflated one inflate up to `end`. Inflation work is
   * budgeted (MAX_INFLATE_ROUNDS x the archive's declared sizes), so many small views into one big
   * deflated storage cannot make it quadratic.
   */
  readRange(name: string, start: number, end: number): Uint8Array {
    const entry = this.entry(name);
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= entry.size)) {
      this.fail(`range [${start}, ${end}) is outside entry ${name} (${entry.size} bytes)`);
    }
    const verify = !this.verified.has(name);
    const out = entry.method === METHOD_STORED ? this.readStored(entry, start, end, verify) : this.inflateRange(entry, start, end, verify);
    this.verified.add(name);
    return out;
  }

  private entry(name: string): ZipEntry {
    const entry = this.entries.get(name);
    if (!entry) throw invalid(`${this.path}: zip archive has no entry ${name}`);
    return entry;
  }

  private readStored(e: ZipEntry, start: number, end: number, verify: boolean): Uint8Array {
    if (!verify || (start === 0 && end === e.size)) {
      const out = this.readAt(e.dataOffset + start, end - start);
      if (verify) this.checkCrc(e, crc32(out) >>> 0);
      return out;
    }
    const out = alignedBuffer(end - start);
    const chunk = new Uint8Array(STREAM_CHUNK);
    let crc = 0;
    for (let at = 0; at < e.size; at += STREAM_CHUNK) {
      const n = Math.min(STREAM_CHUNK, e.size - at);
      const part = this.readInto(chunk.subarray(0, n), e.dataOffset + at);
      crc = crc32(part, crc);
      copyOverlap(part, at, out, start);
    }
    this.checkCrc(e, crc >>> 0);
    return out;
  }

  private inflateRange(e: ZipEntry, start: number, end: number, verify: boolean): Uint8Array {
    const stopAt = verify ? e.size : end;
    this.inflateBudget -= stopAt;
    if (this.inflateBudget < 0) {
      this.fail(`reading entry ${e.name} would inflate more than ${MAX_INFLATE_ROUNDS} times the archive's declared ${this.declaredBytes} bytes (many tensors viewing one deflated storage); re-save it with torch.save, which stores records uncompressed`);
    }
    if (start === 0 && end === e.size) return this.inflateWhole(e, verify);
    const out = alignedBuffer(end - start);
    const inflater = new pako.Inflate({ raw: true, chunkSize: STREAM_CHUNK });
    let produced = 0;
    let crc = 0;
    inflater.onData = (chunk: Uint8Array) => {
      if (produced + chunk.length > e.size) this.fail(`entry ${e.name} inflates to more than the ${e.size} bytes the directory says`);
      if (verify) crc = crc32(chunk, crc);
      copyOverlap(chunk, produced, out, start);
      produced += chunk.length;
      if (produced >= stopAt) throw STOP_INFLATE;
    };
    const input = new Uint8Array(STREAM_CHUNK);
    try {
      for (let at = 0; at < e.compressedSize && produced < stopAt; at += STREAM_CHUNK) {
        const n = Math.min(STREAM_CHUNK, e.compressedSize - at);
        const ok = inflater.push(this.readInto(input.subarray(0, n), e.dataOffset + at), at + n === e.compressedSize);
        if (!ok && inflater.err) this.fail(`entry ${e.name} is not a valid deflate stream (${inflater.msg})`);
      }
    } catch (err) {
      if (err !== STOP_INFLATE) throw err;
    }
    if (produced < stopAt) this.fail(`entry ${e.name} inflates to ${produced} bytes but the directory says ${e.size}`);
    if (verify) this.checkCrc(e, crc >>> 0);
    return out;
  }

  /** The whole entry by Node's zlib (8x pako's speed), when all of it is wanted anyway. */
  private inflateWhole(e: ZipEntry, verify: boolean): Uint8Array {
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(this.readAt(e.dataOffset, e.compressedSize), { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      throw invalid(`${this.path}: entry ${e.name} does not inflate to its declared ${e.size} bytes (${(err as Error).message})`, { cause: err });
    }
    if (inflated.length !== e.size) this.fail(`entry ${e.name} inflates to ${inflated.length} bytes but the directory says ${e.size}`);
    if (verify) this.checkCrc(e, crc32(inflated) >>> 0);
    if (inflated.byteOffset % 8 === 0) return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.length);
    const out = alignedBuffer(inflated.length);
    out.set(inflated);
    return out;
  }

  private checkCrc(e: ZipEntry, crc: number): void {
    if (crc !== e.crc32) this.fail(`entry ${e.name} is corrupt (CRC-32 ${hex(crc)}, the directory says ${hex(e.crc32)})`);
  }

  close(): void {
    closeSync(this.fd);
  }

  private fail(msg: string): never {
    throw invalid(`${this.path}: ${msg}`);
  }

  private readAt(position: number, length: number): Uint8Array {
    return this.readInto(alignedBuffer(length), position);
  }

  /** Fills `out` from the file at `position`; returns it. */
  private readInto(out: Uint8Array, position: number): Uint8Array {
    if (position + out.length > this.size) this.fail(`read of ${out.length} bytes at ${position} runs past the end of the file (${this.size} bytes)`);
    let off = 0;
    while (off < out.length) {
      const n = readSync(this.fd, out, off, Math.min(out.length - off, 1 << 30), position + off);
      if (n === 0) this.fail(`unexpected end of file at ${position + off}`);
      off += n;
    }
    return out;
  }

  private fields(position: number, length: number, what: string): Fields {
    const bytes = this.readAt(position, Math.min(length, this.size - position));
    return new Fields(bytes, (msg) => this.fail(`${what}: ${msg}`));
  }

  private parse(): Map<string, ZipEntry> {
    const { entries, cdOffset } = this.readCentralDirectory();
    const byName = new Map<string, ZipEntry>();
    for (const e of entries) {
      if (byName.has(e.name)) this.fail(`duplicate entry name ${e.name}`);
      byName.set(e.name, e);
    }
    // Data ranges (local header .. end of data descriptor) must be disjoint and precede the directory.
    const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    sorted.forEach((e, i) => {
      const end = this.checkDescriptor(e, cdOffset);
      const next = sorted[i + 1]?.localHeaderOffset ?? cdOffset;
      if (end > next) this.fail(`entry ${e.name}: its ${e.compressedSize} bytes of data overlap the next entry or the central directory (the size is wrong or the file is damaged)`);
    });
    return byName;
  }

  private readCentralDirectory(): CentralRecord {
    if (this.size < EOCD_SIZE) this.fail(`${this.size} bytes is too short for a zip archive (truncated?)`);
    const tailLength = Math.min(this.size, EOCD_SIZE + U16_MAX);
    const tailStart = this.size - tailLength;
    const tail = this.fields(tailStart, tailLength, 'end of central directory');
    let eocd = -1;
    for (let at = tailLength - EOCD_SIZE; at >= 0; at--) {
      // The record must end exactly at the end of the file (comment included).
      if (tail.u32(at) === SIG_EOCD && at + EOCD_SIZE + tail.u16(at + 20) === tailLength) { eocd = at; break; }
    }
    if (eocd < 0) this.fail('no end-of-central-directory record: not a zip archive, or the file is truncated');
    const diskNumber = tail.u16(eocd + 4);
    const cdDisk = tail.u16(eocd + 6);
    let count = tail.u16(eocd + 10);
    let cdSize = tail.u32(eocd + 12);
    let cdOffset = tail.u32(eocd + 16);
    let cdLimit = tailStart + eocd;
    if (diskNumber !== 0 || cdDisk !== 0) this.fail('multi-disk zip archives are not supported');

    const locatorAt = eocd - ZIP64_LOCATOR_SIZE;
    if (locatorAt >= 0 && tail.u32(locatorAt) === SIG_ZIP64_LOCATOR) {
      const zip64At = tail.u64(locatorAt + 8);
      if (zip64At + 56 > cdLimit) this.fail('ZIP64 end-of-central-directory offset is out of range');
      const z = this.fields(zip64At, 56, 'ZIP64 end of central directory');
      if (z.u32(0) !== SIG_ZIP64_EOCD) this.fail('ZIP64 locator does not point at a ZIP64 end-of-central-directory record');
      const z64 = { count: z.u64(32), cdSize: z.u64(40), cdOffset: z.u64(48) };
      // Classic fields are either saturated or must agree with the ZIP64 record.
      if ((count !== U16_MAX && count !== z64.count) || (cdSize !== U32_MAX && cdSize !== z64.cdSize)
        || (cdOffset !== U32_MAX && cdOffset !== z64.cdOffset)) {
        this.fail('the classic and ZIP64 end-of-central-directory records disagree');
      }
      ({ count, cdSize, cdOffset } = z64);
      cdLimit = zip64At;
    } else if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      this.fail('end-of-central-directory fields are saturated but there is no ZIP64 record');
    }
    if (cdOffset + cdSize > cdLimit) this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at ${cdLimit} (truncated or damaged)`);

    const cd = this.fields(cdOffset, cdSize, 'central directory');
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (cd.u32(at) !== SIG_CENTRAL) this.fail(`central directory entry ${i} has a bad signature`);
      const { entry, length } = this.centralEntry(cd, at, cdOffset);
      entries.push(entry);
      at += length;
    }
    if (at !== cdSize) this.fail(`central directory holds ${at} bytes of ${count} entries but is declared as ${cdSize} bytes`);
    return { entries, cdOffset };
  }

  private centralEntry(cd: Fields, at: number, cdOffset: number): { entry: ZipEntry; length: number } {
    const flags = cd.u16(at + 8);
    const method = cd.u16(at + 10);
    const crc = cd.u32(at + 16);
    let compressedSize = cd.u32(at + 20);
    let size = cd.u32(at + 24);
    const nameLength = cd.u16(at + 28);
    const extraLength = cd.u16(at + 30);
    const commentLength = cd.u16(at + 32);
    let localHeaderOffset = cd.u32(at + 42);
    const nameBytes = cd.bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength);
    if (nameBytes.length !== nameLength) this.fail('central directory is truncated');
    const name = this.decodeName(nameBytes);
    const extra = cd.bytes.subarray(at + CENTRAL_SIZE + nameLength, at + CENTRAL_SIZE + nameLength + extraLength);
    const z64 = this.zip64Extra(extra, name, { size: size === U32_MAX, compressedSize: compressedSize === U32_MAX, offset: localHeaderOffset === U32_MAX });
    size = z64.size ?? size;
    compressedSize = z64.compressedSize ?? compressedSize;
    localHeaderOffset = z64.offset ?? localHeaderOffset;

    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) this.fail(`entry ${name} is encrypted`);
    if (method !== METHOD_STORED && method !== METHOD_DEFLATE) this.fail(`entry ${name} uses compression method ${method} (only stored and deflate are supported)`);
    if (method === METHOD_STORED && compressedSize !== size) this.fail(`entry ${name} is stored but its sizes differ (${compressedSize} vs ${size})`);
    if (localHeaderOffset + LOCAL_SIZE > cdOffset) this.fail(`entry ${name}: local header offset ${localHeaderOffset} is out of range`);

    const dataOffset = this.checkLocalHeader({ name, nameBytes, flags, method, crc, compressedSize, size, localHeaderOffset });
    const entry: ZipEntry = { name, method, crc32: crc, compressedSize, size, localHeaderOffset, dataOffset };
    return { entry, length: CENTRAL_SIZE + nameLength + extraLength + commentLength };
  }

  /** Validates the local header against the central entry; returns where the data starts. */
  private checkLocalHeader(c: { name: string; nameBytes: Uint8Array; flags: number; method: number; crc: number;
    compressedSize: number; size: number; localHeaderOffset: number }): number {
    const what = `local header of ${c.name}`;
    const head = this.fields(c.localHeaderOffset, LOCAL_SIZE, what);
    if (head.u32(0) !== SIG_LOCAL) this.fail(`${what} at ${c.localHeaderOffset} has a bad signature`);
    const flags = head.u16(6);
    const nameLength = head.u16(26);
    const extraLength = head.u16(28);
    const rest = this.fields(c.localHeaderOffset + LOCAL_SIZE, nameLength + extraLength, what);
    const nameBytes = rest.bytes.subarray(0, nameLength);
    if (nameBytes.length !== nameLength || Buffer.compare(nameBytes, c.nameBytes) !== 0) this.fail(`${what}: name does not match the central directory`);
    if (head.u16(8) !== c.method) this.fail(`${what}: compression method ${head.u16(8)} differs from the central directory (${c.method})`);
    if ((flags & FLAG_DESCRIPTOR) !== (c.flags & FLAG_DESCRIPTOR)) this.fail(`${what}: data-descriptor flag differs from the central directory`);
    const extra = rest.bytes.subarray(nameLength, nameLength + extraLength);
    let compressedSize = head.u32(18);
    let size = head.u32(22);
    const z64 = this.zip64Extra(extra, c.name, { size: size === U32_MAX, compressedSize: compressedSize === U32_MAX, offset: false });
    size = z64.size ?? size;
    compressedSize = z64.compressedSize ?? compressedSize;
    const crc = head.u32(14);
    // With a data descriptor the local fields may be zero; anything else must match exactly.
    const deferred = (flags & FLAG_DESCRIPTOR) !== 0;
    const agrees = (local: number, central: number) => local === central || (deferred && local === 0);
    if (!agrees(crc, c.crc)) this.fail(`${what}: CRC-32 ${hex(crc)} differs from the central directory (${hex(c.crc)})`);
    if (!agrees(compressedSize, c.compressedSize) || !agrees(size, c.size)) {
      this.fail(`${what}: sizes ${compressedSize}/${size} differ from the central directory (${c.compressedSize}/${c.size})`);
    }
    return c.localHeaderOffset + LOCAL_SIZE + nameLength + extraLength;
  }

  /** Checks the data descriptor after an entry's data, if it has one; returns the entry's end. */
  private checkDescriptor(e: ZipEntry, cdOffset: number): number {
    const dataEnd = e.dataOffset + e.compressedSize;
    if (dataEnd > cdOffset) {
      this.fail(`entry ${e.name}: ${e.compressedSize} bytes of data at ${e.dataOffset} run into the central directory at ${cdOffset} (the size is wrong or the file is truncated)`);
    }
    const head = this.fields(e.localHeaderOffset + 6, 2, `local header of ${e.name}`);
    if ((head.u16(0) & FLAG_DESCRIPTOR) === 0) return dataEnd;
    const d = this.fields(dataEnd, Math.min(24, cdOffset - dataEnd), `data descriptor of ${e.name}`);
    const start = d.bytes.length >= 4 && d.u32(0) === SIG_DESCRIPTOR ? 4 : 0;
    if (d.bytes.length >= start + 12 && d.u32(start) === e.crc32 && d.u32(start + 4) === e.compressedSize && d.u32(start + 8) === e.size) {
      return dataEnd + start + 12;
    }
    if (d.bytes.length >= start + 20 && d.u32(start) === e.crc32 && d.u64(start + 4) === e.compressedSize && d.u64(start + 12) === e.size) {
      return dataEnd + start + 20;
    }
    return this.fail(`entry ${e.name}: no matching data descriptor after its ${e.compressedSize} bytes of data (the size is wrong or the file is damaged)`);
  }

  /** Reads the ZIP64 extra field: the saturated fields, in the spec's fixed order. */
  private zip64Extra(extra: Uint8Array, name: string, wanted: { size: boolean; compressedSize: boolean; offset: boolean }):
  { size?: number; compressedSize?: number; offset?: number } {
    if (!wanted.size && !wanted.compressedSize && !wanted.offset) return {};
    const f = new Fields(extra, (msg) => this.fail(`entry ${name}: extra field: ${msg}`));
    for (let at = 0; at + 4 <= extra.length; at += 4 + f.u16(at + 2)) {
      if (f.u16(at) !== ZIP64_EXTRA_ID) continue;
      let p = at + 4;
      const take = (): number => { const v = f.u64(p); p += 8; return v; };
      return {
        ...(wanted.size ? { size: take() } : {}),
        ...(wanted.compressedSize ? { compressedSize: take() } : {}),
        ...(wanted.offset ? { offset: take() } : {}),
      };
    }
    return this.fail(`entry ${name} has saturated 32-bit fields but no ZIP64 extra field`);
  }

  private decodeName(bytes: Uint8Array): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return this.fail('an entry name is not valid UTF-8');
    }
  }
}

/** Not pooled (byteOffset 0, so typed views stay aligned) and not zero-filled: callers fill every byte. */
function alignedBuffer(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

/** Copies the part of `chunk` (content bytes from `chunkAt`) that falls in `out` (content bytes from `outAt`). */
function copyOverlap(chunk: Uint8Array, chunkAt: number, out: Uint8Array, outAt: number): void {
  const from = Math.max(chunkAt, outAt);
  const to = Math.min(chunkAt + chunk.length, outAt + out.length);
  if (from < to) out.set(chunk.subarray(from - chunkAt, to - chunkAt), from - outAt);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
