/**
 * The torch side of the restricted unpickler: the allowlist of globals a state_dict pickle needs
 * and pure handlers that turn them into descriptions (a storage key, a tensor's offset/size/stride).
 * Mirrors torch/serialization.py `_load` (persistent_load, the 'Storage' find_class rule) and the
 * rebuild functions of torch/_utils.py; nothing here touches tensor bytes.
 */
import { invalid } from './errors.js';
import {
  PickleDict, PickleGlobal, PickleObject, PickleTuple, unpickle,
  type GlobalHandler, type PickleValue,
} from './pickle.js';

/** Element types torch storages may have (names follow safetensors). */
export type TorchDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const TORCH_DTYPE_SIZES: Readonly<Record<TorchDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Legacy storage classes (torch.FloatStorage ...), as torch.storage._get_dtype_from_pickle_storage_type maps them. */
const STORAGE_CLASSES: Readonly<Record<string, TorchDtype>> = {
  DoubleStorage: 'F64', FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

/** torch dtypes as pickled by name (torch.float32.__reduce__() is 'float32'), for _rebuild_tensor_v3. */
const DTYPE_NAMES: Readonly<Record<string, TorchDtype>> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32',
  int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

/** One `data/<key>` record of the archive; UntypedStorage counts bytes (dtype U8). */
export class StorageRef extends PickleObject {
  constructor(readonly key: string, readonly dtype: TorchDtype, readonly numel: number) { super(); }
  get byteLength(): number { return this.numel * TORCH_DTYPE_SIZES[this.dtype]; }
}

/** A tensor as torch._utils rebuilds it: a strided view (in elements of `dtype`) into a storage. */
export class TensorRef extends PickleObject {
  constructor(
    readonly storage: StorageRef,
    readonly dtype: TorchDtype,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) { super(); }
}

type Handler = (args: readonly PickleValue[], source: string) => PickleValue;

const REBUILDERS: Readonly<Record<string, Handler>> = {
  // torch/_utils.py _rebuild_tensor(storage, storage_offset, size, stride)
  'torch._utils._rebuild_tensor': (a, src) => tensorRef(a, 4, 4, src),
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None)
  'torch._utils._rebuild_tensor_v2': (a, src) => tensorRef(a, 6, 7, src),
  // _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None)
  'torch._utils._rebuild_tensor_v3': (a, src) => {
    const dtype = a[6];
    if (!(dtype instanceof PickleGlobal) || dtype.module !== 'torch' || !Object.hasOwn(DTYPE_NAMES, dtype.name)) {
      throw invalid(`${src}: _rebuild_tensor_v3 needs a torch dtype as its 7th argument`);
    }
    return tensorRef(a, 7, 8, src, DTYPE_NAMES[dtype.name]);
  },
  // _rebuild_parameter(data, requires_grad, backward_hooks) and _rebuild_parameter_with_state(..., state)
  'torch._utils._rebuild_parameter': (a, src) => parameterData(a, 3, src),
  'torch._utils._rebuild_parameter_with_state': (a, src) => parameterData(a, 4, src),
  // torch/_tensor.py _rebuild_from_type_v2(func, new_type, args, state): func(*args) for plain tensor types.
  // torch nests it once (func is a _rebuild_tensor); deeper chains, pickled in advance, would recurse here.
  'torch._tensor._rebuild_from_type_v2': (a, src) => {
    const [func, newType, args] = a;
    if (a.length !== 4 || !(func instanceof PickleGlobal) || !func.handler.call || !(args instanceof PickleTuple)) {
      throw invalid(`${src}: malformed _rebuild_from_type_v2 call`);
    }
    if (!(newType instanceof PickleGlobal) || !TENSOR_TYPES.has(newType.qualifiedName)) {
      throw invalid(`${src}: _rebuild_from_type_v2 to ${describe(newType)} is not supported`);
    }
    if (func.name === '_rebuild_from_type_v2') {
      throw invalid(`${src}: _rebuild_from_type_v2 calls itself (torch never nests it)`);
    }
    return func.handler.call(args.items);
  },
  // An empty OrderedDict: a state_dict itself, or the backward_hooks argument.
  'collections.OrderedDict': (a, src) => {
    if (a.length !== 0) throw invalid(`${src}: OrderedDict called with arguments`);
    return new PickleDict();
  },
};

const TENSOR_TYPES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter']);

/** torch.serialization's UnpicklerWrapper maps the old module name torch.tensor to torch._tensor. */
const MODULE_ALIASES: Readonly<Record<string, string>> = { 'torch.tensor': 'torch._tensor' };

function describe(v: PickleValue | undefined): string {
  if (v instanceof PickleGlobal) return v.qualifiedName;
  if (v instanceof PickleObject) return v.constructor.name;
  if (v instanceof PickleDict) return 'dict';
  if (v instanceof PickleTuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  return v === undefined ? 'nothing' : v === null ? 'None' : typeof v;
}

function intList(v: PickleValue | undefined, what: string, src: string): number[] {
  const items = v instanceof PickleTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw invalid(`${src}: tensor ${what} is not a tuple of non-negative integers`);
  }
  return items as number[];
}

