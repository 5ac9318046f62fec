/*
 * layer-lif.c - BN, the LIF neuron with MPBN (forward and BPTT backward) and
 * the 2x2 max-pool of spikes, on the channel-major layout of train-impl.h.
 *
 * LIF per step t (elementwise, y_t = BN output):
 *
 *     u_pre_t = tau * u_{t-1} + y_t          u_{-1} = 0
 *     m_t     = MPBN_t(u_pre_t)              identity when mode = none
 *     o_t     = m_t > vth
 *     u_t     = u_pre_t * (1 - o_t)          hard reset (not detached)
 *
 * u_t is not stored: u_{t-1} = u_pre_{t-1} * (1 - o_{t-1}) is recomputed.
 *
 * Backward (BPTT), with du = dL/du_t carried from step t+1 (du = 0 at T-1):
 *
 *     do   = g_t - du * u_pre_t              g_t = dL/do_t from the next layer
 *     dm   = do * [|m_t - vth| <= 0.5]        rectangular surrogate
 *     dup  = du * (1 - o_t) + MPBN_t'(dm)    batch-norm backward of step t
 *     dy_t = dup,   du_{t-1} = tau * dup
 *
 * Reductions over a channel use float partial sums in 2 x 16 vector lanes
 * (GCC vector extensions: AVX-512 with -march=native, portable otherwise)
 * flushed into doubles every 4096 elements.
 */
#include <math.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "common/snn-mpi.h"
#include "train-impl.h"
#include "vec16.h"

/* ---- reductions ------------------------------------------------------------------ */

static double hsum(v16f v)
{
    double s = 0;
    for (int j = 0; j < 16; j++) s += v[j];
    return s;
}

/* The reductions go in blocks of SUM_BLOCK elements: float partial sums in
 * 2 x 16 lanes within a block, then into doubles. A pass that produces the
 * data may reduce each block as soon as it is written (while it is in L1):
 * the same sums, to the bit, as a separate pass. */
enum { SUM_BLOCK = 4096 };

/* s += sum(x), ss += sum(x^2) over one block (n <= SUM_BLOCK) */
static inline void sq_block(const float *x, size_t n, double *s, double *ss)
{
    v16f a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        v16f v0 = ld16(x + i), v1 = ld16(x + i + 16);
        a0 += v0;
        a1 += v1;
        b0 += v0 * v0;
        b1 += v1 * v1;
    }
    for (; i < n; i++) {
        *s += x[i];
        *ss += (double)x[i] * x[i];
    }
    *s += hsum(a0 + a1);
    *ss += hsum(b0 + b1);
}

static void sum_sq(const float *x, size_t n, double *s_out, double *ss_out)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i += SUM_BLOCK) sq_block(x + i, n - i < SUM_BLOCK ? n - i : SUM_BLOCK, &s, &ss);
    *s_out = s;
    *ss_out = ss;
}

/* sd += sum(d), sdx += sum(d * (x - mu) * istd) over one block */
static inline void dx_block(const float *d, const float *x, size_t n, float mu, float istd, double *sd,
                            double *sdx)
{
    v16f a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        v16f d0 = ld16(d + i), d1 = ld16(d + i + 16);
        a0 += d0;
        a1 += d1;
        b0 += d0 * ((ld16(x + i) - mu) * istd);
        b1 += d1 * ((ld16(x + i + 16) - mu) * istd);
    }
    for (; i < n; i++) {
        *sd += d[i];
        *sdx += d[i] * ((x[i] - mu) * istd);
    }
    *sd += hsum(a0 + a1);
    *sdx += hsum(b0 + b1);
}

static void sum_dx(const float *d, const float *x, size_t n, float mu, float istd, double *sd_out,
                   double *sdx_out)
{
    double sd = 0, sdx = 0;
    for (size_t i = 0; i < n; i += SUM_BLOCK)
        dx_block(d + i, x + i, n - i < SUM_BLOCK ? n - i : SUM_BLOCK, mu, istd, &sd, &sdx);
    *sd_out = sd;
    *sdx_out = sdx;
}

/* ---- BN ------------------------------------------------------------------------- */

typedef struct bn_ctx {
    const float *z, *dy;
    size_t per_c, n_eff;
    int train;
    float momentum, eps;
    float *rm, *rv, *mean, *istd;
    uint32_t nz, reps, hw;
    const float *gamma;
    float *dz, *dgamma, *dbeta;
    double *sync; /* [2c]: the sums of every rank (data-parallel) */
    uint32_t ranks;
} bn_ctx;

static void bn_stats_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const bn_ctx *c = ctx;
    if (!c->train) {
        c->mean[ch] = c->rm[ch];
        c->istd[ch] = 1.0f / sqrtf(c->rv[ch] + c->eps);
        return;
    }
    double s, ss;
    sum_sq(c->z + (size_t)ch * c->per_c, c->per_c, &s, &ss);
    double mu = s / (double)c->per_c;
    double var = ss / (double)c->per_c - mu * mu;
    if (var < 0) var = 0;
    c->mean[ch] = (float)mu;
    c->istd[ch] = (float)(1.0 / sqrt(var + c->eps));
    double unb = c->n_eff > 1 ? var * (double)c->n_eff / (double)(c->n_eff - 1) : var;
    c->rm[ch] = (float)((1.0 - c->momentum) * c->rm[ch] + c->momentum * mu);
    c->rv[ch] = (float)((1.0 - c->momentum) * c->rv[ch] + c->momentum * unb);
}

