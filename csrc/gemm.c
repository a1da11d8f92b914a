/* mlpfast GEMM: C = op(A) op(B) (+ C), row-major, float32 and float64 (see gemm.h).
 *
 * Design
 * ------
 * * BLIS loops: NC -> KC -> MC -> MR -> NR around packed panels (pack_a: MR-row
 *   micro-panels of an MC x KC block, pack_b: NR-column micro-panels of a
 *   KC x NC panel) and one register-blocked micro-kernel (ukernel) per dtype and
 *   path.  Row-major C is BLIS's column-major C transposed, so BLIS's NR -> MR
 *   inner order appears as MR -> NR with the same cache roles: the MR x KC
 *   micro-panel of A sits in L1, the KC x NC panel of B in L2.  Files:
 *   gemm_ukernel.h (the kernel template), gemm_kernels.h (its instantiations and
 *   blocking, per dtype), gemm_driver.h (packing and loops, per dtype).  The
 *   dtypes share every line through T / F(name).
 * * Edges: a ragged NR panel is zero-padded and goes through the same ukernel,
 *   which writes back only the valid columns; a ragged MR panel goes through the
 *   same template built for 8 / 4 / 2 / 1 rows (no padding rows computed: M = 1
 *   does not pay for MR rows).  Per element the arithmetic is identical.
 * * Dispatch: mlpf_simd_best() from __builtin_cpu_supports; mlpf_simd_set()
 *   forces a path (tests).  That forced path is the module's only mutable static.
 * * Determinism: C[i][j] = fold over KC blocks of k, in order: acc = 0,
 *   acc = fma(a_ik, b_kj, acc) for each k of the block, then C = acc (first
 *   block, no accumulate) or C = C + acc.  Every path below (direct or packed,
 *   edge or full tile, any thread count) runs exactly that, through the same
 *   ukernel, so only K and the SIMD path decide the bits.
 * * Threads: a pm x pn grid of cells of C (split over M and N, never K), each
 *   thread with its own packing buffers, no barrier inside.  Cells are shared
 *   out (struct share): each thread takes its home cell(s) first, then any
 *   cell another thread has not started, so a late thread costs at most the
 *   cells it already claimed.  The threads are an OpenMP region, whose closing
 *   join still waits for every thread to be scheduled once (under load that,
 *   not the work, is what stalls a 2-thread call), or, when the caller asks
 *   (inference), the hand-off team (team.h), which never waits for a thread
 *   that has not started.  The grid minimises the packing each cell repeats.
 *   No threads for n_threads == 1 or for small problems (a forked child must
 *   not touch the OpenMP pool).
 * * Direct path (small problems): one thread, no NC / MC blocking, and the
 *   operands that are already k-major (op(A) = A^T, op(B) = B) are read in place
 *   by the ukernel; only the transposed ones and ragged edge micro-panels are
 *   packed.
 * * Small-M path (M <= SMALLM, op(B) = B, SIMD paths): batch-1 inference.  B
 *   is streamed in place, strip by strip, by kernels of R (8 / 4 / 2 / 1) rows
 *   and up to 16 vectors with a masked last vector (gemm_smallm.h); no packing,
 *   no allocation; threads split N (same core, same columns on every call, so
 *   weights that fit in the two L2s stay there).  Strips and cells start on
 *   B's vector boundaries, wherever in a line B itself starts.
 * * Memory: one aligned block per call (a B panel and an A block per thread),
 *   freed before return; failure returns -1 before any work.
 * * Epilogue: called on each MR-row panel of an MC x NC tile by the thread that
 *   finished it, right after its last KC block, while the panel is still in L1.
 * * Claim (gemm.h): the calling thread takes the claimed lines a few at a time
 *   between its micro-kernel calls (struct claim_cursor), where the stores drain
 *   during the FMAs of the next call, and any left at the end.  In one burst
 *   before the products they stall on the store buffer (small's pass: the burst
 *   took 4.5 us of the 6.5 it saved).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef MLPF_X86             /* -DMLPF_X86=0 builds the portable path alone */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MLPF_X86 1
