/*
 * Writes one small test JPEG with libjpeg (libjpeg62-turbo 2.1.5 on Debian 12), with the knobs the
 * TypeScript decoder must handle: colour space (gray / YCbCr / RGB / CMYK / YCCK), per-component
 * sampling factors, progressive (jpeg_simple_progression), restart intervals and the Adobe APP14
 * marker (libjpeg's own, none, or a hand-written one with any transform value).
 *
 * Build: gcc -O2 -o /tmp/make_cmyk_jpegs test/data/make_cmyk_jpegs.c -ljpeg
 * Usage: make_cmyk_jpegs OUT WIDTH HEIGHT SPACE SAMPLING QUALITY PROGRESSIVE RESTART ADOBE SEED
 *   SPACE      gray | ycc | rgb | cmyk | ycck   (the JPEG colour space written)
 *   SAMPLING   "HxV,HxV,..." per component, or "default"
 *   ADOBE      auto (libjpeg decides) | none | 0..255 (a hand-written APP14 with that transform)
 * The pixels are a smooth pattern plus seeded noise, so each component has gradients and detail
 * (less of both above 20000 pixels, to keep those files small).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

static unsigned int rng_state;

static int noise(int amplitude) {
  rng_state = rng_state * 1103515245u + 12345u;
  return (int)((rng_state >> 16) % (unsigned int)(2 * amplitude + 1)) - amplitude;
}

static JSAMPLE clamp255(int v) {
  return (JSAMPLE)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Band b of pixel (x, y): a different slanted ramp and ripple per band, plus noise. */
static JSAMPLE pattern(int x, int y, int b, int width, int height) {
  int ramp = (x * (97 + 41 * b) / width + y * (180 - 37 * b) / height + 60 * b) % 256;
  int ripple = ((x / (3 + b) + y / (5 - b % 3)) % 7) * 9;
  int amplitude = width * height > 20000 ? 1 : 10; /* keeps the larger files a few KB */
  int detail = width * height > 20000 ? ripple / 4 : ripple;
  return clamp255(ramp / 2 + detail + 40 + noise(amplitude));
}

int main(int argc, char **argv) {
  if (argc != 11) {
    fprintf(stderr, "usage: %s OUT WIDTH HEIGHT SPACE SAMPLING QUALITY PROGRESSIVE RESTART ADOBE SEED\n", argv[0]);
    return 2;
  }
  const char *out_path = argv[1];
  int width = atoi(argv[2]), height = atoi(argv[3]);
  const char *space = argv[4], *sampling = argv[5];
  int quality = atoi(argv[6]), progressive = atoi(argv[7]), restart = atoi(argv[8]);
  const char *adobe = argv[9];
  rng_state = (unsigned int)atoi(argv[10]);

  J_COLOR_SPACE in_space, jpeg_space;
  int bands;
  if (!strcmp(space, "gray")) { in_space = JCS_GRAYSCALE; jpeg_space = JCS_GRAYSCALE; bands = 1; }
  else if (!strcmp(space, "ycc")) { in_space = JCS_RGB; jpeg_space = JCS_YCbCr; bands = 3; }
  else if (!strcmp(space, "rgb")) { in_space = JCS_RGB; jpeg_space = JCS_RGB; bands = 3; }
  else if (!strcmp(space, "cmyk")) { in_space = JCS_CMYK; jpeg_space = JCS_CMYK; bands = 4; }
  else if (!strcmp(space, "ycck")) { in_space = JCS_CMYK; jpeg_space = JCS_YCCK; bands = 4; }
  else { fprintf(stderr, "unknown colour space %s\n", space); return 2; }

  FILE *out = fopen(out_path, "wb");
  if (!out) { perror(out_path); return 1; }

  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, out);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = bands;
  cinfo.in_color_space = in_space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, jpeg_space); /* also sets default sampling and write_Adobe_marker */
  jpeg_set_quality(&cinfo, quality, TRUE);

  if (strcmp(sampling, "default")) {
    const char *p = sampling;
    for (int ci = 0; ci < bands; ci++) {
      int h, v, used;
      if (sscanf(p, "%dx%d%n", &h, &v, &used) != 2) { fprintf(stderr, "bad sampling %s\n", sampling); return 2; }
      cinfo.comp_info[ci].h_samp_factor = h;
      cinfo.comp_info[ci].v_samp_factor = v;
      p += used;
      if (*p == ',') p++;
    }
  }
  if (progressive) jpeg_simple_progression(&cinfo);
  cinfo.restart_interval = (unsigned int)restart;
  int manual_adobe = -1;
  if (strcmp(adobe, "auto")) {
    cinfo.write_Adobe_marker = FALSE;
    if (strcmp(adobe, "none")) manual_adobe = atoi(adobe);
  }

  jpeg_start_compress(&cinfo, TRUE);
  if (manual_adobe >= 0) {
    /* jcmarker.c write_Adobe_marker's layout: "Adobe", version 100, flags0, flags1, transform */
    JOCTET app14[12] = { 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (JOCTET)manual_adobe };
    jpeg_write_marker(&cinfo, JPEG_APP0 + 14, app14, sizeof app14);
  }
  JSAMPLE *row = malloc((size_t)width * (size_t)bands);
  while (cinfo.next_scanline < cinfo.image_height) {
    int y = (int)cinfo.next_scanline;
    for (int x = 0; x < width; x++)
      for (int b = 0; b < bands; b++) row[x * bands + b] = pattern(x, y, b, width, height);
    JSAMPROW rows[1] = { row };
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  free(row);
  fclose(out);
  return 0;
}
