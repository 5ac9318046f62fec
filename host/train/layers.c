/*
 * layers.c - the network's forward and backward passes, layer by layer over
 * the whole multi-step batch (train-impl.h explains the layout), the input
 * normalisation/augmentation, the loss and the spike-count regulariser
 * (fan-out-weighted firing rate, docs/trainer.md "Sparsity control").
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "train-impl.h"

/* ---- input ---------------------------------------------------------------------- */

void snn_aug_draw_make(uint32_t augment, uint64_t r, uint64_t r2, uint32_t h, uint32_t w, snn_aug_draw *d)
{
    memset(d, 0, sizeof *d);
    if (augment & SNN_AUG_CROP) {
        d->sy = (int8_t)((int)((r & 0xff) % 5) - 2);
        d->sx = (int8_t)((int)(((r >> 8) & 0xff) % 5) - 2);
    }
    if (augment & SNN_AUG_FLIP) d->flip = (uint8_t)((r >> 16) & 1);
    /* the positions take 16 and 15 bits of r2: enough for any image side the
     * trainer accepts (SNN_CKPT_MAX_DIM) */
    _Static_assert(SNN_CKPT_MAX_DIM <= 0x8000u, "erase positions need more random bits");
    if ((augment & SNN_AUG_ERASE) && (r2 & 1)) {
        /* area fraction s in [0.02, 0.4], log-uniform aspect in [0.3, 1/0.3] */
        const double s = 0.02 + 0.38 * (double)((r2 >> 1) & 0xffff) / 65535.0;
        const double la = log(0.3) + (log(1 / 0.3) - log(0.3)) * (double)((r2 >> 17) & 0xffff) / 65535.0;
        const double area = s * h * w, asp = exp(la);
        uint32_t eh = (uint32_t)lround(sqrt(area * asp)), ew = (uint32_t)lround(sqrt(area / asp));
        if (eh < 1) eh = 1;
        if (ew < 1) ew = 1;
        if (eh > h) eh = h;
        if (ew > w) ew = w;
        d->eh = (uint16_t)eh;
        d->ew = (uint16_t)ew;
        d->ey = (uint16_t)(((r2 >> 33) & 0xffff) % (h - eh + 1));
        d->ex = (uint16_t)(((r2 >> 49) & 0x7fff) % (w - ew + 1));
    }
}

void snn_model_load_input(snn_model *m, const uint8_t *pixels, const uint32_t *idx, uint32_t B,
                          const snn_aug_draw *aug)
{
    const uint32_t C = m->cfg.in_c, H = m->cfg.in_h, W = m->cfg.in_w;
    const size_t hw = (size_t)H * W, px = (size_t)C * hw;
    const float scale = 1.0f / (255.0f * m->cfg.norm_std);
    const float off = -m->cfg.norm_mean / m->cfg.norm_std; /* a black pixel */
    float lut[256];
    for (int v = 0; v < 256; v++) lut[v] = (float)v * scale + off;
    for (uint32_t b = 0; b < B; b++) {
        const uint8_t *img = pixels + (size_t)(idx ? idx[b] : b) * px;
        const snn_aug_draw none = {0}, *d = aug ? &aug[b] : &none;
        const int sy = d->sy, sx = d->sx, fl = d->flip;
        for (uint32_t c = 0; c < C; c++) {
            float *dst = m->x + ((size_t)c * B + b) * hw;
            const uint8_t *src = img + (size_t)c * hw;
            if (!sy && !sx && !fl) {
                for (size_t i = 0; i < hw; i++) dst[i] = lut[src[i]];
            } else {
                for (uint32_t y = 0; y < H; y++) {
                    int yy = (int)y + sy;
                    for (uint32_t x = 0; x < W; x++) {
                        int xx = (fl ? (int)(W - 1 - x) : (int)x) + sx;
                        dst[(size_t)y * W + x] = (yy < 0 || yy >= (int)H || xx < 0 || xx >= (int)W)
                                                     ? off
                                                     : lut[src[(size_t)yy * W + (size_t)xx]];
                    }
                }
            }
            for (uint32_t y = d->ey; y < (uint32_t)d->ey + d->eh && y < H; y++)
                for (uint32_t x = d->ex; x < (uint32_t)d->ex + d->ew && x < W; x++) dst[(size_t)y * W + x] = off;
        }
    }
}

