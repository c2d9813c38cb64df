#!/bin/sh
# Makes the two animated WebPs of test/image.webp-animated.test.ts and Pillow 9.4's pixels for them
# (Debian 12: apt-get install webp python3-pil; run from the repo root: sh test/data/make_animated_webp.sh).
#   webp_anim_rgba_12x10.webp: img2webp, 2 lossless frames, the first with transparent pixels (mode RGBA)
#   webp_anim_offset_12x10.webp: webpmux, a 6x4 first frame at (4, 2) on a 12x10 canvas, no alpha (mode RGB)
set -e
out=test/data
tmp=$(mktemp -d)
/usr/bin/python3 - "$tmp" <<'PY'
import sys
from PIL import Image
d = sys.argv[1]
a = Image.new('RGBA', (12, 10))
for i in range(120):
    a.putpixel((i % 12, i // 12), (i * 7 % 256, i * 3 % 256, 99, 255 if i % 5 else 0))
a.save(f'{d}/f1.png')
Image.new('RGBA', (12, 10), (0, 255, 0, 255)).save(f'{d}/f2.png')
Image.new('RGB', (6, 4), (9, 80, 160)).save(f'{d}/s1.png')
PY
img2webp -lossless "$tmp/f1.png" "$tmp/f2.png" -o "$out/webp_anim_rgba_12x10.webp" >/dev/null 2>&1
cwebp -quiet -lossless "$tmp/s1.png" -o "$tmp/s1.webp"
cwebp -quiet -lossless "$tmp/f2.png" -o "$tmp/s2.webp"
webpmux -frame "$tmp/s1.webp" +100+4+2 -frame "$tmp/s2.webp" +100 -loop 0 -o "$out/webp_anim_offset_12x10.webp" >/dev/null
/usr/bin/python3 - "$out" <<'PY'
import json, sys
from PIL import Image
out = sys.argv[1]
cases = {}
for f in ['webp_anim_rgba_12x10.webp', 'webp_anim_offset_12x10.webp']:
    im = Image.open(f'{out}/{f}')
    cases[f] = {'mode': im.mode, 'size': list(im.size), 'n_frames': im.n_frames, 'data': [v for px in im.getdata() for v in px]}
json.dump(cases, open(f'{out}/webp-animated-cases.json', 'w'), separators=(',', ':'))
PY
rm -r "$tmp"
