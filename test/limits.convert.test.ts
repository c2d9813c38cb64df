/**
 * Issue 14 items 2, 3 and 5: the converter / loader side of the resource limits. Small generated
 * checkpoints and safetensors files that used to cost gigabytes or crash get a typed error (or the
 * right tensor) in a memory-limited child process (test/helpers/limited.ts), with its peak RSS
 * compared with a do-nothing child measured in the same run.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { CheckpointError, openTorchCheckpoint } from '../src/convert/index.js';
import { ConfigError } from '../src/errors.js';
import { IMAGEREWARD_V1_MED, IMAGEREWARD_V1_VIT, medConfigToJson, parseMedConfig, parseVitConfig, vitConfigToJson } from '../src/model/config.js';
import { MAX_PICKLE_VALUES, PickleDict, unpickle, type PickleValue } from '../src/convert/pickle.js';
import { runLimited, type LimitedOutcome } from './helpers/limited.js';
import { useLimitSuite } from './helpers/limitSuite.js';
import { concatBytes, zerosCrc32, zerosDeflatedRaw } from './helpers/makeFiles.js';
import { buildZip, f32Bytes, PickleWriter, stateDictPickle, torchArchive, type TensorSpec } from './helpers/torchzip.js';

const limits = useLimitSuite('ir-limits-convert-');
const { file, describeOutcome } = limits;

/** Asserts a typed error with the message, within `extraMiB` of the do-nothing child's peak RSS. */
function expectTypedError(o: LimitedOutcome, code: string, message: RegExp, extraMiB: number): void {
  expect(o.outcome, describeOutcome(o)).to.equal('error');
  expect(o.code, describeOutcome(o)).to.equal(code);
  expect(o.message).to.match(message);
  expect(o.messageLength ?? 0).to.be.below(2000);
  limits.expectRssWithin(o, extraMiB);
}

/** A pickle program: PROTO 2, `body` (raw opcodes), STOP. */
function program(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 3);
  out.set([0x80, 2]);
  out.set(body, 2);
  out[out.length - 1] = 0x2e;
  return out;
}

/** `n` copies of the opcode bytes `op`. */
function repeated(op: readonly number[], n: number): Uint8Array {
  const out = new Uint8Array(op.length * n);
  for (let i = 0; i < n; i++) out.set(op, i * op.length);
  return out;
}

const noGlobals = { source: 'test', resolveGlobal: () => undefined, persistentLoad: () => null };

