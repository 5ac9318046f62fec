/*
 * landscape.c - 1-D loss landscape along a filter-normalised random
 * direction (landscape.h; `mpbn landscape`, host/cli/cmd-landscape.c).
 */
#include "landscape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train-impl.h"

_Static_assert(SNN_MAX_LAYERS * 10 + 4 == SNN_MAX_PARAMS, "snn_landscape_dir.off size");

#define LANDSCAPE_BATCH 100u

/* ---- direction ------------------------------------------------------------------ */

/* N(0,1) by Box-Muller from the splitmix64 stream (one value per call; the
 * second value of the pair is dropped, so the stream position depends only
 * on the count). */
static double gauss(uint64_t *s)
{
    double u1 = snn_rng_uniform(s), u2 = snn_rng_uniform(s);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

snn_status snn_landscape_direction(const snn_model *m, uint64_t seed, snn_landscape_dir *dir)
{
    memset(dir, 0, sizeof *dir);
    size_t n = 0;
    for (uint32_t i = 0; i < m->n_params; i++) {
        dir->off[i] = n;
        n += m->params[i].n;
    }
    float *d = snn_malloc((n ? n : 1) * sizeof(float));
    if (!d) return SNN_ERR_NOMEM;
    memset(d, 0, (n ? n : 1) * sizeof(float));
    uint64_t s = seed;
    uint32_t filters = 0;
    for (uint32_t i = 0; i < m->n_params; i++) {
        const snn_param *p = &m->params[i];
        if (p->kind != SNN_PARAM_WEIGHT || p->ndim < 2 || p->shape[0] <= 0) continue;
        /* conv [Cout][Cin][3][3], fc [out][in]: a filter is one row */
        const size_t rows = (size_t)p->shape[0], per = p->n / rows;
        float *dp = d + dir->off[i];
        for (size_t r = 0; r < rows; r++) {
            const float *w = p->data + r * per;
            float *v = dp + r * per;
            double wn = 0, dn = 0;
            for (size_t k = 0; k < per; k++) {
                double g = gauss(&s);
                v[k] = (float)g;
                dn += g * g;
                wn += (double)w[k] * w[k];
            }
            if (wn <= 0 || dn <= 0) {
                memset(v, 0, per * sizeof(float));
                continue;
            }
            const double sc = sqrt(wn / dn);
            for (size_t k = 0; k < per; k++) v[k] = (float)(v[k] * sc);
            filters++;
        }
    }
    dir->n_params = m->n_params;
    dir->n = n;
    dir->d = d;
    dir->n_filters = filters;
    return SNN_OK;
}

void snn_landscape_dir_free(snn_landscape_dir *dir)
{
    if (!dir) return;
    free(dir->d);
    memset(dir, 0, sizeof *dir);
}

const float *snn_landscape_dir_param(const snn_model *m, const snn_landscape_dir *dir,
                                     const char *name, uint32_t *n)
{
    for (uint32_t i = 0; i < m->n_params && i < dir->n_params; i++)
        if (!strcmp(m->params[i].name, name)) {
            if (n) *n = (uint32_t)m->params[i].n;
            return dir->d + dir->off[i];
        }
    return NULL;
}

/* ---- loss ------------------------------------------------------------------------- */

static snn_status check_data(const snn_model *m, const snn_dataset *ds)
{
    if (ds->c != m->cfg.in_c || ds->h != m->cfg.in_h || ds->w != m->cfg.in_w)
        return snn_fail(SNN_ERR_FORMAT, "data set images are %ux%ux%u but the model expects %ux%ux%u",
                        ds->c, ds->h, ds->w, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w);
    if (ds->n == 0) return snn_fail(SNN_ERR_ARG, "no images to evaluate the loss on");
    char why[96];
    snprintf(why, sizeof why, "the model has %u classes", m->cfg.n_classes);
    return snn_dataset_check_labels(ds, m->cfg.n_classes, why);
}

snn_status snn_landscape_loss(snn_model *m, const snn_dataset *ds, uint32_t batch, double *loss,
                              double *acc)
{
    snn_status st = check_data(m, ds);
    if (st != SNN_OK) return st;
    if (batch == 0) batch = LANDSCAPE_BATCH;
    if (batch > ds->n) batch = ds->n;
    if ((st = snn_model_workspace(m, batch)) != SNN_OK) return st;
    const size_t px = (size_t)ds->c * ds->h * ds->w;
    double sum = 0;
    uint64_t ok = 0;
    for (uint32_t i0 = 0; i0 < ds->n; i0 += batch) {
        uint32_t B = ds->n - i0 < batch ? ds->n - i0 : batch, c = 0;
        snn_model_load_input(m, ds->pixels + (size_t)i0 * px, NULL, B, NULL);
        snn_model_forward(m, B, 0);
        sum += snn_model_loss(m, B, ds->labels + i0, &c) * B;
        ok += c;
    }
    *loss = sum / ds->n;
    if (acc) *acc = (double)ok / ds->n;
    return SNN_OK;
}

snn_status snn_landscape_eval(snn_model *m, const snn_dataset *ds, const snn_landscape_dir *dir,
                              const double *alphas, uint32_t n, uint32_t batch,
                              snn_landscape_cb cb, void *ctx, double *loss, double *acc)
{
    if (dir->n_params != m->n_params)
        return snn_fail(SNN_ERR_ARG, "the direction was drawn for another model");
    snn_status st = check_data(m, ds);
    if (st != SNN_OK) return st;
    float *theta = snn_malloc((dir->n ? dir->n : 1) * sizeof(float));
    if (!theta) return SNN_ERR_NOMEM;
    for (uint32_t i = 0; i < m->n_params; i++)
        memcpy(theta + dir->off[i], m->params[i].data, m->params[i].n * sizeof(float));
    for (uint32_t a = 0; a < n && st == SNN_OK; a++) {
        const float al = (float)alphas[a];
        for (uint32_t i = 0; i < m->n_params; i++) {
            const snn_param *p = &m->params[i];
            if (p->kind != SNN_PARAM_WEIGHT) continue;
            const float *t0 = theta + dir->off[i], *d = dir->d + dir->off[i];
            for (size_t k = 0; k < p->n; k++) p->data[k] = t0[k] + al * d[k];
        }
        double l = 0, c = 0;
        st = snn_landscape_loss(m, ds, batch, &l, &c);
        if (st != SNN_OK) break;
        if (!isfinite(l)) l = INFINITY; /* a diverged point: reported, not an error */
        loss[a] = l;
        if (acc) acc[a] = c;
        if (cb) cb(a, alphas[a], l, c, ctx);
    }
    for (uint32_t i = 0; i < m->n_params; i++)
        memcpy(m->params[i].data, theta + dir->off[i], m->params[i].n * sizeof(float));
    free(theta);
    return st;
}

/* ---- grid and figures ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

uint32_t snn_landscape_grid(uint32_t n, double range, double *out)
{
    uint32_t k = 0;
    if (n < 2) n = 2;
    for (uint32_t i = 0; i < n; i++) out[k++] = -range + 2.0 * range * i / (n - 1);
    static const double special[] = {0, -0.25, 0.25, -0.5, 0.5};
    for (size_t s = 0; s < sizeof special / sizeof special[0]; s++)
        if (fabs(special[s]) <= range) out[k++] = special[s];
    qsort(out, k, sizeof *out, cmp_double);
    /* merge values closer than rounding; keep the special (exact) one */
    uint32_t m = 0;
    const double tol = 1e-9 * (range > 1 ? range : 1);
    for (uint32_t i = 0; i < k; i++) {
        if (m && fabs(out[i] - out[m - 1]) <= tol) {
            for (size_t s = 0; s < sizeof special / sizeof special[0]; s++)
                if (out[i] == special[s]) out[m - 1] = out[i];
            continue;
        }
        out[m++] = out[i];
    }
    return m;
}

