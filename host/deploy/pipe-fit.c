/*
 * pipe-fit.c - the layer-pipeline kernel's configurations and its loader's
 * mapping and fit check (include/snn-pipe.h), mirrored from
 * rtl/snn_pipe_loader.sv state by state:
 *
 *   L_DESC   n_layers 1..16
 *   L_MAP    one layer at a time: ml (layer), ns (next conv stage), fc_seen,
 *            out_seen, bad (sticky), lof/pof (layer/pool of each stage),
 *            ich/c_h/c_w (channels and map of a pass-through stage)
 *   L_CHECK  fit_ok = !bad && fc_seen && out_seen && 1 <= T <= TM &&
 *            n_classes <= O_COUT && lof[0] == 0 && every conv stage within
 *            its maxima (cin, cout, h, w; h, w > 0) && the fc stage within
 *            its maxima && lof[4] set
 *
 * with the same integer widths (16-bit pass-through channels and maps,
 * 32-bit fc pixel product), so that the verdict is the kernel's for every
 * image the deploy parser accepts. A change to the loader's rule must be
 * made here too (tests/test-pipefit.c; tests/test-pipe.c checks the kernel).
 *
 * SNN_PIPE_CONFIG_TABLE is mk/sim.mk's PIPE_PARAMS_<config> as C
 * initialisers, {"ci",{.TM=8,.C0_CIN=3,...}},..., passed to this file only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "snn-pipe.h"

static const snn_pipe_config configs[] = {
#ifdef SNN_PIPE_CONFIG_TABLE
    SNN_PIPE_CONFIG_TABLE,
#endif
    {NULL, {0}, 0}, /* end */
};

const snn_pipe_config *snn_pipe_configs(uint32_t *n)
{
    uint32_t k = 0;
    while (configs[k].name)
        k++;
    if (n) *n = k;
    return configs;
}