void snn_bn_forward_stats(const float *z, uint32_t c, size_t per_c, int train, size_t n_eff,
                          float momentum, float eps, float *rm, float *rv, float *mean, float *istd)
{
    bn_ctx x = {.z = z, .per_c = per_c, .n_eff = n_eff, .train = train, .momentum = momentum,
                .eps = eps, .rm = rm, .rv = rv, .mean = mean, .istd = istd};
    snn_par_run(c, bn_stats_task, &x);
}

/* Data-parallel BN statistics: each rank's sums, one allreduce for all
 * channels, then the same mean/variance/running update on every rank. */
static void bn_sums_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const bn_ctx *c = ctx;
    sum_sq(c->z + (size_t)ch * c->per_c, c->per_c, &c->sync[2 * ch], &c->sync[2 * ch + 1]);
}

void snn_bn_forward_stats_sync(const float *z, uint32_t c, size_t per_c, size_t n_eff,
                               float momentum, float eps, float *rm, float *rv, float *mean,
                               float *istd, double *sync, uint32_t ranks)
{
    bn_ctx x = {.z = z, .per_c = per_c, .sync = sync};
    snn_par_run(c, bn_sums_task, &x);
    snn_mpi_allreduce_f64(sync, 2 * (size_t)c);
    const double cnt = (double)per_c * ranks, neff = (double)n_eff * ranks;
    for (uint32_t ch = 0; ch < c; ch++) {
        double mu = sync[2 * ch] / cnt;
        double var = sync[2 * ch + 1] / cnt - mu * mu;
        if (var < 0) var = 0;
        mean[ch] = (float)mu;
        istd[ch] = (float)(1.0 / sqrt(var + eps));
        double unb = neff > 1 ? var * neff / (neff - 1) : var;
        rm[ch] = (float)((1.0 - momentum) * rm[ch] + momentum * mu);
        rv[ch] = (float)((1.0 - momentum) * rv[ch] + momentum * unb);
    }
}

/* sum(dy), sum(dy * xhat) of a channel over its reps copies */
static void bn_bwd_sums(const bn_ctx *c, uint32_t ch, double *sd_out, double *sdx_out)
{
    const uint32_t reps = c->reps;
    const size_t per = (size_t)c->nz * c->hw, cnt = per * reps;
    const float *zc = c->z + (size_t)ch * per;
    const float *dyc = c->dy + (size_t)ch * cnt;
    const float mu = c->mean[ch], is = c->istd[ch];
    double sd = 0, sdx = 0;
    for (uint32_t r = 0; r < reps; r++) {
        double a, b;
        sum_dx(dyc + r * per, zc, per, mu, is, &a, &b);
        sd += a;
        sdx += b;
    }
    *sd_out = sd;
    *sdx_out = sdx;
}

/* dz of a channel from the batch sums (over cnt values) */
static void bn_bwd_apply(const bn_ctx *c, uint32_t ch, double sd, double sdx, double cnt)
{
    const uint32_t reps = c->reps;
    const size_t per = (size_t)c->nz * c->hw;
    const float *zc = c->z + (size_t)ch * per;
    const float *dyc = c->dy + (size_t)ch * per * reps;
    float *dzc = c->dz + (size_t)ch * per;
    const float mu = c->mean[ch], is = c->istd[ch];
    const float k = c->gamma[ch] * is;
    const float mdy = (float)(sd / cnt), mdyx = (float)(sdx / cnt);
    if (reps == 1) {
        for (size_t i = 0; i < per; i++) dzc[i] = k * (dyc[i] - mdy - (zc[i] - mu) * is * mdyx);
    } else {
        const float R = (float)reps;
        for (size_t i = 0; i < per; i++) {
            float acc = 0;
            for (uint32_t r = 0; r < reps; r++) acc += dyc[r * per + i];
            dzc[i] = k * (acc - R * mdy - R * (zc[i] - mu) * is * mdyx);
        }
    }
}

static void bn_bwd_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const bn_ctx *c = ctx;
    double sd, sdx;
    bn_bwd_sums(c, ch, &sd, &sdx);
    c->dgamma[ch] += (float)sdx;
    c->dbeta[ch] += (float)sd;
    bn_bwd_apply(c, ch, sd, sdx, (double)c->nz * c->hw * c->reps);
}

void snn_bn_backward(const float *z, const float *dy, uint32_t c, uint32_t nz, uint32_t reps,
                     uint32_t hw, const float *gamma, const float *mean, const float *istd,
                     float *dz, float *dgamma, float *dbeta)
{
    bn_ctx x = {.z = z, .dy = dy, .nz = nz, .reps = reps, .hw = hw, .gamma = gamma,
                .mean = (float *)mean, .istd = (float *)istd, .dz = dz, .dgamma = dgamma,
                .dbeta = dbeta};
    snn_par_run(c, bn_bwd_task, &x);
}

