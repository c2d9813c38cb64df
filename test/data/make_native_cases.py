#!/usr/bin/python3
"""Damaged JPEG / WebP variants for test/image.native.test.ts, with what Pillow 9.4 makes of each.

Run with Debian 12's python3-pil (Pillow 9.4.0, libjpeg62-turbo 2.1.5, libwebp 1.2.4), the oracle's
versions:  /usr/bin/python3 test/data/make_native_cases.py
Each variant is a committed test/data file with a few bytes overwritten or cut short; only the recipe
is stored (base file, [offset, value] edits, or a truncation length) plus Pillow's outcome: the
decoded mode, size and sha256 of Image.tobytes(), or the error it raised on load().
"""
import hashlib
import io
import json
import os
import random

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
BASES = [
    'jpeg_rgb422_48x36.jpg',
    'jpeg_rgb444_progressive_48x36.jpg',
    'jpeg_gray_48x36.jpg',
    'webp_lossy_rgba_48x36.webp',
    'webp_lossless_rgb_48x36.webp',
    'webp_lossless_rgba_48x36.webp',
]
VARIANTS_PER_BASE = 30
rng = random.Random(20260401)


def pillow_outcome(data):
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as e:  # noqa: BLE001 - any failure is the expected outcome
        return {'error': f'{type(e).__name__}: {e}'}
    return {'mode': im.mode, 'size': list(im.size), 'decoded_sha256': hashlib.sha256(im.tobytes()).hexdigest()}


def main():
    cases = []
    for base in BASES:
        whole = open(os.path.join(HERE, base), 'rb').read()
        for v in range(VARIANTS_PER_BASE):
            case = {'base': base}
            if v % 5 == 4:
                case['truncate'] = rng.randrange(2, len(whole))
                data = whole[:case['truncate']]
            else:
                data = bytearray(whole)
                edits = []
                for _ in range(rng.randrange(1, 5)):
                    at, value = rng.randrange(2, len(data)), rng.randrange(256)
                    data[at] = value
                    edits.append([at, value])
                case['edits'] = edits
                data = bytes(data)
            case['pillow'] = pillow_outcome(data)
            cases.append(case)
    out = {'generator': 'test/data/make_native_cases.py', 'pillow': Image.__version__, 'cases': cases}
    with open(os.path.join(HERE, 'native-corrupt-cases.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    decoded = sum(1 for c in cases if 'error' not in c['pillow'])
    print(f'{len(cases)} variants: Pillow decodes {decoded}, refuses {len(cases) - decoded}')


main()
