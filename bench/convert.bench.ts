/**
 * Converter benchmark: generates (in a temp dir, deleted afterwards) a torch.save-shaped archive with
 * the full ImageReward-v1.0 key set (checkpointKeys(IMAGEREWARD_V1), ~1.8 GB of random float32),
 * then times `convertCheckpoint` against a plain streamed copy of the same file, each in a fresh
 * child process so peak RSS (process.resourceUsage().maxRSS) belongs to that job alone.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, createReadStream, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { convertCheckpoint } from '../src/convert/index.js';
import { IMAGEREWARD_V1 } from '../src/model/config.js';
import { checkpointKeys } from '../src/model/checkpoint.js';
import { writeAll } from '../src/util/fs.js';
import { stateDictPickle, type TensorSpec } from '../test/helpers/torchzip.js';
import { machineLine, median } from './machine.js';

const RUNS = 3;
const MiB = 2 ** 20;

/** Little-endian bytes of an unsigned integer. */
function le(n: number, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(n);
  for (let i = 0; i < width; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Streams a stored-entry zip (with data descriptors, as PyTorch writes them) to `path`. */
class StreamingZip {
  private readonly fd: number;
  private offset = 0;
  private readonly central: Uint8Array[] = [];

  constructor(path: string) { this.fd = openSync(path, 'w'); }

  private write(bytes: Uint8Array): void { writeAll(this.fd, bytes); this.offset += bytes.length; }

  /** Writes one entry whose bytes come from `chunks` (called until it returns null). */
  entry(name: string, size: number, chunks: () => Uint8Array | null): void {
    const nameBytes = new TextEncoder().encode(name);
    const start = this.offset;
    this.write(concat(le(0x04034b50, 4), le(20, 2), le(0x8, 2), le(0, 2), le(0, 4), le(0, 4), le(0, 4), le(0, 4),
      le(nameBytes.length, 2), le(0, 2), nameBytes));
    let crc = 0;
    let written = 0;
    for (let c = chunks(); c; c = chunks()) { crc = crc32(c, crc); this.write(c); written += c.length; }
    if (written !== size) throw new Error(`entry ${name}: wrote ${written} of ${size} bytes`);
    this.write(concat(le(0x08074b50, 4), le(crc >>> 0, 4), le(size, 4), le(size, 4)));
    this.central.push(concat(le(0x02014b50, 4), le(20, 2), le(20, 2), le(0x8, 2), le(0, 2), le(0, 4), le(crc >>> 0, 4),
      le(size, 4), le(size, 4), le(nameBytes.length, 2), le(0, 2), le(0, 2), le(0, 2), le(0, 2), le(0, 4), le(start, 4), nameBytes));
  }

  close(): void {
    const cdOffset = this.offset;
    const cd = concat(...this.central);
    this.write(cd);
    this.write(concat(le(0x06054b50, 4), le(0, 4), le(this.central.length, 2), le(this.central.length, 2),
      le(cd.length, 4), le(cdOffset, 4), le(0, 2)));
    closeSync(this.fd);
  }
}

/** The full-size checkpoint: every ImageReward-v1.0 key, random float32 (position_ids: 0..511). */
function generate(path: string): number {
  const specs = checkpointKeys(IMAGEREWARD_V1);
  const tensors: TensorSpec[] = specs.map((s, i) => ({
    key: s.key, storageClass: s.integer ? 'LongStorage' : 'FloatStorage', storageKey: String(i),
    numel: s.shape.reduce((a, b) => a * b, 1), shape: s.shape,
  }));
  const zip = new StreamingZip(path);
  const pickle = stateDictPickle(tensors);
  zip.entry('archive/data.pkl', pickle.length, oneChunk(pickle));
  const random = randomFillSync(new Uint8Array(16 * MiB));
  tensors.forEach((t, i) => {
    const size = t.numel * (specs[i]!.integer ? 8 : 4);
    if (specs[i]!.integer) {
      zip.entry(`archive/data/${t.storageKey}`, size, oneChunk(new Uint8Array(BigInt64Array.from({ length: t.numel }, (_, j) => BigInt(j)).buffer)));
      return;
    }
    let left = size;
    zip.entry(`archive/data/${t.storageKey}`, size, () => {
      if (left === 0) return null;
      const n = Math.min(left, random.length);
      left -= n;
      randomFillSync(random, 0, 4096); // a little fresh randomness per chunk
      return random.subarray(0, n);
    });
  });
  zip.entry('archive/version', 2, oneChunk(new TextEncoder().encode('3\n')));
  zip.close();
  return tensors.length;
}

function oneChunk(bytes: Uint8Array): () => Uint8Array | null {
  let done = false;
  return () => { if (done) return null; done = true; return bytes; };
}

/** copy: a streamed read+write; copy-fsync: the same plus fsync, as the converter's atomic write does. */
type Mode = 'convert' | 'copy' | 'copy-fsync';

interface ChildResult { seconds: number; maxRssMiB: number; baseRssMiB: number }

/** Runs one job in a fresh process and returns its timing and memory. */
function child(mode: Mode, input: string, output: string): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, input, output], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

async function runChild(mode: string, input: string, output: string): Promise<void> {
  const baseRssMiB = process.memoryUsage().rss / MiB;
  const t0 = performance.now();
  if (mode === 'convert') await convertCheckpoint(input, output);
  else await pipeline(createReadStream(input), createWriteStream(output));
  if (mode === 'copy-fsync') { const fd = openSync(output, 'r+'); fsyncSync(fd); closeSync(fd); }
  const seconds = (performance.now() - t0) / 1000;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ seconds, maxRssMiB, baseRssMiB }));
}

