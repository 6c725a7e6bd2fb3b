"""compare.py NAME OURS TORCH: `bwma eval --logits` against python/bwma_torch.py's on one export.

Fails unless the labels are the same, the numbers of correct predictions are equal, and every image's logits agree
to 1e-4 of that image's largest |logit|."""
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
print(f"{name}: {len(labels)} images, correct {correct_ours} (bwma) / {correct_torch} (torch), "
      f"max |logit difference| {rel[worst]:.2e} of scale (image {worst}), {int((rel > 1e-4).sum())} images above 1e-4")
if correct_ours != correct_torch or rel[worst] > 1e-4:
    sys.exit(f"{name}: FAILED")
