"""GEMM: native against the float64 reference, on every SIMD path this CPU runs,
and the determinism contract of csrc/gemm.h (bits depend only on K and the path).

C = op(A) op(B) (+ C).   op(A) (M, K), op(B) (K, N), C (M, N).
"""
import itertools

import numpy as np
import pytest

from mlpfast import _memory

from conftest import (DTYPES, SHAPES_MNK, THREADS, THREADS_BITWISE, as64, assert_close,
                      random_array)

PATHS = ("generic", "avx2", "avx512")
TRANS = list(itertools.product((False, True), repeat=2))
# above the direct-path and threading thresholds: several MC blocks, N parts,
# K blocks (KC = 256) and ragged edges everywhere
LARGE_MNK = [(300, 517, 700), (1030, 70, 300), (29, 2100, 530)]


@pytest.fixture(params=PATHS)
def path(request, nat):
    """Force one SIMD path for the test; restore the best one afterwards."""
    if request.param not in nat.build_info()["simd_supported"]:
        pytest.skip(f"this CPU cannot run the {request.param} path")
    nat.set_simd_path(request.param)
    yield request.param
    nat.set_simd_path(None)


def operands(rng, M, N, K, dtype, trans_a, trans_b):
    A = random_array(rng, (K, M) if trans_a else (M, K), dtype)
    B = random_array(rng, (N, K) if trans_b else (K, N), dtype)
    return A, B


def reference(ref, A, B, trans_a, trans_b, C=None):
    """The reference product in float64 (accumulating onto C when given)."""
    M = A.shape[1] if trans_a else A.shape[0]
    N = B.shape[0] if trans_b else B.shape[1]
    out = np.zeros((M, N)) if C is None else as64(C)[0]
    A64, B64 = as64(A, B)
    ref.gemm(out, A64, B64, trans_a, trans_b, C is not None, 1)
    return out


def native(nat, A, B, trans_a, trans_b, n_threads=1, C=None, handoff=False):
    """handoff: the threads of the hand-off team (csrc/team.h), as inference takes them."""
    M = A.shape[1] if trans_a else A.shape[0]
    N = B.shape[0] if trans_b else B.shape[1]
    out = np.full((M, N), np.nan, A.dtype) if C is None else C.copy()
    if handoff:
        from mlpfast import _linalg
        _linalg.gemm(out, A, B, trans_a, trans_b, C is not None, n_threads, handoff=True)
    else:
        nat.gemm(out, A, B, trans_a, trans_b, C is not None, n_threads)
    return out


# ---------------------------------------------------------------- parity

@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("M,N,K", SHAPES_MNK)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference(nat, ref, rng, path, dtype, trans_a, trans_b, M, N, K,
                                n_threads):
    A, B = operands(rng, M, N, K, dtype, trans_a, trans_b)
    C = native(nat, A, B, trans_a, trans_b, n_threads)
    assert_close(C, reference(ref, A, B, trans_a, trans_b), dtype, k=K)


@pytest.mark.parametrize("M,N,K", [(1, 1, 1), (13, 1, 29), (1, 517, 300), (67, 129, 257), (301, 17, 513)]
                         + LARGE_MNK[:1])
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_accumulate(nat, ref, rng, path, dtype, trans_a, trans_b, M, N, K):
    A, B = operands(rng, M, N, K, dtype, trans_a, trans_b)
    C0 = random_array(rng, (M, N), dtype)
    for n_threads in THREADS:
        C = native(nat, A, B, trans_a, trans_b, n_threads, C=C0)
        assert_close(C, reference(ref, A, B, trans_a, trans_b, C=C0), dtype, k=K + 1)


