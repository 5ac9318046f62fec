/*
 * xrt-internal.h - what the files of the `xrt` backend share; not a contract,
 * included by nothing else:
 *
 *     driver/dev-xrt.c        the backend (open, buffers, runs, power())
 *     driver/xrt-preflight.c  checks before XRT is touched (the xclbin, the
 *                             XRT installation), loading XRT, the cards bound
 *                             to xocl
 *     driver/board-power.c    the card's power sensor, sampled from sysfs
 *
 * board-power.c needs nothing of XRT; the rest exists only when the XRT
 * headers (libxrt-dev) were found at build time (SNN_HAVE_XRT_HEADERS;
 * mk/driver.mk adds their directory for dev-xrt.c and xrt-preflight.c).
 */
#ifndef SNN_XRT_INTERNAL_H
#define SNN_XRT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "snn-dev-impl.h"

/* ---- board power (board-power.c) ------------------------------------------ */

typedef struct power_sampler {
    char node[512]; /* sysfs file, microwatts; or empty when rails are summed */
    char rails[3][2]
              [512]; /* {voltage mV, current mA} files of the 12V PEX, 12V AUX, 3V3 PEX rails */
    int n_rails;
    pthread_t thread;
    pthread_mutex_t lock;
    int running;
    int stop;
    double sum_w; /* since the last power() */
    uint64_t n;
    double last_w;
} power_sampler;

/* Find the power sensor of the card at PCIe address `bdf`, the pos-th card
 * of the device (or the pos-th file of the comma-separated list in
 * MPBN_XRT_POWER_NODE) and sample it every 10 ms in a thread; p->running
 * says whether it started. p must be zeroed before the first start. */
void board_power_start(power_sampler *p, const char *bdf, int pos);
/* Stop the thread (no-op when it is not running). */
void board_power_stop(power_sampler *p);
/* Mean power in watts since the previous call (the last reading when no new
 * sample came in), and restart the mean. Only while p->running. */
double board_power_mean(power_sampler *p);

#if defined(__has_include)
#if __has_include(<xrt/xrt_kernel.h>) && __has_include(<xrt/xrt_bo.h>) &&                       \
    __has_include(<xrt/xrt_device.h>) && __has_include(<xclbin.h>)
#define SNN_HAVE_XRT_HEADERS 1
#endif
#endif

#ifdef SNN_HAVE_XRT_HEADERS
#include <xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

/* Entry points, typed by the XRT headers themselves. */
#define XRT_FUNCS(X)                                                                               \
    X(xrtDeviceOpen)                                                                               \
    X(xrtDeviceClose)                                                                              \
    X(xrtDeviceLoadXclbinFile)                                                                     \
    X(xrtDeviceGetXclbinUUID)                                                                      \
    X(xrtPLKernelOpen)                                                                             \
    X(xrtKernelClose)                                                                              \
    X(xrtKernelArgGroupId)                                                                         \
    X(xrtKernelArgOffset)                                                                          \
    X(xrtRunOpen)                                                                                  \
    X(xrtRunSetArg)                                                                                \
    X(xrtRunStart)                                                                                 \
    X(xrtRunWaitFor)                                                                               \
    X(xrtRunClose)                                                                                 \
    X(xrtBOAlloc)                                                                                  \
    X(xrtBOFree)                                                                                   \
    X(xrtBOWrite)                                                                                  \
    X(xrtBORead)                                                                                   \
    X(xrtBOSync)

typedef struct xrt_api {
    void *lib;
    char path[1024];
#define X(f) __typeof__(f) *f;
    XRT_FUNCS(X)
#undef X
    /* Raw argument setter, exported with C++ linkage by XRT >= 2.9; used to
     * pass trace address 0 (= trace off), which xrtRunSetArg cannot express. */
    int (*set_arg_raw)(xrtRunHandle, int, const void *, size_t);
} xrt_api;

#define MAX_CU 16

/* What the xclbin's header and IP_LAYOUT say, read before XRT sees it. */
typedef struct xrt_xclbin_info {
    char cu_names[MAX_CU][64]; /* compute units of snn_kernel in the xclbin's IP_LAYOUT */
    int n_cu_names;
    char platform[65];
} xrt_xclbin_info;

/* ---- xrt-preflight.c ------------------------------------------------------- */

/* The xclbin must exist, be an axlf container ("xclbin2"), be complete, and
 * be built for the mode XRT will run in (card or emulation); fills *info. */
snn_status xrt_check_xclbin(const char *path, xrt_xclbin_info *info);
/* XILINX_XRT, its lib/ and XRT's shim library (and emconfig.json in
 * emulation) exist; libdir gets $XILINX_XRT/lib. */
snn_status xrt_check_env(char *libdir, size_t n);
/* dlopen XRT (from libdir first) and resolve every entry point. */
snn_status xrt_load_api(xrt_api *api, const char *libdir);
/* Number of PCIe functions bound to xocl; bdf gets the address of the
 * index-th (empty if absent). */
int xrt_xocl_devices(int index, char *bdf, size_t n);

#endif /* SNN_HAVE_XRT_HEADERS */
#endif /* SNN_XRT_INTERNAL_H */