describe('limits 2: the unpickler budgets values, not only bytes', function () {
  it('a 10 KB checkpoint of 8M EMPTY_DICT opcodes is refused at the value budget (was: V8 heap out of memory)', async function () {
    const pt = torchArchive(program(repeated([0x7d], 8_000_000)), {}, { method: 'deflate' });
    expect(pt.length).to.be.below(20_000);
    const o = await runLimited('convert', file('dicts.pt', pt), { heapMiB: 256, timeoutMs: 60_000 });
    expectTypedError(o, 'CHECKPOINT_INVALID', new RegExp(`builds more than ${MAX_PICKLE_VALUES} values`), 150);
  });

  it('17M MEMOIZE opcodes are refused at the budget (was: "Map maximum size exceeded")', async function () {
    const pt = torchArchive(program(concatBytes([Uint8Array.of(0x4e), repeated([0x94], 17_000_000)])), {}, { method: 'deflate' });
    const o = await runLimited('convert', file('memo.pt', pt), { heapMiB: 256, timeoutMs: 60_000 });
    expectTypedError(o, 'CHECKPOINT_INVALID', /builds more than .* values \(stack items and memo entries\)/, 150);
  });

  it('8M DUPs (stack depth) and an APPENDS of 3M items are refused at the budget', async function () {
    const dups = torchArchive(program(concatBytes([Uint8Array.of(0x4e), repeated([0x32], 8_000_000)])), {}, { method: 'deflate' });
    expectTypedError(await runLimited('convert', file('dups.pt', dups), { heapMiB: 256 }), 'CHECKPOINT_INVALID', /builds more than/, 100);
    const appends = torchArchive(program(concatBytes([Uint8Array.of(0x5d, 0x28), repeated([0x4b, 7], 3_000_000), Uint8Array.of(0x65)])), {}, { method: 'deflate' });
    expectTypedError(await runLimited('convert', file('appends.pt', appends), { heapMiB: 256 }), 'CHECKPOINT_INVALID', /builds more than/, 100);
  });

  it('APPENDS / SETITEMS of 900k items build the whole list / dict (was: push(...items) overflowed the call stack)', function () {
    const n = 900_000;
    const ints = new Uint8Array(2 * n);
    for (let i = 0; i < n; i++) ints.set([0x4b, i % 251], 2 * i);
    const list = unpickle(program(concatBytes([Uint8Array.of(0x5d, 0x28), ints, Uint8Array.of(0x65)])), noGlobals) as PickleValue[];
    expect(list.length).to.equal(n);
    expect([list[0], list[1], list[250], list[251], list[n - 1]]).to.deep.equal([0, 1, 250, 0, (n - 1) % 251]);
    const pairs = new Uint8Array(6 * (n / 2));
    const view = new DataView(pairs.buffer);
    for (let i = 0; i < n / 2; i++) { pairs[6 * i] = 0x4a; view.setInt32(6 * i + 1, i, true); pairs[6 * i + 5] = 0x88; }
    const dict = unpickle(program(concatBytes([Uint8Array.of(0x7d, 0x28), pairs, Uint8Array.of(0x75)])), noGlobals) as PickleDict;
    expect(dict.items.size).to.equal(n / 2);
    expect([dict.items.get(0), dict.items.get(n / 2 - 1), dict.items.get(n / 2)]).to.deep.equal([true, true, undefined]);
  });

  it('150k nested _rebuild_from_type_v2 calls are refused (was: RangeError, maximum call stack size)', async function () {
    const w = new PickleWriter().proto(2).global('torch._tensor', '_rebuild_from_type_v2').memoize()
      .global('torch', 'Tensor').memoize().get(0);
    const depth = 150_000;
    for (let i = 0; i < depth; i++) w.mark().get(0).get(1);
    w.emptyTuple();
    for (let i = 0; i < depth; i++) w.emptyDict().tuple();
    const pt = torchArchive(w.reduce().stop().bytes(), {}, { method: 'deflate' });
    const o = await runLimited('convert', file('nested.pt', pt), { heapMiB: 256 });
    expectTypedError(o, 'CHECKPOINT_INVALID', /_rebuild_from_type_v2 calls itself/, 100);
  });

  it('the budget is named in the error, not a V8 RangeError, when unpickling in process too', function () {
    let caught: unknown;
    try { unpickle(program(repeated([0x29], MAX_PICKLE_VALUES + 1)), noGlobals); } catch (err) { caught = err; }
    expect(caught).to.be.instanceOf(CheckpointError);
    expect((caught as CheckpointError).code).to.equal('CHECKPOINT_INVALID');
    expect((caught as Error).message).to.include(`pickle byte ${2 + MAX_PICKLE_VALUES}: the pickle builds more than ${MAX_PICKLE_VALUES} values`);
    // Exactly the budget is fine: MAX_PICKLE_VALUES - 1 empty tuples pushed and popped, then None.
    expect(unpickle(program(concatBytes([repeated([0x29, 0x30], MAX_PICKLE_VALUES - 1), Uint8Array.of(0x4e)])), noGlobals)).to.equal(null);
  });
});