#else
#define MLPF_X86 0
#endif
#endif
#if MLPF_X86
#include <immintrin.h>
#endif

#define MLPF_MAX_MR 16     /* bounds of the packing routines' row-pointer arrays */
#define MLPF_MAX_NR 64
#define MLPF_WIDE 4        /* wide1 spans MLPF_WIDE micro-panels (its NV = 4 * 2) */

/* Problems with M*N*K up to DIRECT_MNK (about 30 us on one core) take the
 * direct path, measured no slower than packing up to about 4x that; below
 * PAR_FLOPS (2MNK) one thread beats paying for a parallel region. */
#ifndef DIRECT_MNK
#define DIRECT_MNK (128.0 * 128 * 128)
#endif
/* op(A) with up to SMALLM rows against op(B) = B (not transposed) takes the
 * small-M path: B streamed in place, no packing, no allocation.  It keeps doing
 * so up to SMALLM_ROWS rows of op(A) = A or A^T while B is at most
 * SMALLM_B_BYTES, where reading B once per 8 rows costs less than packing it:
 * one core, float32, small-M / packed time 0.87-0.95 for 32-128 rows against
 * 128 x 128 to 784 x 256 B (mnist's and small's forward), 0.56-0.79 for tiny's
 * 16-32 rows; 0.99 with a 1.6 MB B, 1.43 with 8 MB; A^T rows: 0.96 at 32 and
 * 1.02 at 64 (an Intel host, 2 MB of L2; tmp harness of two builds timed
 * alternately in one process).  On an AMD EPYC host (1 MB of L2), with 2 MB B
 * (f32 1024 x 512, 2048 x 256; f64 512 x 512, 1024 x 256) small-M ran at
 * 0.99-1.03x packed's GFLOP/s for 128 rows and 1.45-1.56x for 16, and on
 * mnist's float64 forward (1.6 MB) at 1.09-1.24x for 32-128 rows; with A^T
 * (the weight gradients: 40-128 rows against K = 32-512 by N = 64-1024 B) at
 * 1.04-1.29x float32 and 1.02-1.33x float64, 1.00 at 2 MB (small's dW band
 * 64 x 128 x 64: 1.04x). */
#ifndef SMALLM
#define SMALLM 8
#endif
#ifndef SMALLM_ROWS
#define SMALLM_ROWS 128
#endif
#ifndef SMALLM_B_BYTES
#define SMALLM_B_BYTES (2 << 20)
#endif
/* The small-M path aligns its strips to B's vectors when that adds no strip
 * or when at least SMALLM_PEEL vectors follow the first boundary (smallm in
 * gemm_driver.h).  B at 16 bytes into a line, one core, strips aligned against
 * not: 1.23x on 128 x 256 x 784, 1.14x on 1 x 256 x 784, 1.54x on
 * 8 x 1024 x 1024, 1.04-1.10x on 64 x 128 x 128 (7.25 vectors follow), 0.99x
 * on 32 x 96 x 512 (5.25), 0.77x on 64 x 64 x 512 and 0.60x on 64 x 32 x 784
 * (one strip more: 3 for 2, 2 for 1). */
#ifndef SMALLM_PEEL
#define SMALLM_PEEL 6
#endif
/* Packing memory of up to STACK_PACK bytes (tiny problems: e.g. 32 x 32 x 32)
 * lives in an aligned local array of the call instead of a malloc'd block. */
#ifndef STACK_PACK
#define STACK_PACK 16384
#endif
#ifndef CELLS_PER_THREAD    /* of the packed path, for work sharing */
#define CELLS_PER_THREAD 1
#endif
/* The small-M path streams B from L2: one cell per thread keeps each strip as
 * wide as it can be (16 vectors per row of B; 4 cells per thread cut the
 * 784 x 256 layer into 32-column strips and gained nothing on 2 threads), and
 * threads pay from about 512 KB of float32 B (1 x 784 x 256: 7.5 -> 5.6 us;
 * 1 x 256 x 256: 3.1 -> 3.3, slower). */
