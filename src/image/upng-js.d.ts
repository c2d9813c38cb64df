/** The upng-js 2.1.0 helper the PNG decoder uses (the package ships no types). */
declare module 'upng-js' {
  interface UpngDecode {
    /** zlib inflate of the concatenated IDAT payloads (pako). */
    _inflate(data: Uint8Array): Uint8Array;
  }
  const UPNG: { decode: UpngDecode };
  export default UPNG;
}
