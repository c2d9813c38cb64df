/**
 * A restricted unpickler (protocols 2-5) that builds plain data and never executes anything.
 * It implements the opcodes Python's pickler emits for dicts, lists, tuples, ints, floats,
 * strings, bytes, bools and None (Lib/pickle.py `_Pickler.save_*`). GLOBAL / STACK_GLOBAL resolve
 * only through an allowlist supplied by the caller; REDUCE, BUILD and BINPERSID only call the
 * allowlisted pure handlers. Every other opcode and every other global is refused with its name.
 */
import { unsafe, invalid } from './errors.js';

export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | PickleTuple | PickleDict | PickleGlobal | PickleObject;

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export type PickleKey = string | number | bigint | boolean | null;

/** dict and collections.OrderedDict (insertion order kept). */
export class PickleDict {
  /** Made on first use: an empty Map costs ~240 bytes, and most pickled dicts (hooks, state) stay empty. */
  private map: Map<PickleKey, PickleValue> | undefined;
  get items(): Map<PickleKey, PickleValue> { return (this.map ??= new Map()); }
}

/** An allowlisted global, e.g. torch._utils._rebuild_tensor_v2. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string, readonly handler: GlobalHandler) {}
  get qualifiedName(): string { return `${this.module}.${this.name}`; }
}

/** A value the caller's handlers construct (a storage, a tensor reference, a dtype). */
export abstract class PickleObject {}

export interface GlobalHandler {
  /** REDUCE with this global as the callable. Absent: the global cannot be called. */
  readonly call?: (args: readonly PickleValue[]) => PickleValue;
}

