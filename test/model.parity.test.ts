/**
 * Per-layer parity with the upstream PyTorch ImageReward on the tiny fixture model: every golden
 * tensor for 3 prompts x 4 images, the batched forward (batch.*), the attention maps and the ranks,
 * on the wasm, wasm+blas (BLAS kernels) and cpu backends. Bars: hidden layers 1e-4, rewards 1e-5, ranks exact.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { TINY_FIXTURES, asFloat32, int32Tensor2d, pixelBatch, tinyConfig } from './helpers/tinyModel.js';
import { selectBackend } from '../src/backend.js';
import { requireBlas } from './helpers/blas.js';
import { maxAbsDiff } from './helpers/assert.js';
import { readSafetensors, SafetensorsReader, type TensorData } from '../src/weights/safetensors.js';
import { ImageRewardModel, rankRewards } from '../src/model/imageRewardModel.js';

const PROMPTS = [0, 1, 2];
const IMAGES = ['1.webp', '2.webp', '3.webp', '4.webp'];
const HIDDEN_TOL = 1e-4;
const REWARD_TOL = 1e-5;

for (const backend of ['wasm', 'wasm+blas', 'cpu'] as const) {
  describe(`model parity with upstream PyTorch (tiny fixture, ${backend} backend)`, function () {
    let model: ImageRewardModel;
    let golden: Map<string, TensorData>;
    let pixels: Map<string, TensorData>;
    /** Worst error per layer name (prompt / image prefixes stripped), for the summary line. */
    const worst = new Map<string, number>();

    const goldenOf = (name: string): TensorData => {
      const t = golden.get(name);
      if (!t) throw new Error(`golden tensor ${name} missing`);
      return t;
    };
    const pixelsOf = (files: readonly string[]) => pixelBatch(pixels, files);
    const check = (layer: string, actual: tf.Tensor, expected: TensorData, tol: number) => {
      const err = maxAbsDiff(actual.dataSync(), asFloat32(expected));
      worst.set(layer, Math.max(worst.get(layer) ?? 0, err));
      expect(err, `${backend} ${layer}: max abs err`).to.be.at.most(tol);
    };

    before(async function () {
      requireFixtures(this, ...TINY_FIXTURES);
      if (backend === 'wasm+blas') requireBlas(this);
      await selectBackend({ backend, log: null });
      golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
      pixels = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
      const reader = SafetensorsReader.open(fixturePath('tiny/tiny.safetensors'));
      try {
        model = ImageRewardModel.fromReader(reader, tinyConfig());
      } finally {
        reader.close();
      }
    });

    after(function () {
      model?.dispose();
      if (worst.size === 0) return;
      const lines = [...worst].map(([name, err]) => `${name}=${err.toExponential(2)}`);
      console.log(`      [${backend}] max abs err per layer: ${lines.join(', ')}`);
    });

    for (const p of PROMPTS) {
      IMAGES.forEach((file, j) => {
        it(`prompt ${p} x image ${j}: every golden layer within 1e-4, reward within 1e-5`, function () {
          const ids = int32Tensor2d(goldenOf(`p${p}.input_ids`));
          const mask = int32Tensor2d(goldenOf(`p${p}.attention_mask`));
          const px = pixelsOf([file]);
          const got = model.forwardIntermediates(ids, mask, px);
          try {
            const prefixes = [`img${j}.`, `p${p}.`, `p${p}.img${j}.`];
            let compared = 0;
            for (const [name, tensor] of got) {
              for (const prefix of prefixes) {
                const expected = golden.get(prefix + name);
                if (!expected) continue;
                check(name, tensor, expected, name === 'reward' ? REWARD_TOL : HIDDEN_TOL);
                compared++;
              }
            }
            // vit: patch_embed + 2 blocks + norm; bert: embeddings + 2 x 3; cls; 5 mlp; reward
            expect(compared).to.equal(4 + 1 + 6 + 1 + 5 + 1);
          } finally {
            [ids, mask, px, ...got.values()].forEach((t) => t.dispose());
          }
        });
      });

      it(`prompt ${p}: inference_rank rewards and ranks`, function () {
        const ids = int32Tensor2d(goldenOf(`p${p}.input_ids`));
        const mask = int32Tensor2d(goldenOf(`p${p}.attention_mask`));
        const px = pixelsOf(IMAGES);
        const rewards = model.scoreTensor(ids, mask, px);
        try {
          check('rank.rewards', rewards, goldenOf(`p${p}.rank.rewards`), REWARD_TOL);
          const expectedRanks = Array.from(goldenOf(`p${p}.rank.ranks`).data as BigInt64Array, Number);
          expect(rankRewards(Array.from(rewards.dataSync()))).to.deep.equal(expectedRanks);
        } finally {
          [ids, mask, px, rewards].forEach((t) => t.dispose());
        }
      });
    }

    it('batch: prompt 0 x 4 images in ONE forward matches batch.* and equals 4 single forwards', function () {
      const ids = int32Tensor2d(goldenOf('p0.input_ids'));
      const mask = int32Tensor2d(goldenOf('p0.attention_mask'));
      const idsN = ids.tile([4, 1]) as tf.Tensor2D;
      const maskN = mask.tile([4, 1]) as tf.Tensor2D;
      const px = pixelsOf(IMAGES);
      const got = model.forwardIntermediates(idsN, maskN, px);
      try {
        for (const name of ['bert.layer0.output', 'bert.layer1.output', 'cls', 'mlp.layers.7', 'reward']) {
          check(`batch.${name}`, got.get(name)!, goldenOf(`batch.${name}`), name === 'reward' ? REWARD_TOL : HIDDEN_TOL);
        }
        const batched = got.get('reward')!.dataSync();
        IMAGES.forEach((file, j) => {
          const one = pixelsOf([file]);
          const single = model.scoreTensor(ids, mask, one);
          const diff = Math.abs(single.dataSync()[0]! - batched[j]!);
          worst.set('batch-vs-single.reward', Math.max(worst.get('batch-vs-single.reward') ?? 0, diff));
          expect(diff, `image ${j}: batch vs single`).to.be.at.most(REWARD_TOL);
          one.dispose();
          single.dispose();
        });
      } finally {
        [ids, mask, idsN, maskN, px, ...got.values()].forEach((t) => t.dispose());
      }
    });

    it('attention maps: ViT block 0 and BERT layer 0 cross-attention probabilities', function () {
      const ids = int32Tensor2d(goldenOf('p0.input_ids'));
      const mask = int32Tensor2d(goldenOf('p0.attention_mask'));
      const px = pixelsOf([IMAGES[0]!]);
      const got = model.forwardIntermediates(ids, mask, px, { attentions: true });
      try {
        const attnNames = [...got.keys()].filter((n) => n.startsWith('attn.'));
        // 2 ViT blocks + 2 BERT layers x (self, cross)
        expect(attnNames).to.have.length(6);
        expect(got.get('attn.bert.layer1.attention.probs')!.shape).to.deep.equal([1, 4, 35, 35]);
        for (const name of ['attn.vit.block0.probs', 'attn.bert.layer0.crossattention.probs']) {
          check(name, got.get(name)!, goldenOf(name), HIDDEN_TOL);
        }
      } finally {
        [ids, mask, px, ...got.values()].forEach((t) => t.dispose());
      }
    });

    it('forwardIntermediates without attentions returns no attn.* tensors', function () {
      const ids = int32Tensor2d(goldenOf('p0.input_ids'));
      const mask = int32Tensor2d(goldenOf('p0.attention_mask'));
      const px = pixelsOf([IMAGES[0]!]);
      const got = model.forwardIntermediates(ids, mask, px);
      try {
        expect([...got.keys()].filter((n) => n.startsWith('attn.'))).to.deep.equal([]);
        expect(got.get('reward')!.shape).to.deep.equal([1]);
      } finally {
        [ids, mask, px, ...got.values()].forEach((t) => t.dispose());
      }
    });
  });
}