static void bn_bwd_sums_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const bn_ctx *c = ctx;
    double sd, sdx;
    bn_bwd_sums(c, ch, &sd, &sdx);
    c->dgamma[ch] += (float)sdx; /* this rank's share: the gradient sum adds the others */
    c->dbeta[ch] += (float)sd;
    c->sync[2 * ch] = sd;
    c->sync[2 * ch + 1] = sdx;
}

static void bn_bwd_apply_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const bn_ctx *c = ctx;
    bn_bwd_apply(c, ch, c->sync[2 * ch], c->sync[2 * ch + 1],
                 (double)c->nz * c->hw * c->reps * c->ranks);
}

void snn_bn_backward_sync(const float *z, const float *dy, uint32_t c, uint32_t nz, uint32_t reps,
                          uint32_t hw, const float *gamma, const float *mean, const float *istd,
                          float *dz, float *dgamma, float *dbeta, double *sync, uint32_t ranks)
{
    bn_ctx x = {.z = z, .dy = dy, .nz = nz, .reps = reps, .hw = hw, .gamma = gamma,
                .mean = (float *)mean, .istd = (float *)istd, .dz = dz, .dgamma = dgamma,
                .dbeta = dbeta, .sync = sync, .ranks = ranks};
    snn_par_run(c, bn_bwd_sums_task, &x);
    snn_mpi_allreduce_f64(sync, 2 * (size_t)c);
    snn_par_run(c, bn_bwd_apply_task, &x);
}

/* ---- LIF + MPBN forward ------------------------------------------------------------ */

/* o[i] = (u[i] * k + b > vth), as 1 or 0; returns the count of ones (32-bit
 * counts, which vectorise, flushed every 2^20 values). */
static uint64_t fire(const float *restrict u, size_t n, float k, float b, float vth,
                     float *restrict o)
{
    uint64_t cnt = 0;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)1 << 20) {
        const size_t e = n - i0 > ((size_t)1 << 20) ? i0 + ((size_t)1 << 20) : n;
        uint32_t c = 0;
        for (size_t i = i0; i < e; i++) {
            const float v = u[i] * k + b > vth ? 1.0f : 0.0f;
            o[i] = v;
            c += v > 0.5f;
        }
        cnt += c;
    }
    return cnt;
}

/* The same with a k and b per element (element-wise MPBN; n < 2^32). */
static uint64_t fire_each(const float *restrict u, size_t n, const float *k, const float *b,
                          float vth, float *restrict o)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const float v = u[i] * k[i] + b[i] > vth ? 1.0f : 0.0f;
        o[i] = v;
        c += v > 0.5f;
    }
    return c;
}

static void lif_fwd_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const snn_lif_args *a = ctx;
    const uint32_t B = a->B, T = a->T, hw = a->hw;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B;
    const size_t nz = a->shared_z ? B : N;
    const float tau = a->tau, vth = a->vth;
    uint32_t mp_n = a->mode == SNN_MPBN_ELEMENT ? a->c * hw : a->c;
    float *kk = NULL, *bb = NULL;
    double *s = NULL, *ss = NULL;
    if (a->mode == SNN_MPBN_ELEMENT) {
        s = snn_par_scratch((sizeof(double) * 2 + sizeof(float) * 2) * hw);
        ss = s + hw;
        kk = (float *)(ss + hw);
        bb = kk + hw;
    }
    {
        const float sc = a->bn_g[ch] * a->bn_istd[ch];
        const float sh = a->bn_b[ch] - a->bn_mean[ch] * sc;
        const float *zc = a->z + (size_t)ch * nz * hw;
        float *uc = a->upre + (size_t)ch * N * hw, *oc = a->out + (size_t)ch * N * hw;
        uint64_t spikes = 0; /* counted as they are written (the spike rate's input) */
        for (uint32_t t = 0; t < T; t++) {
            const float *zt = zc + (a->shared_z ? 0 : (size_t)t * BH);
            float *restrict ut = uc + (size_t)t * BH;
            float *restrict ot = oc + (size_t)t * BH;
            /* u_pre, block by block; channel MPBN in training sums each
             * block while it is in L1 (sum_sq's sums) */
            const int stats = a->mode == SNN_MPBN_CHANNEL && a->train;
            double S = 0, SS = 0;
            for (size_t i0 = 0; i0 < BH; i0 += SUM_BLOCK) {
                const size_t e = BH - i0 < SUM_BLOCK ? BH : i0 + SUM_BLOCK;
                if (t == 0) {
                    for (size_t i = i0; i < e; i++) ut[i] = zt[i] * sc + sh;
                } else {
                    const float *up = ut - BH, *op = ot - BH;
                    for (size_t i = i0; i < e; i++) ut[i] = tau * (up[i] * (1.0f - op[i])) + (zt[i] * sc + sh);
                }
                if (stats) sq_block(ut + i0, e - i0, &S, &SS);
            }
            if (a->mode == SNN_MPBN_NONE) {
                spikes += fire(ut, BH, 1.0f, 0.0f, vth, ot);
            } else if (a->mode == SNN_MPBN_CHANNEL) {
                float mu, is;
                if (a->train) {
                    double m = S / (double)BH, var = SS / (double)BH - m * m;
                    if (var < 0) var = 0;
                    mu = (float)m;
                    is = (float)(1.0 / sqrt(var + a->eps));
                    a->mp_mean[(size_t)t * mp_n + ch] = mu;
                    a->mp_istd[(size_t)t * mp_n + ch] = is;
                    double unb = BH > 1 ? var * (double)BH / (double)(BH - 1) : var;
                    a->mp_rm[ch] = (float)((1.0 - a->momentum) * a->mp_rm[ch] + a->momentum * m);
                    a->mp_rv[ch] = (float)((1.0 - a->momentum) * a->mp_rv[ch] + a->momentum * unb);
                } else {
                    mu = a->mp_rm[ch];
                    is = 1.0f / sqrtf(a->mp_rv[ch] + a->eps);
                }
                const float k = a->mp_g[ch] * is, b0 = a->mp_b[ch] - mu * k;
                spikes += fire(ut, BH, k, b0, vth, ot);
            } else {
                const size_t e0 = (size_t)ch * hw;
                if (a->train) {
                    for (uint32_t j = 0; j < hw; j++) s[j] = ss[j] = 0;
                    for (uint32_t b = 0; b < B; b++) {
                        const float *ub = ut + (size_t)b * hw;
                        for (uint32_t j = 0; j < hw; j++) {
                            s[j] += ub[j];
                            ss[j] += (double)ub[j] * ub[j];
                        }
                    }
                    for (uint32_t j = 0; j < hw; j++) {
                        double m = s[j] / B, var = ss[j] / B - m * m;
                        if (var < 0) var = 0;
                        float is = (float)(1.0 / sqrt(var + a->eps));
                        a->mp_mean[(size_t)t * mp_n + e0 + j] = (float)m;
                        a->mp_istd[(size_t)t * mp_n + e0 + j] = is;
                        double unb = B > 1 ? var * B / (double)(B - 1) : var;
                        float *rm = &a->mp_rm[e0 + j], *rv = &a->mp_rv[e0 + j];
                        *rm = (float)((1.0 - a->momentum) * *rm + a->momentum * m);
                        *rv = (float)((1.0 - a->momentum) * *rv + a->momentum * unb);
                        kk[j] = a->mp_g[e0 + j] * is;
                        bb[j] = a->mp_b[e0 + j] - (float)m * kk[j];
                    }
                } else {
                    for (uint32_t j = 0; j < hw; j++) {
                        float is = 1.0f / sqrtf(a->mp_rv[e0 + j] + a->eps);
                        kk[j] = a->mp_g[e0 + j] * is;
                        bb[j] = a->mp_b[e0 + j] - a->mp_rm[e0 + j] * kk[j];
                    }
                }
                for (uint32_t b = 0; b < B; b++)
                    spikes += fire_each(ut + (size_t)b * hw, hw, kk, bb, vth, ot + (size_t)b * hw);
            }
        }
        if (a->spikes) a->spikes[ch] = spikes;
    }
}

