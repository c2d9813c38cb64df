/**
 * Per-component geometry of jdinput.c initial_setup (downsampled size, size in blocks) and the
 * whole-image coefficient buffer of jdcoefct.c (rounded up to whole MCUs, as libjpeg allocates it),
 * allocated only for files that need it (progressive or multi-scan: allocateWholeImage).
 */
import type { Frame, FrameComponent } from './markers.js';

export interface ComponentBuffer {
  frame: FrameComponent;
  /** jdiv_round_up(image_width * h, max_h): the samples that are really in the image. */
  downsampledWidth: number;
  downsampledHeight: number;
  /** Blocks holding those samples (what a non-interleaved scan codes). */
  widthInBlocks: number;
  heightInBlocks: number;
  /** Blocks per row / column of the coefficient buffer (whole MCUs of an interleaved scan). */
  blocksPerLine: number;
  blocksPerColumn: number;
  /**
   * 64 coefficients per block, natural order, row-major blocks: the whole image (allocateWholeImage),
   * or one iMCU row of `v` block rows when a single-scan file is streamed (stream.ts).
   */
  coefficients: Int16Array;
  /** The quantisation table latched when the component's first scan starts (jdinput.c latch_quant_tables). */
  quant: Uint16Array | null;
}

export interface FrameLayout {
  maxH: number;
  maxV: number;
  /** MCUs per row / column of an interleaved scan. */
  mcusPerLine: number;
  mcuRows: number;
  components: ComponentBuffer[];
  /** Whether `coefficients` hold the whole image (jdcoefct.c's virtual arrays). */
  wholeImage: boolean;
}

export function frameLayout(frame: Frame): FrameLayout {
  const maxH = Math.max(...frame.components.map((c) => c.h));
  const maxV = Math.max(...frame.components.map((c) => c.v));
  const mcusPerLine = Math.ceil(frame.width / (8 * maxH));
  const mcuRows = Math.ceil(frame.height / (8 * maxV));
  const components = frame.components.map((c): ComponentBuffer => {
    const blocksPerLine = mcusPerLine * c.h;
    const blocksPerColumn = mcuRows * c.v;
    return {
      frame: c,
      downsampledWidth: Math.ceil((frame.width * c.h) / maxH),
      downsampledHeight: Math.ceil((frame.height * c.v) / maxV),
      widthInBlocks: Math.ceil((frame.width * c.h) / (maxH * 8)),
      heightInBlocks: Math.ceil((frame.height * c.v) / (maxV * 8)),
      blocksPerLine,
      blocksPerColumn,
      coefficients: new Int16Array(0),
      quant: null,
    };
  });
  return { maxH, maxV, mcusPerLine, mcuRows, components, wholeImage: false };
}

/** jinit_d_coef_controller with need_full_buffer: every component's blocks, zeroed, once per file. */
export function allocateWholeImage(layout: FrameLayout): void {
  if (layout.wholeImage) return;
  for (const c of layout.components) c.coefficients = new Int16Array(c.blocksPerLine * c.blocksPerColumn * 64);
  layout.wholeImage = true;
}
