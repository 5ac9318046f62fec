/*
 * ckpt-diff.c - compare the tensors of two checkpoints numerically (the MPI
 * equivalence test, tests/mpi-train.sh).
 *
 *   ckpt-diff A.safetensors B.safetensors TOL [PREFIX]
 *
 * Every F32 tensor of A (whose name starts with PREFIX, default all) must
 * exist in B with the same shape. For each tensor the largest difference is
 * measured relative to the tensor's scale: max|a - b| / max(max|a|, 1e-3).
 * Prints one line per tensor and the worst one; exits 1 if the worst
 * exceeds TOL (or the files do not match in names or shapes), 2 on usage or
 * read errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: ckpt-diff A.safetensors B.safetensors TOL [PREFIX]\n");
        return 2;
    }
    const double tol = atof(argv[3]);
    const char *prefix = argc > 4 ? argv[4] : "";
    snn_st_file *a = NULL, *b = NULL;
    if (snn_st_read(argv[1], &a) != SNN_OK || snn_st_read(argv[2], &b) != SNN_OK) {
        fprintf(stderr, "ckpt-diff: %s\n", snn_last_error());
        snn_st_free(a);
        return 2;
    }
    int bad = 0;
    double worst = 0;
    const char *worst_name = "";
    size_t n_tensors = 0;
    for (size_t i = 0; i < snn_st_count(a); i++) {
        const snn_st_tensor *ta = snn_st_at(a, i);
        if (ta->dtype != SNN_ST_F32 || strncmp(ta->name, prefix, strlen(prefix))) continue;
        const snn_st_tensor *tb = snn_st_find(b, ta->name);
        if (!tb || tb->dtype != SNN_ST_F32 || tb->nbytes != ta->nbytes) {
            printf("%-40s missing or of another shape in %s\n", ta->name, argv[2]);
            bad = 1;
            continue;
        }
        const float *x = ta->data, *y = tb->data;
        const size_t n = ta->nbytes / sizeof(float);
        double dmax = 0, amax = 0;
        for (size_t k = 0; k < n; k++) {
            double d = fabs((double)x[k] - y[k]);
            if (!(d <= dmax)) dmax = d; /* NaN counts as the largest */
            if (fabs(x[k]) > amax) amax = fabs(x[k]);
        }
        double rel = dmax / (amax > 1e-3 ? amax : 1e-3);
        if (isnan(dmax)) rel = INFINITY;
        printf("%-40s %8zu values  max|a| %.4g  max|a-b| %.3g  relative %.3g\n", ta->name, n, amax,
               dmax, rel);
        if (!(rel <= worst)) {
            worst = rel;
            worst_name = ta->name;
        }
        n_tensors++;
    }
    if (!n_tensors) {
        printf("no F32 tensors named %s* in %s\n", prefix, argv[1]);
        bad = 1;
    }
    printf("worst relative difference %.3g (%s), tolerance %.3g: %s\n", worst, worst_name, tol,
           !bad && worst <= tol ? "ok" : "FAIL");
    snn_st_free(a);
    snn_st_free(b);
    return !bad && worst <= tol ? 0 : 1;
}
