/*
 * snn-pipe-bench.c - the layer-pipeline RTL kernel (rtl/snn_kernel.sv)
 * in Verilator on a real network and real test images: cycles, images/s at
 * the card clock, and every record checked against the golden model.
 *
 *     build/tools/snn-pipe-bench MODEL.snn [--images N] [--data DIR]
 *                                [--config card] [--mhz 300] [--backpressure P]
 *
 * Runs, on one kernel instance: one image (its cycles include the model
 * load), one image again (the model stays on chip: the latency of one image
 * alone), a batch of 64, then the remaining N - 66 images as one batch.
 * Reported:
 *   load_cycles            first run minus the second
 *   latency_cycles         one image alone, model loaded
 *   cycles_per_image       kernel cycles of the 64-image batch / 64 (the
 *                          meaning of the other devices' JSON)
 *   interval               (cycles(64) - latency) / 63: the steady-state
 *                          cycles between two finished images
 *   images_per_s           MHz * 1e6 / interval
 *   mismatches             record words that differ from ref (sums, pred,
 *                          spikes, synops, events), all images
 *   stages                 per stage: the layer it computes, its adders
 *                          (conv: engines x out channels x TM; the image stage
 *                          engines x out channels, its MACs serve every step;
 *                          fc and out: out channels x TM), the useful adds of
 *                          an image (its layer's synops, averaged) and the
 *                          utilisation useful / (adders x interval)
 * The library is build/sim/libsnn-sim-pipe-<config>.so ($MPBN_SIM_DIR).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deploy/snn-deploy.h"
#include "io/snn-data.h"
#include "sim/snn-sim.h"
#include "snn-pipe.h"
#include "snn-common.h"
#include "snn-regmap.h"

static const snn_sim_api *A;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int reg64(snn_sim_t *s, uint32_t lo, uint64_t v)
{
    return A->reg_write(s, lo, (uint32_t)v) || A->reg_write(s, lo + 4, (uint32_t)(v >> 32));
}

/* One run; 0 on success. */
static int run(snn_sim_t *s, uint64_t model, const uint8_t *px, size_t pxb, uint32_t n, uint8_t *out,
               size_t stride, uint64_t *cycles)
{
    uint64_t images, results;
    if (A->alloc(s, pxb * n, &images) || A->alloc(s, stride * n, &results) ||
        A->mem_write(s, images, px, pxb * n) || reg64(s, SNN_REG_MODEL_LO, model) ||
        reg64(s, SNN_REG_IMAGES_LO, images) || reg64(s, SNN_REG_RESULTS_LO, results) ||
        reg64(s, SNN_REG_TRACE_LO, 0) || A->reg_write(s, SNN_REG_N_IMAGES, n) ||
        A->run(s, UINT64_MAX / 2, cycles) || A->mem_read(s, results, out, stride * n) ||
        A->free(s, images) || A->free(s, results)) {
        fprintf(stderr, "snn-pipe-bench: %s\n", A->error(s));
        return 1;
    }
    return 0;
}

