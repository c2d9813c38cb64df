/**
 * The converted-weights cache is verified, not trusted (issue 14 items 11 and 12): a patched or cut
 * cached file is detected and converted again, killed conversions leave nothing that is used, and
 * the lock's heartbeat keeps going through the (synchronous) conversion loop.
 */
import { expect } from 'chai';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConverted, convertAndRecord, recordPathFor } from '../src/api/convertedCache.js';
import { resolveModelSource } from '../src/api/modelSource.js';
import { withFileLock } from '../src/hub/lock.js';
import { sha256 } from './helpers/assert.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

/** Byte offset of tensor `name`'s data in a safetensors file. */
function tensorOffset(path: string, name: string): number {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  return 8 + n + header[name]!.data_offsets[0];
}

/**
 * Overwrites 4 bytes in place (as a hand edit would); `keepMtime`: as bit rot would, the file's
 * mtime still being the one its record holds.
 */
function patch(path: string, at: number, keepMtime = false): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([0x00, 0x00, 0x80, 0x40]), 0, 4, at); // float32 4.0
  closeSync(fd);
  if (!keepMtime) return;
  const record = JSON.parse(readFileSync(recordPathFor(path), 'utf8')) as { output: { mtimeMs: number } };
  record.output.mtimeMs = statSync(path).mtimeMs;
  writeFileSync(recordPathFor(path), JSON.stringify(record));
}

