"""Build the small 2 mm template shipped in ``src/omscds/imaging/data/`` (run once, by hand).

The MNI ICBM152 2009 T1, grey- and white-matter maps and brain mask come from the files inside the
``nilearn`` wheel (no download). nilearn is a *build-time* tool only; install it in a separate
virtual environment and never make it a runtime dependency of omscds::

    python3 -m venv /tmp/nilearn-venv
    /tmp/nilearn-venv/bin/pip install nilearn nibabel numpy scipy
    /tmp/nilearn-venv/bin/python tools/make_imaging_template.py

Writes ``icbm152_2mm_{t1,gm,wm,mask}.nii.gz`` as uint8 (0-255 intensities/probabilities; the mask
0/1), cropped to the brain's bounding box plus a margin, and keeps the McGill copyright notice
in ``NOTICE`` beside them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "omscds" / "imaging" / "data"
MARGIN = 4  # voxels kept around the brain mask

NOTICE = """\
Template images in this folder (icbm152_2mm_*.nii.gz) are derived from the MNI ICBM 2009a
nonlinear symmetric template (as distributed in the nilearn package), resampled to 2 mm,
cropped and quantised to uint8 by tools/make_imaging_template.py.

Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological
Institute, McGill University. Permission to use, copy, modify, and distribute this software and
its documentation for any purpose and without fee is hereby granted, provided that the above
copyright notice appear in all copies. The authors and McGill University make no
representations about the suitability of this software for any purpose. It is provided "as is"
without express or implied warranty. The authors are not responsible for any data loss,
equipment damage, property loss, or injury to subjects or patients resulting from the use or
misuse of this software package.

References: Fonov VS, Evans AC, McKinstry RC, Almli CR, Collins DL. Unbiased nonlinear average
age-appropriate brain templates from birth to adulthood. NeuroImage 2009;47:S102.
Fonov V, Evans AC, Botteron K, Almli CR, McKinstry RC, Collins DL. Unbiased average
age-appropriate atlases for pediatric studies. NeuroImage 2011;54(1):313-327.

No atlas labels are shipped: cerebellum, thalamus and cortex regions are generated in code
(src/omscds/imaging/regions.py) from ellipsoids intersected with these masks.
"""


def _u8(data: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(np.rint(data * scale), 0, 255).astype(np.uint8)


def main() -> int:
    from nilearn import datasets

    t1 = datasets.load_mni152_template(resolution=2)
    gm = datasets.load_mni152_gm_template(resolution=2)
    wm = datasets.load_mni152_wm_template(resolution=2)
    mask = datasets.load_mni152_brain_mask(resolution=2)
    m = np.asarray(mask.get_fdata()) > 0.5
    idx = np.argwhere(m)
    lo = np.maximum(idx.min(axis=0) - MARGIN, 0)
    hi = np.minimum(idx.max(axis=0) + MARGIN + 1, m.shape)
    sl = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    affine = mask.affine.copy()
    affine[:3, 3] = affine[:3, :3] @ lo + affine[:3, 3]

    OUT.mkdir(parents=True, exist_ok=True)
    t1d = np.asarray(t1.get_fdata())
    images = {
        "t1": _u8(t1d / max(float(t1d.max()), 1e-6), 255.0),
        "gm": _u8(np.asarray(gm.get_fdata()), 255.0),
        "wm": _u8(np.asarray(wm.get_fdata()), 255.0),
        "mask": m.astype(np.uint8),
    }
    for name, data in images.items():
        img = nib.Nifti1Image(data[sl], affine)
        img.header.set_data_dtype(np.uint8)
        img.header.set_xyzt_units("mm")
        img.set_qform(affine, code=4)  # MNI152 space
        img.set_sform(affine, code=4)
        path = OUT / f"icbm152_2mm_{name}.nii.gz"
        nib.save(img, path)
        print(f"{path.name}: {data[sl].shape} {path.stat().st_size / 1024:.0f} KB")
    (OUT / "NOTICE").write_text(NOTICE, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