/* ---- LIF + MPBN with the statistics of every rank (data-parallel) ---------------------
 *
 * The MPBN statistics of step t need the membranes of step t of the whole
 * batch, and step t+1 needs the spikes of step t: one allreduce per step,
 * between two passes over the channels (sums, then normalise and fire).
 * The backward likewise, per step from T-1 down: the carried du is
 * tau * dup of the step after, which g already holds. Sums: sync_buf[k]
 * and sync_buf[mp_n + k] for statistic k (channel, or neuron C,H,W). */

typedef struct lif_sync_ctx {
    const snn_lif_args *a;
    float *g;
    uint32_t t, mp_n;
} lif_sync_ctx;

static void lif_sync_fwd_sums(void *ctx, uint32_t ch, uint32_t worker)
{
    const lif_sync_ctx *x = ctx;
    const snn_lif_args *a = x->a;
    const uint32_t B = a->B, T = a->T, hw = a->hw, t = x->t;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B, nz = a->shared_z ? B : N;
    const float tau = a->tau;
    const float sc = a->bn_g[ch] * a->bn_istd[ch];
    const float sh = a->bn_b[ch] - a->bn_mean[ch] * sc;
    const float *zt = a->z + (size_t)ch * nz * hw + (a->shared_z ? 0 : (size_t)t * BH);
    float *restrict ut = a->upre + (size_t)ch * N * hw + (size_t)t * BH;
    const float *ot = a->out + (size_t)ch * N * hw + (size_t)t * BH;
    if (t == 0) {
        for (size_t i = 0; i < BH; i++) ut[i] = zt[i] * sc + sh;
    } else {
        const float *up = ut - BH, *op = ot - BH;
        for (size_t i = 0; i < BH; i++) ut[i] = tau * (up[i] * (1.0f - op[i])) + (zt[i] * sc + sh);
    }
    double *S = a->sync_buf, *SS = a->sync_buf + x->mp_n;
    if (a->mode == SNN_MPBN_CHANNEL) {
        sum_sq(ut, BH, &S[ch], &SS[ch]);
    } else {
        double *s = S + (size_t)ch * hw, *ss = SS + (size_t)ch * hw;
        for (uint32_t j = 0; j < hw; j++) s[j] = ss[j] = 0;
        for (uint32_t b = 0; b < B; b++) {
            const float *ub = ut + (size_t)b * hw;
            for (uint32_t j = 0; j < hw; j++) {
                s[j] += ub[j];
                ss[j] += (double)ub[j] * ub[j];
            }
        }
    }
}

