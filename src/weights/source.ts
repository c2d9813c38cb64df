import type { Dtype } from './dtype.js';
import type { TensorData } from './safetensorsHeader.js';

/** Anything that lists tensors and reads them one by one; SafetensorsReader and the streamed reader are. */
export interface WeightSource {
  /** Where the weights come from, for error messages (a path, or '<memory>'). */
  readonly source?: string;
  readonly names: readonly string[];
  info(name: string): { readonly dtype: Dtype; readonly shape: readonly number[] };
  read(name: string): TensorData;
}
