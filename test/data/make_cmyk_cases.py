#!/usr/bin/python3
"""Generates the JPEG inputs of test/image.cmyk.test.ts and Pillow's expected values for them.

Run with Debian 12's python3-pil (Pillow 9.4.0 on libjpeg62-turbo 2.1.5, the oracle's versions), gcc
and libjpeg62-turbo-dev:  /usr/bin/python3 test/data/make_cmyk_cases.py
Most files are written by test/data/make_cmyk_jpegs.c (libjpeg: colour space, sampling factors,
progressive, restart intervals, Adobe APP14 or not); two are written by Pillow itself. Expected values
come from Pillow opening each file: mode, size and decoded bytes (im.tobytes(): CMYK as Pillow holds
it, i.e. libjpeg's samples inverted), then upstream's preprocessing up to the uint8 crop (torchvision's
Resize size rule + Image.resize(BICUBIC) in mode CMYK, center crop, convert('RGB')).
`smoothing` records Pillow's decoded bytes for progressive files cut after their first N scans (EOI
appended; the test makes the same cuts): libjpeg block-smooths such incomplete images.
"""
import hashlib
import io
import json
import os
import subprocess
import tempfile

from PIL import Image

from make_image_cases import preprocess_uint8  # the same torchvision Resize + CenterCrop + convert('RGB')

HERE = os.path.dirname(os.path.abspath(__file__))

# (file, width, height, space, sampling, quality, progressive, restart, adobe, note)
GENERATED = [
    ('cmyk_ycck_300x211.jpg', 300, 211, 'ycck', 'default', 50, 0, 0, 'auto',
     'YCCK (Adobe transform 2), 2x2/1x1/1x1/2x2, needs a real resize'),
    ('cmyk_ycck_h1v1_224x224.jpg', 224, 224, 'ycck', '1x1,1x1,1x1,1x1', 50, 0, 0, 'auto',
     'YCCK with 1x1 sampling, 224x224 (no resize)'),
    ('cmyk_noapp14_61x47.jpg', 61, 47, 'cmyk', 'default', 75, 0, 0, 'none',
     'CMYK without an APP14 marker (libjpeg assumes CMYK)'),
    ('cmyk_progressive_224x224.jpg', 224, 224, 'cmyk', 'default', 30, 1, 0, 'auto',
     'progressive CMYK (successive approximation), 224x224'),
    ('cmyk_ycck_progressive_restart_45x37.jpg', 45, 37, 'ycck', 'default', 75, 1, 2, 'auto',
     'progressive YCCK with restart markers every 2 MCUs, odd size'),
    ('cmyk_restart_37x29.jpg', 37, 29, 'cmyk', 'default', 75, 0, 3, 'auto',
     'baseline CMYK with restart markers every 3 MCUs'),
    ('cmyk_ycck_adobe1_33x20.jpg', 33, 20, 'ycck', 'default', 75, 0, 0, '1',
     'APP14 transform 1 on 4 components: libjpeg treats it as YCCK (with a warning)'),
    ('cmyk_mixed_sampling_41x27.jpg', 41, 27, 'cmyk', '2x1,1x2,1x1,1x1', 75, 0, 0, 'auto',
     'CMYK 2x1/1x2/1x1/1x1: h1v2, h2v1 and h2v2 fancy upsampling in one image'),
    ('cmyk_ycck_4x1_50x19.jpg', 50, 19, 'ycck', '4x1,1x1,1x1,2x1', 75, 0, 0, 'auto',
     'YCCK 4x1/1x1/1x1/2x1: int_upsample (x4) and h2v1 fancy'),
    ('cmyk_ycck_narrow_3x5.jpg', 3, 5, 'ycck', 'default', 75, 0, 0, 'auto',
     'YCCK 3x5: chroma 2 samples wide, so plain h2v2 (not fancy) upsampling'),
    ('cmyk_ycck_progressive_250x41.jpg', 250, 41, 'ycck', 'default', 50, 1, 1, 'auto',
     'progressive YCCK, wide and short (upscaled), restart every MCU'),
]

# 1- and 3-component files for the decoder-core check against the wasm libjpeg (same arguments)
CORE = [
    ('core_gray_h2v2_29x21.jpg', 29, 21, 'gray', '2x2', 75, 0, 0, 'auto', 'gray, one component with 2x2 factors'),
    ('core_gray_progressive_restart_35x19.jpg', 35, 19, 'gray', 'default', 75, 1, 1, 'auto', 'progressive gray, restart every MCU'),
    ('core_ycc444_23x17.jpg', 23, 17, 'ycc', '1x1,1x1,1x1', 80, 0, 0, 'auto', 'YCbCr 4:4:4'),
    ('core_ycc422_restart_37x29.jpg', 37, 29, 'ycc', '2x1,1x1,1x1', 75, 0, 4, 'auto', 'YCbCr 4:2:2, restart every 4 MCUs'),
    ('core_ycc420_progressive_45x31.jpg', 45, 31, 'ycc', '2x2,1x1,1x1', 75, 1, 0, 'auto', 'YCbCr 4:2:0 progressive'),
    ('core_ycc440_39x25.jpg', 39, 25, 'ycc', '1x2,1x1,1x1', 75, 0, 0, 'auto', 'YCbCr 4:4:0 (h1v2 fancy)'),
    ('core_ycc411_progressive_53x13.jpg', 53, 13, 'ycc', '4x1,1x1,1x1', 75, 1, 2, 'auto', 'YCbCr 4:1:1 progressive, restarts (int_upsample)'),
    ('core_ycc_mixed_31x23.jpg', 31, 23, 'ycc', '2x1,1x2,1x1', 75, 0, 0, 'auto', 'YCbCr 2x1/1x2/1x1 (h1v2 + h2v1 + h2v2 fancy)'),
    ('core_ycc_3x2_34x22.jpg', 34, 22, 'ycc', '3x2,1x1,1x2', 75, 0, 0, 'auto', 'YCbCr 3x2/1x1/1x2 (int_upsample 3x2 and 3x1)'),
    ('core_ycc420_narrow_4x9.jpg', 4, 9, 'ycc', '2x2,1x1,1x1', 75, 0, 0, 'auto', 'YCbCr 4:2:0, chroma 2 wide (plain h2v2)'),
    ('core_rgb_adobe0_27x18.jpg', 27, 18, 'rgb', '1x1,1x1,1x1', 75, 1, 0, 'auto', 'RGB (Adobe transform 0), progressive'),
]