export interface UnpickleOptions {
  /** Looks a global up in the allowlist; undefined means "refuse". */
  resolveGlobal(module: string, name: string): GlobalHandler | undefined;
  /** BINPERSID: turns a persistent id into a value (torch: a storage reference). */
  persistentLoad(pid: PickleValue): PickleValue;
  /** Names the source in error messages. */
  readonly source: string;
}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/** Opcodes that exist in Python's pickle but are refused here, named for the error message. */
const REFUSED_OPCODES: Readonly<Record<number, string>> = {
  0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x70: 'PUT', 0x67: 'GET', 0x50: 'PERSID', 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_LONG_BYTES = 64;

/**
 * Values one pickle may build: every stack push (new value, MARK, DUP, memo fetch) and every new memo
 * entry counts once, never refunded, so it bounds live memory and work alike. A state_dict needs
 * about 25 per tensor (ImageReward.pt: ~20k in all); this admits 40k tensors, and the worst case it
 * admits (a million one-entry dicts) stays near 200 MB instead of the heap running out.
 */
export const MAX_PICKLE_VALUES = 1_000_000;

/** Python ints: a JS number when exactly representable, a bigint otherwise. */
function pyInt(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

/** Runs the pickle program in `bytes` and returns the value left by STOP. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let opStart = 0;
  let values = 0;

  const where = () => `${opts.source}: pickle byte ${opStart}`;
  const fail = (msg: string): never => { throw invalid(`${where()}: ${msg}`); };
  const need = (n: number) => { if (n < 0 || pos + n > bytes.length) fail('pickle data is truncated'); };
  const u8 = () => { need(1); return bytes[pos++]!; };
  const u16 = () => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const i32 = () => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > MAX_SAFE) fail(`length ${v} is out of range`);
    return Number(v);
  };
  const take = (n: number) => { need(n); const out = bytes.subarray(pos, pos + n); pos += n; return out; };
  const text = (n: number) => {
    const raw = take(n);
    try { return utf8.decode(raw); } catch { return fail('string is not valid UTF-8'); }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL name');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const signedLE = (raw: Uint8Array): bigint => {
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]!);
    if (raw.length > 0 && raw[raw.length - 1]! & 0x80) v -= 1n << BigInt(8 * raw.length);
    return v;
  };

  /** Charges one value against MAX_PICKLE_VALUES. */
  const spend = () => {
    if (++values > MAX_PICKLE_VALUES) fail(`the pickle builds more than ${MAX_PICKLE_VALUES} values (stack items and memo entries); a state_dict needs far fewer`);
  };
  const push = (v: StackItem) => { spend(); stack.push(v); };
  const memoPut = (i: number, v: PickleValue) => { if (!memo.has(i)) spend(); memo.set(i, v); };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('no MARK on the stack');
    const items = stack.splice(at) as StackItem[];
    items.shift();
    return items as PickleValue[];
  };
  const memoGet = (i: number): PickleValue => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    return memo.get(i)!;
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    const handler = opts.resolveGlobal(module, name);
    if (!handler) throw unsafe(`${opts.source}: refusing to load: pickle references ${module}.${name} (only torch tensor/storage rebuilders and collections.OrderedDict are allowed; nothing was executed)`);
    return new PickleGlobal(module, name, handler);
  };
  const dictKey = (k: PickleValue): PickleKey => {
    if (k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k)) return k as PickleKey;
    return fail('dict key is not a string, number, bool or None');
  };
  const setItems = (target: PickleValue, kv: PickleValue[]) => {
    if (!(target instanceof PickleDict)) fail('SETITEM(S) on something that is not a dict');
    if (kv.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (target as PickleDict).items.set(dictKey(kv[i]!), kv[i + 1]!);
  };
  const appendItems = (target: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(target)) fail('APPEND(S) on something that is not a list');
    // One by one: push(...items) passes every item as an argument and overflows the call stack.
    for (const item of items) (target as PickleValue[]).push(item);
  };

  for (;;) {
    opStart = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto < 2 || proto > 5) fail(`pickle protocol ${proto} is not supported (2-5)`);
        break;
      }
      case 0x95: u64(); break; // FRAME: frames are inline; the length is only a hint
      case 0x2e: { // STOP
        const result = pop();
        if (stack.length !== 0) fail(`STOP with ${stack.length} items left on the stack`);
        return result;
      }
      case 0x28: push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(pyInt(signedLE(take(u8())))); break; // LONG1
      case 0x8b: { // LONG4: state_dicts hold small ints; a huge one would only cost quadratic time
        const n = i32();
        if (n < 0 || n > MAX_LONG_BYTES) fail(`LONG4 integer of ${n} bytes is out of range for a state_dict`);
        push(pyInt(signedLE(take(n))));
        break;
      }
      case 0x47: need(8); push(view.getFloat64(pos, false)); pos += 8; break; // BINFLOAT (big-endian)
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x42: push(take(u32()).slice()); break; // BINBYTES
      case 0x43: push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: push(take(u64()).slice()); break; // BINBYTES8, BYTEARRAY8
      case 0x29: push(new PickleTuple([])); break; // EMPTY_TUPLE
      case 0x74: push(new PickleTuple(popMark())); break; // TUPLE
      case 0x85: push(new PickleTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(new PickleTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(new PickleTuple([a, b, c])); break; } // TUPLE3
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x7d: push(new PickleDict()); break; // EMPTY_DICT
      case 0x64: { const d = new PickleDict(); setItems(d, popMark()); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32())); break; // LONG_BINGET
      case 0x71: memoPut(u8(), top()); break; // BINPUT
      case 0x72: memoPut(u32(), top()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size, top()); break; // MEMOIZE
      case 0x63: { const module = line(); push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(resolve(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal)) fail('REDUCE on something that is not a global');
        const g = callable as PickleGlobal;
        if (!(args instanceof PickleTuple)) fail(`REDUCE of ${g.qualifiedName} without an argument tuple`);
        if (!g.handler.call) throw unsafe(`${where()}: refusing to call ${g.qualifiedName}`);
        push(g.handler.call((args as PickleTuple).items));
        break;
      }
      case 0x62: { // BUILD: only dict state on an OrderedDict (state_dict._metadata), which we drop
        const state = pop();
        const target = top();
        if (!(target instanceof PickleDict) || !(state instanceof PickleDict || state === null)) {
          throw unsafe(`${where()}: refusing BUILD (setting object state) on anything but an OrderedDict`);
        }
        break;
      }
      case 0x51: push(opts.persistentLoad(pop())); break; // BINPERSID
      default: {
        const name = REFUSED_OPCODES[op];
        throw unsafe(`${where()}: refusing to load: pickle opcode 0x${op.toString(16).padStart(2, '0')}${name ? ` (${name})` : ' (unknown)'} is not allowed in a state_dict`);
      }
    }
  }
}
