/**
 * Opens a torch.save checkpoint without executing it: detects the format, reads `data.pkl` with
 * the restricted unpickler, checks every storage it references against the archive, and reads
 * tensors one at a time (torch/serialization.py `_load` is the behaviour mirrored).
 */
import { closeSync, readSync } from 'node:fs';
import { FileError } from '../errors.js';
import { describeFsError, openForReading } from '../util/fs.js';
import type { TensorData } from '../weights/safetensors.js';
import { invalid } from './errors.js';
import { gatherStrided, viewExtent } from './strided.js';
import { readStateDictPickle, TORCH_DTYPE_SIZES, type TensorRef, type TorchDtype } from './torch-pickle.js';
import { ZipArchive } from './zip.js';

export interface TorchTensorInfo {
  readonly dtype: TorchDtype;
  readonly shape: readonly number[];
}

export interface TorchCheckpoint {
  readonly path: string;
  /** state_dict keys in pickle order. */
  readonly keys: readonly string[];
  info(key: string): TorchTensorInfo;
  /** One tensor, contiguous, little-endian. F64 is narrowed to F32; I16/I8/U8/BOOL are refused. */
  read(key: string): TensorData;
  close(): void;
}

/** torch.serialization MAGIC_NUMBER pickled with protocol 2 (PROTO 2, LONG1 10 bytes): the pre-1.6 format. */
const LEGACY_MAGIC = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const ZIP_MAGIC = Uint8Array.of(0x50, 0x4b, 0x03, 0x04);
/** ImageReward.pt's data.pkl is ~100 KB; refuse to inflate a "pickle" bomb. */
const MAX_PICKLE_BYTES = 64 * 2 ** 20;
/** Metadata records (byteorder: "little" / "big") are a few bytes. */
const MAX_RECORD_BYTES = 64;

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean {
  return prefix.every((b, i) => bytes[at + i] === b);
}