static void lif_sync_fwd_fire(void *ctx, uint32_t ch, uint32_t worker)
{
    const lif_sync_ctx *x = ctx;
    const snn_lif_args *a = x->a;
    const uint32_t B = a->B, T = a->T, hw = a->hw, t = x->t, mp_n = x->mp_n;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B;
    const float vth = a->vth;
    const float *ut = a->upre + (size_t)ch * N * hw + (size_t)t * BH;
    float *restrict ot = a->out + (size_t)ch * N * hw + (size_t)t * BH;
    const double *S = a->sync_buf, *SS = a->sync_buf + mp_n;
    const uint32_t k0 = a->mode == SNN_MPBN_CHANNEL ? ch : ch * hw;
    const uint32_t nk = a->mode == SNN_MPBN_CHANNEL ? 1 : hw;
    /* values behind one statistic, over all ranks */
    const double cnt = (double)(a->mode == SNN_MPBN_CHANNEL ? BH : B) * a->sync_ranks;
    float *kk = snn_par_scratch(2 * sizeof(float) * nk), *bb = kk + nk;
    for (uint32_t j = 0; j < nk; j++) {
        const uint32_t e = k0 + j;
        double m = S[e] / cnt, var = SS[e] / cnt - m * m;
        if (var < 0) var = 0;
        float is = (float)(1.0 / sqrt(var + a->eps));
        a->mp_mean[(size_t)t * mp_n + e] = (float)m;
        a->mp_istd[(size_t)t * mp_n + e] = is;
        double unb = cnt > 1 ? var * cnt / (cnt - 1) : var;
        a->mp_rm[e] = (float)((1.0 - a->momentum) * a->mp_rm[e] + a->momentum * m);
        a->mp_rv[e] = (float)((1.0 - a->momentum) * a->mp_rv[e] + a->momentum * unb);
        kk[j] = a->mp_g[e] * is;
        bb[j] = a->mp_b[e] - (float)m * kk[j];
    }
    uint64_t spikes = 0;
    if (nk == 1) {
        spikes = fire(ut, BH, kk[0], bb[0], vth, ot);
    } else {
        for (uint32_t b = 0; b < B; b++)
            spikes += fire_each(ut + (size_t)b * hw, hw, kk, bb, vth, ot + (size_t)b * hw);
    }
    if (a->spikes) a->spikes[ch] = (t ? a->spikes[ch] : 0) + spikes;
}

void snn_lif_forward(const snn_lif_args *a)
{
    if (!a->sync_buf || !a->train || a->mode == SNN_MPBN_NONE) {
        snn_par_run(a->c, lif_fwd_task, (void *)a);
        return;
    }
    const uint32_t mp_n = a->mode == SNN_MPBN_ELEMENT ? a->c * a->hw : a->c;
    for (uint32_t t = 0; t < a->T; t++) {
        lif_sync_ctx x = {a, NULL, t, mp_n};
        snn_par_run(a->c, lif_sync_fwd_sums, &x);
        snn_mpi_allreduce_f64(a->sync_buf, 2 * (size_t)mp_n);
        snn_par_run(a->c, lif_sync_fwd_fire, &x);
    }
}

/* ---- LIF + MPBN backward (BPTT) ------------------------------------------------------ */

typedef struct lif_bwd_ctx {
    const snn_lif_args *a;
    float *g;
} lif_bwd_ctx;

