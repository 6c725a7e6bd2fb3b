"""Builds an ImageNet-sized ImageFolder tree for the listing benchmark: 1000 class folders x 1281 files
(1,281,000, ImageNet-1k's training count); in each class one copy of a real JPEG and 1280 hard links to it
(ext4 allows 65,000 links per inode), so the tree costs 1000 files' worth of disk.
Usage: python3 bench/make_imagenet_tree.py ROOT JPEG     then: bwma bench data --folder ROOT --rounds 0
"""
import os, shutil, sys

root, jpeg = sys.argv[1], sys.argv[2]
for c in range(1000):
    d = os.path.join(root, "n%08d" % (1440764 + c))
    os.makedirs(d, exist_ok=True)
    first = os.path.join(d, "n%08d_0.JPEG" % (1440764 + c))
    if not os.path.exists(first):
        shutil.copyfile(jpeg, first)
    for i in range(1, 1281):
        p = os.path.join(d, "n%08d_%d.JPEG" % (1440764 + c, i))
        if not os.path.exists(p):
            os.link(first, p)
print("done")
