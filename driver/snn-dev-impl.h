/*
 * snn-dev-impl.h - what a backend implements. A backend is one file
 * driver/dev-<name>.c defining `const snn_dev_iface snn_dev_<name>` plus one
 * line in the registry of driver/dev.c.
 *
 * The interface mirrors XRT's buffer and run model so that every backend is
 * driven the same way as the card: allocate device buffers (bo), copy host
 * data into them (bo_write = write + sync to device), start the kernel with
 * buffer arguments, wait with a timeout, copy results back (bo_read = sync
 * from device + read). Host-memory backends (ref, csim) implement bo as
 * malloc'ed memory; sim places them in its AXI memory model; xrt uses xrtBO.
 */
#ifndef SNN_DEV_IMPL_H
#define SNN_DEV_IMPL_H

#include "deploy/snn-deploy.h"
#include "snn-dev.h"

typedef struct snn_bo snn_bo; /* defined by each backend */

/* Buffer sets of the run loop, at most: the card backend keeps two per
 * compute unit of every card it opened (snn_dev.inflight). */
#define SNN_DEV_MAX_INFLIGHT 512

/* Kernel arguments, in register-map order (docs/register-map.md). */
typedef struct snn_kernel_args {
    snn_bo *model;     /* deploy image */
    snn_bo *images;    /* n_images x in_c*in_h*in_w uint8 */
    snn_bo *results;   /* n_images x snn_result_stride() bytes */
    snn_bo *trace;     /* n_images x snn_trace_words() words, or NULL */
    uint32_t n_images;
} snn_kernel_args;

typedef struct snn_dev_iface {
    const char *name;
    const char *desc;
    snn_status (*open)(snn_dev_t *dev);  /* dev->opts is set; store state in dev->ctx */
    void (*close)(snn_dev_t *dev);
    snn_status (*bo_alloc)(snn_dev_t *dev, size_t bytes, snn_bo **bo);
    void (*bo_free)(snn_dev_t *dev, snn_bo *bo);
    snn_status (*bo_write)(snn_dev_t *dev, snn_bo *bo, size_t off, const void *src, size_t n);
    snn_status (*bo_read)(snn_dev_t *dev, snn_bo *bo, size_t off, void *dst, size_t n);
    /* Start one kernel run. May run to completion synchronously (ref, csim). */
    snn_status (*start)(snn_dev_t *dev, const snn_kernel_args *args);
    /* Wait for the started run; SNN_ERR_TIMEOUT if it does not finish in time.
     * *cycles = kernel cycles of the run where the backend counts them, else 0. */
    snn_status (*wait)(snn_dev_t *dev, uint32_t timeout_ms, uint64_t *cycles);
    /* Optional (may be NULL): mean board power in watts over the last run. */
    snn_status (*power)(snn_dev_t *dev, double *watts);
    /* Runs the backend accepts in flight (up to SNN_DEV_MAX_INFLIGHT). 0 or
     * 1: the run loop waits for batch k before it starts batch k+1 (copying
     * k+1 meanwhile). D >= 2: it keeps D runs started, each on its own buffer
     * set, so the kernel never idles while the host reads results and several
     * compute units run at once; wait() completes the oldest run (FIFO). */
    uint32_t max_inflight;
    /* Optional (may be NULL): the cards the device runs on (xrt), for
     * snn_dev_card_stats_get(). */
    int (*cards)(const snn_dev_t *dev, snn_dev_card_stats *out, int max);
} snn_dev_iface;

struct snn_dev {
    const snn_dev_iface *iface;
    snn_dev_opts opts;
    void *ctx;             /* backend state */
    uint32_t inflight;     /* set by open() if not 0: runs kept in flight, overriding
                              iface.max_inflight (xrt: two per compute unit) */
    uint8_t *image;        /* host copy of the loaded deploy image */
    snn_net net;           /* parsed view of `image` */
    int loaded;
    snn_bo *model_bo;
    snn_bo *img_bo[SNN_DEV_MAX_INFLIGHT], *res_bo[SNN_DEV_MAX_INFLIGHT],
        *trace_bo[SNN_DEV_MAX_INFLIGHT];
    int n_sets;            /* buffer sets allocated (2, or the runs kept in flight if more) */
    uint32_t next_set;     /* set of the first batch of the next snn_dev_run: calls of
                              one batch (compare's chunks) take the sets, and so the
                              compute units, in turn */
    uint32_t bo_images;    /* capacity of the image/result buffers, in images */
    int bo_trace;          /* trace buffers allocated */
    snn_dev_stats stats;
    double power_seconds;  /* run time covered by power() readings (stats.watts = joules / this) */
};

/* A backend's bo_write/bo_read: SNN_ERR_ARG, naming the backend and `what`
 * ("write", "read"), unless [off, off + n) lies inside a `size`-byte buffer. */
snn_status snn_bo_range_check(const snn_dev_t *dev, const char *what, size_t off, size_t n,
                              size_t size);

#endif
