/**
 * A Hugging Face hub stand-in on 127.0.0.1 for download tests: serves `files` (keyed "repo/path")
 * at `/{repo}/resolve/main/{path}`, answering with a 302 to `/cdn/{repo}/{path}` that carries
 * `x-linked-etag` (sha256) and `x-linked-size`, like huggingface.co does for LFS files. Can cut a
 * transfer midway, lie about the sha256, or ignore Range requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { sha256 } from './assert.js';

export class FakeHub {
  readonly requests: { url: string; range: string | undefined }[] = [];
  /** Cut the connection after this many body bytes, for the next N answers. */
  cutAfter = 0;
  cutTimes = 0;
  /** Announce this sha256 on the redirect instead of the real one. */
  fakeSha: string | undefined;
  ignoreRange = false;
  /** Send this many body bytes, then nothing more, keeping the connection open (a stalled transfer). */
  stallAfter: number | undefined;
  /** Hold every CDN answer back this long (a slow transfer other processes can overlap with). */
  cdnDelayMs = 0;
  private server: Server | undefined;

  constructor(private readonly files: Map<string, Uint8Array>) {}

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => { this.server?.closeAllConnections(); this.server?.close(() => r()); });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ url: req.url ?? '', range: req.headers.range });
    const resolve = /^\/(.+)\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    if (resolve) {
      const body = this.files.get(`${resolve[1]}/${resolve[2]}`);
      if (!body) { res.writeHead(404).end('Entry not found'); return; }
      res.writeHead(302, {
        location: `/cdn/${resolve[1]}/${resolve[2]}`,
        'x-linked-etag': `"${this.fakeSha ?? sha256(body)}"`,
        'x-linked-size': String(body.length),
      }).end();
      return;
    }
    if (this.cdnDelayMs > 0 && req.url?.startsWith('/cdn/')) {
      setTimeout(() => this.answerCdn(req, res), this.cdnDelayMs);
      return;
    }
    this.answerCdn(req, res);
  }

  private answerCdn(req: IncomingMessage, res: ServerResponse): void {
    const cdn = /^\/cdn\/(.+)$/.exec(req.url ?? '');
    const body = cdn ? this.files.get(cdn[1]!) : undefined;
    if (!body) { res.writeHead(404).end(); return; }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m && !this.ignoreRange ? Number(m[1]) : 0;
    const headers: Record<string, string> = { 'content-length': String(body.length - start), 'accept-ranges': 'bytes' };
    if (m && !this.ignoreRange) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(m && !this.ignoreRange ? 206 : 200, headers);
    if (this.stallAfter !== undefined) {
      res.write(body.subarray(start, start + this.stallAfter));
      return;
    }
    if (this.cutTimes > 0) {
      this.cutTimes--;
      res.write(body.subarray(start, start + this.cutAfter), () => res.destroy());
      return;
    }
    res.end(body.subarray(start));
  }
}

