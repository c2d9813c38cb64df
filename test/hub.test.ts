import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { FakeHub } from './helpers/fakeHub.js';
import { DownloadError, downloadFile, ensureHubFiles, hubUrl, cachedHubPath, type HubFile } from '../src/hub/index.js';
import { rejection, sha256 } from './helpers/assert.js';

describe('hub download (local HTTP server on 127.0.0.1)', () => {
  let hub: FakeHub;
  let cacheDir: string;
  let pt: Uint8Array;
  let medConfig: Uint8Array;
  const checkpoint: HubFile = { repo: 'THUDM/ImageReward', path: 'ImageReward.pt', revision: 'main' };
  const med: HubFile = { repo: 'THUDM/ImageReward', path: 'med_config.json', revision: 'main' };

  before(function () {
    requireFixtures(this, 'tiny/tiny.pt', 'tiny/med_config.json');
    pt = readFileSync(fixturePath('tiny/tiny.pt'));
    medConfig = readFileSync(fixturePath('tiny/med_config.json'));
  });

  beforeEach(async () => {
    hub = new FakeHub(new Map([['THUDM/ImageReward/ImageReward.pt', pt], ['THUDM/ImageReward/med_config.json', medConfig]]));
    await hub.start();
    cacheDir = mkdtempSync(join(tmpdir(), 'ir-hub-'));
  });

  afterEach(async () => {
    await hub.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('downloads fresh files through the redirect, checks the LFS sha256 and caches them', async () => {
    const paths = await ensureHubFiles([checkpoint, med], { cacheDir, endpoint: hub.endpoint, progress: false });
    expect(paths).to.deep.equal([
      join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.pt'),
      join(cacheDir, 'THUDM', 'ImageReward', 'med_config.json'),
    ]);
    expect(sha256(readFileSync(paths[0]!))).to.equal(sha256(pt));
    expect(readFileSync(paths[1]!).equals(medConfig)).to.equal(true);
    expect(hub.requests.map((r) => r.url)).to.deep.equal([
      '/THUDM/ImageReward/resolve/main/ImageReward.pt', '/cdn/THUDM/ImageReward/ImageReward.pt',
      '/THUDM/ImageReward/resolve/main/med_config.json', '/cdn/THUDM/ImageReward/med_config.json',
    ]);
    // A second call is served from the cache: no request at all.
    await ensureHubFiles([checkpoint, med], { cacheDir, endpoint: hub.endpoint, progress: false });
    expect(hub.requests).to.have.length(4);
  });

  it('resumes with a Range request after the connection is cut mid-file', async () => {
    hub.cutAfter = 3_000_000;
    hub.cutTimes = 2;
    const dest = join(cacheDir, 'x.pt');
    const result = await downloadFile(hubUrl(checkpoint, hub.endpoint), dest, { retryDelayMs: 0 });
    expect(result.verifiedBy).to.equal('x-linked-etag');
    expect(result.sha256).to.equal(sha256(pt));
    expect(result.bytes).to.equal(pt.length);
    const cdnRanges = hub.requests.filter((r) => r.url.startsWith('/cdn/')).map((r) => r.range);
    expect(cdnRanges).to.deep.equal([undefined, 'bytes=3000000-', 'bytes=6000000-']);
    expect(readFileSync(dest).equals(pt)).to.equal(true);
    expect(existsSync(`${dest}.partial`)).to.equal(false);
  });

  it('keeps the partial file when retries run out, and the next run resumes from it', async () => {
    hub.cutAfter = 4_000_000;
    hub.cutTimes = 1;
    const dest = join(cacheDir, 'y.pt');
    const url = hubUrl(checkpoint, hub.endpoint);
    const err = await rejection(downloadFile(url, dest, { retries: 0 }));
    expect(err).to.be.instanceOf(DownloadError);
    expect(err.message).to.contain(`4000000 bytes kept in ${dest}.partial; run again to resume`);
    expect(existsSync(dest)).to.equal(false);
    const result = await downloadFile(url, dest, { retries: 0 });
    expect(result.resumedFrom).to.equal(4_000_000);
    expect(hub.requests.at(-1)!.range).to.equal('bytes=4000000-');
    expect(readFileSync(dest).equals(pt)).to.equal(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    const dest = join(cacheDir, 'z.pt');
    writeFileSync(`${dest}.partial`, pt.subarray(0, 1000));
    hub.ignoreRange = true;
    const result = await downloadFile(hubUrl(checkpoint, hub.endpoint), dest, { retries: 0 });
    expect(result.bytes).to.equal(pt.length);
    expect(readFileSync(dest).equals(pt)).to.equal(true);
  });

  it('rejects a file whose sha256 does not match and caches nothing', async () => {
    hub.fakeSha = 'ab'.repeat(32);
    const err = await rejection(ensureHubFiles([checkpoint], { cacheDir, endpoint: hub.endpoint, progress: false }));
    expect(err).to.be.instanceOf(DownloadError);
    expect(err.message).to.contain(`checksum mismatch for ${hub.endpoint}/THUDM/ImageReward/resolve/main/ImageReward.pt: sha256 ${sha256(pt)}, expected ${'ab'.repeat(32)}`);
    const dest = cachedHubPath(cacheDir, checkpoint);
    expect(existsSync(dest)).to.equal(false);
    expect(existsSync(`${dest}.partial`)).to.equal(false);
  });

  it('rejects a file of the wrong size against the manifest', async () => {
    const err = await rejection(ensureHubFiles([{ ...med, size: medConfig.length + 1 }], { cacheDir, endpoint: hub.endpoint, progress: false }));
    expect(err.message).to.contain(`is ${medConfig.length} bytes, expected ${medConfig.length + 1}`);
    expect(existsSync(cachedHubPath(cacheDir, med))).to.equal(false);
  });

  it('reports a missing remote file (HTTP 404) with the place to put it', async () => {
    const err = await rejection(ensureHubFiles([{ ...med, path: 'nope.json' }], { cacheDir, endpoint: hub.endpoint, progress: false }));
    expect(err).to.be.instanceOf(DownloadError);
    expect(err.message).to.contain('HTTP 404');
    expect(err.message).to.contain(`-> ${join(cacheDir, 'THUDM', 'ImageReward', 'nope.json')}`);
  });

  it('without a server, says which files to place where', async () => {
    const endpoint = hub.endpoint;
    await hub.stop();
    const err = await rejection(ensureHubFiles([checkpoint, med], { cacheDir, endpoint, progress: false, retryDelayMs: 0 })) as DownloadError;
    expect(err).to.be.instanceOf(DownloadError);
    expect(err.code).to.equal('DOWNLOAD_FAILED');
    expect(err.message).to.contain(`cannot reach ${endpoint}: ECONNREFUSED`);
    expect(err.message).to.contain('To work offline');
    expect(err.missing).to.deep.equal([
      { url: `${endpoint}/THUDM/ImageReward/resolve/main/ImageReward.pt`, path: join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.pt') },
      { url: `${endpoint}/THUDM/ImageReward/resolve/main/med_config.json`, path: join(cacheDir, 'THUDM', 'ImageReward', 'med_config.json') },
    ]);
  });

  it('in offline mode lists the missing files without any request', async () => {
    const err = await rejection(ensureHubFiles([checkpoint], { cacheDir, endpoint: hub.endpoint, offline: true })) as DownloadError;
    expect(err.message).to.match(/^offline mode is on/);
    expect(err.missing.map((m) => m.path)).to.deep.equal([join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.pt')]);
    expect(hub.requests).to.have.length(0);
  });

  it('uses $HF_ENDPOINT when no endpoint is given', async () => {
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `${hub.endpoint}/`;
    try {
      const [path] = await ensureHubFiles([med], { cacheDir, progress: false });
      expect(readFileSync(path!).equals(medConfig)).to.equal(true);
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
    }
  });

  it('reports progress while downloading: bytes received of the expected total', async () => {
    const seen: [number, number | undefined][] = [];
    await downloadFile(hubUrl(checkpoint, hub.endpoint), join(cacheDir, 'p.pt'), { onProgress: (r, t) => seen.push([r, t]) });
    expect(seen[0]).to.deep.equal([0, pt.length]);
    expect(seen.at(-1)).to.deep.equal([pt.length, pt.length]);
  });
});