static void lif_bwd_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const snn_lif_args *a = ((const lif_bwd_ctx *)ctx)->a;
    float *g = ((const lif_bwd_ctx *)ctx)->g;
    const uint32_t B = a->B, T = a->T, hw = a->hw;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B;
    const float tau = a->tau, vth = a->vth;
    uint32_t mp_n = a->mode == SNN_MPBN_ELEMENT ? a->c * hw : a->c;
    double *s = NULL, *sx = NULL;
    float *kk = NULL, *md = NULL, *mdx = NULL;
    uint8_t *scr = snn_par_scratch(sizeof(float) * BH + (sizeof(double) * 2 + sizeof(float) * 3) * hw + 64);
    float *restrict du = (float *)scr;
    if (a->mode == SNN_MPBN_ELEMENT) {
        s = (double *)(scr + ((sizeof(float) * BH + 63) & ~(size_t)63));
        sx = s + hw;
        kk = (float *)(sx + hw);
        md = kk + hw;
        mdx = kk + 2 * hw;
    }
    {
        const float *uc = a->upre + (size_t)ch * N * hw, *oc = a->out + (size_t)ch * N * hw;
        float *gc = g + (size_t)ch * N * hw;
        memset(du, 0, BH * sizeof(float));
        for (uint32_t tt = T; tt-- > 0;) {
            const float *restrict ut = uc + (size_t)tt * BH;
            const float *restrict ot = oc + (size_t)tt * BH;
            float *restrict gt = gc + (size_t)tt * BH;
            if (a->mode == SNN_MPBN_NONE) {
                for (size_t i = 0; i < BH; i++) {
                    float u = ut[i];
                    float d_o = gt[i] - du[i] * u;
                    float dm = fabsf(u - vth) <= 0.5f ? d_o : 0.0f;
                    float dup = du[i] * (1.0f - ot[i]) + dm;
                    gt[i] = dup;
                    du[i] = tau * dup;
                }
            } else if (a->mode == SNN_MPBN_CHANNEL) {
                const float mu = a->mp_mean[(size_t)tt * mp_n + ch];
                const float is = a->mp_istd[(size_t)tt * mp_n + ch];
                const float gam = a->mp_g[ch], bet = a->mp_b[ch];
                const float k = gam * is, b0 = bet - mu * k;
                double sd = 0, sdx = 0; /* sum_dx's sums, each block while in L1 */
                for (size_t i0 = 0; i0 < BH; i0 += SUM_BLOCK) {
                    const size_t e = BH - i0 < SUM_BLOCK ? BH : i0 + SUM_BLOCK;
                    for (size_t i = i0; i < e; i++) {
                        float u = ut[i];
                        float m = u * k + b0;
                        float d_o = gt[i] - du[i] * u;
                        gt[i] = fabsf(m - vth) <= 0.5f ? d_o : 0.0f; /* dm */
                    }
                    dx_block(gt + i0, ut + i0, e - i0, mu, is, &sd, &sdx);
                }
                a->dmp_g[ch] += (float)sdx;
                a->dmp_b[ch] += (float)sd;
                const float mdm = (float)(sd / (double)BH), mdmx = (float)(sdx / (double)BH);
                for (size_t i = 0; i < BH; i++) {
                    float xh = (ut[i] - mu) * is;
                    float dup = du[i] * (1.0f - ot[i]) + k * (gt[i] - mdm - xh * mdmx);
                    gt[i] = dup;
                    du[i] = tau * dup;
                }
            } else {
                const size_t e0 = (size_t)ch * hw;
                const float *mu = a->mp_mean + (size_t)tt * mp_n + e0;
                const float *is = a->mp_istd + (size_t)tt * mp_n + e0;
                const float *gam = a->mp_g + e0, *bet = a->mp_b + e0;
                for (uint32_t j = 0; j < hw; j++) {
                    kk[j] = gam[j] * is[j];
                    s[j] = sx[j] = 0;
                }
                for (uint32_t b = 0; b < B; b++) {
                    const float *ub = ut + (size_t)b * hw;
                    const float *dub = du + (size_t)b * hw;
                    float *gb = gt + (size_t)b * hw;
                    for (uint32_t j = 0; j < hw; j++) {
                        float u = ub[j];
                        float m = (u - mu[j]) * kk[j] + bet[j];
                        float d_o = gb[j] - dub[j] * u;
                        float dm = fabsf(m - vth) <= 0.5f ? d_o : 0.0f;
                        gb[j] = dm;
                        s[j] += dm;
                        sx[j] += dm * ((u - mu[j]) * is[j]);
                    }
                }
                for (uint32_t j = 0; j < hw; j++) {
                    a->dmp_g[e0 + j] += (float)sx[j];
                    a->dmp_b[e0 + j] += (float)s[j];
                    md[j] = (float)(s[j] / B);
                    mdx[j] = (float)(sx[j] / B);
                }
                for (uint32_t b = 0; b < B; b++) {
                    const float *ub = ut + (size_t)b * hw, *ob = ot + (size_t)b * hw;
                    float *dub = du + (size_t)b * hw;
                    float *gb = gt + (size_t)b * hw;
                    for (uint32_t j = 0; j < hw; j++) {
                        float xh = (ub[j] - mu[j]) * is[j];
                        float dup = dub[j] * (1.0f - ob[j]) + kk[j] * (gb[j] - md[j] - xh * mdx[j]);
                        gb[j] = dup;
                        dub[j] = tau * dup;
                    }
                }
            }
        }
    }
}

/* Step t of the backward, pass 1: dm (into g) and this rank's sums. */
static void lif_sync_bwd_sums(void *ctx, uint32_t ch, uint32_t worker)
{
    const lif_sync_ctx *x = ctx;
    const snn_lif_args *a = x->a;
    const uint32_t B = a->B, T = a->T, hw = a->hw, tt = x->t, mp_n = x->mp_n;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B;
    const float tau = a->tau, vth = a->vth;
    const float *restrict ut = a->upre + (size_t)ch * N * hw + (size_t)tt * BH;
    float *restrict gt = x->g + (size_t)ch * N * hw + (size_t)tt * BH;
    const float *gn = tt + 1 < T ? gt + BH : NULL; /* dup of step tt+1: du = tau * dup */
    double *S = a->sync_buf, *SX = a->sync_buf + mp_n;
    if (a->mode == SNN_MPBN_CHANNEL) {
        const float mu = a->mp_mean[(size_t)tt * mp_n + ch];
        const float is = a->mp_istd[(size_t)tt * mp_n + ch];
        const float k = a->mp_g[ch] * is, b0 = a->mp_b[ch] - mu * k;
        for (size_t i = 0; i < BH; i++) {
            float u = ut[i], du = gn ? tau * gn[i] : 0.0f;
            float m = u * k + b0;
            float d_o = gt[i] - du * u;
            gt[i] = fabsf(m - vth) <= 0.5f ? d_o : 0.0f; /* dm */
        }
        double sd, sdx;
        sum_dx(gt, ut, BH, mu, is, &sd, &sdx);
        a->dmp_g[ch] += (float)sdx; /* this rank's share */
        a->dmp_b[ch] += (float)sd;
        S[ch] = sd;
        SX[ch] = sdx;
    } else {
        const size_t e0 = (size_t)ch * hw;
        const float *mu = a->mp_mean + (size_t)tt * mp_n + e0;
        const float *is = a->mp_istd + (size_t)tt * mp_n + e0;
        const float *gam = a->mp_g + e0, *bet = a->mp_b + e0;
        double *s = S + e0, *sx = SX + e0;
        float *kk = snn_par_scratch(sizeof(float) * hw);
        for (uint32_t j = 0; j < hw; j++) {
            kk[j] = gam[j] * is[j];
            s[j] = sx[j] = 0;
        }
        for (uint32_t b = 0; b < B; b++) {
            const float *ub = ut + (size_t)b * hw;
            const float *gnb = gn ? gn + (size_t)b * hw : NULL;
            float *gb = gt + (size_t)b * hw;
            for (uint32_t j = 0; j < hw; j++) {
                float u = ub[j], du = gnb ? tau * gnb[j] : 0.0f;
                float m = (u - mu[j]) * kk[j] + bet[j];
                float d_o = gb[j] - du * u;
                float dm = fabsf(m - vth) <= 0.5f ? d_o : 0.0f;
                gb[j] = dm;
                s[j] += dm;
                sx[j] += dm * ((u - mu[j]) * is[j]);
            }
        }
        for (uint32_t j = 0; j < hw; j++) {
            a->dmp_g[e0 + j] += (float)sx[j];
            a->dmp_b[e0 + j] += (float)s[j];
        }
    }
}

