"""Writes jpeg_reference.json: what Pillow (an independent libjpeg build and resampler) decodes from the test JPEGs.

Run from this folder in a venv with Pillow 10.4:  pip install pillow==10.4.0 && python make_jpeg_reference.py
(Pillow up to 12 resamples horizontally then vertically, as our Resampler does; Pillow 13 picks the pass order by
cost, which moves some pixels by one level.)
For each file: size, per-channel pixel sums of the RGB image and 16 sampled pixels; for some files also
torchvision's RandomResizedCrop (crop box, then resize to 224 with BILINEAR) and the evaluation transform
(Resize(256) of the shorter side, CenterCrop(224)), summarised the same way.
"""
import json, os, glob
from PIL import Image

def summary(im):
    w, h = im.size
    px = im.load()
    sums = [0, 0, 0]
    for y in range(h):
        for x in range(w):
            p = px[x, y]
            for c in range(3):
                sums[c] += p[c]
    samples = [[(i * 37) % h, (i * 53) % w, list(px[(i * 53) % w, (i * 37) % h])] for i in range(16)]
    return {"width": w, "height": h, "sums": sums, "samples": samples}

def resized_shape(w, h, size):
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size

out = {"decode": {}, "rrc": [], "eval": []}
files = sorted(glob.glob("imagenet20/*/*.jpg")) + sorted(glob.glob("jpeg/*.jpg"))
for f in files:
    out["decode"][f] = summary(Image.open(f).convert("RGB"))
boxes = [(17, 33, 300, 200), (0, 0, 512, 512), (400, 100, 100, 333), (5, 7, 61, 45)]
for f, box in zip(["imagenet20/243/imagenet_00_243.jpg", "jpeg/baseline_420.jpg", "jpeg/grey.jpg", "jpeg/cmyk.jpg"], boxes):
    im = Image.open(f).convert("RGB")
    x, y, w, h = box
    w = min(w, im.size[0] - x); h = min(h, im.size[1] - y)
    r = im.crop((x, y, x + w, y + h)).resize((224, 224), Image.BILINEAR)
    out["rrc"].append({"file": f, "box": [x, y, w, h], **summary(r)})
for f in ["imagenet20/243/imagenet_00_243.jpg", "jpeg/baseline_420.jpg"]:
    im = Image.open(f).convert("RGB")
    rw, rh = resized_shape(im.size[0], im.size[1], 256)
    r = im.resize((rw, rh), Image.BILINEAR)
    left, top = int(round((rw - 224) / 2.0)), int(round((rh - 224) / 2.0))
    r = r.crop((left, top, left + 224, top + 224))
    out["eval"].append({"file": f, **summary(r)})
json.dump(out, open("jpeg_reference.json", "w"), sort_keys=True)
print(len(out["decode"]), "files")
