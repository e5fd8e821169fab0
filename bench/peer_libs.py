"""What a PyTorch peer actually runs on: the BLAS and oneDNN shared libraries mapped into its process (read from
/proc/self/maps, not from torch's build string, which says "generic" for Debian's python3-torch)."""

import os


def mapped_blas():
    """Sorted real paths of the mapped BLAS, LAPACK, oneDNN and MKL libraries."""
    names = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path)
            if any(key in base for key in ("blas", "lapack", "dnnl", "mkldnn", "mkl_")):
                names.add(os.path.realpath(path))
    return sorted(names)
