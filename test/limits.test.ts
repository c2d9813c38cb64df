/**
 * Issue 14 items 1-8: hostile small files give a typed error or the right pixels, in bounded memory and
 * time. Each memory case runs in a child process (test/helpers/limited.ts) with a V8 heap limit; the
 * peak RSS it reports is compared with a bound, and a watchdog turns a hang into a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeImage } from '../src/image/index.js';
import { runLimited, type LimitedOutcome } from './helpers/limited.js';
import { pngWithIdat, zerosDeflated } from './helpers/makeFiles.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ir-limits-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function describeOutcome(o: LimitedOutcome): string {
  return `${o.outcome} ${o.code ?? ''} ${o.message ?? ''} (${o.rssMiB.toFixed(0)} MiB, ${o.ms.toFixed(0)} ms) ${o.stderr.slice(-500)}`;
}

describe('limits 1: PNG inflate is capped at what the header needs', function () {
  it('a 1x1 PNG whose IDAT inflates to 256 MiB decodes its one pixel in bounded memory (was: RSS ~ the inflated size)', async function () {
    const png = pngWithIdat(1, 1, 8, 0, await zerosDeflated(256 * 2 ** 20));
    expect(png.length).to.be.below(300_000);
    const direct = await decodeImage(png, 'bomb.png');
    expect([direct.mode, direct.width, direct.height, [...direct.data]]).to.deep.equal(['L', 1, 1, [0]]);
    const o = await runLimited('decode', file('bomb.png', png), { heapMiB: 128, timeoutMs: 30_000 });
    expect(o.outcome, describeOutcome(o)).to.equal('ok');
    expect(o.value).to.deep.include({ mode: 'L', width: 1, height: 1 });
    expect(o.rssMiB, describeOutcome(o)).to.be.below(200);
  });
});

describe('limits 1: both inflaters stop at the same cap', function () {
  it('Node zlib and pako give the same first N bytes for every cap, and never more', async function () {
    const { nodeInflater, upngInflater } = await import('../src/image/inflate.js');
    const { deflateSync } = await import('node:zlib');
    const plain = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251);
    const z = deflateSync(plain);
    for (const cap of [1, 1000, 16384, 16385, 99_999, 100_000, 200_000]) {
      const a = nodeInflater!.inflate(z, cap);
      const b = upngInflater.inflate(z, cap);
      expect(a.length, `cap ${cap}`).to.equal(Math.min(cap, plain.length));
      expect(Buffer.from(a).equals(Buffer.from(plain.subarray(0, a.length))), `node, cap ${cap}`).to.equal(true);
      expect(Buffer.from(b).equals(Buffer.from(a)), `pako, cap ${cap}`).to.equal(true);
    }
  });
});