/* ---- forward -------------------------------------------------------------------- */

static snn_lif_args lif_args(snn_model *m, snn_tlayer *L, uint32_t B, int train)
{
    snn_lif_args a;
    memset(&a, 0, sizeof a);
    a.c = L->oc;
    a.hw = L->ohw;
    a.B = B;
    a.T = m->cfg.T;
    a.shared_z = L->first;
    a.z = L->z;
    a.bn_g = L->bn_g->data;
    a.bn_b = L->bn_b->data;
    a.bn_mean = L->bn_mean;
    a.bn_istd = L->bn_istd;
    a.mode = L->mp_n ? m->cfg.mpbn : SNN_MPBN_NONE;
    if (L->mp_n) {
        a.mp_g = L->mp_g->data;
        a.mp_b = L->mp_b->data;
        a.mp_rm = L->mp_rm->data;
        a.mp_rv = L->mp_rv->data;
        if (L->mp_g->grad) {
            a.dmp_g = L->mp_g->grad;
            a.dmp_b = L->mp_b->grad;
        }
    }
    a.mp_mean = L->mp_mean;
    a.mp_istd = L->mp_istd;
    a.tau = m->cfg.tau;
    a.vth = m->cfg.vth;
    a.eps = m->cfg.mpbn_eps;
    a.momentum = m->cfg.bn_momentum;
    a.train = train;
    a.upre = L->upre;
    a.out = L->out;
    a.spikes = L->spikes;
    if (train && m->sync_buf) {
        a.sync_buf = m->sync_buf;
        a.sync_ranks = m->sync_ranks;
    }
    return a;
}

void snn_model_forward(snn_model *m, uint32_t B, int train)
{
    SNN_ASSERT(B >= 1 && B <= m->ws_batch && m->ws_threads >= snn_par_threads());
    const uint32_t T = m->cfg.T, N = T * B;
    const float pad0 = -m->cfg.norm_mean / m->cfg.norm_std;
    const float *in = m->x;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        snn_tlayer *L = &m->layers[l];
        const uint32_t nz = L->first ? B : N;
        switch (L->kind) {
        case SNN_LAYER_CONV:
        case SNN_LAYER_FC: {
            if (L->kind == SNN_LAYER_CONV) {
                snn_conv_forward(in, L->ic, nz, L->ih, L->iw, L->first ? pad0 : 0.0f, !L->first,
                                 L->w->data, L->oc, L->z, m->col);
            } else {
                snn_gather_images(in, L->ic, nz, L->ihw, L->xt);
                snn_par_sgemm(CblasNoTrans, CblasTrans, (int)L->oc, (int)nz, (int)L->in_n, L->w->data,
                              (int)L->in_n, L->xt, (int)L->in_n, 0.0f, L->z, (int)nz);
            }
            if (train && m->sync_buf)
                snn_bn_forward_stats_sync(L->z, L->oc, (size_t)nz * L->ohw, (size_t)N * L->ohw,
                                          m->cfg.bn_momentum, m->cfg.bn_eps, L->bn_rm->data,
                                          L->bn_rv->data, L->bn_mean, L->bn_istd, m->sync_buf,
                                          m->sync_ranks);
            else
                snn_bn_forward_stats(L->z, L->oc, (size_t)nz * L->ohw, train, (size_t)N * L->ohw,
                                     m->cfg.bn_momentum, m->cfg.bn_eps, L->bn_rm->data,
                                     L->bn_rv->data, L->bn_mean, L->bn_istd);
            snn_lif_args a = lif_args(m, L, B, train);
            snn_lif_forward(&a);
            in = L->out;
            break;
        }
        case SNN_LAYER_POOL:
            snn_pool_forward(in, L->ic, N, L->ih, L->iw, L->out, L->arg);
            in = L->out;
            break;
        default: {
            const uint32_t K = m->cfg.n_classes;
            snn_gather_images(in, L->ic, N, L->ihw, L->xt);
            for (uint32_t k = 0; k < K; k++)
                for (uint32_t n = 0; n < N; n++) m->yout[(size_t)k * N + n] = L->b->data[k];
            snn_par_sgemm(CblasNoTrans, CblasTrans, (int)K, (int)N, (int)L->in_n, L->w->data, (int)L->in_n,
                          L->xt, (int)L->in_n, 1.0f, m->yout, (int)N);
            const float invT = 1.0f / (float)T;
            for (uint32_t b = 0; b < B; b++)
                for (uint32_t k = 0; k < K; k++) {
                    float s = 0;
                    for (uint32_t t = 0; t < T; t++) s += m->yout[(size_t)k * N + (size_t)t * B + b];
                    m->logits[(size_t)b * K + k] = s * invT;
                }
            break;
        }
        }
    }
}

