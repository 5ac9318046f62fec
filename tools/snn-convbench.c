/*
 * snn-convbench.c - the trainer's 3x3 convolution of a spike input, dense
 * (Winograd where built with AVX-512, else im2col + sgemm; MPBN_DENSE_CONV
 * chooses) against event-driven (host/train/layer-conv-spike.c), at
 * several spike rates, on one thread (`make bench-conv`).
 *
 *   snn-convbench [REPEAT_SECONDS]
 *
 * For each layer shape (the default and the accuracy recipe's networks,
 * T = 4 x batch 64 = 256 images) and rate, random spikes at that rate go
 * through the forward and the backward (weight and input gradients) of
 * both paths; the figure is the best of three timings of at least
 * REPEAT_SECONDS (0.3) each, in microseconds per image. The forward
 * outputs of both paths are compared (they differ by float rounding only).
 * The crossing rates are where the layer entry points stop taking the
 * event-driven path (max_rate_fwd/bwd in host/train/layer-conv.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/train-impl.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    uint32_t cin, cout, n, h, w;
    float *in, *wt, *out, *dout, *dw, *dwp, *din, *col;
} shape;

static void run_fwd(shape *s) { snn_conv_forward(s->in, s->cin, s->n, s->h, s->w, 0.0f, 1, s->wt, s->cout, s->out, s->col); }

static void run_bwd(shape *s)
{
    snn_conv_backward(s->in, s->cin, s->n, s->h, s->w, 0.0f, 1, s->wt, s->cout, s->dout, s->dw, s->dwp,
                      s->din, s->col);
}

/* best of 3 runs of >= secs each: microseconds per image */
static double timeit(void (*fn)(shape *), shape *s, double secs)
{
    double best = INFINITY;
    for (int r = 0; r < 3; r++) {
        uint32_t k = 0;
        const double t0 = now();
        double t;
        do {
            fn(s);
            k++;
            t = now() - t0;
        } while (t < secs);
        if (t / k < best) best = t / k;
    }
    return 1e6 * best / s->n;
}

