/**
 * Issue 14 items 1-8: hostile small files give a typed error or the right pixels, in bounded memory and
 * time. Each memory case runs in a child process (test/helpers/limited.ts) with a V8 heap limit; the
 * peak RSS it reports is compared with a bound, and a watchdog turns a hang into a failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileError } from '../src/errors.js';
import { DownloadError, downloadFile } from '../src/hub/index.js';
import { decodeImage } from '../src/image/index.js';
import { readFileChecked } from '../src/util/fs.js';
import { rejection } from './helpers/assert.js';
import { runLimited } from './helpers/limited.js';
import { useLimitSuite } from './helpers/limitSuite.js';
import { pngWithIdat, zerosDeflated } from './helpers/makeFiles.js';

const limits = useLimitSuite('ir-limits-');
const { file, describeOutcome, expectRssWithin } = limits;

describe('limits 1: PNG inflate is capped at what the header needs', function () {
  it('a 1x1 PNG whose IDAT inflates to 256 MiB decodes its one pixel in bounded memory (was: RSS ~ the inflated size)', async function () {
    const png = pngWithIdat(1, 1, 8, 0, await zerosDeflated(256 * 2 ** 20));
    expect(png.length).to.be.below(300_000);
    const direct = await decodeImage(png, 'bomb.png');
    expect([direct.mode, direct.width, direct.height, [...direct.data]]).to.deep.equal(['L', 1, 1, [0]]);
    const o = await runLimited('decode', file('bomb.png', png), { heapMiB: 128, timeoutMs: 30_000 });
    expect(o.outcome, describeOutcome(o)).to.equal('ok');
    expect(o.value).to.deep.include({ mode: 'L', width: 1, height: 1 });
    expectRssWithin(o, 64);
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

describe('limits 6: only regular files are read, size-checked first', function () {
  it('/dev/zero is refused as a device without reading (was: RSS grows without end)', async function () {
    const o = await runLimited('preprocess', '/dev/zero', { heapMiB: 128, timeoutMs: 20_000 });
    expect(o.outcome, describeOutcome(o)).to.equal('error');
    expect(o.code).to.equal('FILE_UNREADABLE');
    expect(o.message).to.include('/dev/zero is a device, not a regular file');
    expectRssWithin(o, 64);
  });

  it('a FIFO is refused at once (was: hangs waiting for a writer)', async function () {
    const fifo = join(limits.dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const o = await runLimited('preprocess', fifo, { heapMiB: 128, timeoutMs: 20_000 });
    expect(o.outcome, describeOutcome(o)).to.equal('error');
    expect(o.code).to.equal('FILE_UNREADABLE');
    expect(o.message).to.include('is a FIFO (named pipe), not a regular file');
    const safetensors = await runLimited('safetensors', fifo, { heapMiB: 128, timeoutMs: 20_000 });
    expect(safetensors.code, describeOutcome(safetensors)).to.equal('FILE_UNREADABLE');
    const checkpoint = await runLimited('convert', fifo, { heapMiB: 128, timeoutMs: 20_000 });
    expect(checkpoint.code, describeOutcome(checkpoint)).to.equal('FILE_UNREADABLE');
  });

  it('a file above the cap is refused before reading; /proc files (size 0, content) are refused as changing', async function () {
    const p = file('big.txt', new Uint8Array(1000));
    const err = await rejection(readFileChecked(p, 'config', 999));
    expect(err).to.be.instanceOf(FileError);
    expect((err as FileError).message).to.include('is 1000 bytes, more than the 999 bytes a config may have');
    expect((await readFileChecked(p, 'config', 1000)).length).to.equal(1000);
    const proc = await rejection(readFileChecked('/proc/self/status', 'image'));
    expect((proc as FileError).code).to.equal('FILE_UNREADABLE');
    expect((proc as FileError).message).to.include('changed size while being read');
  });
});

describe('limits 7: downloads stop at the declared length', function () {
  it('a server that sends past its Content-Length / x-linked-size is cut off and nothing is kept', async function () {
    const declared = 231_000;
    let sent = 0;
    let closedEarly = false;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'x-linked-size': String(declared) });
      const chunk = new Uint8Array(64 * 1024);
      const pump = (): void => {
        while (sent < 512 * 2 ** 20) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      res.on('close', () => { if (sent < 512 * 2 ** 20) closedEarly = true; });
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const dest = join(limits.dir, 'endless.bin');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file`;
      const err = await rejection(downloadFile(url, dest, { retries: 0 }));
      expect(err).to.be.instanceOf(DownloadError);
      expect((err as DownloadError).code).to.equal('DOWNLOAD_FAILED');
      expect((err as DownloadError).message).to.include(`sent more than the declared ${declared} bytes`);
      expect(existsSync(`${dest}.partial`), 'partial file').to.equal(false);
      expect(existsSync(dest)).to.equal(false);
      await new Promise((r) => setTimeout(r, 50));
      expect(closedEarly, 'the client hung up').to.equal(true);
      expect(sent).to.be.below(64 * 2 ** 20);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