static double interp(const double *x, const double *y, uint32_t n, double at)
{
    if (n == 0 || at < x[0] || at > x[n - 1]) return NAN;
    for (uint32_t i = 0; i < n; i++) {
        if (x[i] == at) return y[i];
        if (i + 1 < n && x[i] < at && at < x[i + 1])
            return y[i] + (y[i + 1] - y[i]) * (at - x[i]) / (x[i + 1] - x[i]);
    }
    return NAN;
}

void snn_landscape_stats_of(const double *alphas, const double *loss, uint32_t n,
                            snn_landscape_stats *s)
{
    s->loss0 = NAN;
    s->min_loss = INFINITY;
    s->max_loss = -INFINITY;
    s->alpha_min = NAN;
    for (uint32_t i = 0; i < n; i++) {
        if (alphas[i] == 0) s->loss0 = loss[i];
        if (loss[i] < s->min_loss) {
            s->min_loss = loss[i];
            s->alpha_min = alphas[i];
        }
        if (loss[i] > s->max_loss) s->max_loss = loss[i];
    }
    s->loss_m05 = interp(alphas, loss, n, -0.5);
    s->loss_m025 = interp(alphas, loss, n, -0.25);
    s->loss_p025 = interp(alphas, loss, n, 0.25);
    s->loss_p05 = interp(alphas, loss, n, 0.5);
    s->rise_025 = 0.5 * (s->loss_m025 + s->loss_p025) - s->min_loss;
    s->rise_05 = 0.5 * (s->loss_m05 + s->loss_p05) - s->min_loss;
}
