/*
 * multimax.h - sparse and multi-modal attention normalizers (public API).
 *
 * MultiMax(x) = SoftMax(sigma(x)) (Zhou, Fritz, Keuper, ICML 2024), where sigma is a
 * learnable piecewise-polynomial modulator, and its peers: SoftMax with temperature,
 * SparseMax, 1.5-EntMax, alpha-EntMax and EvSoftMax. Every map works row-wise on a
 * batch of rows, forward and backward (vector-Jacobian product), in float32 and float64.
 *
 * Overview
 * --------
 * A normalizer is described by a small value type, mmx_norm, made by one of the
 * mmx_norm_* constructors. It holds the scalars of the map (temperature, alpha, the
 * MultiMax coefficients) but never owns memory.
 *
 *     double ranges[4] = {-1.0, 2.0, -1.0, 2.0};   // [b1, d1, b2, d2]  (official layout)
 *     double ts[4]     = { 0.5, -0.3, 0.1, -0.05}; // [tb1, td1, tb2, td2]
 *     mmx_norm mm = mmx_norm_multimax(2, ranges, ts);
 *     float y[4 * 196];                            // (rows=4, cols=196)
 *     if (mmx_forward_f32(&mm, y, 196, x, 196, 4, 196) != MMX_OK)
 *         fprintf(stderr, "%s\n", mmx_last_error());
 *
 * Conventions
 * -----------
 * - Buffers are row-major batches of `rows` rows of `cols` entries; row r of buffer b
 *   starts at b + r * ldb, so views (ldb > cols) work. ldb >= cols is required.
 * - Argument order: outputs first, then inputs, then sizes.
 * - -INFINITY in an input means "masked": the entry gets probability 0 and gradient 0.
 *   A row that is entirely -inf gives an all-zero output and an all-zero gradient.
 * - cols < 1, rows < 0, ld < cols, a NULL required pointer or a parameter outside its
 *   domain: the call returns a non-zero mmx_status, writes nothing, and leaves a message
 *   (function, argument, what was expected) for mmx_last_error(). rows == 0 is a valid
 *   empty batch.
 * - NaN or +inf in an input row: MMX_ERR_VALUE, with a message naming the first such row and
 *   column. No NaN is ever written. MMX_ERR_VALUE also reports a result beyond double range:
 *   MultiMax's sigma of a huge score (e.g. 1e200 under a nonzero second-order coefficient),
 *   or its gradient (e.g. the gradient of td_11 at a score of 1e30). Terms with a zero
 *   coefficient never overflow. The float64 entry points, the losses and the metrics check
 *   every value before writing anything. The float32 normalizer entry points check each row
 *   as they stream over it (a separate checking pass would cost a third of their memory
 *   traffic): every row without a bad value gets its correct result; rows with one are left
 *   untouched.
 * - In-place use is allowed: y may alias x in a forward call; dx may alias dy in a
 *   backward call (same pointer and same leading dimension).
 * - Input gradients (dx, dz) are overwritten. Parameter gradients (mmx_param_grads) are
 *   accumulated (+=), summed over every row of the call, so a caller can sum over heads,
 *   layers' calls or micro-batches by calling repeatedly.
 * - Scalar parameters and their gradients are double in every entry point: they are a
 *   handful of numbers, and double lets users check gradients by finite differences.
 * - float32 entry points run SIMD kernels (AVX-512, AVX2+FMA or portable, see mmx_isa())
 *   over rows in threads, with sums accumulated in double per block of 64 vectors; rows they
 *   cannot do exactly in float32 (a score so large that sigma overflows) fall back to the
 *   double-precision reference. float64 entry points run the reference in double
 *   throughout. Results do not depend on the number of threads.
 *
 * Thread safety: every function is reentrant; mmx_last_error() is per thread.
 */
#ifndef MULTIMAX_H
#define MULTIMAX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMX_VERSION_MAJOR 0
#define MMX_VERSION_MINOR 1
#define MMX_VERSION_PATCH 0

/* "0.1.0" */
const char *mmx_version(void);

/* ---------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------- */

