/*
 * vec16.h - a vector of 16 floats (GCC vector extension) and its unaligned
 * load and store, for the trainer's hand-vectorised kernels (layer-lif.c,
 * layer-conv-spike.c).
 *
 * With AVX-512 one v16f is one register; without it GCC splits it into
 * narrower ones. The helpers are static inline, so no 64-byte vector is
 * passed across a call between separately compiled code: GCC's -Wpsabi note
 * about that ABI does not apply, and is silenced for the including file
 * (it would break -Werror builds on CPUs without AVX-512).
 */
#ifndef SNN_TRAIN_VEC16_H
#define SNN_TRAIN_VEC16_H

#include <string.h>

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64)));

static inline v16f ld16(const float *p)
{
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st16(float *p, v16f v) { memcpy(p, &v, sizeof v); }

#endif
