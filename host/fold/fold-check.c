/*
 * fold-check.c - the two float forwards the fold is checked with, and the
 * check itself (`mpbn fold --check`):
 *
 *   snn_unfold_forward   the trained network in eval mode, straight from the
 *                        checkpoint tensors: normalise, conv/fc, BN, LIF with
 *                        MPBN on the membrane, pool, output
 *   snn_fold_forward     the folded network: raw pixels, conv/fc with folded
 *                        weights and a per-step bias, LIF comparing u_pre with
 *                        a per-neuron threshold (and polarity), pool, output
 *
 * Both are spike-driven loops over one image at a time (work proportional to
 * the input events), the same structure as the golden model in ref-model.c.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "fold-impl.h"
#include "io/safetensors.h"
#include "train/snn-train.h" /* snn_ckpt_validate */

/* ---- float forwards ----------------------------------------------------------------- */

/* acc (conv: [y][x][co], fc/out: [o]) += value * fan-out of input `in` (CHW). */
static void facc(snn_layer_kind kind, uint32_t H, uint32_t W, uint32_t oc, const float *w,
                 float *acc, uint32_t in, float value)
{
    if (kind == SNN_LAYER_CONV) {
        uint32_t ci = in / (H * W), yi = in / W % H, xi = in % W;
        for (uint32_t ky = 0; ky < 3; ky++) {
            int32_t y = (int32_t)yi - (int32_t)ky + 1;
            if (y < 0 || y >= (int32_t)H) continue;
            for (uint32_t kx = 0; kx < 3; kx++) {
                int32_t x = (int32_t)xi - (int32_t)kx + 1;
                if (x < 0 || x >= (int32_t)W) continue;
                const float *wr = w + ((size_t)(ci * 3 + ky) * 3 + kx) * oc;
                float *a = acc + ((size_t)y * W + (size_t)x) * oc;
                for (uint32_t o = 0; o < oc; o++) a[o] += value * wr[o];
            }
        }
    } else {
        const float *wr = w + (size_t)in * oc;
        for (uint32_t o = 0; o < oc; o++) acc[o] += value * wr[o];
    }
}

/* Per-layer buffers of the float forwards. */
typedef struct fws {
    float *acc[SNN_MAX_LAYERS]; /* conv [y][x][co]; fc/out [o] */
    float *u[SNN_MAX_LAYERS];   /* membrane, CHW */
    float *spk[SNN_MAX_LAYERS]; /* 0/1 spikes, CHW */
    float *m[SNN_MAX_LAYERS];   /* MPBN(u_pre) (unfolded only) */
    uint32_t *ev[SNN_MAX_LAYERS];
    uint32_t n_ev[SNN_MAX_LAYERS];
    float *acc0;                /* layer 0 result of the current image */
} fws;

static void fws_free(fws *w, uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        free(w->acc[l]), free(w->u[l]), free(w->spk[l]), free(w->m[l]), free(w->ev[l]);
    }
    free(w->acc0);
}