#ifndef SMALLM_CELLS
#define SMALLM_CELLS 1
#endif
#ifndef SMALLM_PAR_FLOPS
#define SMALLM_PAR_FLOPS (2.0 * 256 * 512)
#endif
#ifndef PAR_FLOPS
#define PAR_FLOPS (2.0 * 128 * 128 * 128)
#endif

/* ---------------------------------------------------------------- dispatch */

static int forced_path = -1;    /* -1: best */

int mlpf_simd_supported(int path)
{
    if (path == MLPF_SIMD_GENERIC) return 1;
#if MLPF_X86
    __builtin_cpu_init();
    if (path == MLPF_SIMD_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (path == MLPF_SIMD_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
#endif
    return 0;
}

int mlpf_simd_best(void)
{
    for (int p = MLPF_SIMD_COUNT - 1; p > 0; p--)
        if (mlpf_simd_supported(p)) return p;
    return MLPF_SIMD_GENERIC;
}

int mlpf_simd_get(void) { return forced_path >= 0 ? forced_path : mlpf_simd_best(); }

int mlpf_simd_set(int path)
{
    if (path == -1) { forced_path = -1; return 0; }
    if (path < 0 || path >= MLPF_SIMD_COUNT || !mlpf_simd_supported(path)) return -1;
    forced_path = path;
    return 0;
}

const char *mlpf_simd_name(int path)
{
    static const char *const names[] = {"generic", "avx2", "avx512"};
    return (path >= 0 && path < MLPF_SIMD_COUNT) ? names[path] : "unknown";
}

/* ---------------------------------------------------------------- helpers */

static ptrdiff_t round_up(ptrdiff_t x, ptrdiff_t m) { return (x + m - 1) / m * m; }
static ptrdiff_t cdiv(ptrdiff_t x, ptrdiff_t m) { return (x + m - 1) / m; }

/* 64-byte aligned allocation; the original pointer sits just below the block. */
static void *aligned_block(size_t bytes)
{
    char *raw = (char *)malloc(bytes + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63;
    ((void **)p)[-1] = raw;
    return (void *)p;
}

static void aligned_free(void *p)
{
    if (p) free(((void **)p)[-1]);
}

/* A claim (gemm.h) under way on the calling thread: the next line to take (run,
 * off) and how many lines each step of the products takes.  Twice the lines'
 * share of the steps, so they are ours by about half-way, when the first stores
 * of the product's own output (C, or the epilogue's) are still to come; but at
 * most CLAIM_STEP_LINES a step: a core holds 48-64 stores in flight (Zen 2-4,
 * Skylake), and a step's claims past that stall its FMAs until the other core
 * gives lines up (small's two-thread pass: 65 a step saved nothing, 32-52 saved
 * 3-4 of its 38 us). */
#ifndef CLAIM_STEP_LINES
#define CLAIM_STEP_LINES 32
#endif
struct claim_cursor {
    const mlpf_claim *c;        /* NULL: nothing to take */
    int run;
    ptrdiff_t off, per;
};

static void claim_begin(struct claim_cursor *q, const mlpf_claim *c)
{
    q->c = c;
    q->run = 0;
    q->off = 0;
    q->per = 1;
}

/* Spread what is left over about `steps` steps (a route's micro-kernel calls). */
static void claim_pace(struct claim_cursor *q, ptrdiff_t steps)
{
    ptrdiff_t lines = 0;
    if (!q->c) return;
    for (int r = q->run; r < MLPF_CLAIM_RUNS; r++)
        if (q->c->p[r] && q->c->bytes[r] > 0) lines += cdiv(q->c->bytes[r], 64) + 1;
    q->per = cdiv(2 * lines, steps > 1 ? steps : 1);
    if (q->per > CLAIM_STEP_LINES) q->per = CLAIM_STEP_LINES;
}

void mlpf_own_lines(void *p, ptrdiff_t bytes)
{
    volatile unsigned char *c = (volatile unsigned char *)p;
    if (bytes <= 0) return;
    c[0] = c[0];
    for (ptrdiff_t off = 64 - (ptrdiff_t)((uintptr_t)p & 63); off < bytes; off += 64)
        c[off] = c[off];
}

/* Take the next n lines (n < 0: all that are left). */
static void claim_take(struct claim_cursor *q, ptrdiff_t n)
{
    if (!q->c) return;
    while (n != 0 && q->run < MLPF_CLAIM_RUNS) {
        const uintptr_t at = (uintptr_t)q->c->p[q->run] + (uintptr_t)q->off;
        ptrdiff_t take = q->c->bytes[q->run] - q->off;          /* to the run's end */
        if (!q->c->p[q->run] || take <= 0) {
            q->run++;
            q->off = 0;
            continue;
        }
        if (n > 0 && 64 * n - (ptrdiff_t)(at & 63) < take)      /* to the n-th line's end */
            take = 64 * n - (ptrdiff_t)(at & 63);
        mlpf_own_lines((void *)at, take);
        if (n > 0) n -= (ptrdiff_t)(((at + take - 1) >> 6) - (at >> 6) + 1);
        q->off += take;
    }
}

/* One step's lines, after a micro-kernel call (q NULL: not the calling thread). */
static void claim_step(struct claim_cursor *q)
{
    if (q) claim_take(q, q->per);
}

/* log2 of the rows of the small-M path's next row chunk (8 / 4 / 2 / 1) when
 * `left` rows remain. */
static int row_chunk(ptrdiff_t left)
{
    return left >= 8 ? 3 : left >= 4 ? 2 : left >= 2 ? 1 : 0;
}

/* Work sharing between the nth threads of a region: ncell cells; thread t takes
 * its home cells [t ncell / nth, (t+1) ncell / nth) in order, then whatever the
 * others have not started, from the end of their share.  Each cell is claimed
 * once (an atomic flag), so a descheduled thread delays the call by at most one
 * cell, and with nobody late each thread keeps its home cells (repeated calls
 * find their operands in the same core's cache).  Cells never split K, so the
 * results do not depend on who computes what. */
#define MAX_CELLS 64
struct share {
    int ncell, nth;
    unsigned char taken[MAX_CELLS];
};

static void share_init(struct share *S, ptrdiff_t ncell, int nth)
{
    S->ncell = (int)ncell;
    S->nth = nth;
    for (int c = 0; c < S->ncell; c++) S->taken[c] = 0;
}

/* The next cell for thread t (*pos: its visits so far, from 0), or -1 when done. */
static int share_next(struct share *S, int t, int *pos)
{
    for (;;) {
        int p = (*pos)++, c = -1;
        for (int k = 0; k < S->nth && c < 0; k++) {     /* k-th visited thread: t, t+1, ... */
            int u = (t + k) % S->nth;
            int lo = u * S->ncell / S->nth, hi = (u + 1) * S->ncell / S->nth;
            if (p < hi - lo) c = k == 0 ? lo + p : hi - 1 - p;
            else p -= hi - lo;
        }
        if (c < 0) return -1;
        if (!__atomic_exchange_n(&S->taken[c], 1, __ATOMIC_RELAXED)) return c;
    }
}

/* task(ctx, t) for t < nt: on the hand-off team (team.h: the caller never
 * waits for a thread that has not started; inference) or in an OpenMP region
 * (training, whose other kernels run on the OpenMP team: two teams spinning
 * on two cores would take turns).  Either way a thread that does not come
 * leaves its cells to the others (struct share). */
static void run_threads(int nt, int handoff, mlpf_task task, void *ctx)
{
    if (nt > 1 && handoff) {
        mlpf_team_run(nt, task, ctx);
        return;
    }
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        task(ctx, omp_get_thread_num());
        return;
    }
#endif
    task(ctx, 0);
}

/* How one call is cut into work (dtype-free): nt threads, each owning one cell
 * of a pm x pn grid over C (cells mstep x nstep, multiples of MR / NR), and the
 * MC / NC blocking inside a cell. */
struct plan {
    int direct, nt, ncell;
    ptrdiff_t pm, pn, mstep, nstep, mc, nc;
};

static void plan_gemm(struct plan *P, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, int mr, int nr,
                      int MC, int NC, int n_threads)
{
    double mnk = (double)M * (double)N * (double)K;
    ptrdiff_t nt = (n_threads > 1 && 2.0 * mnk >= PAR_FLOPS) ? n_threads : 1;
    P->direct = mnk <= DIRECT_MNK;
    if (P->direct) {            /* one thread, one cell, no blocking: what the rest gives */
        P->nt = 1; P->ncell = 1; P->pm = 1; P->pn = 1;
        P->mstep = round_up(M, mr); P->nstep = round_up(N, nr);
        P->mc = M; P->nc = N;
        return;
    }
    /* no more threads than micro-tiles, nor than quarters of PAR_FLOPS of work */
    if (nt > cdiv(M, mr) * cdiv(N, nr)) nt = cdiv(M, mr) * cdiv(N, nr);
    if ((double)nt > 2.0 * mnk / (PAR_FLOPS / 4)) nt = (ptrdiff_t)(2.0 * mnk / (PAR_FLOPS / 4));
    if (nt < 1) nt = 1;
    /* cells: several per thread to share out (see struct share), as the
     * micro-tiles allow */
    ptrdiff_t ncell = nt > 1 ? nt * CELLS_PER_THREAD : 1;
    while (ncell > nt && (ncell > cdiv(M, mr) * cdiv(N, nr) || ncell > MAX_CELLS)) ncell -= nt;
    /* grid: each cell packs its rows of op(A) (once per NC block of its columns)
     * and its columns of op(B), so pick the factorisation ncell = pm * pn that
     * packs least, K (pn M ceil(N / (pn NC)) + pm N).  (Transposing packs cost
     * about what copies do since they work on whole lines: weighting them 3x
     * measured no better, and worse for 1024^3 and 512 x 2048 x 1024.) */
    double best = -1;
    for (ptrdiff_t pm = 1; pm <= ncell; pm++) {
        if (ncell % pm) continue;
        ptrdiff_t pn = ncell / pm;
        double cost = (double)pn * M * (double)cdiv(cdiv(N, pn), NC) + (double)pm * N;
        if (cdiv(M, mr) < pm || cdiv(N, nr) < pn) cost *= 4;   /* idle cells */
        if (best < 0 || cost < best) { best = cost; P->pm = pm; P->pn = pn; }
    }
    P->nt = (int)nt;
    P->ncell = (int)ncell;
    P->mstep = round_up(cdiv(M, P->pm), mr);
    P->nstep = round_up(cdiv(N, P->pn), nr);
    if (P->direct) { P->mc = M; P->nc = N; return; }
    ptrdiff_t mb = cdiv(P->mstep, MC);     /* equal MC blocks inside a cell */
    P->mc = round_up(cdiv(P->mstep, mb), mr);
    ptrdiff_t nb = cdiv(P->nstep, NC);
    P->nc = round_up(cdiv(P->nstep, nb), nr);
}

/* ---------------------------------------------------------------- the two dtypes */

#define T float
#define MLPF_F64 0
#define F(name) name##_f32
#define VS(op) op##_ps
#define VT256 __m256
#define VT512 __m512
#include "gemm_kernels.h"
#include "gemm_driver.h"
#undef T
#undef MLPF_F64
#undef F
#undef VS
#undef VT256
#undef VT512

#define T double
#define MLPF_F64 1
#define F(name) name##_f64
#define VS(op) op##_pd
#define VT256 __m256d
#define VT512 __m512d
#include "gemm_kernels.h"
#include "gemm_driver.h"
#undef T
#undef MLPF_F64
#undef F
#undef VS
#undef VT256
#undef VT512
