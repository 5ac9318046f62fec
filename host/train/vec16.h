/*
 * vec16.h - a vector of 16 floats (GCC vector extension) and its unaligned
 * load and store, and a 16x16 block transpose, for the trainer's
 * hand-vectorised kernels (layer-lif.c, layer-conv-*.c).
 *
 * With AVX-512 one v16f is one register; without it GCC splits it into
 * narrower ones. The helpers are static inline, so no 64-byte vector is
 * passed across a call between separately compiled code: GCC's -Wpsabi note
 * about that ABI does not apply, and is silenced for the including file
 * (it would break -Werror builds on CPUs without AVX-512).
 */
#ifndef SNN_TRAIN_VEC16_H
#define SNN_TRAIN_VEC16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64)));

static inline v16f ld16(const float *p)
{
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st16(float *p, v16f v) { memcpy(p, &v, sizeof v); }

/* dst[j * dld + i] = src[i * sld + j] for i < rows, j < cols (both <= 16):
 * one block of a transpose between the channel-major layout of the layers
 * and pixel-major rows (layer-conv-spike.c, layer-conv-winograd.c). */
static inline void transpose16(const float *src, size_t sld, float *dst, size_t dld, uint32_t rows,
                               uint32_t cols)
{
#if defined(__AVX512F__)
    const __mmask16 cm = (__mmask16)((1u << cols) - 1), rm = (__mmask16)((1u << rows) - 1);
    __m512 r[16], t[16];
    for (uint32_t i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * sld) : _mm512_setzero_ps();
    for (uint32_t i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (uint32_t i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (uint32_t i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (uint32_t i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
    for (uint32_t j = 0; j < cols; j++) _mm512_mask_storeu_ps(dst + j * dld, rm, r[j]);
#else
    for (uint32_t j = 0; j < cols; j++)
        for (uint32_t i = 0; i < rows; i++) dst[j * dld + i] = src[i * sld + j];
#endif
}

#endif