@pytest.mark.parametrize("M,N,K", [(5, 7, 3001), (37, 45, 2900), (70, 130, 1100)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_many_k_blocks(nat, ref, rng, path, dtype, M, N, K):
    for trans_a, trans_b in TRANS:
        A, B = operands(rng, M, N, K, dtype, trans_a, trans_b)
        C0 = random_array(rng, (M, N), dtype)
        assert_close(native(nat, A, B, trans_a, trans_b, 2), reference(ref, A, B, trans_a, trans_b),
                     dtype, k=K)
        assert_close(native(nat, A, B, trans_a, trans_b, 2, C=C0),
                     reference(ref, A, B, trans_a, trans_b, C=C0), dtype, k=K + 1)


def test_gemm_known_values(nat):
    """Small integers: exact in both dtypes, on the default path."""
    for dtype in DTYPES:
        A = np.arange(6, dtype=dtype).reshape(2, 3)
        B = np.arange(12, dtype=dtype).reshape(3, 4)
        C = np.zeros((2, 4), dtype)
        nat.gemm(C, A, B, False, False, False, 1)
        np.testing.assert_array_equal(C, [[20, 23, 26, 29], [56, 68, 80, 92]])
        nat.gemm(C, A, B, False, False, True, 1)
        np.testing.assert_array_equal(C, [[40, 46, 52, 58], [112, 136, 160, 184]])


# ---------------------------------------------------------------- determinism

@pytest.mark.parametrize("M,N,K", LARGE_MNK + [(67, 129, 257)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_bitwise_across_threads(nat, rng, path, dtype, M, N, K):
    for trans_a, trans_b in TRANS:
        A, B = operands(rng, M, N, K, dtype, trans_a, trans_b)
        C0 = random_array(rng, (M, N), dtype)
        first = native(nat, A, B, trans_a, trans_b, THREADS_BITWISE[0])
        first_acc = native(nat, A, B, trans_a, trans_b, THREADS_BITWISE[0], C=C0)
        for n_threads, handoff in itertools.product(THREADS_BITWISE, (False, True)):
            np.testing.assert_array_equal(
                native(nat, A, B, trans_a, trans_b, n_threads, handoff=handoff), first)
            np.testing.assert_array_equal(
                native(nat, A, B, trans_a, trans_b, n_threads, C=C0, handoff=handoff),
                first_acc)


# (r0, r1, c0, c1): tiny blocks (direct path), edges, one row/column, ragged middles
BLOCKS = [(0, 1, 0, 1), (3, 4, 0, 517), (0, 300, 516, 517), (5, 40, 7, 70),
          (13, 29, 100, 133), (150, 300, 0, 517), (1, 299, 33, 500),
          (0, 300, 3, 13), (7, 71, 500, 515)]      # narrow: C^T = B^T A for A^T B


@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_sub_block_invariance(nat, rng, path, dtype, trans_a, trans_b):
    """C[r0:r1, c0:c1] from the matching slices equals that block of the full
    product, bit for bit: an element's bits do not depend on its tile, on M, N,
    nor on direct vs packed."""
    M, N, K = 300, 517, 700
    A, B = operands(rng, M, N, K, dtype, trans_a, trans_b)
    full = native(nat, A, B, trans_a, trans_b, 2)
    for r0, r1, c0, c1 in BLOCKS:
        a = np.ascontiguousarray(A[:, r0:r1] if trans_a else A[r0:r1])
        b = np.ascontiguousarray(B[c0:c1] if trans_b else B[:, c0:c1])
        for n_threads in THREADS:
            np.testing.assert_array_equal(native(nat, a, b, trans_a, trans_b, n_threads),
                                          full[r0:r1, c0:c1], err_msg=str((r0, r1, c0, c1)))


@pytest.mark.parametrize("K", [1, 10, 128, 129])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_short_k_transposed_b_matches_large(nat, rng, path, dtype, K):
    """A B^T with few rows and K <= 128 (the δ recurrence's δ W^T: B^T packed a panel
    at a time for the small-M route) gives the rows of a 300-row product, bit for
    bit, accumulating or not."""
    A, B = operands(rng, 300, 100, K, dtype, False, True)
    full = native(nat, A, B, False, True, 2)
    C0 = random_array(rng, (300, 100), dtype)
    full_acc = native(nat, A, B, False, True, 2, C=C0)
    for M, N in ((1, 1), (8, 31), (33, 33), (128, 100), (17, 7)):
        a, b = A[:M], np.ascontiguousarray(B[:N])
        for n_threads in THREADS:
            np.testing.assert_array_equal(native(nat, a, b, False, True, n_threads),
                                          full[:M, :N], err_msg=str((M, N, n_threads)))
            np.testing.assert_array_equal(
                native(nat, a, b, False, True, n_threads, C=C0[:M, :N].copy()),
                full_acc[:M, :N], err_msg=str((M, N, n_threads)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_narrow_accumulate_matches_wide(nat, rng, path, dtype):
    """A^T B + C with few columns (computed as its transpose, through a scratch)
    gives the columns of the wide product, bit for bit."""
    K, M = 300, 131
    A, B = operands(rng, M, 64, K, dtype, True, False)
    C0 = random_array(rng, (M, 64), dtype)
    full = native(nat, A, B, True, False, 2, C=C0)
    for N in (1, 2, 10, 15):
        b = np.ascontiguousarray(B[:, :N])
        for n_threads in THREADS:
            np.testing.assert_array_equal(
                native(nat, A, b, True, False, n_threads, C=C0[:, :N].copy()),
                full[:, :N], err_msg=str((N, n_threads)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_transposes_agree_bitwise(nat, rng, path, dtype):
    """The storage order of the operands does not change the arithmetic."""
    M, N, K = 45, 300, 600
    A, B = operands(rng, M, N, K, dtype, False, False)
    want = native(nat, A, B, False, False, 2)
    At, Bt = np.ascontiguousarray(A.T), np.ascontiguousarray(B.T)
    for a, b, ta, tb in ((At, B, True, False), (A, Bt, False, True), (At, Bt, True, True)):
        np.testing.assert_array_equal(native(nat, a, b, ta, tb, 2), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", [1, 2, 17, 64, 255])
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("M", [131, 10])
def test_weight_gradient_is_the_sum_of_its_batch_halves(nat, path, rng, dtype, N, n_threads,
                                                         M):
    """dW = X₀ᵀdZ₀ + X₁ᵀdZ₁ bitwise, for the rows [0, ⌈N/2⌉) and the rest, each half
    one K block (≤ 128 rows): the one fold of linalg.pxd, which the engine's threads
    also compute, each for a band of dW's rows.  M = 131: ragged NR panels on every
    path; M = 10: dW's transpose computed (an output layer of 10 classes)."""
    K = 37
    X, dZ = random_array(rng, (N, K), dtype), random_array(rng, (N, M), dtype)
    W = random_array(rng, (K, M), dtype)
    dW, db = np.empty_like(W), np.empty(M, dtype)
    nat.linear_backward(dW, db, None, X, W, dZ, n_threads=n_threads)
    h = (N + 1) // 2
    halves = native(nat, X[:h], dZ[:h], True, False)
    if h < N:
        halves = halves + native(nat, X[h:], dZ[h:], True, False)
    np.testing.assert_array_equal(dW, halves)


# ---------------------------------------------------------------- small M

# N around every strip width of the small-M kernels (1..16 vectors of 4..16
# lanes, the last masked) and K across KC blocks
SMALL_M_NK = [(1, 1), (7, 3), (17, 129), (100, 300), (257, 513), (1030, 70)]


@pytest.mark.parametrize("N,K", SMALL_M_NK)
@pytest.mark.parametrize("trans_a", (False, True))
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_small_m(nat, ref, rng, path, dtype, trans_a, N, K):
    """M = 1..9 rows against B in place (the small-M path, batch-1 inference):
    parity with the reference, plain and accumulating, and bitwise equal to the
    same rows of a larger (packed: more rows than SMALLM_ROWS) product for any
    thread count."""
    A_big, B = operands(rng, 140, N, K, dtype, trans_a, False)
    big = native(nat, A_big, B, trans_a, False, 2)
    for M in range(1, 10):
        for r0 in (0, 17):
            A = np.ascontiguousarray(A_big[:, r0:r0 + M] if trans_a else A_big[r0:r0 + M])
            want = reference(ref, A, B, trans_a, False)
            C0 = random_array(rng, (M, N), dtype)
            for n_threads, handoff in itertools.product(THREADS, (False, True)):
                C = native(nat, A, B, trans_a, False, n_threads, handoff=handoff)
                assert_close(C, want, dtype, k=K)
                np.testing.assert_array_equal(C, big[r0:r0 + M], err_msg=str((M, r0)))
                assert_close(native(nat, A, B, trans_a, False, n_threads, C=C0),
                             reference(ref, A, B, trans_a, False, C=C0), dtype, k=K + 1)


@pytest.mark.parametrize("M", [16, 63, 128])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_small_m_with_b_past_one_mb(nat, ref, rng, path, dtype, M):
    """Up to SMALLM_ROWS rows against a B of 1.3-1.6 MB (more than one L2 here, up to
    SMALLM_B_BYTES: mnist's float64 forward) stream B in place: parity with the
    reference, and the bits of the same rows of a packed product (140 rows)."""
    K, N = (500, 400) if dtype == np.float64 else (800, 400)
    A_big, B = operands(rng, 140, N, K, dtype, False, False)
    big = native(nat, A_big, B, False, False, 2)
    A = np.ascontiguousarray(A_big[5:5 + M])
    assert_close(native(nat, A, B, False, False), reference(ref, A, B, False, False), dtype, k=K)
    for n_threads in THREADS:
        np.testing.assert_array_equal(native(nat, A, B, False, False, n_threads), big[5:5 + M])


def at_offset(a, offset):
    """A copy of `a` whose data starts `offset` elements past a 64-byte line."""
    flat = _memory.empty((a.size + 64,), a.dtype)[offset:offset + a.size]
    out = flat.reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("N", [64, 96, 320])
@pytest.mark.parametrize("M", [1, 8, 15, 40])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_small_m_with_b_anywhere_in_a_line(nat, ref, rng, path, dtype, M, N):
    """B starting at every element of a cache line (NumPy's arrays start 16 or 48
    bytes in; the small-M path then aligns its strips to B's vectors where that
    pays, per chunk of 8 / 4 / 2 / 1 rows, and moves its thread cells with B):
    the same bits as B on a line boundary, every column written once, for any
    thread count."""
    K = 300                         # rows of B on vector boundaries alike; KC blocks
    A, B = operands(rng, M, N, K, dtype, False, False)
    C0 = random_array(rng, (M, N), dtype)
    want = native(nat, A, at_offset(B, 0), False, False)
    assert_close(want, reference(ref, A, B, False, False), dtype, k=K)
    want_acc = native(nat, A, at_offset(B, 0), False, False, C=C0)
    for offset in range(64 // np.dtype(dtype).itemsize):
        b = at_offset(B, offset)
        for n_threads, handoff in itertools.product(THREADS_BITWISE, (False, True)):
            np.testing.assert_array_equal(
                native(nat, A, b, False, False, n_threads, handoff=handoff), want,
                err_msg=str((offset, n_threads, handoff)))
            np.testing.assert_array_equal(
                native(nat, A, b, False, False, n_threads, C=C0, handoff=handoff), want_acc,
                err_msg=str((offset, n_threads, handoff)))


# ---------------------------------------------------------------- epilogue

@pytest.mark.parametrize("N,K,M", [(3, 5, 2), (300, 517, 700), (64, 1030, 70), (1, 784, 256),
                                   (5, 300, 1030)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_epilogue_covers_each_element_once(nat, ref, rng, dtype, N, K, M):
    """linear_forward adds b in the GEMM epilogue: a rectangle visited twice (or
    never) shows as a bias counted twice (or missing)."""
    X = random_array(rng, (N, K), dtype)
    W = random_array(rng, (K, M), dtype)
    b = random_array(rng, (M,), dtype, 10.0, 20.0)
    Zr = np.zeros((N, M))
    ref.linear_forward(Zr, None, *as64(X, W, b), "identity", None, 1)
    for n_threads in THREADS_BITWISE:
        Z = np.full((N, M), np.nan, dtype)
        nat.linear_forward(Z, None, X, W, b, "identity", None, n_threads)
        assert_close(Z, Zr, dtype, k=K + 1, scale=20.0)


# ---------------------------------------------------------------- claims

# one shape per route of csrc/gemm_driver.h: (M, N, K, trans_a, trans_b)
CLAIM_ROUTES = [(32, 128, 64, False, False),      # small-M
                (40, 1030, 300, False, False),    # small-M, threads split N
                (300, 517, 700, False, False),    # packed, several K blocks
                (17, 19, 23, True, True),         # direct
                (131, 10, 64, True, False),       # narrow: C^T = B^T A
                (131, 1, 300, True, False),       # N = 1, C^T is C
                (33, 100, 128, False, True)]      # short K, B^T a panel at a time


def claimed_runs(rng):
    """Three byte runs (a large one, one byte, one starting mid-line) inside a buffer
    with room either side, and a copy of that buffer."""
    buf = (rng.integers(0, 256, 70000)).astype(np.uint8)
    return (buf[64:65600], buf[65601:65602], buf[65610:65610 + 1203]), buf.copy()


@pytest.mark.parametrize("M,N,K,trans_a,trans_b", CLAIM_ROUTES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_claim_changes_no_value(nat, rng, path, dtype, M, N, K, trans_a, trans_b):
    """Claimed memory (gemm.h: each line rewritten with its own value among the
    products) keeps every byte, and C keeps its bits, on every route, for any thread
    count, accumulating or not; on one thread C itself may be claimed."""
    from mlpfast import _linalg
    A, B = operands(rng, M, N, K, dtype, trans_a, trans_b)
    C0 = random_array(rng, (M, N), dtype)
    for accumulate, n_threads in itertools.product((False, True), THREADS_BITWISE):
        want = native(nat, A, B, trans_a, trans_b, n_threads, C=C0 if accumulate else None)
        runs, before = claimed_runs(rng)
        C = C0.copy()
        _linalg.gemm(C, A, B, trans_a, trans_b, accumulate, n_threads, claim=runs)
        np.testing.assert_array_equal(C, want, err_msg=str((accumulate, n_threads)))
        np.testing.assert_array_equal(runs[0].base, before)
    C = C0.copy()
    _linalg.gemm(C, A, B, trans_a, trans_b, True, 1, claim=(C.view(np.uint8).reshape(-1),))
    np.testing.assert_array_equal(C, native(nat, A, B, trans_a, trans_b, 1, C=C0))


def test_gemm_claim_rejects_bad_runs():
    """The test hook's claim: at most three writable byte arrays, named when wrong."""
    from mlpfast import _linalg
    A = np.ones((2, 2), np.float32)
    C = np.zeros((2, 2), np.float32)
    runs = tuple(np.zeros(8, np.uint8) for _ in range(4))
    with pytest.raises(ValueError, match="claim: at most 3 arrays, got 4"):
        _linalg.gemm(C, A, A, False, False, False, 1, claim=runs)
    read_only = np.zeros(8, np.uint8)
    read_only.flags.writeable = False
    for bad in (np.zeros(8, np.float32), read_only, np.zeros((2, 4), np.uint8), "bytes"):
        with pytest.raises(TypeError, match=r"claim\[1\]: expected a writable 1-d contiguous"):
            _linalg.gemm(C, A, A, False, False, False, 1, claim=(np.zeros(8, np.uint8), bad))


# ---------------------------------------------------------------- bad input

def test_gemm_rejects_bad_input(nat):
    f4, f8 = np.float32, np.float64
    A, B, C = np.ones((3, 4), f4), np.ones((4, 5), f4), np.zeros((3, 5), f4)
    cases = [
        (TypeError, "A must be a numpy array", (C, None, B)),
        (TypeError, "B must be a numpy array", (C, A, [[1.0]])),
        (ValueError, "A must be 2-D", (C, np.ones(4, f4), B)),
        (ValueError, "C must be 2-D", (np.zeros((3, 5, 1), f4), A, B)),
        (ValueError, "B must have 4 rows", (C, A, np.ones((5, 5), f4))),
        (ValueError, "B must have 4 columns", (C, A, np.ones((5, 3), f4)), dict(trans_b=True)),
        (ValueError, "C must have shape", (np.zeros((3, 4), f4), A, B)),
        (TypeError, "B has dtype float64", (C, A, np.ones((4, 5), f8))),
        (TypeError, "C has dtype float64", (np.zeros((3, 5), f8), A, B)),
        (TypeError, "A must have dtype float32 or float64", (C, np.ones((3, 4), np.int64), B)),
        (ValueError, "A must be C-contiguous", (C, np.ones((4, 3), f4).T, B)),
        (ValueError, "C must be C-contiguous", (np.zeros((5, 3), f4).T, A, B)),
        (ValueError, "A must not be empty", (np.zeros((0, 5), f4), np.ones((0, 4), f4), B)),
        (ValueError, "n_threads must be >= 1", (C, A, B), dict(n_threads=0)),
        (TypeError, "n_threads must be an int", (C, A, B), dict(n_threads=1.5)),
        (TypeError, "trans_a must be a bool", (C, A, B), dict(trans_a=1)),
    ]
    for exc, match, args, *kw in cases:
        with pytest.raises(exc, match=match):
            nat.gemm(*args, **(kw[0] if kw else {}))
    assert not C.any(), "a rejected call must not write C"


def test_set_simd_path_rejects_unknown_names(nat):
    for bad in ("sse9", "AVX512", ""):
        with pytest.raises(ValueError, match="simd path"):
            nat.set_simd_path(bad)
    assert nat.build_info()["simd"] == nat.build_info()["simd_best"]


def test_set_simd_path_switches_and_restores(nat):
    info = nat.build_info()
    assert "generic" in info["simd_supported"]
    assert info["simd_best"] == info["simd_supported"][-1]
    try:
        for name in info["simd_supported"]:
            nat.set_simd_path(name)
            assert nat.build_info()["simd"] == name
    finally:
        nat.set_simd_path(None)
    assert nat.build_info()["simd"] == info["simd_best"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_gemm_in_forked_child_after_threads(nat, rng):
    """A child forked after the parent ran a threaded GEMM computes the same bits
    single-threaded (it must not touch the parent's OpenMP pool, or it hangs)."""
    import os
    import time
    A, B = operands(rng, 300, 517, 700, np.float32, False, False)
    want = native(nat, A, B, False, False, 2)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        ok = 0
        try:
            ok = int(np.array_equal(native(nat, A, B, False, False, 1), want))
        finally:
            os.write(w, bytes([ok]))
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in gemm")
    assert os.read(r, 1) == b"\x01"
    os.close(r)


def test_gemm_tiny_paths_match_large():
    """Tiny calls (stack packing buffer, small-M / transposed N = 1 routes) give the
    same bits as the rows / columns of larger heap-buffer calls."""
    import numpy as np
    from mlpfast import _linalg
    rng = np.random.default_rng(7)
    for ta in (False, True):
        for tb in (False, True):
            for N in (1, 5, 16, 32):
                K = 32
                Abig = rng.standard_normal((K, 400) if ta else (400, K)).astype(np.float32)
                Bbig = rng.standard_normal((70, K) if tb else (K, 70)).astype(np.float32)
                Cbig = np.empty((400, 70), np.float32)
                _linalg.gemm(Cbig, Abig, Bbig, ta, tb, False, 1)
                A = np.ascontiguousarray(Abig[:, :32] if ta else Abig[:32])
                B = np.ascontiguousarray(Bbig[:N] if tb else Bbig[:, :N])
                C = np.empty((32, N), np.float32)
                _linalg.gemm(C, A, B, ta, tb, False, 1)
                assert np.array_equal(C.view(np.uint32), Cbig[:32, :N].view(np.uint32)), (ta, tb, N)
