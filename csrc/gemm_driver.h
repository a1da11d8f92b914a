/* GEMM driver template: included once per dtype by gemm.c with
 *   T        the element type          F(name)  name suffixed with the dtype (name_f32)
 * after gemm_kernels.h.  It defines pack_a, pack_b, the five BLIS loops (block:
 * NC -> KC -> MC, macro_kernel: MR -> NR), the thread tasks and mlpf_gemm_<dtype>.
 */

/* A k-major block (kc rows of n contiguous elements, row stride ld) into w-wide
 * micro-panels (panel p at buf + p*w*kc, its row k at + k*w), k outermost so
 * each row of the block is read once, in one stream.  The columns of a ragged
 * last panel past n are left as they are (the caller pads them if it must).
 * copy: the optional vector kernel for the whole panels. */
static void F(pack_kmajor)(const T *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t n, int w, T *buf,
                           void (*copy)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, int, T *))
{
    const ptrdiff_t full = n / w, panel = (ptrdiff_t)w * kc;
    if (copy && full) copy(src, ld, kc, full, w, buf);
    for (ptrdiff_t k = 0; k < kc; k++, src += ld) {
        T *dst = buf + k * w;
        if (!copy)
            for (ptrdiff_t p = 0; p < full; p++)
                for (int j = 0; j < w; j++) dst[p * panel + j] = src[p * w + j];
        for (ptrdiff_t j = full * w; j < n; j++) dst[full * panel + j - full * w] = src[j];
    }
}

/* op(A)[i0:i0+m, p0:p0+kc] into MR-row micro-panels, k-major.  The rows of a
 * ragged micro-panel past m are left unwritten: only the row kernels (8 / 4 /
 * 2 / 1 rows, never more than m) read such a panel, so nobody reads them, and
 * skipping them saves a per-k memset that dominated tiny calls. */
static void F(pack_a)(int ta, const T *A, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t m,
                      ptrdiff_t p0, ptrdiff_t kc, int mr, T *buf,
                      void (*pack_an)(const T *, ptrdiff_t, ptrdiff_t, T *),
                      void (*pack_kmajor)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, int, T *))
{
    if (ta) {   /* A stored K x M: already k-major (a panel at a time would stride lda
                 * per k, thrashing one L1 set when lda is a multiple of 1 KiB) */
        F(pack_kmajor)(A + p0 * lda + i0, lda, kc, m, mr, buf, pack_kmajor);
        return;
    }
    for (ptrdiff_t ir = 0; ir < m; ir += mr, buf += (ptrdiff_t)mr * kc) {
        int mm = (int)(m - ir < mr ? m - ir : mr);
        if (pack_an && mm == mr) {          /* register transposes */
            pack_an(A + (i0 + ir) * lda + p0, lda, kc, buf);
        } else {                /* A stored M x K: mm rows streamed side by side */
            const T *rows[MLPF_MAX_MR];
            for (int i = 0; i < mm; i++) rows[i] = A + (i0 + ir + i) * lda + p0;
            for (ptrdiff_t k = 0; k < kc; k++) {
                T *dst = buf + k * mr;
                for (int i = 0; i < mm; i++) dst[i] = rows[i][k];
            }
        }
    }
}

/* op(B)[p0:p0+kc, j0:j0+n] into NR-column micro-panels (micro-panel p at
 * buf + p*nr*kc), k-major, the last one zero-padded. */
static void F(pack_b)(int tb, const T *B, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t kc,
                      ptrdiff_t j0, ptrdiff_t n, int nr, T *buf,
                      void (*pack_bt)(const T *, ptrdiff_t, ptrdiff_t, T *),
                      void (*pack_kmajor)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, int, T *))
{
    const ptrdiff_t full = n / nr, rem = n % nr, panel = (ptrdiff_t)nr * kc;
    if (!tb) {                  /* B stored K x N: already k-major */
        if (rem)                /* the padding of the ragged panel: one memset, not one per k */
            memset(buf + full * panel, 0, (size_t)panel * sizeof(T));
        F(pack_kmajor)(B + p0 * ldb + j0, ldb, kc, n, nr, buf, pack_kmajor);
    } else {                    /* B stored N x K: nn rows of B streamed side by side */
        const T *rows[MLPF_MAX_NR];
        for (ptrdiff_t p = 0; p * nr < n; p++) {
            T *dst = buf + p * panel;
            int nn = (int)(n - p * nr < nr ? n - p * nr : nr);
            if (pack_bt && nn == nr) {
                pack_bt(B + (j0 + p * nr) * ldb + p0, ldb, kc, dst);
                continue;
            }
            for (int j = 0; j < nn; j++) rows[j] = B + (j0 + p * nr + j) * ldb + p0;
            memset(dst, 0, (size_t)panel * sizeof(T));   /* padding: once, not per k */
            for (ptrdiff_t k = 0; k < kc; k++, dst += nr)
                for (int j = 0; j < nn; j++) dst[j] = rows[j][k];
        }
    }
}