/* Append-only: values never change meaning. */
typedef enum {
    MMX_OK = 0,
    MMX_ERR_NULL = 1,  /* a required pointer was NULL */
    MMX_ERR_SIZE = 2,  /* rows, cols or a leading dimension out of range */
    MMX_ERR_PARAM = 3, /* a scalar parameter outside its domain (t <= 0, alpha <= 1, ...) */
    MMX_ERR_VALUE = 4, /* an input holds NaN or +inf, or a label is out of range */
    MMX_ERR_NOMEM = 5, /* memory allocation failed */
    MMX_ERR_IO = 6,    /* a file could not be read or written */
    MMX_ERR_FORMAT = 7 /* a file or text is malformed */
} mmx_status;

/* Short name of a status, e.g. "MMX_ERR_PARAM". Never NULL. */
const char *mmx_status_str(mmx_status s);

/* The message left by the last failing call on this thread, e.g.
 * "mmx_forward_f32: argument 'alpha' = 0.5, expected alpha > 1".
 * "" if no call has failed on this thread. Valid until the next failing call. */
const char *mmx_last_error(void);

/* ---------------------------------------------------------------------------------
 * Normalizers
 * ------------------------------------------------------------------------------- */

/* Append-only. */
typedef enum {
    MMX_NORM_SOFTMAX = 0,   /* exp(x/t) / sum exp(x/t)                                 */
    MMX_NORM_MULTIMAX = 1,  /* softmax(sigma(x)), sigma of order N (see below)         */
    MMX_NORM_SPARSEMAX = 2, /* Euclidean projection onto the simplex: max(x - tau, 0)   */
    MMX_NORM_ENTMAX15 = 3,  /* 1.5-entmax, exact: max(x/2 - tau, 0)^2                   */
    MMX_NORM_ENTMAX = 4,    /* alpha-entmax: max((alpha-1)x - tau, 0)^(1/(alpha-1))     */
    MMX_NORM_EVSOFTMAX = 5, /* entries below the row mean weighted by 1e-6 (train) / 0;
                             * the mean is over the unmasked entries (the official code's
                             * torch.mean over a row with -inf is -inf, masking nothing) */
    MMX_NORM_COUNT = 6
} mmx_norm_kind;

/* Largest MultiMax order accepted (the paper uses 2). */
#define MMX_MULTIMAX_MAX_ORDER 16

/* EvSoftMax weight of masked (below-mean) entries in training mode. */
#define MMX_EVSOFTMAX_TRAIN_EPS 1e-6

/*
 * A normalizer and its scalars. Make one with the constructors below; the fields read
 * by each kind are listed with them. The struct does not own `ranges` / `ts`: they must
 * stay valid while the struct is in use.
 *
 * MultiMax of order N (4 scalars per order):
 *   sigma(x) = x + sum_{n=1..N} tb_n * max(b_n - x, 0)^n + td_n * max(x - d_n, 0)^n
 *   ranges = [b_1, d_1, b_2, d_2, ..., b_N, d_N]      (2N values, official layout)
 *   ts     = [tb_1, td_1, tb_2, td_2, ..., tb_N, td_N] (2N values)
 * sigma is applied to finite entries only; all-zero ts gives exactly SoftMax.
 */
typedef struct {
    mmx_norm_kind kind;
    double temperature;   /* SOFTMAX: t > 0 (1 = plain softmax)                        */
    double alpha;         /* ENTMAX: alpha > 1 (2 = sparsemax, 1.5 = entmax15)          */
    int order;            /* MULTIMAX: 1 <= N <= MMX_MULTIMAX_MAX_ORDER                 */
    const double *ranges; /* MULTIMAX: 2N thresholds, see above                         */
    const double *ts;     /* MULTIMAX: 2N coefficients, see above                       */
    int eval;             /* EVSOFTMAX: 0 = training (1e-6 weights), 1 = eval (exact 0) */
} mmx_norm;

mmx_norm mmx_norm_softmax(double temperature);
mmx_norm mmx_norm_multimax(int order, const double *ranges, const double *ts);
mmx_norm mmx_norm_sparsemax(void);
mmx_norm mmx_norm_entmax15(void);
mmx_norm mmx_norm_entmax(double alpha);
mmx_norm mmx_norm_evsoftmax(int eval);

