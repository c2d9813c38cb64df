import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, openTorchCheckpoint } from '../src/convert/index.js';
import { f32Bytes, PickleWriter, stateDictPickle, torchArchive, type TensorSpec } from './helpers/torchzip.js';

const W: TensorSpec = { key: 'w', storageClass: 'FloatStorage', storageKey: '0', numel: 6, shape: [2, 3] };
const W_DATA = f32Bytes([1, 2, 3, 4, 5, 6]);

describe('convert: restricted unpickler and torch checkpoint reader', () => {
  let dir: string;
  let marker: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ir-pickle-'));
    marker = join(dir, 'PWNED');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  const write = (bytes: Uint8Array) => { const p = join(dir, `ckpt${n++}.pt`); writeFileSync(p, bytes); return p; };
  const archive = (pickle: Uint8Array, storages: Record<string, Uint8Array> = {}) => write(torchArchive(pickle, storages));
  const rejects = (path: string, code: string, pattern: RegExp) => {
    let caught: unknown;
    try { openTorchCheckpoint(path).close(); } catch (err) { caught = err; }
    expect(caught).to.be.instanceOf(CheckpointError);
    expect((caught as CheckpointError).code).to.equal(code);
    expect((caught as Error).message).to.match(pattern);
    expect(existsSync(marker), 'the payload must not have run').to.equal(false);
  };

  describe('malicious pickles are refused and nothing runs', () => {
    it('GLOBAL os.system / posix.system + REDUCE', () => {
      for (const module of ['os', 'posix']) {
        const p = new PickleWriter().proto(2).global(module, 'system').str(`touch ${marker}`).op(0x85).reduce().stop();
        rejects(archive(p.bytes()), 'CHECKPOINT_UNSAFE', new RegExp(`refusing to load: pickle references ${module}\\.system`));
      }
    });

    it('builtins.eval, also hidden inside a state_dict value', () => {
      const evil = new PickleWriter().proto(2).global('builtins', 'eval').str(`open(${JSON.stringify(marker)}, 'w')`).op(0x85).reduce().stop();
      rejects(archive(evil.bytes()), 'CHECKPOINT_UNSAFE', /pickle references builtins\.eval/);
      const nested = new PickleWriter().proto(2).emptyDict().str('w').global('builtins', 'eval').str('1').op(0x85).reduce().setitem().stop();
      rejects(archive(nested.bytes()), 'CHECKPOINT_UNSAFE', /builtins\.eval/);
    });

    it('STACK_GLOBAL (protocol 4) subprocess.Popen', () => {
      const p = new PickleWriter().proto(4).str('subprocess').memoize().str('Popen').memoize().stackGlobal()
        .str('touch').op(0x85).reduce().stop();
      rejects(archive(p.bytes()), 'CHECKPOINT_UNSAFE', /pickle references subprocess\.Popen/);
    });

    it('unknown and object-building opcodes', () => {
      rejects(archive(new PickleWriter().proto(2).op(0xff).stop().bytes()), 'CHECKPOINT_UNSAFE', /opcode 0xff \(unknown\)/);
      const inst = new PickleWriter().proto(2).mark().op(0x69, ...new TextEncoder().encode('os\nsystem\n')).stop();
      rejects(archive(inst.bytes()), 'CHECKPOINT_UNSAFE', /opcode 0x69 \(INST\)/);
      const newobj = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().op(0x81).stop();
      rejects(archive(newobj.bytes()), 'CHECKPOINT_UNSAFE', /\(NEWOBJ\)/);
    });

    it('calling an allowed but inert global (a storage class) and BUILD on a non-dict', () => {
      const call = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop();
      rejects(archive(call.bytes()), 'CHECKPOINT_UNSAFE', /refusing to call torch\.FloatStorage/);
      const build = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyDict().build().stop();
      rejects(archive(build.bytes()), 'CHECKPOINT_UNSAFE', /refusing BUILD/);
    });
  });

  describe('inconsistent checkpoints are refused with the reason', () => {
    it('a storage key that is not in the archive', () => {
      rejects(archive(stateDictPickle([W]), { 1: W_DATA }), 'CHECKPOINT_INVALID', /tensor w references storage 0, which is not in the archive/);
    });

    it('a storage record whose size disagrees with the pickle, and a view past its end', () => {
      rejects(archive(stateDictPickle([{ ...W, numel: 7 }]), { 0: W_DATA }), 'CHECKPOINT_INVALID', /storage 0 holds 24 bytes but the pickle declares 7 x F32/);
      rejects(archive(stateDictPickle([{ ...W, offset: 1 }]), { 0: W_DATA }), 'CHECKPOINT_INVALID', /tensor w .* reaches past the end of storage 0/);
    });

    it('truncated pickles, non-dict roots and non-tensor values', () => {
      const full = stateDictPickle([W]);
      rejects(archive(full.subarray(0, full.length - 5), { 0: W_DATA }), 'CHECKPOINT_INVALID', /pickle data is truncated|no MARK/);
      rejects(archive(new PickleWriter().proto(2).int(5).stop().bytes()), 'CHECKPOINT_INVALID', /is a number, not a state_dict/);
      rejects(archive(new PickleWriter().proto(2).op(0x8b, 0, 0, 0, 0x10).stop().bytes()), 'CHECKPOINT_INVALID', /LONG4 integer of 268435456 bytes is out of range/);
      rejects(archive(new PickleWriter().proto(2).emptyDict().str('epoch').int(3).setitem().stop().bytes()), 'CHECKPOINT_INVALID', /not tensors: epoch \(number\)/);
    });

    it('legacy formats and non-checkpoints get a clear message', () => {
      const legacy = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e);
      rejects(write(legacy), 'CHECKPOINT_INVALID', /legacy \(pre-1\.6, non-zip\) torch\.save format/);
      const tar = new Uint8Array(1024);
      tar.set(new TextEncoder().encode('ustar'), 257);
      rejects(write(tar), 'CHECKPOINT_INVALID', /legacy tar torch\.save format/);
      rejects(write(new TextEncoder().encode('{"not": "a checkpoint"}')), 'CHECKPOINT_INVALID', /not a torch checkpoint/);
    });
  });

  describe('valid forms are read correctly', () => {
    it('materializes non-contiguous strides and storage offsets', () => {
      const data = f32Bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const specs: TensorSpec[] = [
        { key: 't', storageClass: 'FloatStorage', storageKey: '0', numel: 12, shape: [4, 3], stride: [1, 4] }, // transpose of [3,4]
        { key: 'col', storageClass: 'FloatStorage', storageKey: '0', numel: 12, shape: [3], stride: [4], offset: 1 },
        { key: 'expand', storageClass: 'FloatStorage', storageKey: '0', numel: 12, shape: [2, 3], stride: [0, 1], offset: 9 },
      ];
      const ckpt = openTorchCheckpoint(archive(stateDictPickle(specs), { 0: data }));
      try {
        expect(ckpt.keys).to.deep.equal(['t', 'col', 'expand']);
        expect(ckpt.info('t')).to.deep.equal({ dtype: 'F32', shape: [4, 3] });
        expect([...ckpt.read('t').data]).to.deep.equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
        expect([...ckpt.read('col').data]).to.deep.equal([1, 5, 9]);
        expect([...ckpt.read('expand').data]).to.deep.equal([9, 10, 11, 9, 10, 11]);
      } finally {
        ckpt.close();
      }
    });

    it('keeps NaN payloads and half bits of 8- and 2-byte elements through a strided copy', () => {
      const i64 = BigInt64Array.of(-1n, 2n ** 62n, 3n, -(2n ** 40n));
      const halves = Uint16Array.of(0x7c01, 0x3c00, 0xfe00, 0x0001);
      const specs: TensorSpec[] = [
        { key: 'ids', storageClass: 'LongStorage', storageKey: 'a', numel: 4, shape: [2, 2], stride: [1, 2] },
        { key: 'h', storageClass: 'HalfStorage', storageKey: 'b', numel: 4, shape: [2, 2], stride: [1, 2] },
      ];
      const ckpt = openTorchCheckpoint(archive(stateDictPickle(specs), { a: new Uint8Array(i64.buffer), b: new Uint8Array(halves.buffer) }));
      try {
        expect([...ckpt.read('ids').data]).to.deep.equal([-1n, 3n, 2n ** 62n, -(2n ** 40n)]);
        const h = ckpt.read('h');
        expect(h.dtype).to.equal('F16');
        expect([...h.data]).to.deep.equal([0x7c01, 0xfe00, 0x3c00, 0x0001]);
      } finally {
        ckpt.close();
      }
    });

    it('reads UntypedStorage + _rebuild_tensor_v3 dtype, _rebuild_parameter, protocol 4 frames and deflated records', () => {
      const p = new PickleWriter().proto(4).op(0x95, 0, 0, 0, 0, 0, 0, 0, 0).emptyDict().memoize().mark();
      p.str('p').global('torch._utils', '_rebuild_parameter').global('torch._utils', '_rebuild_tensor_v3').mark()
        .mark().str('storage').global('torch', 'UntypedStorage').str('7').str('cpu').int(8).tuple().binpersid()
        .int(0).ints([2, 2]).ints([2, 1]).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce()
        .global('torch', 'float16').tuple().reduce().bool(true).global('collections', 'OrderedDict').emptyTuple().reduce()
        .op(0x87).reduce();
      p.setitems().stop();
      const bytes = new Uint8Array(Uint16Array.of(0x3c00, 0x4000, 0x4200, 0xc400).buffer);
      const ckpt = openTorchCheckpoint(write(torchArchive(p.bytes(), { 7: bytes }, { method: 'deflate' })));
      try {
        expect(ckpt.info('p')).to.deep.equal({ dtype: 'F16', shape: [2, 2] });
        expect([...ckpt.read('p').data]).to.deep.equal([0x3c00, 0x4000, 0x4200, 0xc400]);
      } finally {
        ckpt.close();
      }
    });

    it('byte-swaps storages of a big-endian archive', () => {
      const be = new Uint8Array([0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]); // 1.0, -2.0 big-endian
      const spec: TensorSpec = { key: 'x', storageClass: 'FloatStorage', storageKey: '0', numel: 2, shape: [2] };
      const bytes = torchArchive(stateDictPickle([spec]), { 0: be }, { extra: [{ name: 'archive/byteorder', data: new TextEncoder().encode('big') }] });
      const ckpt = openTorchCheckpoint(write(bytes));
      try {
        expect([...ckpt.read('x').data]).to.deep.equal([1, -2]);
      } finally {
        ckpt.close();
      }
    });
  });
});
