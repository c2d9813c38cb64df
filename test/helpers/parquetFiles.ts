/**
 * Parquet files built page by page, for the Parquet reader's limit tests: one row group, each column
 * one chunk of the given pages, each page header exactly as given (a field left undefined is left
 * out of the file), the footer hyparquet-writer's own.
 */
import type { ColumnMetaData, CompressionCodec, PageHeader, ParquetType } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';

export interface PageSpec {
  /** Sizes default to the body's length; anything else is written as given. */
  header: Partial<PageHeader>;
  body: Uint8Array;
}

export interface ColumnSpec {
  name: string;
  /** Default BYTE_ARRAY (UTF8), OPTIONAL, UNCOMPRESSED. */
  type?: ParquetType;
  required?: boolean;
  codec?: CompressionCodec;
  pages: PageSpec[];
}

export function parquetOf(rows: number, columns: ColumnSpec[]): Uint8Array {
  const writer = new ByteWriter();
  writer.appendUint32(0x31524150); // PAR1
  const chunks = columns.map((c) => {
    const start = BigInt(writer.offset);
    const first = c.pages[0]?.header.type;
    for (const { header, body } of c.pages) {
      writePageHeader(writer, { uncompressed_page_size: body.length, compressed_page_size: body.length, ...header } as Parameters<typeof writePageHeader>[1]);
      writer.appendBytes(body);
    }
    const size = BigInt(writer.offset) - start;
    const meta: ColumnMetaData = {
      type: c.type ?? 'BYTE_ARRAY', encodings: ['PLAIN'], path_in_schema: [c.name], codec: c.codec ?? 'UNCOMPRESSED',
      num_values: BigInt(rows), total_uncompressed_size: size, total_compressed_size: size,
      data_page_offset: start, ...(first === 'DICTIONARY_PAGE' ? { dictionary_page_offset: start } : {}),
    };
    return { file_offset: start, meta_data: meta };
  });
  const metadata = {
    version: 2,
    schema: [
      { name: 'root', num_children: columns.length },
      ...columns.map((c) => ({
        name: c.name, type: c.type ?? 'BYTE_ARRAY', repetition_type: c.required ? 'REQUIRED' : 'OPTIONAL',
        ...((c.type ?? 'BYTE_ARRAY') === 'BYTE_ARRAY' ? { converted_type: 'UTF8' } : {}),
      })),
    ],
    num_rows: BigInt(rows),
    row_groups: [{ columns: chunks, total_byte_size: BigInt(writer.offset - 4), num_rows: BigInt(rows) }],
    metadata_length: 0,
  } as unknown as Parameters<typeof writeMetadata>[1];
  writeMetadata(writer, metadata);
  writer.appendUint32(0x31524150);
  return new Uint8Array(writer.getBuffer());
}

/** PLAIN BYTE_ARRAY values: a 4-byte length, then the UTF-8 bytes, each. */
export function plainStrings(values: string[]): Uint8Array {
  return concatBytes(...values.flatMap((v) => {
    const bytes = new TextEncoder().encode(v);
    return [uint32(bytes.length), bytes];
  }));
}

/** A version-1 data page body: the encoded definition levels behind their 4-byte length, then the values. */
export function v1Body(levelBytes: number[], values: Uint8Array | number[]): Uint8Array {
  return concatBytes(uint32(levelBytes.length), Uint8Array.from(levelBytes), Uint8Array.from(values));
}

export function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