/* "softmax", "multimax", "sparsemax", "entmax15", "entmax", "evsoftmax"; "?" if invalid. */
const char *mmx_norm_name(mmx_norm_kind kind);

/* Name -> kind (the names above). MMX_ERR_PARAM if unknown. */
mmx_status mmx_norm_parse(const char *name, mmx_norm_kind *kind);

/* Checks a descriptor's scalars (finite, in their domain). Every entry point calls it. */
mmx_status mmx_norm_check(const mmx_norm *norm);

/*
 * Forward: y = f(x), row-wise.
 *   y: (rows, cols) output, row stride ldy      x: (rows, cols) input, row stride ldx
 * Sparse maps (SPARSEMAX, ENTMAX15, ENTMAX) give exact zeros off their support.
 * ENTMAX (general alpha) solves sum p = 1 for tau by bisection in double precision on
 * the bracket [max - 1, max - (1/C)^(alpha-1)] (scores scaled by alpha-1), halving until
 * the bracket is below 2^-52 * max(1, |tau|) (at most 64 halvings: the bracket starts
 * narrower than 1), then renormalises so the row sums to 1 to rounding. That is well
 * below float32 resolution for every alpha > 1.
 */
mmx_status mmx_forward_f32(const mmx_norm *norm, float *y, int64_t ldy, const float *x,
                           int64_t ldx, int64_t rows, int64_t cols);
mmx_status mmx_forward_f64(const mmx_norm *norm, double *y, int64_t ldy, const double *x,
                           int64_t ldx, int64_t rows, int64_t cols);

/*
 * Gradients of a normalizer's own scalars, accumulated (+=) over every row of a call.
 * Any pointer may be NULL to skip that gradient.
 *   dranges, dts: MULTIMAX, 2N values each, same layout as ranges / ts.
 *   dalpha:       ENTMAX, 1 value (Correia et al. 2019, "Adaptively sparse transformers").
 *                 Skipping it (pg or dalpha NULL) also skips the double-precision sums it
 *                 takes in the float32 kernels, most of that backward's time on short rows
 *                 (docs/BENCHMARKS.md).
 */
typedef struct {
    double *dranges;
    double *dts;
    double *dalpha;
} mmx_param_grads;

/*
 * Backward (vector-Jacobian product): dx = J_f(x)^T dy, row-wise, plus the gradients of
 * the normalizer's scalars into *pg (may be NULL).
 *   dx: (rows, cols) output, overwritten    dy: (rows, cols) upstream gradient
 *   y:  (rows, cols) the forward output     x:  (rows, cols) the forward input; read
 *       only by MULTIMAX (may be NULL for the other kinds).
 * Sparse maps: dx is exactly 0 off the support. EvSoftMax treats its below-mean mask as
 * a constant (as the official code does).
 */
mmx_status mmx_backward_f32(const mmx_norm *norm, float *dx, int64_t lddx, mmx_param_grads *pg,
                            const float *dy, int64_t lddy, const float *y, int64_t ldy,
                            const float *x, int64_t ldx, int64_t rows, int64_t cols);
mmx_status mmx_backward_f64(const mmx_norm *norm, double *dx, int64_t lddx, mmx_param_grads *pg,
                            const double *dy, int64_t lddy, const double *y, int64_t ldy,
                            const double *x, int64_t ldx, int64_t rows, int64_t cols);

/* sigma(x) of a MULTIMAX descriptor at one point (for plotting the learned modulator). */
double mmx_multimax_sigma(const mmx_norm *norm, double x);

/* ---------------------------------------------------------------------------------
 * Losses (forward and gradient in one call)
 * ------------------------------------------------------------------------------- */

