/* GEMM driver template: included once per dtype by gemm.c with
 *   T        the element type          F(name)  name suffixed with the dtype (name_f32)
 * after gemm_kernels.h.  It defines pack_a, pack_b, the worker (the five BLIS loops)
 * and mlpf_gemm_<dtype>.
 */

/* op(A)[i0:i0+m, p0:p0+kc] into MR-row micro-panels, k-major, zero-padded rows. */
static void F(pack_a)(int ta, const T *A, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t m,
                      ptrdiff_t p0, ptrdiff_t kc, int mr, T *buf)
{
    for (ptrdiff_t ir = 0; ir < m; ir += mr, buf += (ptrdiff_t)mr * kc) {
        int mm = (int)(m - ir < mr ? m - ir : mr);
        if (ta) {               /* A stored K x M: row k of the panel is contiguous */
            const T *src = A + p0 * lda + i0 + ir;
            for (ptrdiff_t k = 0; k < kc; k++, src += lda) {
                T *dst = buf + k * mr;
                for (int i = 0; i < mm; i++) dst[i] = src[i];
                for (int i = mm; i < mr; i++) dst[i] = 0;
            }
        } else {                /* A stored M x K: mm rows streamed side by side */
            const T *rows[MLPF_MAX_MR];
            for (int i = 0; i < mm; i++) rows[i] = A + (i0 + ir + i) * lda + p0;
            for (ptrdiff_t k = 0; k < kc; k++) {
                T *dst = buf + k * mr;
                for (int i = 0; i < mm; i++) dst[i] = rows[i][k];
                for (int i = mm; i < mr; i++) dst[i] = 0;
            }
        }
    }
}

/* One NR-column micro-panel: op(B)[p0:p0+kc, j0:j0+n] (n <= nr), k-major, zero-padded. */
static void F(pack_b)(int tb, const T *B, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t kc,
                      ptrdiff_t j0, int n, int nr, T *buf)
{
    if (!tb) {                  /* B stored K x N: copy row pieces */
        const T *src = B + p0 * ldb + j0;
        for (ptrdiff_t k = 0; k < kc; k++, src += ldb, buf += nr) {
            for (int j = 0; j < n; j++) buf[j] = src[j];
            for (int j = n; j < nr; j++) buf[j] = 0;
        }
    } else {                    /* B stored N x K: each column of op(B) is contiguous */
        for (int j = 0; j < n; j++) {
            const T *src = B + (j0 + j) * ldb + p0;
            for (ptrdiff_t k = 0; k < kc; k++) buf[k * nr + j] = src[k];
        }
        for (int j = n; j < nr; j++)
            for (ptrdiff_t k = 0; k < kc; k++) buf[k * nr + j] = 0;
    }
}

typedef struct {
    const F(kdesc) *d;
    int ta, tb, accumulate, direct;
    ptrdiff_t M, N, K, lda, ldb, ldc;
    const T *A, *B;
    T *C;
    mlpf_epilogue epi;
    void *ctx;
    ptrdiff_t mc, nc;           /* macro-tile sizes of this call */
    ptrdiff_t mb, nparts;       /* M blocks; N parts of an nc panel (work items mb * nparts) */
    T *bbuf;                    /* shared packed B panel (kc x nc) */
    T *abuf;                    /* per-thread packed A blocks, abuf_len elements each */
    ptrdiff_t abuf_len;
} F(job);