typedef struct {
    const F(kdesc) *d;
    int ta, tb, accumulate, direct;
    ptrdiff_t M, N, K, ks, lda, ldb, ldc;
    const T *A, *B;
    T *C;
    mlpf_epilogue epi;
    void *ctx;
    struct plan P;
    T *mem;                     /* per thread: packed B panel (blen), then A block (alen) */
    ptrdiff_t blen, alen;
} F(job);

/* The length of the K block from pc: KC, cut at K and at the split ks. */
static inline ptrdiff_t F(kblock)(const F(job) *J, ptrdiff_t pc)
{
    const ptrdiff_t end = pc < J->ks ? J->ks : J->K;
    return end - pc < J->d->kc ? end - pc : J->d->kc;
}

/* The two inner loops over one MC x NC block: each MR-row micro-panel of A
 * (MR x KC, kept in L1) meets every NR-column micro-panel of the B panel (KC x NC,
 * kept in L2).  (Row-major C is BLIS's column-major C transposed, so BLIS's
 * NR -> MR order appears here as MR -> NR, with the same cache roles.) */
static void F(macro_kernel)(const F(job) *J, ptrdiff_t i0, ptrdiff_t mcur, ptrdiff_t jc,
                            ptrdiff_t ncur, ptrdiff_t pc, ptrdiff_t kc, int first, int last,
                            const T *abuf, const T *bbuf, struct claim_cursor *q)
{
    const F(kdesc) *d = J->d;
    const int mr = d->mr, nr = d->nr;
    const int a_inplace = J->direct && J->ta, b_inplace = J->direct && !J->tb;
    const ptrdiff_t npanels = cdiv(ncur, nr);

    for (ptrdiff_t ir = 0; ir < mcur; ir += mr) {
        const int m = (int)(mcur - ir < mr ? mcur - ir : mr);
        const T *ap = abuf + ir * kc;
        ptrdiff_t sa = mr;
        if (a_inplace && m == mr) { ap = J->A + pc * J->lda + i0 + ir; sa = J->lda; }
        else if (a_inplace) ap = abuf;
        for (ptrdiff_t p = 0; p < npanels; p++) {
            const ptrdiff_t jr = p * nr;
            const int n = (int)(ncur - jr < nr ? ncur - jr : nr);
            const T *bp = bbuf + p * nr * kc;
            ptrdiff_t sb = nr;
            if (b_inplace && n == nr) { bp = J->B + pc * J->ldb + jc + jr; sb = J->ldb; }
            else if (b_inplace) bp = bbuf;
            T *c = J->C + (i0 + ir) * J->ldc + jc + jr;
            if (m == 1 && b_inplace && d->wide1 && ncur - jr >= MLPF_WIDE * nr) {
                d->wide1(kc, ap, sa, bp, sb, c, J->ldc, 1, MLPF_WIDE * nr, first);
                p += MLPF_WIDE - 1;
            } else if (m == mr) {
                d->ukernel(kc, ap, sa, bp, sb, c, J->ldc, m, n, first);
            } else {    /* ragged panel: its rows in chunks through the smaller row kernels */
                for (int s = 0, i = 0; i < m;) {
                    int r = d->rows[s].m;
                    if (m - i < r) { s++; continue; }
                    d->rows[s].ukernel(kc, ap + i, sa, bp, sb, c + i * J->ldc, J->ldc, r, n,
                                       first);
                    i += r;
                }
            }
            claim_step(q);
        }
        /* the epilogue on this finished row panel while it is in L1 (a whole MC x NC
         * tile is not: small's bias + relu waited on L2 for half its time) */
        if (last && J->epi)
            J->epi(J->ctx, i0 + ir, i0 + ir + m, jc, jc + ncur);
    }
}

/* C[m0:m1, n0:n1], the whole of K: the loops NC -> KC -> MC (then MR -> NR in
 * macro_kernel), with this thread's own packing buffers (threads share nothing,
 * so never wait); q: the claim, on the calling thread (else NULL). */