async function mainBench(): Promise<void> {
  console.log(machineLine());
  console.log('note: the machine is shared with other engineers; timings are noisy');
  const dir = mkdtempSync(join(tmpdir(), 'ir-convert-bench-'));
  try {
    const input = join(dir, 'ImageReward-shaped.pt');
    const g0 = performance.now();
    const count = generate(input);
    const size = statSync(input).size;
    console.log(`generated ${count} tensors, ${(size / 1e9).toFixed(3)} GB in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
    const convert: ChildResult[] = [];
    const copy: ChildResult[] = [];
    const copySynced: ChildResult[] = [];
    for (let i = 0; i < RUNS; i++) {
      copy.push(child('copy', input, join(dir, 'copy.bin')));
      rmSync(join(dir, 'copy.bin'));
      copySynced.push(child('copy-fsync', input, join(dir, 'copy.bin')));
      rmSync(join(dir, 'copy.bin'));
      convert.push(child('convert', input, join(dir, 'out.safetensors')));
      rmSync(join(dir, 'out.safetensors'));
    }
    const med = (xs: ChildResult[], f: (r: ChildResult) => number) => median(xs.map(f));
    const line = (name: string, xs: ChildResult[]) => {
      const s = med(xs, (r) => r.seconds);
      console.log(`${name.padEnd(10)} median ${s.toFixed(2)} s (${(size / MiB / s).toFixed(0)} MiB/s) over ${RUNS} runs [${xs.map((r) => r.seconds.toFixed(2)).join(', ')}], `
        + `peak RSS ${med(xs, (r) => r.maxRssMiB).toFixed(0)} MiB (process start ${med(xs, (r) => r.baseRssMiB).toFixed(0)} MiB, extra ${med(xs, (r) => r.maxRssMiB - r.baseRssMiB).toFixed(0)} MiB)`);
      return s;
    };
    const tCopy = line('copy', copy);
    const tCopySynced = line('copy+fsync', copySynced);
    const tConvert = line('convert', convert);
    console.log(`ratio convert / plain copy: ${(tConvert / tCopy).toFixed(2)}x; convert / copy+fsync: ${(tConvert / tCopySynced).toFixed(2)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await runChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await mainBench();