double snn_model_loss(snn_model *m, uint32_t B, const uint8_t *labels, uint32_t *correct)
{
    const uint32_t K = m->cfg.n_classes;
    /* the gradient of the mean over the global batch (data-parallel: the
     * ranks' gradients are summed) */
    const double GB = m->loss_batch ? m->loss_batch : B;
    double loss = 0;
    uint32_t ok = 0;
    for (uint32_t b = 0; b < B; b++) {
        const float *z = m->logits + (size_t)b * K;
        float *d = m->dlogits + (size_t)b * K;
        uint32_t am = 0;
        float mx = z[0];
        for (uint32_t k = 1; k < K; k++)
            if (z[k] > mx) {
                mx = z[k];
                am = k;
            }
        double s = 0;
        for (uint32_t k = 0; k < K; k++) s += exp((double)z[k] - mx);
        loss += log(s) + mx - z[labels[b]];
        /* the gradient of the cross-entropy against the (smoothed) target */
        const double e = m->label_smoothing, off = e / K, on = 1.0 - e + off;
        for (uint32_t k = 0; k < K; k++)
            d[k] = (float)((exp((double)z[k] - mx) / s - (k == labels[b] ? on : off)) / GB);
        ok += am == labels[b];
    }
    if (correct) *correct = ok;
    return loss / B;
}

/* ---- spike-count regulariser ------------------------------------------------------- */

static int has_lif(const snn_tlayer *L)
{
    return L->kind == SNN_LAYER_CONV || L->kind == SNN_LAYER_FC;
}

/* Synapses one spike of layer l reaches: those of the next conv/fc/out
 * layer, through any pool in between (a pool passes a spike on; several
 * spikes of one window become one, so this is an upper bound there). */
static double fan_out(const snn_model *m, uint32_t l)
{
    uint32_t k = l + 1;
    while (k < m->n_layers && m->layers[k].kind == SNN_LAYER_POOL) k++;
    if (k >= m->n_layers) return 0;
    const snn_tlayer *N = &m->layers[k];
    return N->kind == SNN_LAYER_CONV ? 9.0 * N->oc : (double)N->oc;
}

double snn_model_rate_weight(const snn_model *m, uint32_t l)
{
    if (l >= m->n_layers || !has_lif(&m->layers[l])) return 0;
    double s = 0;
    for (uint32_t k = 0; k < m->n_layers; k++)
        if (has_lif(&m->layers[k])) s += (double)m->layers[k].out_n * fan_out(m, k);
    return s > 0 ? fan_out(m, l) / s : 0;
}

double snn_model_spike_rate(snn_model *m, uint32_t B)
{
    const double TB = (double)m->cfg.T * B;
    double r = 0;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        const snn_tlayer *L = &m->layers[l];
        const double w = snn_model_rate_weight(m, l);
        if (w <= 0) continue;
        uint64_t s = 0; /* counted by the LIF forward as it fired */
        for (uint32_t ch = 0; ch < L->oc; ch++)
            s += L->spikes[ch];
        r += w * (double)s / TB;
    }
    return r;
}

/* ---- backward ------------------------------------------------------------------- */

