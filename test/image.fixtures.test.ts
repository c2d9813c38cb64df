/**
 * Parity with upstream preprocessing on every shared fixture image: decoded pixels, the uint8 crop
 * after Resize + CenterCrop + convert('RGB') (sha256 from images.json), sizes, and the final
 * normalised tensor bit for bit against preprocessed.safetensors.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { decodeImage, preprocessImage, resizeCropRgb } from '../src/image/index.js';
import { readSafetensors, type TensorData } from '../src/weights/safetensors.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { sha256 } from './helpers/assert.js';

interface FixtureImage {
  file: string;
  tensor: string;
  mode: string;
  size: [number, number];
  resized_size: [number, number];
  crop_box_ltrb: [number, number, number, number];
  pil_resample_used: string;
  decoded_pixels_sha256: string;
  rgb_uint8_after_crop_sha256: string;
}


function expectedResample(pil: string): string {
  if (pil.startsWith('BICUBIC')) return 'bicubic';
  if (pil.startsWith('NEAREST')) return 'nearest';
  if (pil.startsWith('none')) return 'none';
  throw new Error(`unknown pil_resample_used ${pil}`);
}

describe('image pipeline vs upstream fixtures (Pillow 9.4 + torchvision 0.14)', function () {
  let images: FixtureImage[] = [];
  let golden: Map<string, TensorData>;

  before(function () {
    requireFixtures(this, 'images/images.json', 'images/preprocessed.safetensors');
    images = (JSON.parse(readFileSync(fixturePath('images/images.json'), 'utf8')) as { images: FixtureImage[] }).images;
    golden = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
  });

  it('covers all 16 fixture images', function () {
    expect(images).to.have.length(16);
  });

  it('decodes every image to Pillow\'s mode, size and pixel bytes', async function () {
    for (const fx of images) {
      const img = await decodeImage(readFileSync(fixturePath(`images/${fx.file}`)), fx.file);
      expect([img.mode, img.width, img.height], fx.file).to.deep.equal([fx.mode, ...fx.size]);
      expect(sha256(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength)), fx.file).to.equal(fx.decoded_pixels_sha256);
    }
  });

  it('resizes, crops and converts to the same uint8 RGB as Pillow', async function () {
    for (const fx of images) {
      const img = await decodeImage(readFileSync(fixturePath(`images/${fx.file}`)), fx.file);
      const out = resizeCropRgb(img, 224);
      expect(out.resizedSize, fx.file).to.deep.equal(fx.resized_size);
      expect(out.cropBox, fx.file).to.deep.equal(fx.crop_box_ltrb);
      expect(out.resample, fx.file).to.equal(expectedResample(fx.pil_resample_used));
      expect(sha256(out.rgb), fx.file).to.equal(fx.rgb_uint8_after_crop_sha256);
    }
  });

  it('produces the golden normalised tensors bit for bit (max abs err 0)', async function () {
    let worst = 0;
    for (const fx of images) {
      const pre = await preprocessImage(fixturePath(`images/${fx.file}`));
      const want = golden.get(fx.tensor);
      expect(want, fx.tensor).to.not.equal(undefined);
      expect(want!.shape).to.deep.equal([1, 3, 224, 224]);
      expect(pre.shape).to.deep.equal([1, 3, 224, 224]);
      expect(pre.format).to.equal(fx.file.split('.').pop() === 'jpg' ? 'jpeg' : fx.file.split('.').pop());
      const w = want!.data as Float32Array;
      let maxErr = 0;
      for (let i = 0; i < w.length; i++) maxErr = Math.max(maxErr, Math.abs(pre.pixels[i]! - w[i]!));
      expect(maxErr, fx.file).to.equal(0);
      worst = Math.max(worst, maxErr);
    }
    expect(worst).to.be.at.most(1e-6);
  });
});