static void F(block)(const F(job) *J, ptrdiff_t m0, ptrdiff_t m1, ptrdiff_t n0, ptrdiff_t n1,
                     T *bbuf, T *abuf, struct claim_cursor *q)
{
    const F(kdesc) *d = J->d;
    const int mr = d->mr, nr = d->nr;
    const int a_inplace = J->direct && J->ta;   /* op(A) already k-major */
    const int b_inplace = J->direct && !J->tb;  /* op(B) already k-major */
    const ptrdiff_t mc = J->P.mc;

    for (ptrdiff_t jc = n0; jc < n1; jc += J->P.nc) {
        const ptrdiff_t ncur = n1 - jc < J->P.nc ? n1 - jc : J->P.nc;
        const ptrdiff_t npanels = cdiv(ncur, nr);
        for (ptrdiff_t pc = 0, kc; pc < J->K; pc += kc) {
            kc = F(kblock)(J, pc);
            const int first = pc == 0 && !J->accumulate, last = pc + kc == J->K;

            if (!b_inplace)
                F(pack_b)(J->tb, J->B, J->ldb, pc, kc, jc, ncur, nr, bbuf, d->pack_bt, d->pack_kmajor);
            else if (ncur % nr)     /* only the ragged last micro-panel */
                F(pack_b)(0, J->B, J->ldb, pc, kc, jc + (npanels - 1) * nr, ncur % nr, nr, bbuf,
                          NULL, NULL);

            for (ptrdiff_t i0 = m0; i0 < m1; i0 += mc) {
                const ptrdiff_t mcur = m1 - i0 < mc ? m1 - i0 : mc;
                if (!a_inplace)
                    F(pack_a)(J->ta, J->A, J->lda, i0, mcur, pc, kc, mr, abuf, d->pack_an, d->pack_kmajor);
                else if (mcur % mr)     /* only the ragged last micro-panel */
                    F(pack_a)(1, J->A, J->lda, i0 + mcur - mcur % mr, mcur % mr, pc, kc, mr,
                              abuf, NULL, NULL);
                F(macro_kernel)(J, i0, mcur, jc, ncur, pc, kc, first, last, abuf, bbuf, q);
            }
        }
    }
}

/* How many elements p sits past a vl-element boundary, when rows ld apart all
 * sit the same way (else 0: no layout to align to).  NumPy's arrays start 16
 * or 48 bytes into a line, where a split load on every k cost the small-M path
 * up to a third of its speed. */
static inline ptrdiff_t F(misalign)(const T *p, ptrdiff_t ld, int vl)
{
    const uintptr_t a = (uintptr_t)p;
    if (a % sizeof(T) || ld % vl) return 0;
    return (ptrdiff_t)(a / sizeof(T) % (uintptr_t)vl);
}

/* log2 of the vectors in the widest small-M strip of row chunk lr (2^lr rows)
 * that nvec vectors fill, and how many strips n columns take, widest first. */
static inline int F(strip_width)(const F(kdesc) *d, int lr, ptrdiff_t nvec)
{
    int lv = 4;
    while (lv > 0 && (!d->sm[lr][lv] || ((ptrdiff_t)1 << lv) > nvec)) lv--;
    return lv;
}

static ptrdiff_t F(strips)(const F(kdesc) *d, int lr, ptrdiff_t n)
{
    ptrdiff_t count = 0;
    for (ptrdiff_t nvec = cdiv(n, d->vl); nvec > 0; count++)
        nvec -= (ptrdiff_t)1 << F(strip_width)(d, lr, nvec);
    return count;
}

/* C[0:M, n0:n1] for the small-M shapes (SMALLM in gemm.c) against op(B) = B
 * read in place (no packing, no buffer; see gemm_smallm.h): per KC block, the
 * rows in chunks of 8 / 4 / 2 / 1, each against column strips of NV vectors,
 * widest first, the last vector masked; q: the claim (calling thread), or NULL. */