function readHead(path: string): Uint8Array {
  const fd = openForReading(path, 'checkpoint');
  try {
    const head = new Uint8Array(512);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } catch (err) {
    throw new FileError(path, `cannot read checkpoint ${path}: ${describeFsError(err)}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

/** Refuses anything but a torch >= 1.6 zip checkpoint, naming what the file looks like. */
function checkFormat(path: string): void {
  const head = readHead(path);
  if (startsWith(head, ZIP_MAGIC)) return;
  const legacy = 'Re-save it with torch >= 1.6 (torch.save(torch.load(f), out)) and convert that file.';
  if (startsWith(head, LEGACY_MAGIC)) throw invalid(`${path}: legacy (pre-1.6, non-zip) torch.save format is not supported. ${legacy}`);
  if (new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar') {
    throw invalid(`${path}: legacy tar torch.save format (torch < 0.4) is not supported. ${legacy}`);
  }
  throw invalid(`${path}: not a torch checkpoint (no zip signature${head.length === 0 ? '; the file is empty' : ''})`);
}

class ZipCheckpoint implements TorchCheckpoint {
  readonly keys: readonly string[];
  private readonly littleEndian: boolean;

  constructor(readonly path: string, private readonly zip: ZipArchive, private readonly prefix: string,
    private readonly tensors: ReadonlyMap<string, TensorRef>) {
    this.keys = [...tensors.keys()];
    const order = zip.entries.has(`${prefix}/byteorder`) ? this.smallRecord(`${prefix}/byteorder`, 'little or big') : 'little';
    if (order !== 'little' && order !== 'big') throw invalid(`${path}: unknown byteorder record ${JSON.stringify(order)}`);
    this.littleEndian = order === 'little';
    for (const [key, t] of tensors) this.checkStorage(key, t);
  }

  info(key: string): TorchTensorInfo {
    const t = this.tensor(key);
    return { dtype: t.dtype, shape: t.shape };
  }

  read(key: string): TensorData {
    const t = this.tensor(key);
    const es = TORCH_DTYPE_SIZES[t.dtype];
    // Only the elements the view reaches, [offset, extent), are read from the storage record.
    const view = { elementSize: es, offset: t.offset, shape: t.shape, stride: t.stride };
    const extent = viewExtent(view);
    const start = Math.min(t.offset, extent);
    const storage = this.zip.readRange(this.recordName(t), start * es, extent * es);
    const bytes = gatherStrided(storage, { ...view, offset: t.offset - start }, `${this.path}: ${key}`);
    if (!this.littleEndian) swapBytes(bytes, es);
    const [buf, at, n] = [bytes.buffer, bytes.byteOffset, bytes.length / es];
    switch (t.dtype) {
      case 'F32': return { dtype: 'F32', shape: t.shape, data: new Float32Array(buf, at, n) };
      case 'F16': return { dtype: 'F16', shape: t.shape, data: new Uint16Array(buf, at, n) };
      case 'BF16': return { dtype: 'BF16', shape: t.shape, data: new Uint16Array(buf, at, n) };
      case 'I64': return { dtype: 'I64', shape: t.shape, data: new BigInt64Array(buf, at, n) };
      case 'I32': return { dtype: 'I32', shape: t.shape, data: new Int32Array(buf, at, n) };
      // Rounds to nearest, as torch's .float() does.
      case 'F64': return { dtype: 'F32', shape: t.shape, data: Float32Array.from(new Float64Array(buf, at, n)) };
      default: throw invalid(`${this.path}: tensor ${key} has dtype ${t.dtype}, which has no safetensors counterpart here`);
    }
  }

  close(): void {
    this.zip.close();
  }

  /** A metadata record's text, refused unread when it is longer than any valid one (MAX_RECORD_BYTES). */
  private smallRecord(name: string, holds: string): string {
    const size = this.zip.entries.get(name)!.size;
    if (size > MAX_RECORD_BYTES) throw invalid(`${this.path}: record ${name} is ${size} bytes; it should hold ${holds} (at most ${MAX_RECORD_BYTES} bytes)`);
    return new TextDecoder().decode(this.zip.read(name));
  }

  private tensor(key: string): TensorRef {
    const t = this.tensors.get(key);
    if (!t) throw invalid(`${this.path}: the checkpoint has no tensor ${key}`);
    return t;
  }

  private recordName(t: TensorRef): string {
    return `${this.prefix}/data/${t.storage.key}`;
  }

  /** torch.serialization load_tensor: the record must exist and hold exactly numel x element size bytes. */
  private checkStorage(key: string, t: TensorRef): void {
    const entry = this.zip.entries.get(this.recordName(t));
    if (!entry) throw invalid(`${this.path}: tensor ${key} references storage ${t.storage.key}, which is not in the archive (${this.recordName(t)} missing)`);
    if (entry.size !== t.storage.byteLength) {
      throw invalid(`${this.path}: storage ${t.storage.key} holds ${entry.size} bytes but the pickle declares ${t.storage.numel} x ${t.storage.dtype} (${t.storage.byteLength} bytes)`);
    }
    const es = TORCH_DTYPE_SIZES[t.dtype];
    const extent = viewExtent({ elementSize: es, offset: t.offset, shape: t.shape, stride: t.stride });
    if (extent * es > entry.size) {
      throw invalid(`${this.path}: tensor ${key} (offset ${t.offset}, size ${JSON.stringify(t.shape)}, stride ${JSON.stringify(t.stride)}) reaches past the end of storage ${t.storage.key}`);
    }
  }
}

function swapBytes(bytes: Uint8Array, es: number): void {
  for (let i = 0; i < bytes.length; i += es) bytes.subarray(i, i + es).reverse();
}

/** The single `<archive>/data.pkl` record; its folder is the archive prefix (PyTorchStreamReader). */
function findPickle(zip: ZipArchive): string {
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length === 1) return pickles[0]!.slice(0, -'/data.pkl'.length);
  if (pickles.length === 0) throw invalid(`${zip.path}: zip archive has no <name>/data.pkl record: not a torch.save checkpoint (a TorchScript archive?)`);
  throw invalid(`${zip.path}: zip archive has several data.pkl records (${pickles.join(', ')})`);
}

export function openTorchCheckpoint(path: string): TorchCheckpoint {
  checkFormat(path);
  const zip = ZipArchive.open(path);
  try {
    const prefix = findPickle(zip);
    const pickleName = `${prefix}/data.pkl`;
    const pickleSize = zip.entries.get(pickleName)!.size;
    if (pickleSize > MAX_PICKLE_BYTES) throw invalid(`${path}: ${pickleName} is ${pickleSize} bytes; a state_dict pickle is far smaller (limit ${MAX_PICKLE_BYTES})`);
    const tensors = readStateDictPickle(zip.read(pickleName), `${path}: ${pickleName}`);
    return new ZipCheckpoint(path, zip, prefix, tensors);
  } catch (err) {
    zip.close();
    throw err;
  }
}