void snn_model_backward(snn_model *m, uint32_t B)
{
    SNN_ASSERT(m->with_grads);
    const uint32_t T = m->cfg.T, N = T * B, K = m->cfg.n_classes;
    const float pad0 = -m->cfg.norm_mean / m->cfg.norm_std;
    for (uint32_t i = 0; i < m->n_params; i++)
        if (m->params[i].grad) memset(m->params[i].grad, 0, m->params[i].n * sizeof(float));

    float *g = m->g0, *gin = m->g1;
    {
        snn_tlayer *L = &m->layers[m->n_layers - 1];
        float *dy = m->yout; /* [K][N] */
        const float invT = 1.0f / (float)T;
        for (uint32_t k = 0; k < K; k++) {
            float s = 0;
            for (uint32_t t = 0; t < T; t++)
                for (uint32_t b = 0; b < B; b++) {
                    float v = m->dlogits[(size_t)b * K + k] * invT;
                    dy[(size_t)k * N + (size_t)t * B + b] = v;
                    s += v;
                }
            L->b->grad[k] = s;
        }
        snn_par_sgemm(CblasNoTrans, CblasNoTrans, (int)K, (int)L->in_n, (int)N, dy, (int)N, L->xt,
                      (int)L->in_n, 0.0f, L->w->grad, (int)L->in_n);
        snn_par_sgemm(CblasTrans, CblasNoTrans, (int)N, (int)L->in_n, (int)K, dy, (int)N, L->w->data,
                      (int)L->in_n, 0.0f, L->xt, (int)L->in_n);
        snn_scatter_images(L->xt, L->ic, N, L->ihw, g);
    }
    for (uint32_t l = m->n_layers - 1; l-- > 0;) {
        snn_tlayer *L = &m->layers[l];
        const float *prev = l ? m->layers[l - 1].out : m->x;
        const uint32_t nz = L->first ? B : N;
        if (L->kind == SNN_LAYER_POOL) {
            snn_pool_backward(g, L->arg, L->ic, N, L->ih, L->iw, gin);
        } else {
            if (m->rate_reg > 0) {
                /* d(rate_reg * R)/d(spike): the same for every spike of the layer */
                const double GN = (double)T * (m->loss_batch ? m->loss_batch : B);
                const float d = (float)(m->rate_reg * snn_model_rate_weight(m, l) / GN);
                const size_t n = (size_t)L->oc * N * L->ohw;
                for (size_t i = 0; i < n; i++) g[i] += d;
            }
            snn_lif_args a = lif_args(m, L, B, 1);
            snn_lif_backward(&a, g);
            float *dz = L->first ? gin : g;
            if (m->sync_buf)
                snn_bn_backward_sync(L->z, g, L->oc, nz, L->first ? T : 1, L->ohw, L->bn_g->data,
                                     L->bn_mean, L->bn_istd, dz, L->bn_g->grad, L->bn_b->grad,
                                     m->sync_buf, m->sync_ranks);
            else
                snn_bn_backward(L->z, g, L->oc, nz, L->first ? T : 1, L->ohw, L->bn_g->data,
                                L->bn_mean, L->bn_istd, dz, L->bn_g->grad, L->bn_b->grad);
            if (L->kind == SNN_LAYER_CONV) {
                snn_conv_backward(prev, L->ic, nz, L->ih, L->iw, L->first ? pad0 : 0.0f,
                                  !L->first, L->w->data, L->oc, dz, L->w->grad, m->dwp,
                                  L->first ? NULL : gin, m->col);
            } else {
                snn_par_sgemm(CblasNoTrans, CblasNoTrans, (int)L->oc, (int)L->in_n, (int)nz, dz, (int)nz,
                              L->xt, (int)L->in_n, 0.0f, L->w->grad, (int)L->in_n);
                if (!L->first) {
                    snn_par_sgemm(CblasTrans, CblasNoTrans, (int)nz, (int)L->in_n, (int)L->oc, dz, (int)nz,
                                  L->w->data, (int)L->in_n, 0.0f, L->xt, (int)L->in_n);
                    snn_scatter_images(L->xt, L->ic, nz, L->ihw, gin);
                }
            }
        }
        float *tmp = g;
        g = gin;
        gin = tmp;
    }
}