static void F(smallm)(const F(job) *J, ptrdiff_t n0, ptrdiff_t n1, struct claim_cursor *q)
{
    const F(kdesc) *d = J->d;
    const int vl = d->vl;
    const ptrdiff_t sai = J->ta ? 1 : J->lda, sak = J->ta ? J->lda : 1;
    /* per row chunk (lr): a first strip up to B's next vector boundary, when
     * every row of B has the same one, so that the strips after it load whole
     * vectors.  The narrow strip costs about what a wide one does (the same
     * broadcasts of A), so it pays when it adds no strip (the ragged last one
     * shrinks instead) or when SMALLM_PEEL vectors follow it (see gemm.c). */
    const ptrdiff_t n = n1 - n0, lead0 = (vl - F(misalign)(J->B + n0, J->ldb, vl)) % vl;
    ptrdiff_t lead[4] = {0, 0, 0, 0};
    for (int lr = 0; lr < 4 && lead0 && lead0 < n; lr++)
        if (1 + F(strips)(d, lr, n - lead0) <= F(strips)(d, lr, n) ||
            n - lead0 >= SMALLM_PEEL * vl)
            lead[lr] = lead0;
    for (ptrdiff_t pc = 0, kc; pc < J->K; pc += kc) {
        kc = F(kblock)(J, pc);
        const int first = pc == 0 && !J->accumulate;
        const T *b = J->B + pc * J->ldb;
        for (ptrdiff_t i0 = 0; i0 < J->M;) {
            const ptrdiff_t left = J->M - i0;
            const int lr = row_chunk(left);
            const T *a = J->A + i0 * sai + pc * sak;
            T *c = J->C + i0 * J->ldc;
            if (lead[lr]) {
                d->sm[lr][0](kc, a, sai, sak, b + n0, J->ldb, c + n0, J->ldc, (int)lead[lr],
                             first);
                claim_step(q);
            }
            for (ptrdiff_t j = n0 + lead[lr]; j < n1;) {
                const int lv = F(strip_width)(d, lr, cdiv(n1 - j, vl));
                ptrdiff_t w = (ptrdiff_t)vl << lv;
                int nlast = vl;
                if (j + w > n1) { nlast = (int)(n1 - j - (w - vl)); w = n1 - j; }
                d->sm[lr][lv](kc, a, sai, sak, b + j, J->ldb, c + j, J->ldc, nlast, first);
                claim_step(q);
                j += w;
            }
            i0 += (ptrdiff_t)1 << lr;
        }
    }
    if (J->epi) J->epi(J->ctx, 0, J->M, n0, n1);
}

/* About how many kernel calls F(smallm) makes over n columns (a claim's steps). */
static ptrdiff_t F(smallm_calls)(const F(job) *J, ptrdiff_t n)
{
    const int lr = row_chunk(J->M);
    return cdiv(J->K, J->d->kc) * cdiv(J->M, (ptrdiff_t)1 << lr) * F(strips)(J->d, lr, n);
}

/* The small-M path against op(B) = B^T (B stored N x K, K * NR elements at
 * most): each NR-column panel of op(B) packed k-major as the packed path packs
 * it, then run as op(B) = B with ldb = NR; the epilogue on each panel's columns. */
static void F(smallm_bt)(const F(job) *J, struct claim_cursor *q)
{
    T panel[STACK_PACK / sizeof(T)] __attribute__((aligned(64)));
    const F(kdesc) *d = J->d;
    F(job) P = *J;
    P.tb = 0;
    P.B = panel;
    P.ldb = d->nr;
    P.epi = NULL;
    claim_pace(q, cdiv(J->N, d->nr) * F(smallm_calls)(J, d->nr));
    for (ptrdiff_t j0 = 0; j0 < J->N; j0 += d->nr) {
        const ptrdiff_t n = J->N - j0 < d->nr ? J->N - j0 : d->nr;
        F(pack_b)(1, J->B, J->ldb, 0, J->K, j0, n, d->nr, panel, d->pack_bt, d->pack_kmajor);
        P.C = J->C + j0;
        P.N = n;
        F(smallm)(&P, 0, n, q);
        if (J->epi) J->epi(J->ctx, 0, J->M, j0, j0 + n);
    }
}

/* What the threads of a call share: the job, its cells (S), on the small-M
 * path the columns a cell spans, and the claim (taken by thread 0, the caller). */
typedef struct {
    const F(job) *J;
    struct share *S;
    ptrdiff_t step, shift;      /* small-M: cell c spans [c step - shift, (c+1) step - shift) */
    struct claim_cursor *q;
} F(task_ctx);

/* Thread t of the packed path: cells of the plan's pm x pn grid over C. */
static void F(packed_task)(void *ctx, int t)
{
    const F(task_ctx) *c = (const F(task_ctx) *)ctx;
    const F(job) *J = c->J;
    const struct plan *P = &J->P;
    T *bbuf = J->mem + t * (J->blen + J->alen);
    for (int pos = 0, cell; (cell = share_next(c->S, t, &pos)) >= 0;) {
        ptrdiff_t gi = cell / P->pn, gj = cell % P->pn;
        ptrdiff_t m0 = gi * P->mstep, m1 = m0 + P->mstep < J->M ? m0 + P->mstep : J->M;
        ptrdiff_t n0 = gj * P->nstep, n1 = n0 + P->nstep < J->N ? n0 + P->nstep : J->N;
        if (m0 < m1 && n0 < n1)
            F(block)(J, m0, m1, n0, n1, bbuf, bbuf + J->blen, t == 0 ? c->q : NULL);
    }
}