static snn_status fws_init(fws *w, uint32_t L, const uint32_t *n_out)
{
    memset(w, 0, sizeof *w);
    int ok = 1;
    for (uint32_t l = 0; l < L; l++) {
        ok &= !!(w->acc[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->u[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->spk[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->m[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->ev[l] = calloc(n_out[l], sizeof(uint32_t)));
    }
    ok &= !!(w->acc0 = calloc(n_out[0], sizeof(float)));
    if (!ok) {
        fws_free(w, L);
        return snn_fail(SNN_ERR_NOMEM, "out of memory for the float forward");
    }
    return SNN_OK;
}

/* Spikes of a pool layer from the events of the layer below. */
static void fpool(uint32_t c, uint32_t H, uint32_t W, const uint32_t *in_ev, uint32_t n_in_ev,
                  fws *w, uint32_t l)
{
    uint32_t oh = H / 2, ow = W / 2, n_out = c * oh * ow;
    memset(w->spk[l], 0, sizeof(float) * n_out);
    w->n_ev[l] = 0;
    for (uint32_t i = 0; i < n_in_ev; i++) {
        uint32_t e = in_ev[i], ch = e / (H * W), y = e / W % H, x = e % W;
        if (y / 2 >= oh || x / 2 >= ow) continue;
        uint32_t o = (ch * oh + y / 2) * ow + x / 2;
        if (w->spk[l][o] == 0) {
            w->spk[l][o] = 1;
            w->ev[l][w->n_ev[l]++] = o;
        }
    }
}

/* acc of layer l (> 0) from the events of layer l-1 */
static void facc_events(snn_layer_kind kind, uint32_t H, uint32_t W, uint32_t oc, uint32_t n_out,
                        const float *wt, fws *w, uint32_t l)
{
    memset(w->acc[l], 0, sizeof(float) * n_out);
    for (uint32_t i = 0; i < w->n_ev[l - 1]; i++) facc(kind, H, W, oc, wt, w->acc[l], w->ev[l - 1][i], 1.0f);
}

static inline float acc_chw(snn_layer_kind kind, const float *acc, uint32_t n, uint32_t hw, uint32_t oc)
{
    return kind == SNN_LAYER_CONV ? acc[(size_t)(n % hw) * oc + n / hw] : acc[n];
}

snn_status snn_fold_forward(const snn_fold_net *f, const uint8_t *pixels, uint32_t n_img,
                            float *logits, snn_fold_spike_cb cb, void *ctx)
{
    uint32_t L = f->n_layers, K = f->n_classes, n_out[SNN_MAX_LAYERS];
    for (uint32_t l = 0; l < L; l++) n_out[l] = f->layers[l].n_out;
    fws w;
    snn_status s = fws_init(&w, L, n_out);
    if (s != SNN_OK) return s;
    size_t px = (size_t)f->in_c * f->in_h * f->in_w;
    float lg[SNN_MAX_CLASSES];
    for (uint32_t im = 0; im < n_img; im++) {
        const uint8_t *x = pixels + im * px;
        const snn_fold_layer *F0 = &f->layers[0];
        memset(w.acc0, 0, sizeof(float) * F0->n_out);
        for (uint32_t i = 0; i < F0->n_in; i++)
            if (x[i]) facc(F0->kind, F0->in_h, F0->in_w, F0->out_c, F0->w, w.acc0, i, (float)x[i]);
        for (uint32_t l = 0; l < L; l++) memset(w.u[l], 0, sizeof(float) * n_out[l]);
        memset(lg, 0, sizeof lg);
        for (uint32_t t = 0; t < f->T; t++)
            for (uint32_t l = 0; l < L; l++) {
                const snn_fold_layer *F = &f->layers[l];
                if (F->kind == SNN_LAYER_POOL) {
                    fpool(F->in_c, F->in_h, F->in_w, w.ev[l - 1], w.n_ev[l - 1], &w, l);
                    if (cb) cb(F->index, t, im, w.spk[l], F->n_out, ctx);
                    continue;
                }
                const float *acc = w.acc0;
                if (l > 0) {
                    facc_events(F->kind, F->in_h, F->in_w, F->out_c, F->n_out, F->w, &w, l);
                    acc = w.acc[l];
                }
                uint32_t hw = F->out_h * F->out_w;
                if (F->kind == SNN_LAYER_OUT) {
                    for (uint32_t k = 0; k < K; k++) lg[k] += acc[k] + F->bias[k];
                    continue;
                }
                w.n_ev[l] = 0;
                for (uint32_t n = 0; n < F->n_out; n++) {
                    float u = f->tau * w.u[l][n] + (acc_chw(F->kind, acc, n, hw, F->out_c) + F->bias[n / hw]);
                    int fire = F->cnst[n] ? F->cnst[n] == 1 : F->pol[n] ? u < F->th[n] : u > F->th[n];
                    w.u[l][n] = fire ? 0.0f : u;
                    w.spk[l][n] = (float)fire;
                    if (fire) w.ev[l][w.n_ev[l]++] = n;
                }
                if (cb) cb(F->index, t, im, w.spk[l], F->n_out, ctx);
            }
        if (logits)
            for (uint32_t k = 0; k < K; k++) logits[(size_t)im * K + k] = lg[k] / (float)f->T;
    }
    fws_free(&w, L);
    return SNN_OK;
}

snn_status snn_unfold_forward(const snn_st_file *st, const uint8_t *pixels, uint32_t n_img,
                              float *logits, snn_unfold_cb cb, void *ctx)
{
    ckpt c;
    snn_status s = fold_ckpt_read(st, &c);
    if (s != SNN_OK) return s;
    uint32_t L = c.n_layers, K = c.K, n_out[SNN_MAX_LAYERS] = {0};
    float *wt[SNN_MAX_LAYERS] = {0};
    bn_p bn[SNN_MAX_LAYERS];
    mp_p mp[SNN_MAX_LAYERS];
    const float *ob = NULL;
    memset(bn, 0, sizeof bn);
    memset(mp, 0, sizeof mp);
    for (uint32_t l = 0; l < L && s == SNN_OK; l++) {
        n_out[l] = c.l[l].n_out;
        if (c.l[l].kind == SNN_LAYER_POOL) continue;
        if ((s = fold_ckpt_weights(&c, l, &wt[l])) != SNN_OK) break;
        if (c.l[l].kind == SNN_LAYER_OUT) {
            char name[64];
            int64_t sh[1] = {K};
            snprintf(name, sizeof name, "layers.%u.bias", l);
            s = fold_ckpt_f32(&c, name, 1, sh, &ob);
        } else if ((s = fold_ckpt_bn(&c, l, &bn[l])) == SNN_OK) {
            s = fold_ckpt_mp(&c, l, &mp[l]);
        }
    }
    fws w;
    if (s == SNN_OK) s = fws_init(&w, L, n_out);
    if (s != SNN_OK) {
        for (uint32_t l = 0; l < L; l++) free(wt[l]);
        return s;
    }
    size_t px = (size_t)c.in_c * c.in_h * c.in_w;
    float *xn = malloc(sizeof(float) * px);
    float lg[SNN_MAX_CLASSES];
    const float pad = (float)(-c.mean / c.std), vth = (float)c.vth, tau = (float)c.tau;
    const ck_layer *L0 = &c.l[0];
    for (uint32_t im = 0; xn && im < n_img; im++) {
        const uint8_t *x = pixels + im * px;
        for (size_t i = 0; i < px; i++) xn[i] = ((float)x[i] / 255.0f - (float)c.mean) / (float)c.std;
        /* layer 0 on the analogue image, padding = the normalised black pixel */
        memset(w.acc0, 0, sizeof(float) * L0->n_out);
        if (L0->kind == SNN_LAYER_CONV) {
            uint32_t H = L0->in_h, W = L0->in_w, oc = L0->out_c;
            for (uint32_t ci = 0; ci < L0->in_c; ci++)
                for (int32_t yi = -1; yi <= (int32_t)H; yi++)
                    for (int32_t xi = -1; xi <= (int32_t)W; xi++) {
                        int inside = yi >= 0 && yi < (int32_t)H && xi >= 0 && xi < (int32_t)W;
                        float v = inside ? xn[(ci * H + (uint32_t)yi) * W + (uint32_t)xi] : pad;
                        for (uint32_t ky = 0; ky < 3; ky++) {
                            int32_t y = yi - (int32_t)ky + 1;
                            if (y < 0 || y >= (int32_t)H) continue;
                            for (uint32_t kx = 0; kx < 3; kx++) {
                                int32_t xo = xi - (int32_t)kx + 1;
                                if (xo < 0 || xo >= (int32_t)W) continue;
                                const float *wr = wt[0] + ((size_t)(ci * 3 + ky) * 3 + kx) * oc;
                                float *a = w.acc0 + ((size_t)y * W + (size_t)xo) * oc;
                                for (uint32_t o = 0; o < oc; o++) a[o] += v * wr[o];
                            }
                        }
                    }
        } else {
            for (uint32_t i = 0; i < L0->n_in; i++)
                facc(L0->kind, 1, 1, L0->out_c, wt[0], w.acc0, i, xn[i]);
        }
        for (uint32_t l = 0; l < L; l++) memset(w.u[l], 0, sizeof(float) * n_out[l]);
        memset(lg, 0, sizeof lg);
        for (uint32_t t = 0; t < c.T; t++)
            for (uint32_t l = 0; l < L; l++) {
                const ck_layer *Ly = &c.l[l];
                if (Ly->kind == SNN_LAYER_POOL) {
                    fpool(Ly->in_c, Ly->in_h, Ly->in_w, w.ev[l - 1], w.n_ev[l - 1], &w, l);
                    if (cb) cb(l, t, im, w.spk[l], NULL, Ly->n_out, ctx);
                    continue;
                }
                const float *acc = w.acc0;
                if (l > 0) {
                    facc_events(Ly->kind, Ly->in_h, Ly->in_w, Ly->out_c, Ly->n_out, wt[l], &w, l);
                    acc = w.acc[l];
                }
                if (Ly->kind == SNN_LAYER_OUT) {
                    for (uint32_t k = 0; k < K; k++) lg[k] += acc[k] + ob[k];
                    continue;
                }
                uint32_t hw = Ly->out_h * Ly->out_w;
                const bn_p *B = &bn[l];
                const mp_p *M = &mp[l];
                w.n_ev[l] = 0;
                for (uint32_t n = 0; n < Ly->n_out; n++) {
                    uint32_t ch = n / hw;
                    float z = acc_chw(Ly->kind, acc, n, hw, Ly->out_c);
                    float y = B->g[ch] * (z - B->rm[ch]) / sqrtf(B->rv[ch] + (float)c.bn_eps) + B->b[ch];
                    float u = tau * w.u[l][n] + y;
                    float m = u;
                    if (c.mpbn != MP_NONE) {
                        uint32_t p = c.mpbn == MP_CHANNEL ? ch : n;
                        m = M->lam[p] * (u - M->mu[p]) / sqrtf(M->var[p] + (float)c.mp_eps) + M->beta[p];
                    }
                    int fire = m > vth;
                    w.u[l][n] = fire ? 0.0f : u;
                    w.spk[l][n] = (float)fire;
                    w.m[l][n] = m;
                    if (fire) w.ev[l][w.n_ev[l]++] = n;
                }
                if (cb) cb(l, t, im, w.spk[l], w.m[l], Ly->n_out, ctx);
            }
        if (logits)
            for (uint32_t k = 0; k < K; k++) logits[(size_t)im * K + k] = lg[k] / (float)c.T;
    }
    if (!xn) s = snn_fail(SNN_ERR_NOMEM, "out of memory");
    free(xn);
    fws_free(&w, L);
    for (uint32_t l = 0; l < L; l++) free(wt[l]);
    return s;
}

/* ---- float check ------------------------------------------------------------------------ */

#define CHECK_CHUNK 16u

typedef struct check_ctx {
    uint32_t T, n_hidden, per_step; /* neurons per (image, step) over hidden layers */
    uint32_t off[SNN_MAX_LAYERS + 1];
    uint8_t *ref, *got;
    float *margin;
    float vth;
} check_ctx;

static size_t check_at(const check_ctx *c, uint32_t layer, uint32_t t, uint32_t image)
{
    return ((size_t)image * c->T + t) * c->per_step + c->off[layer];
}

static void check_ref_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                         const float *m, uint32_t n, void *ctx)
{
    check_ctx *c = ctx;
    size_t at = check_at(c, layer, t, image % CHECK_CHUNK);
    for (uint32_t i = 0; i < n; i++) {
        c->ref[at + i] = spikes[i] != 0;
        c->margin[at + i] = m ? fabsf(m[i] - c->vth) : FLT_MAX;
    }
}

static void check_got_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes, uint32_t n,
                         void *ctx)
{
    check_ctx *c = ctx;
    size_t at = check_at(c, layer, t, image % CHECK_CHUNK);
    for (uint32_t i = 0; i < n; i++) c->got[at + i] = spikes[i] != 0;
}

static uint32_t argmax(const float *z, uint32_t K)
{
    uint32_t a = 0;
    for (uint32_t k = 1; k < K; k++)
        if (z[k] > z[a]) a = k;
    return a;
}

snn_status snn_fold_check(const snn_st_file *st, const snn_fold_net *f, const uint8_t *pixels,
                          uint32_t n, double tol, snn_fold_check_result *r)
{
    return snn_fold_check_cb(st, f, pixels, n, tol, r, NULL, NULL);
}

snn_status snn_fold_check_cb(const snn_st_file *st, const snn_fold_net *f, const uint8_t *pixels,
                             uint32_t n, double tol, snn_fold_check_result *r,
                             snn_fold_check_progress_cb cb, void *ctx)
{
    memset(r, 0, sizeof *r);
    check_ctx c = {.T = f->T, .n_hidden = f->n_layers - 1, .vth = f->vth};
    for (uint32_t l = 0; l < c.n_hidden; l++) c.off[l + 1] = c.off[l] + f->layers[l].n_out;
    c.per_step = c.off[c.n_hidden];
    size_t cells = (size_t)CHECK_CHUNK * f->T * (c.per_step ? c.per_step : 1);
    c.ref = malloc(cells), c.got = malloc(cells), c.margin = malloc(cells * sizeof(float));
    float *l1 = malloc(sizeof(float) * CHECK_CHUNK * f->n_classes);
    float *l2 = malloc(sizeof(float) * CHECK_CHUNK * f->n_classes);
    snn_status s = SNN_OK;
    if (!c.ref || !c.got || !c.margin || !l1 || !l2) s = snn_fail(SNN_ERR_NOMEM, "out of memory");
    size_t px = (size_t)f->in_c * f->in_h * f->in_w;
    for (uint32_t i0 = 0; i0 < n && s == SNN_OK; i0 += CHECK_CHUNK) {
        uint32_t B = n - i0 < CHECK_CHUNK ? n - i0 : CHECK_CHUNK;
        /* callbacks see chunk-relative image indices (i0 is a multiple of the chunk) */
        if ((s = snn_unfold_forward(st, pixels + i0 * px, B, l1, check_ref_cb, &c)) != SNN_OK ||
            (s = snn_fold_forward(f, pixels + i0 * px, B, l2, check_got_cb, &c)) != SNN_OK)
            break;
        for (uint32_t im = 0; im < B; im++) {
            int seen = 0;
            r->pred_differing += argmax(l1 + im * f->n_classes, f->n_classes) !=
                                 argmax(l2 + im * f->n_classes, f->n_classes);
            for (uint32_t t = 0; t < f->T; t++)
                for (uint32_t l = 0; l < c.n_hidden; l++) {
                    size_t at = check_at(&c, l, t, im);
                    int here = 0;
                    for (uint32_t i = c.off[l]; i < c.off[l + 1]; i++, at++) {
                        r->neuron_steps++;
                        r->ref_spikes += c.ref[at];
                        if (c.ref[at] == c.got[at]) continue;
                        r->differing++;
                        here = 1;
                        if (seen) {
                            r->propagated++;
                            continue;
                        }
                        double mg = c.margin[at];
                        if (mg > r->worst_margin) r->worst_margin = mg;
                        if (mg < tol) r->primary++;
                        else r->unexplained++;
                    }
                    seen |= here;
                }
            r->images_differing += (uint32_t)seen;
        }
        if (cb) cb(i0 + B, r, ctx);
    }
    free(c.ref), free(c.got), free(c.margin), free(l1), free(l2);
    return s;
}
