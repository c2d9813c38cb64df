#!/usr/bin/python3
"""Generates the tiny image inputs of test/image.modes.test.ts and their expected values.

Run with Debian 12's python3-pil (Pillow 9.4.0, libwebp 1.2.4, libjpeg62-turbo 2.1.5), the oracle's
versions:  /usr/bin/python3 test/data/make_image_cases.py
PNGs are written by hand (every bit depth / colour type, Adam7 interlacing, all five row filters);
JPEG and WebP by Pillow. Expected values come from Pillow opening each file and applying upstream's
preprocessing up to the uint8 crop (torchvision's Resize size rule + Image.resize(BICUBIC), center
crop with round(), convert('RGB')).
"""
import hashlib
import json
import os
import random
import struct
import zlib

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(1234)
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b''.join(struct.pack('>H', s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp):
    out, prev = bytearray(), bytes(len(rows[0])) if rows else b''
    for i, row in enumerate(rows):
        ftype = i % 5
        f = bytearray()
        for x, v in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
            f.append((v - pred) & 0xFF)
        out += bytes([ftype]) + f
        prev = row
    return bytes(out)


def write_png(path, width, height, depth, ctype, pixels, interlace=False, plte=None, trns=None):
    """pixels[y][x] is a tuple of samples (CHANNELS[ctype] of them)."""
    bpp = max(1, CHANNELS[ctype] * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    data = b''
    for x0, y0, dx, dy in passes:
        xs, ys = list(range(x0, width, dx)), list(range(y0, height, dy))
        if not xs or not ys:
            continue
        rows = [pack_row([s for x in xs for s in pixels[y][x]], depth) for y in ys]
        data += filter_rows(rows, bpp)
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        png += chunk(b'PLTE', bytes(plte))
    if trns is not None:
        png += chunk(b'tRNS', trns)
    png += chunk(b'IDAT', zlib.compress(data, 9)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


def smooth(width, height, channels, maxval):
    """A smooth-ish random field: gradients plus noise, so resampling has something to do."""
    phases = [(rng.random() * 6, rng.random() * 6) for _ in range(channels)]
    return [[tuple(min(maxval, max(0, int(maxval * (0.5 + 0.35 * ((x * (c + 1) / width + py) % 2 - 1) * ((y / height + px) % 1))
                                       + rng.randint(-maxval // 16, maxval // 16))))
                   for c, (px, py) in enumerate(phases)) for x in range(width)] for y in range(height)]


def preprocess_uint8(im, size=224):
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    resized = im if (w, h) == (new_w, new_h) else im.resize((new_w, new_h), Image.BICUBIC)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    box = (left, top, left + size, top + size)
    return (new_w, new_h), box, resized.crop(box).convert('RGB')


def decoded_bytes(im):
    """The decoder's layout: one byte per pixel 0/255 for '1' (tobytes() would pack bits), int32 LE for 'I'."""
    if im.mode == '1':
        return im.convert('L').tobytes()
    if im.mode == 'I':
        return im.tobytes('raw', 'I')
    return im.tobytes()


def main():
    cases = []

    def png(name, width, height, depth, ctype, interlace=False, pixels=None, plte=None, trns=None, note=''):
        maxval = (1 << depth) - 1
        if pixels is None and depth < 8:  # too few levels for a smooth field: random samples
            pixels = [[tuple(rng.randint(0, maxval) for _ in range(CHANNELS[ctype])) for x in range(width)] for y in range(height)]
        if pixels is None:
            pixels = smooth(width, height, CHANNELS[ctype], maxval)
        write_png(os.path.join(HERE, name), width, height, depth, ctype, pixels, interlace, plte, trns)
        cases.append((name, note))

    png('png_gray1_37x29.png', 37, 29, 1, 0, note="1-bit gray -> '1', NEAREST resize")
    png('png_gray1_adam7_37x29.png', 37, 29, 1, 0, True, note="1-bit gray, interlaced (upng-js' own de-interlacer misplaces these bits)")
    png('png_gray2_adam7_33x21.png', 33, 21, 2, 0, True, note="2-bit gray -> 'L' (x 0x55)")
    png('png_gray4_19x26.png', 19, 26, 4, 0, note="4-bit gray -> 'L' (x 0x11)")
    png('png_gray16_40x30.png', 40, 30, 16, 0, pixels=[[(rng.choice([rng.randint(0, 300), rng.randint(0, 65535)]),) for x in range(40)] for y in range(30)],
        note="16-bit gray -> 'I', int32 resize, convert('RGB') clips to 0..255")
    png('png_rgb16_adam7_30x41.png', 30, 41, 16, 2, True, note="16-bit RGB -> 'RGB' (high bytes)")
    png('png_rgba16_23x17.png', 23, 17, 16, 6, note="16-bit RGBA -> 'RGBA' (high bytes), premultiplied resize")
    png('png_la16_adam7_21x14.png', 21, 14, 16, 4, True, note="16-bit gray+alpha -> 'RGBA' (LA;16B)")
    png('png_la8_adam7_26x35.png', 26, 35, 8, 4, True, note="8-bit gray+alpha -> 'LA', interlaced")
    png('png_rgb8_adam7_13x11.png', 13, 11, 8, 2, True, trns=struct.pack('>HHH', 10, 20, 30), note="interlaced RGB, tRNS ignored")
    png('png_p2_adam7_27x19.png', 27, 19, 2, 3, True, pixels=[[(rng.randint(0, 3),) for x in range(27)] for y in range(19)],
        plte=[200, 10, 10, 10, 200, 10, 10, 10, 200, 250, 250, 0], trns=bytes([0, 128]), note="2-bit palette, 4 entries, tRNS ignored")
    png('png_p4_31x23.png', 31, 23, 4, 3, pixels=[[(rng.randint(0, 15),) for x in range(31)] for y in range(23)],
        plte=[rng.randint(0, 255) for _ in range(48)], note="4-bit palette, NEAREST")
    png('png_p1_2x1.png', 2, 1, 1, 3, pixels=[[(0,), (1,)]], plte=[255, 0, 0, 0, 0, 255], note="1-bit palette, 2x1 upscale")
    png('png_p4_500x301.png', 500, 301, 4, 3, pixels=[[(((x // 7) + (y // 5) * 3) % 16,) for x in range(500)] for y in range(301)],
        plte=[rng.randint(0, 255) for _ in range(48)], note="4-bit palette, NEAREST downscale (accumulated source positions)")
    png('png_gray1_450x999.png', 450, 999, 1, 0, pixels=[[(((x * y) >> 6) & 1,) for x in range(450)] for y in range(999)],
        note="1-bit gray, NEAREST downscale of a tall image")
    png('png_rgb8_adam7_1x1.png', 1, 1, 8, 2, True, pixels=[[(17, 99, 230)]], note="1x1 interlaced (6 of 7 passes empty)")

    base = Image.new('RGB', (48, 36))
    base.putdata([tuple(v) for row in smooth(48, 36, 3, 255) for v in row])
    gray = base.convert('L')
    gray.save(os.path.join(HERE, 'jpeg_gray_48x36.jpg'), quality=85)
    cases.append(('jpeg_gray_48x36.jpg', "grayscale JPEG -> 'L'"))
    base.save(os.path.join(HERE, 'jpeg_rgb444_progressive_48x36.jpg'), quality=80, subsampling=0, progressive=True)
    cases.append(('jpeg_rgb444_progressive_48x36.jpg', 'progressive 4:4:4 JPEG'))
    base.save(os.path.join(HERE, 'jpeg_rgb422_47x35.jpg'.replace('47x35', '48x36')), quality=70, subsampling=1)
    cases.append(('jpeg_rgb422_48x36.jpg', '4:2:2 JPEG'))

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display; Pillow's Image.open ignores it
    base.save(os.path.join(HERE, 'jpeg_exif_orientation6_48x36.jpg'), quality=85, exif=exif.tobytes())
    cases.append(('jpeg_exif_orientation6_48x36.jpg', 'EXIF Orientation=6 is not applied (stays 48x36)'))

    rgba = base.copy()
    rgba.putalpha(Image.linear_gradient('L').resize((48, 36)))
    rgba.save(os.path.join(HERE, 'webp_lossless_rgba_48x36.webp'), lossless=True)
    cases.append(('webp_lossless_rgba_48x36.webp', "lossless WebP with alpha -> 'RGBA'"))
    rgba.save(os.path.join(HERE, 'webp_lossy_rgba_48x36.webp'), quality=80)
    cases.append(('webp_lossy_rgba_48x36.webp', "lossy WebP with alpha (VP8X + ALPH) -> 'RGBA'"))
    base.save(os.path.join(HERE, 'webp_lossless_rgb_48x36.webp'), lossless=True)
    cases.append(('webp_lossless_rgb_48x36.webp', "lossless WebP, opaque -> 'RGB'"))

    # An Adobe CMYK JPEG; its expected values live in cmyk-cases.json (make_cmyk_cases.py), not in `cases`.
    Image.new('CMYK', (8, 8), (10, 200, 30, 50)).save(os.path.join(HERE, 'jpeg_cmyk_8x8.jpg'))

    out = []
    for name, note in cases:
        path = os.path.join(HERE, name)
        im = Image.open(path)
        im.load()
        resized, box, rgb = preprocess_uint8(im)
        resample = 'none' if resized == im.size else ('nearest' if im.mode in ('1', 'P') else 'bicubic')
        out.append({
            'file': name, 'note': note, 'bytes': os.path.getsize(path), 'mode': im.mode, 'size': list(im.size),
            'decoded_sha256': hashlib.sha256(decoded_bytes(im)).hexdigest(),
            'resized_size': list(resized), 'crop_box': list(box), 'resample': resample,
            'rgb_sha256': hashlib.sha256(rgb.tobytes()).hexdigest(),
        })
    with open(os.path.join(HERE, 'pillow-cases.json'), 'w') as f:
        json.dump({'generator': 'test/data/make_image_cases.py', 'pillow': Image.__version__, 'cases': out}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