/*
 * Classification loss of logit rows z against integer labels, one value per row.
 *   SOFTMAX, MULTIMAX: cross-entropy on the modulated logits,
 *       loss = -sum_j q_j log p_j,  p = f(z) (= softmax(sigma(z)) for MULTIMAX),
 *       q = (1 - ls) onehot(label) + ls / C' over the C' finite (unmasked) logits.
 *       This matches torch.nn.functional.cross_entropy(..., label_smoothing=ls).
 *   SPARSEMAX, ENTMAX15, ENTMAX: the Fenchel-Young loss with the Tsallis entropy
 *       H(p) = (1 - sum_j p_j^alpha) / (alpha (alpha - 1))  (alpha = 2, 1.5, alpha):
 *       loss = <p - q, z> + H(p) - H(q),  p = f(z);  gradient p - q.
 *       loss >= 0, and 0 exactly when p = q. With ls = 0, H(q) = 0 and it equals
 *       entmax.sparsemax_loss / entmax15_loss / entmax_bisect_loss.
 *   EVSOFTMAX: not supported (MMX_ERR_PARAM).
 * A label < 0 marks an ignored row (loss 0, gradient 0, as ignore_index in PyTorch); a
 * label >= cols or pointing at a masked (-inf) logit is MMX_ERR_VALUE.
 *   loss: (rows) per-row loss, may be NULL
 *   dz:   (rows, cols) gradient of grad_scale * sum_r loss_r, overwritten; may be NULL
 *         (pass grad_scale = 1/rows for the mean)
 *   pg:   MULTIMAX scalar gradients of the same quantity, accumulated; may be NULL
 *   ls:   label smoothing in [0, 1)
 */
mmx_status mmx_loss_f32(const mmx_norm *norm, float *loss, float *dz, int64_t lddz,
                        mmx_param_grads *pg, const float *z, int64_t ldz, const int32_t *labels,
                        int64_t rows, int64_t cols, double ls, double grad_scale);
mmx_status mmx_loss_f64(const mmx_norm *norm, double *loss, double *dz, int64_t lddz,
                        mmx_param_grads *pg, const double *z, int64_t ldz,
                        const int32_t *labels, int64_t rows, int64_t cols, double ls,
                        double grad_scale);

/* ---------------------------------------------------------------------------------
 * Metrics of the paper (Zhou et al. 2024, Definitions 3.2 and 3.3)
 * ------------------------------------------------------------------------------- */

/* Per-row value of a metric that is undefined for that row (no entry qualifies). */
#define MMX_METRIC_UNDEFINED (-1.0)

/*
 * For an input row x (masked -inf entries ignored), its output phi = f(x), a relevance
 * threshold eps, and the SoftMax (t = 1) probabilities s of x as reference:
 *   multi-modality  M = 1 - (1/N) sum_n (max(phi) - phi_n) over the N entries with
 *                   x_n > eps other than one arg-max of x (ties with the max count);
 *   sparsity        S = (1/L) sum_l exp((s_l - phi_l)/s_l - 1) over the L entries with
 *                   x_l < eps (phi_l = 0 gives 1, phi_l = s_l gives exp(-1)).
 * Both lie in [0, 1]. A row with N = 0 (or L = 0) gets MMX_METRIC_UNDEFINED for M (or S).
 *   m, s:           (rows) per-row values; either may be NULL
 *   m_mean, s_mean: means over the rows where the metric is defined (UNDEFINED if none);
 *                   either may be NULL
 */
mmx_status mmx_metrics_f32(double *m, double *s, double *m_mean, double *s_mean, const float *phi,
                           int64_t ldphi, const float *x, int64_t ldx, int64_t rows, int64_t cols,
                           double eps);
mmx_status mmx_metrics_f64(double *m, double *s, double *m_mean, double *s_mean,
                           const double *phi, int64_t ldphi, const double *x, int64_t ldx,
                           int64_t rows, int64_t cols, double eps);

/* ---------------------------------------------------------------------------------
 * Fused multi-head attention with any normalizer
 * ------------------------------------------------------------------------------- */

