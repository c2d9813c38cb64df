import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../src/convert/index.js';
import { ZipArchive } from '../src/convert/zip.js';
import { buildZip, type ZipEntryInput } from './helpers/torchzip.js';

const text = (s: string) => new TextEncoder().encode(s);
const ENTRIES: ZipEntryInput[] = [
  { name: 'a/stored', data: text('hello stored') },
  { name: 'a/deflated', data: text('deflate me '.repeat(50)), method: 'deflate' },
  { name: 'a/described', data: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), descriptor: true },
];

describe('convert/zip: ZipArchive', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ir-zip-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
  const openFails = (bytes: Uint8Array, pattern: RegExp) => {
    const p = write('bad.zip', bytes);
    expect(() => ZipArchive.open(p)).to.throw(CheckpointError, pattern);
  };
  /** Offset of the central directory entry of the first entry. */
  const centralOf = (zip: Uint8Array) => Buffer.from(zip).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));

  for (const zip64 of [false, true]) {
    it(`reads stored, deflate and data-descriptor entries${zip64 ? ' with ZIP64 fields' : ''}`, () => {
      const zip = ZipArchive.open(write('ok.zip', buildZip(ENTRIES, { zip64 })));
      try {
        expect([...zip.entries.keys()]).to.deep.equal(ENTRIES.map((e) => e.name));
        for (const e of ENTRIES) expect(Buffer.from(zip.read(e.name)).equals(Buffer.from(e.data))).to.equal(true, e.name);
        expect(zip.entries.get('a/deflated')!.compressedSize).to.be.lessThan(ENTRIES[1]!.data.length);
      } finally {
        zip.close();
      }
    });
  }

  it('rejects a truncated archive', () => {
    const zip = buildZip(ENTRIES);
    openFails(zip.subarray(0, zip.length - 30), /truncated/);
    openFails(zip.subarray(0, 100), /truncated/);
  });

  it('rejects a central directory whose compressed size lies (too large)', () => {
    const zip = buildZip(ENTRIES);
    const cd = centralOf(zip);
    new DataView(zip.buffer).setUint32(cd + 20, 5000, true); // compressed size of a/stored
    new DataView(zip.buffer).setUint32(cd + 24, 5000, true);
    openFails(zip, /a\/stored.*(differ|overlap|run into)/);
  });

  it('rejects a central size that lies on a data-descriptor entry (no matching descriptor)', () => {
    const zip = buildZip([{ name: 'x', data: text('0123456789'), descriptor: true }, { name: 'y', data: text('abc') }]);
    const cd = centralOf(zip);
    new DataView(zip.buffer).setUint32(cd + 20, 4, true);
    new DataView(zip.buffer).setUint32(cd + 24, 4, true);
    openFails(zip, /entry x: no matching data descriptor/);
  });

  it('rejects a local header that disagrees with the central directory', () => {
    const zip = buildZip(ENTRIES);
    new DataView(zip.buffer).setUint32(22, 3, true); // local uncompressed size of a/stored
    openFails(zip, /local header of a\/stored: sizes/);
    const renamed = buildZip(ENTRIES);
    renamed[30] = 'b'.charCodeAt(0); // first byte of the local name
    openFails(renamed, /name does not match/);
  });

  it('detects corrupted data by CRC-32 when the entry is read', () => {
    const zip = buildZip(ENTRIES);
    zip[30 + 'a/stored'.length]! ^= 0xff; // first data byte of a/stored
    const archive = ZipArchive.open(write('crc.zip', zip));
    try {
      expect(() => archive.read('a/stored')).to.throw(CheckpointError, /a\/stored is corrupt \(CRC-32/);
      expect(Buffer.from(archive.read('a/deflated')).toString()).to.equal('deflate me '.repeat(50));
    } finally {
      archive.close();
    }
  });

  it('rejects encrypted entries, unknown methods, duplicate names and non-zip files', () => {
    const enc = buildZip([ENTRIES[0]!]);
    const cd = centralOf(enc);
    enc[cd + 8] = 1; enc[6] = 1;
    openFails(enc, /encrypted/);
    const bz = buildZip([ENTRIES[0]!]);
    bz[centralOf(bz) + 10] = 12;
    openFails(bz, /compression method 12/);
    openFails(buildZip([ENTRIES[0]!, ENTRIES[0]!]), /duplicate entry name a\/stored/);
    openFails(text('definitely not a zip archive, just some words here'), /not a zip archive/);
  });
});
