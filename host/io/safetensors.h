/*
 * safetensors.h - read and write checkpoints in the safetensors format (the
 * format PyTorch users open with safetensors.torch.load_file()). The layout
 * and the tensor names mpbn uses are in docs/checkpoint.md:
 *
 *     u64 LE   N = length of the JSON header
 *     N bytes  {"__metadata__": {str: str}, "<name>": {"dtype": "F32",
 *               "shape": [...], "data_offsets": [begin, end]}, ...}
 *              padded with spaces to a multiple of 8 bytes
 *     ...      tensor bytes, little-endian, row-major
 *
 * Reading is strict: a truncated or corrupt file is an SNN_ERR_FORMAT naming
 * the file and the problem, never a crash or an out-of-bounds read. A parsed
 * file owns a copy of the bytes; tensors point into it (little-endian, which
 * is the host order on every machine mpbn runs on) and live until
 * snn_st_free(). Tensor data is always aligned to its element size, so
 * `(const float *)t->data` is safe even for files that place a tensor at an
 * odd offset (those few tensors are copied out). snn_st_at() keeps the
 * header's order, which for files written here is the order given to
 * snn_st_write().
 *
 * The writer refuses (SNN_ERR_ARG) what the reader would refuse: duplicate
 * names, nbytes != prod(shape) * element size, invalid UTF-8, more than
 * SNN_ST_MAX_DIMS dimensions, a tensor named "__metadata__".
 *
 *     int64_t shape[2] = {10, 128};
 *     snn_st_tensor t = {"layers.6.weight", SNN_ST_F32, 2, {10, 128}, w, sizeof(float) * 1280};
 *     const char *k[] = {"format"}, *v[] = {"mpbn-checkpoint"};
 *     snn_st_write("net.safetensors", &t, 1, k, v, 1);
 *
 *     snn_st_file *f;
 *     const snn_st_tensor *w6;
 *     if (snn_st_read("net.safetensors", &f) != SNN_OK ||
 *         snn_st_get(f, "layers.6.weight", SNN_ST_F32, 2, shape, &w6) != SNN_OK)
 *         ... snn_last_error() ...
 *     const float *wp = w6->data;
 *     snn_st_free(f);
 */
#ifndef SNN_SAFETENSORS_H
#define SNN_SAFETENSORS_H

#include "snn-common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SNN_ST_F32 = 0,
    SNN_ST_I32,
    SNN_ST_I64,
    SNN_ST_U8,
    SNN_ST_I8,
    SNN_ST_F64
} snn_st_dtype;

#define SNN_ST_MAX_DIMS 8

/* Header size bound: real checkpoints have a few KiB of header; a larger
 * value in a file means corruption, not a big model. */
#define SNN_ST_MAX_HEADER ((uint64_t)100 << 20)

/* Largest checkpoint file read or written: 4 GiB (about 500 million float32
 * parameters with their momentum buffers). snn_st_read() refuses a larger
 * file from its size, before reading it. */
#define SNN_ST_MAX_BYTES ((uint64_t)4 << 30)

typedef struct snn_st_tensor {
    const char *name;
    snn_st_dtype dtype;
    uint32_t ndim;
    int64_t shape[SNN_ST_MAX_DIMS];
    const void *data; /* for reading: points into the file buffer; little-endian */
    size_t nbytes;
} snn_st_tensor;

typedef struct snn_st_file snn_st_file; /* opaque */

/* Bytes per element of a dtype, and its safetensors name ("F32", ...). */
size_t snn_st_dtype_size(snn_st_dtype dtype);
const char *snn_st_dtype_name(snn_st_dtype dtype);

/* Write tensors (in the order given) and string metadata
 * (meta_keys[i] -> meta_vals[i]) atomically. Checks that every nbytes equals
 * prod(shape) * dtype size and that names are unique. */
snn_status snn_st_write(const char *path, const snn_st_tensor *t, size_t n_tensors,
                        const char *const *meta_keys, const char *const *meta_vals, size_t n_meta);

snn_status snn_st_read(const char *path, snn_st_file **out);
/* Whether s is valid UTF-8 (RFC 3629), as every name and metadata string of
 * a file must be (snn_st_write refuses others). */
int snn_st_utf8_valid(const char *s);
snn_status snn_st_parse(const uint8_t *buf, size_t size, snn_st_file **out); /* copies buf */

size_t snn_st_count(const snn_st_file *f);
const snn_st_tensor *snn_st_at(const snn_st_file *f, size_t i); /* file order; NULL if i >= count */
const snn_st_tensor *snn_st_find(const snn_st_file *f, const char *name); /* NULL if absent */

/* find + check dtype and exact shape; on mismatch snn_fail(SNN_ERR_FORMAT)
 * naming the tensor, the expected and the actual dtype/shape. */
snn_status snn_st_get(const snn_st_file *f, const char *name, snn_st_dtype dtype, uint32_t ndim,
                      const int64_t *shape, const snn_st_tensor **out);

const char *snn_st_meta(const snn_st_file *f, const char *key); /* NULL if absent */
size_t snn_st_meta_count(const snn_st_file *f);
/* The path it was read from ("<memory>" for snn_st_parse), for messages. */
const char *snn_st_name(const snn_st_file *f);
/* i-th metadata entry (file order); returns 0 if i is out of range. */
int snn_st_meta_at(const snn_st_file *f, size_t i, const char **key, const char **val);

void snn_st_free(snn_st_file *f); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