/* Thread t of the small-M path: column strips of step columns. */
static void F(smallm_task)(void *ctx, int t)
{
    const F(task_ctx) *c = (const F(task_ctx) *)ctx;
    const ptrdiff_t N = c->J->N;
    for (int pos = 0, cell; (cell = share_next(c->S, t, &pos)) >= 0;) {
        const ptrdiff_t n0 = cell ? cell * c->step - c->shift : 0;
        const ptrdiff_t n1 = (cell + 1) * c->step - c->shift;
        if (n0 < N) F(smallm)(c->J, n0, n1 < N ? n1 : N, t == 0 ? c->q : NULL);
    }
}

static int F(transposed)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const T *A, ptrdiff_t lda,
                         const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc, int accumulate,
                         ptrdiff_t ks, int n_threads, int handoff, mlpf_epilogue epi,
                         void *ctx, struct claim_cursor *q);

/* mlpf_gemm (gemm.h) with the claim under way in q: the route for the shape. */
static int F(route)(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                    const T *A, ptrdiff_t lda, const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc,
                    int accumulate, ptrdiff_t ks, int n_threads, int handoff,
                    mlpf_epilogue epi, void *ctx, struct claim_cursor *q)
{
    const F(kdesc) *d = &F(kdescs)[mlpf_simd_get()];
    if (M < 1 || N < 1 || K < 1) return 0;
    if (n_threads > MAX_CELLS) n_threads = MAX_CELLS;     /* each thread owns a cell */
    /* A narrow C with op(A) = A^T, op(B) = B (the output layer's weight gradient:
     * N = 10 classes): C^T = B^T A puts M along the vector lanes, N rows against A
     * read in place, where C itself would be M rows of one part-empty vector.  It
     * goes when it takes fewer vector FMAs: N * ceil(M / VL) < M.  Each element is
     * the same fma chain (fma(a, b, acc) = fma(b, a, acc), the same K blocks), so
     * the same bits; C^T is C itself when N = 1 and ldc = 1, else a scratch. */
    if (trans_a && !trans_b && d->sm[0][0] && N * cdiv(M, d->vl) < M) {
        if (N == 1 && ldc == 1 && !epi)
            return F(route)(1, 0, 1, M, K, B, ldb, A, lda, C, M, accumulate, ks,
                            n_threads, handoff, NULL, NULL, q);
        return F(transposed)(M, N, K, A, lda, B, ldb, C, ldc, accumulate, ks, n_threads,
                             handoff, epi, ctx, q);
    }
    F(job) J = {.d = d, .ta = trans_a, .tb = trans_b, .accumulate = accumulate,
                .M = M, .N = N, .K = K, .ks = ks > 0 && ks < K ? ks : 0,
                .lda = lda, .ldb = ldb, .ldc = ldc, .A = A, .B = B, .C = C,
                .epi = epi, .ctx = ctx};
    /* op(B) = B^T (the δ recurrence's δ W^T) with few rows and a short K, on one
     * thread: B^T a panel at a time into a scratch, then the small-M path, which
     * reads A in place where the packed path would pack it too. */
    if (trans_b && !trans_a && d->sm[0][0] && M <= SMALLM_ROWS &&
        K * d->nr * (ptrdiff_t)sizeof(T) <= STACK_PACK &&
        (n_threads == 1 || 2.0 * M * N * K < SMALLM_PAR_FLOPS)) {
        F(smallm_bt)(&J, q);
        return 0;
    }
    const int b_in_l2 = (double)K * (double)N * sizeof(T) <= SMALLM_B_BYTES;
    if (!trans_b && d->sm[0][0] &&
        (M <= SMALLM || (b_in_l2 && M <= SMALLM_ROWS) ||
         (N <= d->vl && (double)M * (double)N * (double)K <= DIRECT_MNK))) {
        /* threads split N into cells of whole cache lines, shared out by S */
        int nt = (n_threads > 1 && 2.0 * M * N * K >= SMALLM_PAR_FLOPS) ? n_threads : 1;
        /* cells of whole lines of B (wherever B's rows start in a line) */
        const ptrdiff_t line = 64 / (ptrdiff_t)sizeof(T), shift = F(misalign)(B, ldb, line);
        const ptrdiff_t lines = cdiv(N + shift, line);
        if (nt > lines) nt = (int)lines;
        if (nt > 1) {
            ptrdiff_t ncell = nt * SMALLM_CELLS;
            while (ncell > nt && (ncell > lines || ncell > MAX_CELLS)) ncell -= nt;
            struct share S;
            share_init(&S, ncell, nt);
            F(task_ctx) c = {&J, &S, round_up(cdiv(N + shift, ncell), line), shift, q};
            claim_pace(q, F(smallm_calls)(&J, c.step));
            run_threads(nt, handoff, F(smallm_task), &c);
            return 0;
        }
        claim_pace(q, F(smallm_calls)(&J, N));
        F(smallm)(&J, 0, N, q);
        return 0;
    }
    plan_gemm(&J.P, M, N, K, d->mr, d->nr, d->mc, d->nc, n_threads);
    J.direct = J.P.direct;

    /* all packing memory of this call in one aligned block, one slice per thread */
    const ptrdiff_t kc = K < d->kc ? K : d->kc, align = 64 / (ptrdiff_t)sizeof(T);
    ptrdiff_t ncp = (J.direct && !trans_b) ? d->nr : round_up(J.P.nc, d->nr);
    ptrdiff_t mcp = (J.direct && trans_a) ? d->mr : round_up(J.P.mc, d->mr);
    J.blen = round_up(ncp * kc, align);
    J.alen = round_up(mcp * kc, align);
    const size_t bytes = (size_t)((J.blen + J.alen) * J.P.nt) * sizeof(T);
    T stack_mem[STACK_PACK / sizeof(T)] __attribute__((aligned(64)));
    J.mem = bytes <= sizeof stack_mem ? stack_mem : (T *)aligned_block(bytes);
    if (!J.mem) return -1;

    struct share S;
    share_init(&S, J.P.ncell, J.P.nt);
    F(task_ctx) c = {&J, &S, 0, 0, q};
    /* thread 0's micro-kernel calls: K blocks x MR x NR panels, shared by the threads */
    claim_pace(q, cdiv(K, kc) * cdiv(M, d->mr) * cdiv(N, d->nr) / J.P.nt);
    run_threads(J.P.nt, handoff, F(packed_task), &c);
    if (J.mem != stack_mem) aligned_free(J.mem);
    return 0;
}