function tensorRef(a: readonly PickleValue[], min: number, max: number, src: string, dtype?: TorchDtype): TensorRef {
  if (a.length < min || a.length > max) throw invalid(`${src}: tensor rebuild with ${a.length} arguments (expected ${min}-${max})`);
  const [storage, offset, size, stride] = a;
  if (!(storage instanceof StorageRef)) throw invalid(`${src}: tensor rebuilt from ${describe(storage)}, not a storage`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw invalid(`${src}: tensor storage offset is not a non-negative integer`);
  const shape = intList(size, 'size', src);
  const strides = intList(stride, 'stride', src);
  if (shape.length !== strides.length) throw invalid(`${src}: tensor size ${JSON.stringify(shape)} and stride ${JSON.stringify(strides)} differ in length`);
  const hooks = a[5];
  if (hooks instanceof PickleDict && hooks.items.size > 0) throw invalid(`${src}: tensor has backward hooks`);
  if (dtype !== undefined && storage.dtype !== 'U8' && storage.dtype !== dtype) {
    throw invalid(`${src}: _rebuild_tensor_v3 dtype ${dtype} does not match storage ${storage.key} (${storage.dtype})`);
  }
  return new TensorRef(storage, dtype ?? storage.dtype, offset, shape, strides);
}

function parameterData(a: readonly PickleValue[], n: number, src: string): PickleValue {
  if (a.length !== n || !(a[0] instanceof TensorRef)) throw invalid(`${src}: malformed _rebuild_parameter call`);
  return a[0];
}

function resolveGlobal(rawModule: string, name: string, source: string): GlobalHandler | undefined {
  const module = MODULE_ALIASES[rawModule] ?? rawModule;
  const full = `${module}.${name}`;
  const rebuild = REBUILDERS[full];
  if (rebuild) return { call: (args) => rebuild(args, source) };
  const isStorageClass = module === 'torch' && Object.hasOwn(STORAGE_CLASSES, name);
  const isUntyped = full === 'torch.UntypedStorage' || full === 'torch.storage.UntypedStorage';
  const isDtype = module === 'torch' && Object.hasOwn(DTYPE_NAMES, name);
  // Types and dtypes are inert markers: they can be referenced but not called.
  if (isStorageClass || isUntyped || isDtype || TENSOR_TYPES.has(full)) return {};
  return undefined;
}

/** The storage dtype a persistent id names: a legacy storage class, or UntypedStorage (bytes). */
function storageDtype(type: PickleValue | undefined, src: string): TorchDtype {
  if (type instanceof PickleGlobal) {
    if (type.module === 'torch' && Object.hasOwn(STORAGE_CLASSES, type.name)) return STORAGE_CLASSES[type.name]!;
    if (type.name === 'UntypedStorage') return 'U8';
  }
  throw invalid(`${src}: persistent id names ${describe(type)}, not a storage type`);
}

/**
 * Unpickles a torch state_dict pickle into tensor descriptions, refusing anything else.
 * Returns entries in pickle order; storages with the same key are shared.
 */
export function readStateDictPickle(bytes: Uint8Array, source: string): Map<string, TensorRef> {
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: PickleValue): PickleValue => {
    // ('storage', storage_type, key, location, numel): torch/serialization.py persistent_id
    const t = pid instanceof PickleTuple ? pid.items : undefined;
    if (!t || t.length !== 5 || t[0] !== 'storage') throw invalid(`${source}: unsupported persistent id (expected a 'storage' tuple of 5)`);
    const [, type, key, location, numel] = t;
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) throw invalid(`${source}: storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof location !== 'string') throw invalid(`${source}: storage ${key} has no device location string`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw invalid(`${source}: storage ${key} has an invalid element count`);
    const dtype = storageDtype(type, source);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) throw invalid(`${source}: storage ${key} is referenced with different types or sizes`);
      return known;
    }
    const ref = new StorageRef(key, dtype, numel);
    storages.set(key, ref);
    return ref;
  };
  const root = unpickle(bytes, { source, persistentLoad, resolveGlobal: (m, n) => resolveGlobal(m, n, source) });
  if (!(root instanceof PickleDict)) throw invalid(`${source}: the checkpoint is a ${describe(root)}, not a state_dict (a dict of tensors)`);
  const tensors = new Map<string, TensorRef>();
  const notTensors: string[] = [];
  for (const [key, value] of root.items) {
    if (typeof key !== 'string') throw invalid(`${source}: state_dict key ${String(key)} is not a string`);
    if (value instanceof TensorRef) tensors.set(key, value);
    else notTensors.push(`${key} (${describe(value)})`);
  }
  if (notTensors.length > 0) throw invalid(`${source}: state_dict entries that are not tensors: ${notTensors.slice(0, 5).join(', ')}${notTensors.length > 5 ? ', ...' : ''}`);
  return tensors;
}
