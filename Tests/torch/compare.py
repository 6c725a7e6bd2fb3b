"""compare.py NAME OURS TORCH: `bwma eval --logits` against python/bwma_torch.py's on one export.

Every image's logits must agree to 1e-4 of that image's largest |logit|, with one allowance: the two frameworks sum
the FP32 layers in different orders (a few ulps apart), so an activation that lands within those ulps of a k-bit
quantizer's rounding threshold can take the neighbouring code in one of them — a legitimate difference that moves
that image's logits by a quantization step's worth. Up to 1 in 1,000 images may therefore differ by more than 1e-4
but not by more than 5e-2 (one flipped code; a wrong kernel moves every image), and the numbers of correct
predictions may differ by at most the number of such images. Fails otherwise, or when the labels differ."""
import sys

import numpy as np
from safetensors.numpy import load_file

name, ours_path, torch_path = sys.argv[1:4]
ours, theirs = load_file(ours_path), load_file(torch_path)
a, b = ours["logits"], theirs["logits"]
if a.shape != b.shape or not np.array_equal(ours["labels"], theirs["labels"]):
    sys.exit(f"{name}: logits {a.shape} vs {b.shape}, or the labels differ: the two read different test sets")
labels = ours["labels"]
correct_ours, correct_torch = int((a.argmax(1) == labels).sum()), int((b.argmax(1) == labels).sum())
rel = np.abs(a - b).max(1) / np.maximum(np.abs(a).max(1), 1e-30)
worst = int(rel.argmax())
flipped = int((rel > 1e-4).sum())
print(f"{name}: {len(labels)} images, correct {correct_ours} (bwma) / {correct_torch} (torch), "
      f"max |logit difference| {rel[worst]:.2e} of scale (image {worst}), {flipped} images above 1e-4")
if flipped > len(labels) // 1000 or rel[worst] > 5e-2 or abs(correct_ours - correct_torch) > flipped:
    sys.exit(f"{name}: FAILED")
