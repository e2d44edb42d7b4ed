"""Imaging benchmark: omscds registration against antspyx AffineFast, side by side, and batch.

Runs in one process; every figure is compared with a baseline measured in the same run:
* omscds (SimpleITK affine, Mattes MI, ``SPECT_SCHEDULE``) on 10 SPECT phantoms of 128^3 at
  2.2 mm: seconds per study for registration alone and end to end (read NIfTI -> QC ->
  register -> quantify), and the registration error (mean distance over brain voxels between the
  recovered and the true template->study mapping);
* antspyx ``AffineFast`` on the same phantoms (optional extra: ``pip install 'omscds[bench]'``),
  timed interleaved with omscds study by study (the order alternates), so that load from other
  jobs on the machine hits both alike; ratios are medians of the per-study ratios;
* batch throughput with 1 and 2 local Dask worker processes.

Targets (issues 7 and 15): <= 3 s per 128^3 SPECT study end to end, <= 1 mm mean registration
error, faster than antspyx AffineFast at equal or lower error.

    .venv/bin/python bench/imaging.py [--studies 10] [--repeats 3] [--size 128] [--batch 6]
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
from omscds.imaging.register import SPECT_SCHEDULE, transform_error_mm
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


def _med(xs: list[float]) -> float:
    return float(statistics.median(xs))


def _schedule_text() -> str:
    lv = ", ".join(
        f"{2 * lv.shrink} mm grid {lv.sampling:.0%} samples step {lv.learning_rate:g}->{lv.min_step:g}"
        for lv in SPECT_SCHEDULE.levels
    )
    return f"study block-averaged to ~{SPECT_SCHEDULE.study_voxel_mm:g} mm; {lv}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3, help="timing rounds over all studies")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--spacing", type=float, default=2.2)
    ap.add_argument("--batch", type=int, default=6, help="studies for the throughput run (0: skip)")
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

    try:
        import ants
    except ImportError:
        ants = None
        print("antspyx not installed, comparison skipped (pip install 'omscds[bench]')")
    fixed = None
    if ants is not None:
        fixed = _ants_image(ants, perfusion_image(tpl), np.asarray(tpl.affine))
        ants.registration(
            fixed,
            _ants_image(ants, phantoms[0][0].volume.data, phantoms[0][0].volume.affine),
            type_of_transform="AffineFast",
        )

    def ours(ph: Any, path: Path) -> tuple[float, float, float]:
        t0 = time.perf_counter()
        res = analyze_path(path, "spect", 24)
        total = time.perf_counter() - t0
        assert res.matrix is not None
        err = transform_error_mm(res.matrix, ph.true_matrix, pts)
        return total, float(res.qc["registration"]["seconds"]), err

    def theirs(ph: Any) -> tuple[float, float]:
        assert ants is not None
        t0 = time.perf_counter()
        mov = _ants_image(ants, ph.volume.data, ph.volume.affine)
        reg = ants.registration(fixed, mov, type_of_transform="AffineFast")
        dt = time.perf_counter() - t0
        m = _ants_matrix(ants, reg["fwdtransforms"][0])
        return dt, transform_error_mm(m, ph.true_matrix, pts)

    end, reg_t, ours_e, ants_t, ants_e, r_reg, r_end = [], [], [], [], [], [], []
    for rep in range(args.repeats):
        for i, (ph, path) in enumerate(phantoms):
            if ants is None:
                o = ours(ph, path)
            else:
                # alternate who goes first, so a burst of load elsewhere hits both alike
                if (i + rep) % 2 == 0:
                    o, a = ours(ph, path), theirs(ph)
                else:
                    a, o = theirs(ph), ours(ph, path)
                ants_t.append(a[0])
                r_reg.append(o[1] / a[0])
                r_end.append(o[0] / a[0])
                if rep == 0:
                    ants_e.append(a[1])
            end.append(o[0])
            reg_t.append(o[1])
            if rep == 0:
                ours_e.append(o[2])
    n = f"medians over {args.studies} studies x {args.repeats} repeats"
    print(f"schedule                 : {_schedule_text()}")
    print(
        f"omscds registration      : {_med(reg_t):.3f} s/study, end to end {_med(end):.3f} s/study "
        f"({n}); error median {_med(ours_e):.2f} mm, mean {statistics.mean(ours_e):.2f} "
        f"(max {max(ours_e):.2f})"
    )
    print(
        f"  target <= 3 s end to end: {'met' if _med(end) <= 3 else 'NOT met'}; "
        f"target <= 1 mm: {'met' if statistics.mean(ours_e) <= 1 else 'NOT met'}"
    )
    if ants is not None:
        print(
            f"antspyx AffineFast       : {_med(ants_t):.3f} s/study (registration only), "
            f"error median {_med(ants_e):.2f} mm, mean {statistics.mean(ants_e):.2f} "
            f"(max {max(ants_e):.2f})"
        )
        faster = _med(r_reg) < 1
        accurate = _med(ours_e) <= _med(ants_e) and statistics.mean(ours_e) <= statistics.mean(
            ants_e
        )
        print(
            f"ratio omscds/antspyx     : registration time {_med(r_reg):.2f}x "
            f"(end to end {_med(r_end):.2f}x), error {_med(ours_e) / _med(ants_e):.2f}x (median) "
            f"{statistics.mean(ours_e) / statistics.mean(ants_e):.2f}x (mean) -> "
            + ("faster at equal or lower error" if faster and accurate else "target NOT met")
        )

    if args.batch > 0:
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