/* The loops NC -> KC -> (MC x N-part work items) -> NR -> MR, run by thread t of nth. */
static void F(worker)(const F(job) *J, int t, int nth)
{
    const F(kdesc) *d = J->d;
    const int mr = d->mr, nr = d->nr;
    const int a_inplace = J->direct && J->ta;   /* op(A) already k-major */
    const int b_inplace = J->direct && !J->tb;  /* op(B) already k-major */
    T *abuf = J->abuf + t * J->abuf_len;
    (void)nth;

    for (ptrdiff_t jc = 0; jc < J->N; jc += J->nc) {
        const ptrdiff_t ncur = J->N - jc < J->nc ? J->N - jc : J->nc;
        const ptrdiff_t npanels = (ncur + nr - 1) / nr;
        for (ptrdiff_t pc = 0; pc < J->K; pc += d->kc) {
            const ptrdiff_t kc = J->K - pc < d->kc ? J->K - pc : d->kc;
            const int first = pc == 0 && !J->accumulate, last = pc + kc == J->K;

            /* B panel: threads pack disjoint micro-panels, then all wait for it. */
#ifdef _OPENMP
            if (nth > 1) {
#pragma omp barrier
            }
#endif
            if (b_inplace) {    /* only a ragged last micro-panel needs packing */
                if (ncur % nr)
                    F(pack_b)(0, J->B, J->ldb, pc, kc, jc + (npanels - 1) * nr,
                              (int)(ncur % nr), nr, J->bbuf);
            } else {
                for (ptrdiff_t p = t; p < npanels; p += nth) {
                    ptrdiff_t n = ncur - p * nr < nr ? ncur - p * nr : nr;
                    F(pack_b)(J->tb, J->B, J->ldb, pc, kc, jc + p * nr, (int)n, nr,
                              J->bbuf + p * nr * kc);
                }
            }
#ifdef _OPENMP
            if (nth > 1) {
#pragma omp barrier
            }
#endif

            ptrdiff_t packed_ib = -1;
            for (ptrdiff_t item = t; item < J->mb * J->nparts; item += nth) {
                const ptrdiff_t ib = item / J->nparts, jp = item % J->nparts;
                const ptrdiff_t i0 = ib * J->mc;
                const ptrdiff_t mcur = J->M - i0 < J->mc ? J->M - i0 : J->mc;
                const ptrdiff_t p0 = jp * npanels / J->nparts, p1 = (jp + 1) * npanels / J->nparts;
                if (p0 == p1) continue;
                if (ib != packed_ib) {
                    if (!a_inplace)
                        F(pack_a)(J->ta, J->A, J->lda, i0, mcur, pc, kc, mr, abuf);
                    else if (mcur % mr)     /* ragged last micro-panel only */
                        F(pack_a)(1, J->A, J->lda, i0 + mcur - mcur % mr, mcur % mr, pc, kc,
                                  mr, abuf);
                    packed_ib = ib;
                }
                for (ptrdiff_t p = p0; p < p1; p++) {
                    const ptrdiff_t jr = p * nr;
                    const int n = (int)(ncur - jr < nr ? ncur - jr : nr);
                    const T *bp = J->bbuf + p * nr * kc;
                    ptrdiff_t sb = nr;
                    if (b_inplace) {
                        if (n == nr) { bp = J->B + pc * J->ldb + jc + jr; sb = J->ldb; }
                        else bp = J->bbuf;
                    }
                    for (ptrdiff_t ir = 0; ir < mcur; ir += mr) {
                        const int m = (int)(mcur - ir < mr ? mcur - ir : mr);
                        const T *ap = abuf + ir * kc;
                        ptrdiff_t sa = mr;
                        if (a_inplace) {
                            if (m == mr) { ap = J->A + pc * J->lda + i0 + ir; sa = J->lda; }
                            else ap = abuf;
                        }
                        d->ukernel(kc, ap, sa, bp, sb, J->C + (i0 + ir) * J->ldc + jc + jr,
                                   J->ldc, m, n, first);
                    }
                }
                if (last && J->epi) {
                    ptrdiff_t c1 = p1 * nr < ncur ? p1 * nr : ncur;
                    J->epi(J->ctx, i0, i0 + mcur, jc + p0 * nr, jc + c1);
                }
            }
        }
    }
}

int F(mlpf_gemm)(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                 const T *A, ptrdiff_t lda, const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc,
                 int accumulate, int n_threads, mlpf_epilogue epi, void *ctx)
{
    const F(kdesc) *d = &F(kdescs)[mlpf_simd_get()];
    F(job) J;
    struct plan P;
    if (M < 1 || N < 1 || K < 1) return 0;
    plan_gemm(&P, M, N, K, d->mr, d->nr, d->mc, d->nc, n_threads);
    J.d = d; J.ta = trans_a; J.tb = trans_b; J.accumulate = accumulate;
    J.M = M; J.N = N; J.K = K; J.A = A; J.lda = lda; J.B = B; J.ldb = ldb;
    J.C = C; J.ldc = ldc; J.epi = epi; J.ctx = ctx;
    J.direct = P.direct; J.mc = P.mc; J.nc = P.nc; J.mb = P.mb; J.nparts = P.nparts;

    /* all packing memory of this call, in one aligned block: B panel, then A per thread */
    const ptrdiff_t kc = K < d->kc ? K : d->kc;
    ptrdiff_t ncp = (J.direct && !trans_b) ? d->nr : round_up(J.nc, d->nr);
    ptrdiff_t mcp = (J.direct && trans_a) ? d->mr : round_up(J.mc, d->mr);
    J.abuf_len = round_up(mcp * kc, 64 / (ptrdiff_t)sizeof(T));
    ptrdiff_t blen = round_up(ncp * kc, 64 / (ptrdiff_t)sizeof(T));
    void *mem = aligned_block((size_t)(blen + J.abuf_len * P.nt) * sizeof(T));
    if (!mem) return -1;
    J.bbuf = (T *)mem;
    J.abuf = J.bbuf + blen;

#ifdef _OPENMP
    if (P.nt > 1) {
#pragma omp parallel num_threads(P.nt)
        F(worker)(&J, omp_get_thread_num(), omp_get_num_threads());
    } else
#endif
        F(worker)(&J, 0, 1);
    aligned_free(mem);
    return 0;
}
