/**
 * Animated WebP (issue 14 item 17): Pillow 9.4 scores the first frame, composited by libwebp's
 * WebPAnimDecoder onto a transparent black canvas. The files and Pillow's pixels come from
 * test/data/make_animated_webp.sh (img2webp / webpmux, python3-pil 9.4.0).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { decodeImage, ImageError } from '../src/image/index.js';
import { rejection } from './helpers/assert.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');
const cases = JSON.parse(readFileSync(join(dataDir, 'webp-animated-cases.json'), 'utf8')) as Record<string, { mode: string; size: [number, number]; n_frames: number; data: number[] }>;

describe('animated WebP: the first frame, as Pillow 9.4 gives it', function () {
  for (const [file, expected] of Object.entries(cases)) {
    it(`${file} (${expected.n_frames} frames): mode ${expected.mode}, Pillow's pixels exactly, with either decoder setting`, async function () {
      for (const decoder of ['wasm', 'auto']) {
        const image = await decodeImage(readFileSync(join(dataDir, file)), file, { decoder });
        expect([image.mode, image.width, image.height]).to.deep.equal([expected.mode, ...expected.size]);
        expect(Array.from(image.data)).to.deep.equal(expected.data);
      }
    });
  }

  it('a first frame outside the canvas, or a file cut inside it: IMAGE_INVALID', async function () {
    const bytes = Uint8Array.from(readFileSync(join(dataDir, 'webp_anim_offset_12x10.webp')));
    const anmf = Buffer.from(bytes).indexOf('ANMF');
    const moved = Uint8Array.from(bytes);
    moved[anmf + 8] = 4; // x offset 8: a 6-wide frame past the 12-wide canvas
    const err = await rejection(decodeImage(moved, 'moved.webp'));
    expect(err).to.be.instanceOf(ImageError);
    expect((err as ImageError).code).to.equal('IMAGE_INVALID');
    expect((err as Error).message).to.include('first frame 6x4 at 8,2 outside the 12x10 canvas');
    const cut = bytes.subarray(0, anmf + 20);
    const err2 = await rejection(decodeImage(cut, 'cut.webp'));
    expect((err2 as ImageError).code).to.equal('IMAGE_INVALID');
  });
});