/** A torch archive whose storage `0` is `bytes` zero bytes, deflated (built without holding them). */
function zeroStorageArchive(tensors: readonly TensorSpec[], bytes: number, extra: { name: string; bytes: number }[] = []): Uint8Array {
  const zeros = (size: number) => ({ payload: zerosDeflatedRaw(size), size, crc32: zerosCrc32(size) });
  return buildZip([
    { name: 'archive/data.pkl', data: stateDictPickle(tensors), descriptor: true },
    { name: 'archive/data/0', data: new Uint8Array(0), deflated: zeros(bytes), descriptor: true },
    ...extra.map((e) => ({ name: e.name, data: new Uint8Array(0), deflated: zeros(e.bytes) })),
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('limits 5: zip storages are read only as far as a tensor views them', function () {
  const GiB = 2 ** 30;
  it('a 1-element tensor at the end of a 256 MiB deflated storage reads in bounded memory (was: 3x the storage in RSS)', async function () {
    const numel = GiB / 16;
    const pt = zeroStorageArchive([{ key: 'x', storageClass: 'FloatStorage', storageKey: '0', numel, shape: [1], offset: numel - 1 }], numel * 4);
    expect(pt.length).to.be.below(2 ** 19);
    const o = await runLimited('checkpoint', file('bomb.pt', pt), { heapMiB: 128, timeoutMs: 120_000 });
    expect(o.outcome, describeOutcome(o)).to.equal('ok');
    expect(o.value).to.deep.equal({ x: { shape: [1], sha256: sha256(new Uint8Array(4)) } });
    limits.expectRssWithin(o, 64);
  });

  it('a 1 GiB byteorder record is refused unread (was: an untyped string-length error)', async function () {
    const pt = zeroStorageArchive([{ key: 'x', storageClass: 'FloatStorage', storageKey: '0', numel: 1, shape: [1] }], 4,
      [{ name: 'archive/byteorder', bytes: GiB }]);
    const o = await runLimited('checkpoint', file('byteorder.pt', pt), { heapMiB: 128 });
    expectTypedError(o, 'CHECKPOINT_INVALID', /record archive\/byteorder is 1073741824 bytes; it should hold little or big \(at most 64 bytes\)/, 64);
  });

  it('many views into one deflated storage stop at the inflation budget (4x the declared sizes)', async function () {
    const numel = 2 ** 22; // 16 MiB
    const views = Array.from({ length: 12 }, (_, i): TensorSpec => ({ key: `v${i}`, storageClass: 'FloatStorage', storageKey: '0', numel, shape: [1], offset: numel - 1 - i }));
    const pt = zeroStorageArchive(views, numel * 4);
    const o = await runLimited('checkpoint', file('views.pt', pt), { heapMiB: 128 });
    expectTypedError(o, 'CHECKPOINT_INVALID', /reading entry archive\/data\/0 would inflate more than 4 times the archive's declared \d+ bytes/, 64);
  });

  for (const method of ['stored', 'deflate'] as const) {
    it(`partial views of a ${method} storage give the viewed elements; its CRC is checked on the first read`, function () {
      const values = Array.from({ length: 40 }, (_, i) => i + 0.5);
      const specs: TensorSpec[] = [
        { key: 'strided', storageClass: 'FloatStorage', storageKey: '0', numel: 40, shape: [2, 2], stride: [3, 1], offset: 10 },
        { key: 'row', storageClass: 'FloatStorage', storageKey: '0', numel: 40, shape: [3], offset: 5 },
        { key: 'tail', storageClass: 'FloatStorage', storageKey: '0', numel: 40, shape: [2], stride: [2], offset: 37 },
      ];
      const good = file(`views-${method}.pt`, torchArchive(stateDictPickle(specs), { 0: f32Bytes(values) }, { method }));
      const ckpt = openTorchCheckpoint(good);
      try {
        expect([...ckpt.read('strided').data]).to.deep.equal([10.5, 11.5, 13.5, 14.5]);
        expect([...ckpt.read('row').data]).to.deep.equal([5.5, 6.5, 7.5]);
        expect([...ckpt.read('tail').data]).to.deep.equal([37.5, 39.5]);
      } finally { ckpt.close(); }
      if (method === 'deflate') return;
      // Element 0 is outside every view; damaging it must still fail the first read.
      const damaged = torchArchive(stateDictPickle(specs), { 0: f32Bytes([99, ...values.slice(1)]) }, { method });
      const at = Buffer.from(damaged).indexOf(Buffer.from(f32Bytes([99])));
      damaged.set(f32Bytes([0.5]), at);
      const bad = openTorchCheckpoint(file('views-damaged.pt', damaged));
      try {
        expect(() => bad.read('row')).to.throw(CheckpointError, /entry archive\/data\/0 is corrupt \(CRC-32/);
      } finally { bad.close(); }
    });
  }
});

/** A safetensors file of only a header: `__metadata__` and no tensors (1-2 KB). */
function headerOnlySafetensors(metadata: Record<string, string>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ __metadata__: metadata }));
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('limits 3: config values are bounded, error listings capped', function () {
  const med = (over: object) => JSON.stringify({ ...medConfigToJson(IMAGEREWARD_V1_MED), ...over });
  const vit = (over: object) => JSON.stringify({ ...vitConfigToJson(IMAGEREWARD_V1_VIT), ...over });

  it('num_hidden_layers 2,000,000 in a 1.4 KB header-only file is a CONFIG_INVALID naming the bound (was: the process crashed)', async function () {
    const st = headerOnlySafetensors({ med_config: med({ num_hidden_layers: 2_000_000 }), vit_config: vit({}) });
    expect(st.length).to.be.below(1500);
    const o = await runLimited('loadModel', file('layers.safetensors', st), { heapMiB: 256 });
    // 160 MiB: importing tfjs (which loadModel does and the baseline does not) is ~90 of them.
    expectTypedError(o, 'CONFIG_INVALID', /metadata: "num_hidden_layers" is 2000000, more than the 1024 it can be here/, 160);
  });

  it('1,000 layers (within the bound) and no tensors: WEIGHTS_MISMATCH in a few lines, not 38,000 keys (was: a 17.6 MB message at 10,000)', async function () {
    const st = headerOnlySafetensors({ med_config: med({ num_hidden_layers: 1000 }), vit_config: vit({ depth: 1000 }) });
    const o = await runLimited('loadModel', file('listing.safetensors', st), { heapMiB: 256 });
    // the summary line and the config hint; the key list (at most 1000 per kind) is in err.details
    expectTypedError(o, 'WEIGHTS_MISMATCH', /weights do not fit the ImageReward config: \d+ missing key\(s\)[^\n]* \(first: [^\n]+\)/, 160);
    expect(o.message!.split('\n').length).to.be.at.most(8);
    expect(Number(/weights do not fit the ImageReward config: (\d+) missing key/.exec(o.message ?? '')?.[1])).to.be.above(30_000);
  });

  it('every numeric field has an upper bound and a weight may not pass 2^30 elements', function () {
    const cases: [() => unknown, RegExp][] = [
      [() => parseMedConfig(med({ hidden_size: 40000, num_attention_heads: 1 })), /"hidden_size" is 40000, more than the 32768/],
      [() => parseMedConfig(med({ vocab_size: 2 ** 22 })), /"vocab_size" is 4194304, more than the 2097152/],
      [() => parseMedConfig(med({ layer_norm_eps: 1e300 })), /"layer_norm_eps" is 1e\+300, more than the 0.1/],
      [() => parseMedConfig(med({ vocab_size: 2 ** 21, hidden_size: 1024, num_attention_heads: 16 })), /word_embeddings would be \[2097152, 1024\], 2147483648 elements, more than the 1073741824/],
      [() => parseVitConfig(vit({ depth: 1025 })), /"depth" is 1025, more than the 1024/],
      [() => parseVitConfig(vit({ in_chans: 4 })), /"in_chans" is 4, more than the 3/],
      [() => parseVitConfig(vit({ img_size: 8192, patch_size: 1, embed_dim: 32 , num_heads: 1 })), /pos_embed would be \[1, 67108865, 32\]/],
    ];
    for (const [f, message] of cases) {
      expect(f).to.throw(ConfigError, message);
    }
    expect(parseMedConfig(med({})).numHiddenLayers).to.equal(12);
    expect(parseVitConfig(vit({ depth: 1024 })).depth).to.equal(1024);
  });
});