describe('converted-weights cache (verified on load)', function () {
  let dir: string;
  let pt: string;
  let lines: string[];
  const vocab = (): string => fixturePath('vocab/bert-base-uncased-vocab.txt');

  before(function () {
    requireFixtures(this, 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt');
  });

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'ir-converted-'));
    pt = join(dir, 'src', 'tiny.pt');
    mkdirSync(join(dir, 'src'));
    for (const f of ['tiny.pt', 'med_config.json', 'vit_config.json']) copyFileSync(fixturePath(`tiny/${f}`), join(dir, 'src', f));
    lines = [];
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  const resolve = async (verify = false): Promise<string> =>
    (await resolveModelSource(pt, { cacheDir: join(dir, 'cache'), vocab: vocab(), verify, log: (l) => lines.push(l) })).weightsPath;

  it('records the source\'s and the output\'s hashes at conversion, and reuses a file that checks out', async function () {
    const out = await resolve();
    const record = JSON.parse(readFileSync(recordPathFor(out), 'utf8')) as { source: { sha256: string; size: number }; output: { sha256: string; size: number } };
    expect(record.source).to.include({ sha256: sha256(readFileSync(pt)), size: statSync(pt).size });
    expect(record.output).to.include({ sha256: sha256(readFileSync(out)), size: statSync(out).size });
    expect(lines.filter((l) => l.includes('converting'))).to.have.length(1);
    expect(await resolve()).to.equal(out);
    expect(await resolve(true)).to.equal(out);
    expect(lines.filter((l) => l.includes('converting'))).to.have.length(1); // no second conversion
  });

  it('a patched bias is detected (the mtime moved: full hash) and the file converted again, bytes as before', async function () {
    const out = await resolve();
    const good = sha256(readFileSync(out));
    patch(out, tensorOffset(out, 'mlp.layers.4.bias'));
    expect(await checkConverted(out, false)).to.deep.include({ ok: false });
    expect(await resolve()).to.equal(out);
    expect(lines.some((l) => l.startsWith(`imagereward: ${out} cannot be used (its sha256 is `) && l.endsWith('converting it again'))).to.equal(true);
    expect(sha256(readFileSync(out))).to.equal(good);
  });

  it('a patch that kept the mtime passes the cheap check and is caught by verify: true', async function () {
    const out = await resolve();
    patch(out, tensorOffset(out, 'mlp.layers.4.bias'), true);
    expect(await checkConverted(out, false)).to.deep.equal({ ok: true });
    expect((await checkConverted(out, true)).ok).to.equal(false);
    await resolve(true);
    expect((await checkConverted(out, true)).ok).to.equal(true);
  });

  it('a touched or copied file with the same bytes passes (one full hash, then the record follows the new mtime)', async function () {
    const out = await resolve();
    const later = new Date(Date.now() + 5_000);
    utimesSync(out, later, later);
    expect(await checkConverted(out, false)).to.deep.equal({ ok: true });
    const record = JSON.parse(readFileSync(recordPathFor(out), 'utf8')) as { output: { mtimeMs: number } };
    expect(record.output.mtimeMs).to.equal(statSync(out).mtimeMs);
  });

  it('a truncated file, a damaged header or a missing record: converted again', async function () {
    const out = await resolve();
    const good = sha256(readFileSync(out));
    const size = statSync(out).size;
    truncateSync(out, size >> 1);
    expect(await checkConverted(out, false)).to.deep.equal({ ok: false, reason: `it is ${size >> 1} bytes, the conversion wrote ${size}` });
    await resolve();
    expect(sha256(readFileSync(out))).to.equal(good);
    patch(out, 20, true); // inside the JSON header, same size and mtime
    expect(await checkConverted(out, false)).to.deep.equal({ ok: false, reason: 'its header is not the one the conversion wrote' });
    await resolve();
    expect(sha256(readFileSync(out))).to.equal(good);
    rmSync(recordPathFor(out));
    expect((await checkConverted(out, false)).ok).to.equal(false);
    await resolve();
    expect(lines.filter((l) => l.endsWith('converting it again'))).to.have.length(3);
    expect(sha256(readFileSync(out))).to.equal(good);
  });

  it('temp files of a killed conversion are removed by the next one', async function () {
    const out = await resolve();
    const convertedDir = join(dir, 'cache', 'converted');
    rmSync(out);
    rmSync(recordPathFor(out));
    const name = out.slice(convertedDir.length + 1);
    const leftovers = [`.${name}.999999.0badc0de.tmp`, `.${name}.record.json.999999.0badc0de.tmp`];
    for (const f of leftovers) writeFileSync(join(convertedDir, f), 'half-written');
    writeFileSync(join(convertedDir, '.other.safetensors.1.2.tmp'), 'not ours');
    await resolve();
    expect(readdirSync(convertedDir).sort()).to.deep.equal(['.other.safetensors.1.2.tmp', name, `${name}.record.json`].sort());
  });

  it('the lock\'s heartbeat fires from inside the conversion loop (the event loop is blocked there)', async function () {
    const out = join(dir, 'cache', 'converted', 'beat.safetensors');
    const lock = `${out}.lock`;
    const heartbeatMs = 40;
    const seen: { at: number; mtimeMs: number }[] = [];
    await withFileLock(out, async (heartbeat) => {
      await convertAndRecord(pt, out, {
        medConfigPath: join(dir, 'src', 'med_config.json'),
        vitConfigPath: join(dir, 'src', 'vit_config.json'),
        onProgress: () => {
          const until = Date.now() + 2; // a slower tensor: the whole loop outlasts several heartbeat intervals
          while (Date.now() < until) { /* busy */ }
          seen.push({ at: Date.now(), mtimeMs: statSync(lock).mtimeMs });
        },
      }, heartbeat);
    }, undefined, { heartbeatMs });
    const span = seen[seen.length - 1]!.at - seen[0]!.at;
    expect(span).to.be.above(4 * heartbeatMs);
    const touches = new Set(seen.map((s) => s.mtimeMs)).size;
    expect(touches).to.be.at.least(Math.floor(span / heartbeatMs / 2)); // touched every heartbeatMs / 4 at most, so at least every other interval here
    for (const s of seen) expect(s.at - s.mtimeMs).to.be.below(heartbeatMs + 50); // never older than one interval (+ slack)
  });
});