/*
 * out = f(scale * q k^T + mask) v per batch item b and head h, where f is any normalizer
 * (mmx_norm) applied row-wise to the scaled scores, without ever forming the Tq x Tk score
 * matrix:
 *   SOFTMAX, MULTIMAX: tiled online softmax ("flash"): each tile of scores is modulated
 *       (sigma, or 1/t) and exponentiated against a running row maximum; the forward stores
 *       one statistic pair per row (the shift and the sum); the backward recomputes the
 *       scores tile by tile. Extra memory: O(B*H*Tq) statistics plus a fixed tile
 *       workspace per thread.
 *   SPARSEMAX, ENTMAX15, ENTMAX, EVSOFTMAX: per block of 64 query rows, the score strip
 *       (64 x Tk) is formed in the thread's workspace and normalised exactly by the
 *       library's row kernels; out = P v multiplies only the key tiles where a row has
 *       support, and the backward skips those tiles too. Extra memory grows like Tk.
 * The MultiMax modulator (and alpha) is shared by every head of the call, as in the paper:
 * its gradients are summed over batch, heads and rows.
 *
 * Shapes (row-major, contiguous by default; see the layouts below):
 *   q, out, dq:        (B, H, Tq, D)       k, v, dk, dv:   (B, H, Tk, D)
 *   stats:             (B, H, Tq, MMX_ATTN_STATS) floats, written by the forward and read by
 *                      the backward (what the backward needs per row; meaning internal),
 *                      always contiguous
 * Layouts: q_stride, k_stride, v_stride, o_stride give the element strides of (batch, head,
 * token) of q, k, v and out; all zero (mmx_attn_make's default) means contiguous (B, H, T, D).
 * The D entries of a token are always contiguous. dq has q's layout, dk k's, dv v's, and
 * dout out's. So a fused projection qkv of shape (B, T, 3, H, D) is read in place with
 * q = qkv, k = qkv + H*D, v = qkv + 2*H*D, each with strides {T*3*H*D, D, 3*H*D}, and out
 * can be written merged as (B, T, H, D) with o_stride = {T*H*D, D, H*D}. Outputs must not
 * overlap each other or the inputs.
 * Masks: key j is visible to query i of batch item b iff
 *   j < key_len[b]                 (when key_len != NULL: padding; 0 <= key_len[b] <= Tk)
 *   and j <= i + (Tk - Tq)         (when causal: aligned at the bottom right, so Tq == Tk is
 *                                   the usual lower triangle and Tq = 1 sees every key)
 * A query row with no visible key gets out = 0 and zero gradients (never NaN).
 *
 * Workspace: no hidden allocation. Ask mmx_attn_workspace_size() for the bytes a forward or
 * backward call needs with the current thread count (mmx_get_num_threads()) and pass a
 * buffer at least that large (any alignment); calling with fewer threads needs no more.
 *
 * Errors: a bad descriptor, size, pointer or workspace gives a status and a message and
 * writes nothing. NaN / +-inf anywhere in q, k, v (or dout) is MMX_ERR_VALUE naming the
 * tensor and index, checked before anything is written. A score that overflows float32
 * (|scale q.k| > FLT_MAX, or sigma of a score overflowing) is MMX_ERR_VALUE too, and so is a
 * backward whose stats cannot come from the forward of the same inputs (the probabilities of
 * a row with visible keys, recomputed from them, do not sum to about 1); then the outputs (out,
 * or dq, dk, dv) are set to zero and parameter gradients are left unchanged.
 *
 * Results do not depend on the number of threads (work is cut into fixed pieces, scalar
 * gradients and split key/value gradients are summed in a fixed order).
 */

/* floats of statistics per query row in `stats` */
#define MMX_ATTN_STATS 4

typedef struct {
    int64_t batch, heads; /* B >= 1, H >= 1                                        */
    int64_t tq, tk;       /* query and key lengths >= 1 (tq != tk: cross-attention)  */
    int64_t dim;          /* head dimension D >= 1 (q, k and v share it)              */
    double scale;         /* scores = scale * q.k; finite and > 0 (usually 1/sqrt(D)) */
    int causal;           /* 1: key j visible to query i only if j <= i + tk - tq      */
    const int32_t *key_len; /* (B) visible keys per batch item, or NULL for all         */
    /* Layouts: element strides of (batch, head, token), each >= dim, or all zero for
     * contiguous (B, H, T, D). dq, dk, dv share q's, k's, v's; dout shares out's.       */
    int64_t q_stride[3], k_stride[3], v_stride[3], o_stride[3];
} mmx_attn;

/* A descriptor with every key visible, scale = 1/sqrt(dim) and contiguous layouts. */
mmx_attn mmx_attn_make(int64_t batch, int64_t heads, int64_t tq, int64_t tk, int64_t dim);