static void *xmalloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) {
        fprintf(stderr, "snn-convbench: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* The buffers of a shape, random weights and dout; returns a buffer for a
 * reference output (as large as the input or the output) */
static float *shape_alloc(shape *s, uint64_t *rng)
{
    const size_t nin = (size_t)s->cin * s->n * s->h * s->w, nout = (size_t)s->cout * s->n * s->h * s->w;
    const size_t nw = (size_t)s->cout * s->cin * 9;
    uint32_t chunk, tasks;
    size_t colf;
    snn_conv_plan(s->cin, s->cout, s->h, s->w, s->n, &chunk, &tasks, &colf);
    s->in = xmalloc(nin * 4), s->wt = xmalloc(nw * 4), s->out = xmalloc(nout * 4);
    s->dout = xmalloc(nout * 4), s->dw = xmalloc(nw * 4), s->dwp = xmalloc((size_t)tasks * nw * 4);
    s->din = xmalloc(nin * 4), s->col = xmalloc(colf * 4);
    for (size_t i = 0; i < nw; i++) s->wt[i] = (float)(snn_rng_uniform(rng) - 0.5);
    for (size_t i = 0; i < nout; i++) s->dout[i] = (float)(snn_rng_uniform(rng) - 0.5);
    return xmalloc((nout > nin ? nout : nin) * 4);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void shape_free(shape *s, float *ref)
{
    free(s->in), free(s->wt), free(s->out), free(s->dout), free(s->dw), free(s->dwp), free(s->din);
    free(s->col), free(ref);
}

/* The dense convolutions: the forward of a real-valued input (the first
 * layer's image; any layer with the spike path off) and the input gradient
 * (dout is dense): im2col + sgemm, direct and Winograd. The backward is
 * timed with the event-driven weight gradient in every column, so the
 * difference is the input gradient's. */
static int dense_table(double secs)
{
    static const struct { const char *name; uint32_t cin, cout, n, h, w; } shapes[] = {
        {"default conv 1", 1, 32, 64, 28, 28},    {"default conv 2", 32, 32, 256, 28, 28},
        {"default conv 3", 32, 64, 256, 14, 14},  {"recipe conv 1", 1, 64, 64, 28, 28},
        {"recipe conv 2", 64, 64, 256, 28, 28},   {"recipe conv 3", 64, 128, 256, 14, 14},
    };
    static const int modes[3] = {SNN_DENSE_GEMM, SNN_DENSE_DIRECT, SNN_DENSE_WINOGRAD};
    printf("\nDense convolutions: im2col + sgemm, direct (host/train/layer-conv-direct.c) and Winograd\n");
    printf("F(2x2, 3x3) (host/train/layer-conv-winograd.c), 1 thread, us per image; conv 1 on 64 images (the\n");
    printf("batch: its input does not depend on T), the others on 256; the backward is the event-driven weight\n");
    printf("gradient (rate 0.2) + the input gradient, so only the input gradient differs (conv 1 has none: its\n");
    printf("input is the image; with fewer than 8 input channels the trainer keeps the GEMM in every column)\n\n");
    printf("| layer | fwd GEMM | fwd direct | fwd Winograd | bwd GEMM | bwd direct | bwd Winograd |\n");
    printf("|---|---|---|---|---|---|---|\n");
    uint64_t rng = 7;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        shape s = {.cin = shapes[si].cin, .cout = shapes[si].cout, .n = shapes[si].n, .h = shapes[si].h,
                   .w = shapes[si].w};
        const size_t nin = (size_t)s.cin * s.n * s.h * s.w, nout = (size_t)s.cout * s.n * s.h * s.w;
        float *ref = shape_alloc(&s, &rng);
        double t[6] = {0};
        const int first = s.cin == 1;
        /* forward of a real-valued input (dense path whatever the spike mode) */
        for (size_t i = 0; i < nin; i++) s.in[i] = (float)snn_rng_uniform(&rng);
        snn_conv_set_spike_path(SNN_SPIKE_PATH_OFF);
        for (int m = 0; m < 3; m++) {
            snn_conv_set_dense(modes[m]);
            run_fwd(&s);
            if (!m) memcpy(ref, s.out, nout * 4);
            const double maxd = m ? max_diff(s.out, ref, nout) : 0;
            if (maxd > 1e-3) {
                fprintf(stderr, "snn-convbench: %s: dense forward %d and GEMM differ by %g\n", shapes[si].name,
                        m, maxd);
                return 1;
            }
            t[m] = timeit(run_fwd, &s, secs);
        }
        /* backward: event-driven dW of spikes at rate 0.2 + the input gradient */
        for (size_t i = 0; i < nin; i++) s.in[i] = snn_rng_uniform(&rng) < 0.2 ? 1.0f : 0.0f;
        snn_conv_set_spike_path(SNN_SPIKE_PATH_ALWAYS);
        for (int m = 0; !first && m < 3; m++) {
            snn_conv_set_dense(modes[m]);
            run_bwd(&s);
            if (!m) memcpy(ref, s.din, nin * 4);
            const double maxd = m ? max_diff(s.din, ref, nin) : 0;
            if (maxd > 1e-3) {
                fprintf(stderr, "snn-convbench: %s: input gradient %d and GEMM differ by %g\n",
                        shapes[si].name, m, maxd);
                return 1;
            }
            t[3 + m] = timeit(run_bwd, &s, secs);
        }
        if (first)
            printf("| %s (%ux%u, %u->%u) | %.1f | %.1f | %.1f | - | - | - |\n", shapes[si].name, s.h, s.w,
                   s.cin, s.cout, t[0], t[1], t[2]);
        else
            printf("| %s (%ux%u, %u->%u) | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", shapes[si].name, s.h,
                   s.w, s.cin, s.cout, t[0], t[1], t[2], t[3], t[4], t[5]);
        fflush(stdout);
        shape_free(&s, ref);
    }
    snn_conv_set_spike_path(SNN_SPIKE_PATH_AUTO);
    return 0;
}

int main(int argc, char **argv)
{
    const double secs = argc > 1 ? atof(argv[1]) : 0.3;
    if (argc > 2 || !(secs > 0)) {
        fprintf(stderr, "usage: snn-convbench [REPEAT_SECONDS]\n");
        return 2;
    }
    snn_par_set_threads(1);
    static const struct { const char *name; uint32_t cin, cout, h, w; } shapes[] = {
        {"default conv 2", 32, 32, 28, 28}, {"default conv 3", 32, 64, 14, 14},
        {"recipe conv 2", 64, 64, 28, 28},  {"recipe conv 3", 64, 128, 14, 14},
    };
    static const double rates[] = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5};
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("3x3 conv of spikes, 256 images (T 4 x batch 64), 1 thread, OPENBLAS_CORETYPE=%s\n",
           ct ? ct : "(OpenBLAS's choice)");
    const char *dc = getenv("MPBN_DENSE_CONV");
    printf("us per image; backward = weight + input gradient; speed-up = dense / event-driven; dense: %s\n\n",
           dc ? dc : "the trainer's default (winograd with AVX-512, gemm otherwise)");
    printf("| layer | rate | fwd dense | fwd event | speed-up | bwd dense | bwd event | speed-up | fwd+bwd speed-up |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    uint64_t rng = 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        shape s = {.cin = shapes[si].cin, .cout = shapes[si].cout, .n = 256, .h = shapes[si].h, .w = shapes[si].w};
        const size_t nin = (size_t)s.cin * s.n * s.h * s.w, nout = (size_t)s.cout * s.n * s.h * s.w;
        float *ref = shape_alloc(&s, &rng);
        for (size_t ri = 0; ri < sizeof rates / sizeof rates[0]; ri++) {
            for (size_t i = 0; i < nin; i++) s.in[i] = snn_rng_uniform(&rng) < rates[ri] ? 1.0f : 0.0f;
            double t[4];
            snn_conv_set_spike_path(SNN_SPIKE_PATH_OFF);
            run_fwd(&s);
            memcpy(ref, s.out, nout * 4);
            t[0] = timeit(run_fwd, &s, secs);
            t[2] = timeit(run_bwd, &s, secs);
            snn_conv_set_spike_path(SNN_SPIKE_PATH_ALWAYS);
            run_fwd(&s);
            const double maxd = max_diff(s.out, ref, nout);
            if (maxd > 1e-3) {
                fprintf(stderr, "snn-convbench: %s, rate %.2f: the paths differ by %g\n", shapes[si].name,
                        rates[ri], maxd);
                return 1;
            }
            t[1] = timeit(run_fwd, &s, secs);
            t[3] = timeit(run_bwd, &s, secs);
            printf("| %s (%ux%u, %u->%u) | %.2f | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.2f |\n",
                   shapes[si].name, s.h, s.w, s.cin, s.cout, rates[ri], t[0], t[1], t[0] / t[1], t[2], t[3],
                   t[2] / t[3], (t[0] + t[2]) / (t[1] + t[3]));
            fflush(stdout);
        }
        shape_free(&s, ref);
    }
    return dense_table(secs);
}
