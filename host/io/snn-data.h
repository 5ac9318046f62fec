/*
 * snn-data.h - image data sets in the IDX format (MNIST, Fashion-MNIST and
 * any other set stored the same way, of any image size).
 *
 * A split is two files in one directory, tried in this order:
 *
 *     <dir>/<split>-images-idx3-ubyte.gz   then   <dir>/<split>-images-idx3-ubyte
 *     <dir>/<split>-labels-idx1-ubyte.gz   then   <dir>/<split>-labels-idx1-ubyte
 *
 * `.gz` files are inflated with zlib. Images are unsigned bytes, one channel,
 * stored CHW per image (so c = 1 and each image is h*w bytes). Labels are
 * unsigned bytes 0..SNN_DATA_MAX_CLASSES-1 (a larger one is refused, naming
 * the file and its index); n_classes is the largest label + 1.
 *
 * Files are read whole and validated before use: the header's dimensions
 * must account for every byte (no truncation, no trailing bytes) and the
 * payload may not exceed SNN_IDX_MAX_BYTES. Only regular files are read. A
 * plain file's size is compared with its header before the payload is read;
 * a `.gz` file is inflated as a stream and only up to the size its header
 * declares plus one byte, which is refused as trailing data (so a gzip bomb
 * costs no more memory than its header admits to). Concatenated gzip
 * members are accepted as gzip(1) does.
 *
 * Every problem a user can cause (missing file, wrong magic, truncated file,
 * count mismatch, corrupt gzip, absurd sizes) is an SNN_ERR_IO or
 * SNN_ERR_FORMAT whose snn_last_error() names the file and the problem.
 *
 *     snn_dataset train;
 *     if (snn_dataset_load(NULL, "train", 0, &train) != SNN_OK) {
 *         fprintf(stderr, "mpbn: %s\n", snn_last_error());
 *         return 1;
 *     }
 *     const uint8_t *img0 = train.pixels;              // c*h*w bytes
 *     uint8_t label0 = train.labels[0];
 *     snn_dataset_free(&train);
 */
#ifndef SNN_DATA_H
#define SNN_DATA_H

#include "snn-common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SNN_DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* Classes a data set may have (labels 0..63): what a deploy image holds
 * (SNN_MAX_CLASSES). */
#define SNN_DATA_MAX_CLASSES 64u

/* Largest IDX payload we accept (after inflation): guards against absurd
 * dimensions in a corrupt header turning into a huge allocation. */
#define SNN_IDX_MAX_BYTES ((uint64_t)4 << 30)

typedef struct snn_dataset {
    uint32_t n, c, h, w; /* c = 1 for idx3 files */
    uint8_t *pixels;     /* n*c*h*w, CHW per image */
    uint8_t *labels;     /* n */
    uint32_t n_classes;  /* max label + 1 */
    char labels_path[4096]; /* the label file (messages); "" if not from a file */
} snn_dataset;

/* Load split "train" or "t10k" from dir (NULL or "" = SNN_DATA_DEFAULT_DIR).
 * limit > 0 keeps only the first `limit` images. On failure *ds is zeroed. */
snn_status snn_dataset_load(const char *dir, const char *split, uint32_t limit, snn_dataset *ds);

/* Record the files of both splits under dir (as snn_dataset_load would find
 * them) as inputs of the running command (snn_io_note_input), so that no
 * output can replace them. snn_dataset_load does this for what it reads. */
void snn_dataset_note_inputs(const char *dir);

/* Every label of ds below n_classes? Otherwise SNN_ERR_FORMAT naming the
 * label file, the first bad label and its index, and `why` (the reason for
 * the bound, e.g. "the training labels have 10 classes"). */
snn_status snn_dataset_check_labels(const snn_dataset *ds, uint32_t n_classes, const char *why);

/* Release the buffers and zero *ds (safe on a zeroed or already freed set). */
void snn_dataset_free(snn_dataset *ds);

/* Read one IDX file of unsigned bytes (type 0x08), any rank 1..4, `.gz` or
 * plain (detected from the gzip magic, not the name). On success *data is a
 * fresh buffer of prod(dims[0..ndim-1]) bytes (caller frees); dims beyond
 * ndim are set to 1. */
snn_status snn_idx_read(const char *path, uint32_t *ndim, uint32_t dims[4], uint8_t **data);

/* Same on bytes already in memory (already inflated; no gzip). `name` is only
 * used in error messages (NULL = "<memory>"). Used by snn_idx_read and the
 * fuzz harness. */
snn_status snn_idx_parse(const uint8_t *buf, size_t size, const char *name, uint32_t *ndim,
                         uint32_t dims[4], uint8_t **data);

#ifdef __cplusplus
}
#endif
#endif