/* Step t of the backward, pass 2: dup from the sums of every rank. */
static void lif_sync_bwd_apply(void *ctx, uint32_t ch, uint32_t worker)
{
    const lif_sync_ctx *x = ctx;
    const snn_lif_args *a = x->a;
    const uint32_t B = a->B, T = a->T, hw = a->hw, tt = x->t, mp_n = x->mp_n;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B;
    const float tau = a->tau;
    const float *restrict ut = a->upre + (size_t)ch * N * hw + (size_t)tt * BH;
    const float *restrict ot = a->out + (size_t)ch * N * hw + (size_t)tt * BH;
    float *restrict gt = x->g + (size_t)ch * N * hw + (size_t)tt * BH;
    const float *gn = tt + 1 < T ? gt + BH : NULL;
    const double *S = a->sync_buf, *SX = a->sync_buf + mp_n;
    if (a->mode == SNN_MPBN_CHANNEL) {
        const double cnt = (double)BH * a->sync_ranks;
        const float mu = a->mp_mean[(size_t)tt * mp_n + ch];
        const float is = a->mp_istd[(size_t)tt * mp_n + ch];
        const float k = a->mp_g[ch] * is;
        const float mdm = (float)(S[ch] / cnt), mdmx = (float)(SX[ch] / cnt);
        for (size_t i = 0; i < BH; i++) {
            float du = gn ? tau * gn[i] : 0.0f;
            float xh = (ut[i] - mu) * is;
            gt[i] = du * (1.0f - ot[i]) + k * (gt[i] - mdm - xh * mdmx);
        }
    } else {
        const double cnt = (double)B * a->sync_ranks;
        const size_t e0 = (size_t)ch * hw;
        const float *mu = a->mp_mean + (size_t)tt * mp_n + e0;
        const float *is = a->mp_istd + (size_t)tt * mp_n + e0;
        const float *gam = a->mp_g + e0;
        float *kk = snn_par_scratch(3 * sizeof(float) * hw), *md = kk + hw, *mdx = kk + 2 * hw;
        for (uint32_t j = 0; j < hw; j++) {
            kk[j] = gam[j] * is[j];
            md[j] = (float)(S[e0 + j] / cnt);
            mdx[j] = (float)(SX[e0 + j] / cnt);
        }
        for (uint32_t b = 0; b < B; b++) {
            const float *ub = ut + (size_t)b * hw, *ob = ot + (size_t)b * hw;
            const float *gnb = gn ? gn + (size_t)b * hw : NULL;
            float *gb = gt + (size_t)b * hw;
            for (uint32_t j = 0; j < hw; j++) {
                float du = gnb ? tau * gnb[j] : 0.0f;
                float xh = (ub[j] - mu[j]) * is[j];
                gb[j] = du * (1.0f - ob[j]) + kk[j] * (gb[j] - md[j] - xh * mdx[j]);
            }
        }
    }
}

void snn_lif_backward(const snn_lif_args *a, float *g)
{
    if (!a->sync_buf || a->mode == SNN_MPBN_NONE) {
        lif_bwd_ctx c = {a, g};
        snn_par_run(a->c, lif_bwd_task, &c);
        return;
    }
    const uint32_t mp_n = a->mode == SNN_MPBN_ELEMENT ? a->c * a->hw : a->c;
    for (uint32_t tt = a->T; tt-- > 0;) {
        lif_sync_ctx x = {a, g, tt, mp_n};
        snn_par_run(a->c, lif_sync_bwd_sums, &x);
        snn_mpi_allreduce_f64(a->sync_buf, 2 * (size_t)mp_n);
        snn_par_run(a->c, lif_sync_bwd_apply, &x);
    }
}

/* ---- max-pool of spikes ----------------------------------------------------------- */