# progressive files whose truncated versions exercise libjpeg's block smoothing
SMOOTHING = ['cmyk_progressive_224x224.jpg', 'cmyk_pillow_progressive_48x48.jpg', 'core_ycc420_progressive_45x31.jpg']


def cut_after_scans(data, scans):
    """The file up to its (scans+1)-th SOS marker, then EOI."""
    sos = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA]
    return data[:sos[scans]] + b'\xff\xd9', len(sos)


def pillow_cmyk_source(width, height):
    """An RGB gradient converted by Pillow to CMYK (rgb2cmyk: K = 0), with a darker band for K."""
    rgb = Image.new('RGB', (width, height))
    rgb.putdata([((x * 255) // width, (y * 255) // height, ((x + y) * 255) // (width + height)) for y in range(height) for x in range(width)])
    cmyk = rgb.convert('CMYK')
    c, m, y, k = cmyk.split()
    k = Image.linear_gradient('L').resize((width, height)).point(lambda v: v // 2)
    return Image.merge('CMYK', (c, m, y, k))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, 'make_cmyk_jpegs')
        subprocess.run(['gcc', '-O2', '-Wall', '-o', tool, os.path.join(HERE, 'make_cmyk_jpegs.c'), '-ljpeg'], check=True)
        for seed, (name, w, h, space, sampling, quality, progressive, restart, adobe, _) in enumerate(GENERATED + CORE):
            args = [os.path.join(HERE, name), w, h, space, sampling, quality, progressive, restart, adobe, seed + 1]
            subprocess.run([tool] + [str(a) for a in args], check=True)

    cases = [(g[0], g[-1]) for g in GENERATED]
    pillow_cmyk_source(300, 211).save(os.path.join(HERE, 'cmyk_pillow_300x211.jpg'), quality=40)
    cases.append(('cmyk_pillow_300x211.jpg', 'Adobe CMYK as Pillow writes it (inverted, APP14 transform 0)'))
    pillow_cmyk_source(48, 48).save(os.path.join(HERE, 'cmyk_pillow_progressive_48x48.jpg'), quality=80, progressive=True)
    cases.append(('cmyk_pillow_progressive_48x48.jpg', 'progressive Adobe CMYK as Pillow writes it'))
    cases.append(('jpeg_cmyk_8x8.jpg', 'flat 8x8 Adobe CMYK written by make_image_cases.py (Pillow)'))

    out = []
    for name, note in cases:
        path = os.path.join(HERE, name)
        im = Image.open(path)
        im.load()
        resized, box, rgb = preprocess_uint8(im)
        out.append({
            'file': name, 'note': note, 'bytes': os.path.getsize(path), 'mode': im.mode, 'size': list(im.size),
            'adobe_transform': im.info.get('adobe_transform'),
            'decoded_sha256': hashlib.sha256(im.tobytes()).hexdigest(),
            'resized_size': list(resized), 'crop_box': list(box),
            'resample': 'none' if resized == im.size else 'bicubic',
            'rgb_sha256': hashlib.sha256(rgb.tobytes()).hexdigest(),
        })
    core = []
    for name, *_, note in CORE:
        path = os.path.join(HERE, name)
        im = Image.open(path)
        im.load()
        core.append({'file': name, 'note': note, 'bytes': os.path.getsize(path), 'mode': im.mode, 'size': list(im.size),
                     'decoded_sha256': hashlib.sha256(im.tobytes()).hexdigest()})
    smoothing = []
    for name in SMOOTHING:
        with open(os.path.join(HERE, name), 'rb') as f:
            data = f.read()
        total = cut_after_scans(data, 1)[1]
        for scans in range(1, total):
            im = Image.open(io.BytesIO(cut_after_scans(data, scans)[0]))
            im.load()
            smoothing.append({'base': name, 'scans': scans, 'of': total, 'mode': im.mode,
                              'decoded_sha256': hashlib.sha256(im.tobytes()).hexdigest()})
    with open(os.path.join(HERE, 'cmyk-cases.json'), 'w') as f:
        json.dump({'generator': 'test/data/make_cmyk_cases.py', 'pillow': Image.__version__, 'cases': out, 'core': core,
                   'smoothing': smoothing}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
