/** The upng-js 2.1.0 helpers the PNG decoder uses (the package ships no types). */
declare module 'upng-js' {
  interface UpngDecode {
    /** zlib inflate of the concatenated IDAT payloads (pako). */
    _inflate(data: Uint8Array): Uint8Array;
  }
  interface UpngCrc {
    /** CRC-32 register update over `buf[off, off + len)` (start 0xffffffff, finish ^ 0xffffffff). */
    update(c: number, buf: Uint8Array, off: number, len: number): number;
  }
  const UPNG: { decode: UpngDecode; crc: UpngCrc };
  export default UPNG;
}