typedef struct pool_ctx {
    const float *in;
    uint32_t n, h, w;
    float *out;
    uint8_t *arg;
} pool_ctx;

#if defined(__AVX512F__)
/* Lanes 0..n-1 of a 16-float vector, 0 <= n <= 16. */
static inline __mmask16 lanes16(uint32_t n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1);
}

/* The even and odd floats of p[0 .. 2n), n <= 16 (the others 0). */
static inline void load_pairs(const float *p, uint32_t n, __m512 *even, __m512 *odd)
{
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 lo = _mm512_maskz_loadu_ps(lanes16(2 * n), p);
    const __m512 hi = _mm512_maskz_loadu_ps(lanes16(2 * n > 16 ? 2 * n - 16 : 0), p + 16);
    *even = _mm512_permutex2var_ps(lo, ie, hi);
    *odd = _mm512_permutex2var_ps(lo, io, hi);
}

#endif

static void pool_fwd_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const pool_ctx *c = ctx;
    const uint32_t h = c->h, w = c->w, oh = h / 2, ow = w / 2;
    for (size_t cn = (size_t)ch * c->n; cn < (size_t)(ch + 1) * c->n; cn++) {
        const float *src = c->in + cn * h * w;
        float *dst = c->out + cn * oh * ow;
        uint8_t *ag = c->arg + cn * oh * ow;
        for (uint32_t y = 0; y < oh; y++) {
            const float *r0 = src + (size_t)(2 * y) * w, *r1 = r0 + w;
            /* first maximum in row-major window order, as PyTorch picks it */
#if defined(__AVX512F__)
            /* 16 windows at a time: the window's four values from even and
             * odd lanes of its two rows, compared in that order */
            for (uint32_t x0 = 0; x0 < ow; x0 += 16) {
                const uint32_t nx = ow - x0 < 16 ? ow - x0 : 16;
                __m512 v, b, c2, d;
                load_pairs(r0 + 2 * x0, nx, &v, &b);
                load_pairs(r1 + 2 * x0, nx, &c2, &d);
                __m512i k = _mm512_setzero_si512();
                __mmask16 m = _mm512_cmp_ps_mask(b, v, _CMP_GT_OQ);
                v = _mm512_mask_mov_ps(v, m, b);
                k = _mm512_mask_mov_epi32(k, m, _mm512_set1_epi32(1));
                m = _mm512_cmp_ps_mask(c2, v, _CMP_GT_OQ);
                v = _mm512_mask_mov_ps(v, m, c2);
                k = _mm512_mask_mov_epi32(k, m, _mm512_set1_epi32(2));
                m = _mm512_cmp_ps_mask(d, v, _CMP_GT_OQ);
                v = _mm512_mask_mov_ps(v, m, d);
                k = _mm512_mask_mov_epi32(k, m, _mm512_set1_epi32(3));
                _mm512_mask_storeu_ps(dst + (size_t)y * ow + x0, lanes16(nx), v);
                _mm512_mask_cvtepi32_storeu_epi8(ag + (size_t)y * ow + x0, lanes16(nx), k);
            }
#else
            for (uint32_t x = 0; x < ow; x++) {
                float v = r0[2 * x];
                uint8_t k = 0;
                if (r0[2 * x + 1] > v) { v = r0[2 * x + 1]; k = 1; }
                if (r1[2 * x] > v) { v = r1[2 * x]; k = 2; }
                if (r1[2 * x + 1] > v) { v = r1[2 * x + 1]; k = 3; }
                dst[y * ow + x] = v;
                ag[y * ow + x] = k;
            }
#endif
        }
    }
}

void snn_pool_forward(const float *in, uint32_t c, uint32_t n, uint32_t h, uint32_t w, float *out,
                      uint8_t *arg)
{
    pool_ctx x = {in, n, h, w, out, arg};
    snn_par_run(c, pool_fwd_task, &x);
}

/* here `in` is dout and `out` is din */
static void pool_bwd_task(void *ctx, uint32_t ch, uint32_t worker)
{
    const pool_ctx *c = ctx;
    const uint32_t h = c->h, w = c->w, oh = h / 2, ow = w / 2;
    /* clearing the map and writing one position per window beats writing
     * every position (the gradient or 0) with vector stores: the map is not
     * in cache, and memset streams it */
    memset(c->out + (size_t)ch * c->n * h * w, 0, (size_t)c->n * h * w * sizeof(float));
    for (size_t cn = (size_t)ch * c->n; cn < (size_t)(ch + 1) * c->n; cn++) {
        float *dst = c->out + cn * h * w;
        const float *src = c->in + cn * oh * ow;
        const uint8_t *ag = c->arg + cn * oh * ow;
        for (uint32_t y = 0; y < oh; y++)
            for (uint32_t x = 0; x < ow; x++) {
                uint8_t k = ag[y * ow + x];
                dst[(size_t)(2 * y + (k >> 1)) * w + 2 * x + (k & 1)] = src[y * ow + x];
            }
    }
}

void snn_pool_backward(const float *dout, const uint8_t *arg, uint32_t c, uint32_t n, uint32_t h,
                       uint32_t w, float *din)
{
    pool_ctx x = {dout, n, h, w, din, (uint8_t *)arg};
    snn_par_run(c, pool_bwd_task, &x);
}
