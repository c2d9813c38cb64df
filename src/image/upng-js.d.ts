/** The two upng-js 2.1.0 helpers the PNG decoder uses (the package ships no types). */
declare module 'upng-js' {
  interface UpngHeader { width: number; height: number; depth: number; ctype: number }
  interface UpngDecode {
    /** zlib inflate of the concatenated IDAT payloads (pako). */
    _inflate(data: Uint8Array): Uint8Array;
    /** Undoes the PNG row filters of a w x h (sub)image starting at `off`, in place, rows packed to `off + y*bpl`. */
    _filterZero(data: Uint8Array, out: UpngHeader, off: number, w: number, h: number): Uint8Array;
  }
  const UPNG: { decode: UpngDecode };
  export default UPNG;
}