const snn_pipe_config *snn_pipe_config_find(const char *name)
{
    for (const snn_pipe_config *c = configs; name && c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

const char *snn_pipe_config_names(void)
{
    static char buf[256];
    if (!buf[0]) {
        size_t k = 0;
        for (const snn_pipe_config *c = configs; c->name; c++)
            k += (size_t)snprintf(buf + k, k < sizeof buf ? sizeof buf - k : 0, "%s%s",
                                  c == configs ? "" : "|", c->name);
    }
    return buf;
}

#define NONE (-1)

static const char *kind_str(uint32_t kind)
{
    switch (kind) {
    case SNN_LAYER_CONV:
        return "conv";
    case SNN_LAYER_POOL:
        return "pool";
    case SNN_LAYER_FC:
        return "fc";
    default:
        return "out"; /* the loader's default branch */
    }
}

/* The maxima of conv stage s and the parameters that set them. */
typedef struct stage_max {
    uint32_t cin, cout, h, w;
    const char *cin_name, *cout_name, *h_name, *w_name;
} stage_max;

static stage_max conv_max(const snn_pipe_params *p, int s)
{
    stage_max m;
    switch (s) {
    case 0:
        m = (stage_max){p->C0_CIN, p->C0_COUT, p->C0_H, p->C0_W,
                        "C0_CIN",  "C0_COUT",  "C0_H",  "C0_W"};
        break;
    case 1:
        m = (stage_max){p->C0_COUT, p->C1_COUT, p->C1_H, p->C1_W,
                        "C0_COUT",  "C1_COUT",  "C1_H",  "C1_W"};
        break;
    default:
        m = (stage_max){p->C1_COUT, p->C2_COUT, p->C2_H, p->C2_W,
                        "C1_COUT",  "C2_COUT",  "C2_H",  "C2_W"};
        break;
    }
    return m;
}

/* The first reason for bad_q, kept until the end of the mapping. */
typedef struct why {
    int bad;
    char msg[320];
} why;

static void set_bad(why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_bad(why *w, const char *fmt, ...)
{
    if (w->bad++) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
}

#define STAGES "the stages are conv (image), conv, conv, fc, out"

snn_status snn_pipe_fit(const snn_net *net, const snn_pipe_config *cfg, snn_pipe_map *map_out)
{
    const snn_deploy_hdr *h = net->hdr;
    const snn_pipe_params *p = &cfg->p;
    const char *cn = cfg->name ? cfg->name : "?";
    snn_pipe_map map;
    for (int s = 0; s < SNN_PIPE_STAGES; s++)
        map.layer_of[s] = map.pool_of[s] = NONE;
    for (uint32_t l = 0; l < SNN_MAX_LAYERS; l++)
        map.stage[l] = NONE, map.pool[l] = 0;

    /* L_DESC */
    uint32_t n_layers = h->n_layers;
    if (n_layers == 0 || n_layers > 16)
        return snn_fail(SNN_ERR_UNSUPPORTED, "the network has %u layers; the loader reads 1 to 16",
                        n_layers);

    /* L_MAP */
    why w = {0, ""};
    int ns = 0, fc_seen = 0, out_seen = 0, fc_layer = NONE, out_layer = NONE;
    uint32_t ich[3] = {0, 0, 0}, ch[3] = {0, 0, 0}, cw[3] = {0, 0, 0};
    for (uint32_t ml = 0; ml < n_layers; ml++) {
        const snn_layer_desc *d = net->layers[ml].desc;
        const char *k = kind_str(d->kind);
        if (out_seen)
            set_bad(&w, "layer %u (%s) follows the out layer (layer %d); the out layer is the last",
                    ml, k, out_layer);
        switch (d->kind) {
        case SNN_LAYER_CONV:
            if (fc_seen)
                set_bad(&w, "layer %u (conv) follows the fc layer (layer %d); " STAGES, ml,
                        fc_layer);
            else if (ns == 3)
                set_bad(&w,
                        "layer %u (conv) needs a fourth conv stage; the layer-pipeline kernel "
                        "has three (a second pool in a row takes one as a pass-through; " STAGES
                        ")",
                        ml);
            else {
                map.layer_of[ns] = (int32_t)ml;
                map.stage[ml] = ns;
                ch[ns] = d->in_h & 0xFFFFu;
                cw[ns] = d->in_w & 0xFFFFu;
                ns++;
            }
            break;
        case SNN_LAYER_POOL:
            if (ml == 0 || fc_seen) {
                if (ml == 0)
                    set_bad(
                        &w,
                        "layer 0 (pool) reads the image; the first layer must be a conv (" STAGES
                        ")");
                else
                    set_bad(&w,
                            "layer %u (pool) follows the fc layer (layer %d); only a conv stage "
                            "folds a pool into its write",
                            ml, fc_layer);
            } else if (map.pool_of[(ns + 3) & 3] == NONE) {
                /* ns - 1 as the loader's 2-bit index: ns = 0 here only after a bad layer 0 */
                int s = (ns + 3) & 3;
                map.pool_of[s] = (int32_t)ml;
                map.stage[ml] = s;
                map.pool[ml] = 1;
            } else if (ns == 3) {
                set_bad(&w,
                        "layer %u (pool) is a second pool in a row and needs a pass-through conv "
                        "stage, but the three conv stages are taken (" STAGES ")",
                        ml);
            } else {
                ich[ns] = d->in_c & 0xFFFFu;
                ch[ns] = d->in_h & 0xFFFFu;
                cw[ns] = d->in_w & 0xFFFFu;
                map.pool_of[ns] = (int32_t)ml;
                map.stage[ml] = ns;
                map.pool[ml] = 1;
                ns++;
            }
            break;
        case SNN_LAYER_FC:
            if (ml == 0)
                set_bad(&w,
                        "layer 0 (fc) reads the image; stage 0 of the layer-pipeline kernel is a "
                        "conv on the image, so an fc on the image does not fit (" STAGES ")");
            else if (fc_seen)
                set_bad(&w,
                        "layer %u (fc) is a second fc layer (the first is layer %d); the "
                        "layer-pipeline kernel has one fc stage",
                        ml, fc_layer);
            else {
                fc_seen = 1;
                fc_layer = (int32_t)ml;
                map.layer_of[SNN_PIPE_FC] = (int32_t)ml;
                map.stage[ml] = SNN_PIPE_FC;
                for (int s = 1; s < 3; s++)
                    if (s >= ns) {
                        ich[s] = d->in_c & 0xFFFFu;
                        ch[s] = d->in_h & 0xFFFFu;
                        cw[s] = d->in_w & 0xFFFFu;
                    }
                if (ns == 0) /* unreachable after a conv at layer 0: the loader's check */
                    set_bad(&w, "layer %u (fc) has no conv before it (" STAGES ")", ml);
                ns = 3;
            }
            break;
        default: /* out */
            if (!fc_seen)
                set_bad(&w,
                        "layer %u (out) has no fc layer before it; the out stage reads the fc "
                        "stage (" STAGES ")",
                        ml);
            else if ((int32_t)ml != fc_layer + 1)
                set_bad(&w, "layer %u (out) does not directly follow the fc layer (layer %d)", ml,
                        fc_layer);
            out_seen = 1;
            out_layer = (int32_t)ml;
            map.layer_of[SNN_PIPE_OUT] = (int32_t)ml;
            map.stage[ml] = SNN_PIPE_OUT;
            break;
        }
    }

    /* L_CHECK */
    if (w.bad) return snn_fail(SNN_ERR_UNSUPPORTED, "%s", w.msg);
    if (!fc_seen) return snn_fail(SNN_ERR_UNSUPPORTED, "the network has no fc layer (" STAGES ")");
    if (!out_seen)
        return snn_fail(SNN_ERR_UNSUPPORTED, "the network has no out layer (" STAGES ")");
    if (h->timesteps < 1 || h->timesteps > p->TM)
        return snn_fail(SNN_ERR_UNSUPPORTED, "T = %u time steps; configuration %s holds %u (TM)",
                        h->timesteps, cn, p->TM);
    if (h->n_classes > p->O_COUT)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "%u classes; the out stage of configuration %s holds %u (O_COUT)",
                        h->n_classes, cn, p->O_COUT);
    if (map.layer_of[0] != 0)
        return snn_fail(SNN_ERR_UNSUPPORTED, "layer 0 is not a conv (" STAGES ")");
    for (int s = 0; s < 3; s++) {
        stage_max m = conv_max(p, s);
        uint32_t cin, cout, hh, ww;
        char who[96];
        if (map.layer_of[s] != NONE) {
            const snn_layer_desc *d = net->layers[map.layer_of[s]].desc;
            cin = d->in_c, cout = d->out_c, hh = d->in_h, ww = d->in_w;
            snprintf(who, sizeof who, "layer %d (conv)", map.layer_of[s]);
        } else {
            cin = cout = ich[s], hh = ch[s], ww = cw[s];
            int by = map.pool_of[s] != NONE ? map.pool_of[s] : fc_layer;
            snprintf(who, sizeof who, "the pass-through on conv stage %d for layer %d (%s)", s, by,
                     kind_str(net->layers[by].desc->kind));
        }
        if (cin > m.cin)
            return snn_fail(
                SNN_ERR_UNSUPPORTED,
                "%s has %u input channels; conv stage %d of configuration %s holds %u (%s)", who,
                cin, s, cn, m.cin, m.cin_name);
        if (cout > m.cout)
            return snn_fail(
                SNN_ERR_UNSUPPORTED,
                "%s has %u output channels; conv stage %d of configuration %s holds %u (%s)", who,
                cout, s, cn, m.cout, m.cout_name);
        if (hh > m.h)
            return snn_fail(
                SNN_ERR_UNSUPPORTED,
                "%s has %u-row maps; conv stage %d of configuration %s holds %u rows (%s)", who, hh,
                s, cn, m.h, m.h_name);
        if (ww > m.w)
            return snn_fail(SNN_ERR_UNSUPPORTED,
                            "%s has %u-pixel rows; conv stage %d of configuration %s holds %u (%s)",
                            who, ww, s, cn, m.w, m.w_name);
        if (hh == 0 || ww == 0)
            return snn_fail(SNN_ERR_UNSUPPORTED, "%s has an empty %u x %u map", who, hh, ww);
    }
    const snn_layer_desc *f = net->layers[fc_layer].desc;
    uint32_t f_px = f->in_h * f->in_w; /* 32-bit, as the loader multiplies */
    if (f->in_c > p->C2_COUT)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "layer %d (fc) has %u input channels; the fc stage of configuration %s "
                        "holds %u (C2_COUT)",
                        fc_layer, f->in_c, cn, p->C2_COUT);
    if (f_px > p->F_HW)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "layer %d (fc) has %u input pixels; the fc stage of configuration %s holds "
                        "%u (F_HW)",
                        fc_layer, f_px, cn, p->F_HW);
    if (f->out_c > p->F_COUT)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "layer %d (fc) has %u outputs; the fc stage of configuration %s holds %u "
                        "(F_COUT)",
                        fc_layer, f->out_c, cn, p->F_COUT);
    if (map_out) *map_out = map;
    return SNN_OK;
}