/* Checks a descriptor (sizes, scale, key_len values, layouts). Every attention entry point
 * calls it. */
mmx_status mmx_attn_check(const mmx_attn *a);

/* Bytes of workspace a forward (backward = 0) or backward (backward = 1) call with this
 * descriptor and normalizer needs at the current thread count. */
mmx_status mmx_attn_workspace_size(const mmx_attn *a, const mmx_norm *norm, int backward,
                                   size_t *bytes);

/*
 * Forward.
 *   out:   (B, H, Tq, D) output, overwritten
 *   stats: (B, H, Tq, MMX_ATTN_STATS) for the backward, overwritten; may be NULL when no
 *          backward will follow
 *   q: (B, H, Tq, D)   k, v: (B, H, Tk, D)
 */
mmx_status mmx_attn_forward(const mmx_attn *a, const mmx_norm *norm, float *out, float *stats,
                            const float *q, const float *k, const float *v, void *work,
                            size_t work_bytes);

/*
 * Backward: the gradients of L with respect to q, k, v (overwritten) and the normalizer's
 * scalars (accumulated into *pg, which may be NULL), given dout = dL/dout and the forward's
 * out and stats (from the same q, k, v, descriptor and normalizer).
 *   dq: (B, H, Tq, D)   dk, dv: (B, H, Tk, D)   dout, out: (B, H, Tq, D)
 */
mmx_status mmx_attn_backward(const mmx_attn *a, const mmx_norm *norm, float *dq, float *dk,
                             float *dv, mmx_param_grads *pg, const float *dout, const float *out,
                             const float *stats, const float *q, const float *k, const float *v,
                             void *work, size_t work_bytes);

/*
 * The attention probabilities, for analysis (small T: this materialises Tq x Tk per head).
 *   head:   one head in [0, H), or -1 for every head
 *   p:      (B, nh, Tq, Tk) probabilities, nh = 1 or H; masked entries are 0
 *   scores: (B, nh, Tq, Tk) the normalizer's input (scale * q.k, -inf where masked), or
 *           NULL; with p it feeds mmx_metrics_f32(..., p, Tk, scores, Tk, B*nh*Tq, Tk, eps)
 *           for the paper's per-row sparsity and multi-modality
 */
mmx_status mmx_attn_probs(const mmx_attn *a, const mmx_norm *norm, int64_t head, float *p,
                          float *scores, const float *q, const float *k);

/* ---------------------------------------------------------------------------------
 * Build and machine information
 * ------------------------------------------------------------------------------- */

/* Space-separated CPU features this library detected and may use, e.g.
 * "sse4.2 avx avx2 fma avx512f avx512bw avx512dq avx512vl". Never NULL. */
const char *mmx_cpu_features(void);

/* The float32 kernels in use: "avx512", "avx2" or "portable". Chosen once, at first use, as
 * the widest this CPU and OS support (CPUID + XGETBV). The environment variable
 * MMX_ISA=avx512|avx2|portable forces one; MMX_ISA_VERBOSE=1 prints the choice to stderr.
 * The float32 forward of SoftMax and MultiMax (y) and every float32 backward (dx) write
 * their output with non-temporal (cache-bypassing) stores when the call touches (reads and
 * writes) at least 3/8 of the last-level cache and every output row starts on a 64-byte
 * boundary; MMX_STREAM_STORES=0 turns that off, =1 applies it at any size. The results are
 * the same bits either way. */
const char *mmx_isa(void);
/* Switches the float32 kernels (for benchmarks and tests); MMX_ERR_PARAM if the name is
 * unknown or this CPU lacks it. Not to be called while other threads run library calls. */
mmx_status mmx_set_isa(const char *name);

/* How the library was built, e.g. "compiler=GCC 12.2.0 build=Release openmp=yes". */
const char *mmx_build_info(void);

/* Threads the library's drivers use (OpenMP); 1 if built without OpenMP. */
int mmx_get_num_threads(void);
/* Sets it; n < 1 is MMX_ERR_PARAM. */
mmx_status mmx_set_num_threads(int n);

#ifdef __cplusplus
}
#endif
#endif /* MULTIMAX_H */