/* Utilisation of every stage that computes a layer (see the header). */
static void print_stages(const snn_net *net, const uint8_t *ref, uint32_t n, double interval)
{
    snn_sim_info in;
    A->info(&in);
    snn_pipe_config pc = {in.config, in.pipe, 0};
    snn_pipe_map map;
    printf(" \"stages\": [");
    if (snn_pipe_fit(net, &pc, &map) != SNN_OK) {
        printf("]\n");
        return;
    }
    const snn_pipe_params *p = &in.pipe;
    const double adders[SNN_PIPE_STAGES] = {
        (double)p->C0_E * p->C0_COUT, (double)p->C1_E * p->C1_COUT * p->TM,
        (double)p->C2_E * p->C2_COUT * p->TM, (double)p->F_COUT * p->TM,
        (double)p->O_COUT * p->TM};
    static const char *names[SNN_PIPE_STAGES] = {"conv0", "conv1", "conv2", "fc", "out"};
    uint32_t K = net->hdr->n_classes, L = net->n_layers;
    size_t stride = snn_result_stride(K, L);
    int first = 1;
    for (int s = 0; s < SNN_PIPE_STAGES; s++) {
        int l = map.layer_of[s];
        if (l < 0) continue;
        double useful = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, ref + i * stride + 4u * (K + 1 + L + (uint32_t)l), 4);
            useful += v;
        }
        useful /= n;
        printf("%s\n  {\"stage\": \"%s\", \"layer\": %d, \"adders\": %.0f, "
               "\"useful_adds_per_image\": %.0f, \"utilisation\": %.3f}",
               first ? "" : ",", names[s], l, adders[s], useful,
               useful / (adders[s] * interval));
        first = 0;
    }
    printf("]\n");
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *config = "card";
    uint32_t n_img = 200, bp = 0;
    double mhz = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--images") && v) n_img = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--data") && v) data = argv[++i];
        else if (!strcmp(a, "--config") && v) config = argv[++i];
        else if (!strcmp(a, "--mhz") && v) mhz = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--backpressure") && v) bp = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (a[0] != '-' && !model_path) model_path = a;
        else {
            fprintf(stderr, "usage: snn-pipe-bench MODEL.snn [--images N >= 67] [--data DIR] "
                            "[--config card] [--mhz 300] [--backpressure P]\n");
            return 2;
        }
    }
    if (!model_path || n_img < 67 || mhz <= 0) {
        fprintf(stderr, "snn-pipe-bench: needs MODEL.snn and --images of at least 67\n");
        return 2;
    }

    const char *dir = getenv("MPBN_SIM_DIR");
    char lib[PATH_MAX + 64];
    snprintf(lib, sizeof lib, "%s/libsnn-sim-pipe-%s.so", dir && dir[0] ? dir : "build/sim", config);
    void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "snn-pipe-bench: %s (build it with `make sim-pipe PIPE_CONFIGS=%s`)\n",
                dlerror(), config);
        return 1;
    }
    snn_sim_get_api_fn get = (snn_sim_get_api_fn)dlsym(dl, SNN_SIM_ENTRY);
    if (!get || (A = get())->abi != SNN_SIM_ABI) {
        fprintf(stderr, "snn-pipe-bench: %s is not a simulator library of this version\n", lib);
        return 1;
    }

    uint8_t *raw = NULL;
    size_t size = 0;
    snn_net net;
    snn_dataset ds = {0};
    snn_io_note_input(model_path);
    if (snn_file_read(model_path, 1u << 30, &raw, &size) != SNN_OK ||
        snn_deploy_parse(raw, size, &net) != SNN_OK || snn_dataset_load(data, "t10k", n_img, &ds) != SNN_OK) {
        fprintf(stderr, "snn-pipe-bench: %s\n", snn_last_error());
        return 1;
    }
    const snn_deploy_hdr *h = net.hdr;
    if (ds.c != h->in_c || ds.h != h->in_h || ds.w != h->in_w || ds.n < 67) {
        fprintf(stderr, "snn-pipe-bench: %u images of %ux%ux%u; the model expects %ux%ux%u (67 or more)\n",
                ds.n, ds.c, ds.h, ds.w, h->in_c, h->in_h, h->in_w);
        return 1;
    }
    n_img = ds.n;
    uint32_t K = h->n_classes, L = net.n_layers;
    size_t stride = snn_result_stride(K, L), pxb = (size_t)h->in_c * h->in_h * h->in_w;
    uint8_t *ref = calloc(n_img, stride), *got = calloc(n_img, stride);
    if (!ref || !got) {
        fprintf(stderr, "snn-pipe-bench: out of memory\n");
        return 1;
    }
    snn_ref_run(&net, ds.pixels, n_img, ref, NULL);

    snn_sim_cfg cfg = {0};
    cfg.backpressure = bp;
    cfg.seed = 1;
    char err[512];
    snn_sim_t *s = A->create(&cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "snn-pipe-bench: %s\n", err);
        return 1;
    }
    uint64_t model, c1, clat, c64, cr;
    if (A->alloc(s, size, &model) || A->mem_write(s, model, raw, size)) {
        fprintf(stderr, "snn-pipe-bench: %s\n", A->error(s));
        return 1;
    }
    double t0 = now();
    if (run(s, model, ds.pixels, pxb, 1, got, stride, &c1) ||
        run(s, model, ds.pixels + pxb, pxb, 1, got + stride, stride, &clat) ||
        run(s, model, ds.pixels + 2 * pxb, pxb, 64, got + 2 * stride, stride, &c64) ||
        run(s, model, ds.pixels + 66 * pxb, pxb, n_img - 66, got + 66 * stride, stride, &cr))
        return 1;
    double wall = now() - t0;
    A->destroy(s);

    uint64_t bad = 0, wrong_pred = 0;
    for (uint32_t i = 0; i < n_img; i++) {
        if (memcmp(ref + i * stride, got + i * stride, 4 * snn_result_words(K, L))) {
            for (uint32_t k = 0; k < snn_result_words(K, L); k++)
                bad += memcmp(ref + i * stride + 4 * k, got + i * stride + 4 * k, 4) != 0;
        }
        int32_t p;
        memcpy(&p, got + i * stride + 4 * K, 4);
        wrong_pred += (uint32_t)p != ds.labels[i];
    }
    double interval = (double)(c64 - clat) / 63.0;
    printf("{\"model\": \"%s\", \"config\": \"%s\", \"images\": %u, \"backpressure\": %u,\n", model_path,
           config, n_img, bp);
    printf(" \"load_cycles\": %llu, \"latency_cycles\": %llu, \"cycles_batch_64\": %llu, "
           "\"cycles_per_image\": %.1f,\n",
           (unsigned long long)(c1 - clat), (unsigned long long)clat, (unsigned long long)c64,
           (double)c64 / 64.0);
    printf(" \"interval_cycles\": %.1f, \"mhz\": %.0f, \"images_per_s\": %.0f,\n", interval, mhz,
           mhz * 1e6 / interval);
    printf(" \"accuracy\": %.4f, \"mismatched_words\": %llu, \"sim_images_per_s\": %.2f,\n",
           1.0 - (double)wrong_pred / n_img, (unsigned long long)bad, n_img / wall);
    print_stages(&net, ref, n_img, interval);
    printf("}\n");
    free(ref);
    free(got);
    free(raw);
    snn_dataset_free(&ds);
    return bad ? 1 : 0;
}