int F(mlpf_gemm)(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                 const T *A, ptrdiff_t lda, const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc,
                 int accumulate, ptrdiff_t ks, int n_threads, int handoff, mlpf_epilogue epi,
                 void *ctx, const mlpf_claim *claim)
{
    struct claim_cursor q;
    claim_begin(&q, claim);
    int rc = F(route)(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, ks,
                      n_threads, handoff, epi, ctx, &q);
    claim_take(&q, -1);                 /* what the steps left */
    return rc;
}

/* C (M x N) = A^T B (+ C) as C^T (N x M) = B^T A on the small-M path (see
 * mlpf_gemm), through a scratch C^T; the epilogue, if any, runs once on the
 * whole of C after. */
static int F(transposed)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const T *A, ptrdiff_t lda,
                         const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc, int accumulate,
                         ptrdiff_t ks, int n_threads, int handoff, mlpf_epilogue epi,
                         void *ctx, struct claim_cursor *q)
{
    T stack_mem[STACK_PACK / sizeof(T)] __attribute__((aligned(64)));
    const size_t n = (size_t)(M * N);
    T *ct = n <= sizeof stack_mem / sizeof(T) ? stack_mem : (T *)aligned_block(n * sizeof(T));
    if (!ct) return -1;
    if (accumulate)
        for (ptrdiff_t i = 0; i < M; i++)
            for (ptrdiff_t j = 0; j < N; j++) ct[j * M + i] = C[i * ldc + j];
    int rc = F(route)(1, 0, N, M, K, B, ldb, A, lda, ct, M, accumulate, ks, n_threads,
                      handoff, NULL, NULL, q);
    for (ptrdiff_t i = 0; i < M; i++)
        for (ptrdiff_t j = 0; j < N; j++) C[i * ldc + j] = ct[j * M + i];
    if (ct != stack_mem) aligned_free(ct);
    if (rc == 0 && epi) epi(ctx, 0, M, 0, N);
    return rc;
}
