/**
 * forwardIntermediates keeps what it is asked for and nothing else: by names, by block / layer
 * indices (negative from the end), with or without attention maps; the kept tensors are the golden
 * values (bars as model.parity: layers 1e-4, rewards 1e-5), typed by module, and no tensor outlives
 * dispose(). When only ViT names are asked, the text encoder and head do not run.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../src/errors.js';
import { intermediateNames } from '../src/model/intermediates.js';
import { readSafetensors, type TensorData } from '../src/weights/safetensors.js';
import { maxAbsDiff } from './helpers/assert.js';
import { fixturePath } from './helpers/fixtures.js';
import { asFloat32, useTinyCase } from './helpers/tinyModel.js';

describe('model forwardIntermediates: what is asked, nothing more (tiny fixture, wasm)', function () {
  // prompt 1 x images 1.webp, 3.webp: golden names p1.img0.* and p1.img2.*
  const tiny = useTinyCase('wasm', 1, ['1.webp', '3.webp']);
  let golden: Map<string, TensorData>;
  before(function () {
    golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
  });

  /** The golden value of `name` for both images, stacked on the batch dim as the forward keeps it. */
  const expected = (name: string): Float32Array => {
    const parts = [0, 2].map((j) => golden.get(`p1.img${j}.${name}`) ?? golden.get(`img${j}.${name}`));
    if (parts.some((p) => !p)) throw new Error(`no golden ${name}`);
    const arrays = parts.map((p) => asFloat32(p!));
    const out = new Float32Array(arrays[0]!.length * 2);
    arrays.forEach((a, i) => out.set(a, i * a.length));
    return out;
  };
  const check = (name: string, t: tf.Tensor | undefined) => {
    expect(t, name).to.not.equal(undefined);
    expect(maxAbsDiff(t!.dataSync(), expected(name)), name).to.be.at.most(name === 'reward' ? 1e-5 : 1e-4);
  };

  it('by names: exactly those, golden values, typed views of the same tensors', function () {
    const before = tf.memory().numTensors;
    const got = tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { names: ['vit.block1', 'bert.layer0.crossattention', 'cls', 'reward'] });
    try {
      expect([...got.keys()]).to.deep.equal(['vit.block1', 'bert.layer0.crossattention', 'cls', 'reward']);
      for (const [name, t] of got) check(name, t);
      expect(got.vit.blocks[1]!.output).to.equal(got.get('vit.block1'));
      expect(got.vit.blocks[0]!.output).to.equal(undefined);
      expect(got.bert.layers[0]!.crossattention).to.equal(got.get('bert.layer0.crossattention'));
      expect(got.cls).to.equal(got.get('cls'));
      expect(got.reward!.shape).to.deep.equal([2]);
      expect(got.mlp.every((t) => t === undefined)).to.equal(true);
    } finally {
      got.dispose();
    }
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('by indices (negative from the end) with attentions: block outputs and only their attention maps', function () {
    const got = tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { indices: { vit: [-2], bert: [0] }, attentions: true });
    try {
      expect([...got.keys()]).to.deep.equal([
        'attn.vit.block0.probs', 'vit.block0', 'attn.bert.layer0.attention.probs', 'attn.bert.layer0.crossattention.probs', 'bert.layer0.output',
      ]);
      for (const name of ['vit.block0', 'bert.layer0.output']) check(name, got.get(name));
      // the golden ViT attention map is of image 1.webp (the first of this batch)
      const probs = got.vit.blocks[0]!.probs!;
      const first = probs.dataSync().subarray(0, probs.size / 2);
      expect(maxAbsDiff(first, asFloat32(golden.get('attn.vit.block0.probs')!))).to.be.at.most(1e-4);
      expect(got.bert.layers[0]!.crossattentionProbs!.shape).to.deep.equal([2, 4, 35, 1 + (tiny.model.config.vit.imgSize / 16) ** 2]);
      expect(got.vit.blocks[1]!.probs).to.equal(undefined);
    } finally {
      got.dispose();
    }
  });

  it('no attention maps unless asked; everything (in forward order) when nothing is asked', function () {
    const got = tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels);
    try {
      expect([...got.keys()]).to.deep.equal(intermediateNames(tiny.model.config, false));
    } finally {
      got.dispose();
    }
  });

  it('only ViT names asked: the text encoder and the head do not run', function () {
    const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
    const original = engine.runKernel;
    const count = (f: () => void): number => {
      let n = 0;
      engine.runKernel = function (this: unknown, ...args: unknown[]) { n++; return original.apply(this, args); };
      try { f(); } finally { engine.runKernel = original; }
      return n;
    };
    const vitOnly = count(() => tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { names: ['vit.norm'] }).dispose());
    const encode = count(() => tiny.model.encodeImages(tiny.pixels).dispose());
    const withCls = count(() => tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { names: ['vit.norm', 'cls'] }).dispose());
    expect(vitOnly, 'kernels: ViT names only vs encodeImages').to.equal(encode);
    expect(withCls).to.be.above(vitOnly);
  });

  it('unknown names, bad indices and names with indices are InputErrors', function () {
    const before = tf.memory().numTensors;
    const run = (request: object) => () => tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, request);
    expect(run({ names: ['vit.block9'] })).to.throw(InputError, /unknown name\(s\) vit\.block9/);
    expect(run({ indices: { vit: [2] } })).to.throw(InputError, /ViT block index 2 is outside -2\.\.1/);
    expect(run({ names: ['cls'], indices: { vit: [0] } })).to.throw(InputError, /names or indices, not both/);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
