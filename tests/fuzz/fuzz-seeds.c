/*
 * fuzz-seeds.c - write the starting corpora for the fuzz harnesses:
 * small valid IDX files (plain and gzip, ranks 1..4) and safetensors files
 * (every dtype, metadata with escapes, empty). A fuzzer that starts from
 * valid files reaches the deep checks in seconds instead of hours.
 *
 *     fuzz-seeds OUTDIR     # writes OUTDIR/seed-idx/ and OUTDIR/seed-st/
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "io/safetensors.h"

static void put(const char *dir, const char *name, const void *data, size_t n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (snn_file_write_atomic(p, data, n, SNN_KIND_OTHER) != SNN_OK) {
        fprintf(stderr, "fuzz-seeds: %s\n", snn_last_error());
        exit(1);
    }
}

static void put_idx(const char *dir, const char *name, uint32_t rank, const uint32_t *dims)
{
    uint8_t buf[4096];
    size_t total = 1, n = 4 + 4 * rank;
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (uint8_t)rank;
    for (uint32_t i = 0; i < rank; i++) {
        for (int k = 0; k < 4; k++) buf[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
        total *= dims[i];
    }
    for (size_t i = 0; i < total; i++) buf[n + i] = (uint8_t)(i * 37);
    n += total;
    put(dir, name, buf, n);
    /* The same, gzip-compressed. */
    uint8_t z[8192];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = buf;
    zs.avail_in = (uInt)n;
    zs.next_out = z;
    zs.avail_out = sizeof z;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) exit(1);
    char gz[256];
    snprintf(gz, sizeof gz, "%s.gz", name);
    put(dir, gz, z, sizeof z - zs.avail_out);
    deflateEnd(&zs);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds OUTDIR\n");
        return 2;
    }
    char idx[1024], st[1024];
    snprintf(idx, sizeof idx, "%s/seed-idx", argv[1]);
    snprintf(st, sizeof st, "%s/seed-st", argv[1]);
    mkdir(argv[1], 0755);
    mkdir(idx, 0755);
    mkdir(st, 0755);

    const uint32_t d1[1] = {10}, d3[3] = {3, 5, 4}, d4[4] = {2, 3, 2, 2}, d0[1] = {0};
    put_idx(idx, "labels", 1, d1);
    put_idx(idx, "images", 3, d3);
    put_idx(idx, "rank4", 4, d4);
    put_idx(idx, "empty", 1, d0);

    float w[6] = {1, -2, 3.5f, 0, -0.0f, 1e-3f};
    int64_t i64[2] = {-1, 1};
    int32_t i32[3] = {7, 8, 9};
    uint8_t u8[3] = {1, 2, 3};
    int8_t i8[2] = {-1, 1};
    double f64 = 2.5;
    snn_st_tensor t[] = {
        {"layers.0.weight", SNN_ST_F32, 2, {2, 3}, w, sizeof w},
        {"steps", SNN_ST_I64, 1, {2}, i64, sizeof i64},
        {"mask", SNN_ST_U8, 1, {3}, u8, sizeof u8},
        {"idx", SNN_ST_I32, 1, {3}, i32, sizeof i32},
        {"s\xc3\xa9", SNN_ST_I8, 2, {1, 2}, i8, sizeof i8},
        {"pi", SNN_ST_F64, 0, {0}, &f64, sizeof f64},
        {"none", SNN_ST_F32, 2, {0, 4}, NULL, 0},
    };
    const char *k[] = {"format", "arch", "esc\"\\"},
               *v[] = {"mpbn-checkpoint", "c8,p,f16", "\n\t\x01\xc2\xb5"};
    char p[1024];
    snprintf(p, sizeof p, "%s/full.safetensors", st);
    if (snn_st_write(p, t, sizeof t / sizeof t[0], k, v, 3) != SNN_OK) return 1;
    snprintf(p, sizeof p, "%s/one.safetensors", st);
    if (snn_st_write(p, t, 1, NULL, NULL, 0) != SNN_OK) return 1;
    snprintf(p, sizeof p, "%s/empty.safetensors", st);
    if (snn_st_write(p, NULL, 0, k, v, 1) != SNN_OK) return 1;
    return 0;
}
