/** The part of pako 1.0 (the inflater upng-js ships) that inflate.ts and convert/zip.ts drive; the package ships no types. */
declare module 'pako' {
  class Inflate {
    constructor(options?: { chunkSize?: number; raw?: boolean });
    /** Feeds input; `true` ends the stream. Returns false on a zlib error (then `err` / `msg` are set). */
    push(data: Uint8Array, mode: boolean): boolean;
    /** Called with each output chunk; the default collects them for `result`. */
    onData(chunk: Uint8Array): void;
    readonly err: number;
    readonly msg: string;
    readonly result: Uint8Array | undefined;
  }
  const pako: { Inflate: typeof Inflate };
  export default pako;
}
