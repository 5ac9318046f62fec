/*
 * snn-sim.h - the C face of the Verilator harness (sim/harness.cpp): a
 * cycle-accurate RTL kernel (the layer pipeline rtl/snn_kernel.sv, or
 * the harness's own test kernel tests/sim/snn_copy_kernel.sv) with an AXI
 * memory model on m_axi_gmem and an AXI-Lite master on s_axi_control, driven
 * the way XRT drives a card.
 *
 * The harness is built as one shared library per configuration of the
 * layer pipeline (build/sim/libsnn-sim-pipe-<config>.so, `make sim-pipe
 * PIPE_CONFIGS=<config>`) and is opened with
 * dlopen() by driver/dev-sim.c; the C++ that Verilator needs never leaves
 * sim/. Every entry point is reachable through one symbol, snn_sim_get_api(),
 * so a loader needs a single dlsym() and checks the ABI version once.
 *
 *     const snn_sim_api *api = snn_sim_get_api();      // or via dlsym
 *     snn_sim_cfg cfg = {0};                            // 0 = defaults
 *     cfg.backpressure = 20; cfg.seed = 7;
 *     char err[256];
 *     snn_sim_t *s = api->create(&cfg, err, sizeof err);
 *     if (!s) { fprintf(stderr, "%s\n", err); return; }
 *     uint64_t model, cycles;
 *     api->alloc(s, size, &model);                      // 4 KiB aligned
 *     api->mem_write(s, model, bytes, size);
 *     api->reg_write(s, SNN_REG_MODEL_LO, (uint32_t)model);
 *     ...
 *     if (api->run(s, 1000000, &cycles) != SNN_SIM_OK)  // ap_start .. ap_done
 *         fprintf(stderr, "%s\n", api->error(s));
 *     api->destroy(s);
 *
 * Nothing here prints or exits: every failure returns a status and leaves a
 * message readable with error(). After a protocol violation or a hang the
 * model is in an undefined state; destroy it.
 */
#ifndef SNN_SIM_H
#define SNN_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "snn-pipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever snn_sim_api or the structs below change layout.
 * 2: snn_sim_info.arch, .config, .pipe. */
#define SNN_SIM_ABI 3u

/* Defaults for the zero fields of snn_sim_cfg. */
#define SNN_SIM_DEFAULT_LATENCY 32u        /* read latency: AR handshake to first R beat */
#define SNN_SIM_DEFAULT_WRITE_LATENCY 8u   /* last W beat to B response */
#define SNN_SIM_DEFAULT_OUTSTANDING 16u    /* read (and write) bursts accepted at once */
#define SNN_SIM_DEFAULT_POLL 64u           /* cycles between ap_done polls */
#define SNN_SIM_DEFAULT_STALL (1ull << 26) /* cycles without an m_axi transfer = hang; one 1-lane image of the default net is ~17M cycles without traffic */
#define SNN_SIM_MAX_BACKPRESSURE 90u

/* Device addresses handed out by alloc(): 4 KiB aligned, above 4 GiB (so a
 * kernel that drops the upper address word fails loudly), with an unmapped
 * 4 KiB guard page after every allocation. */
#define SNN_SIM_MEM_BASE 0x400000000ull
#define SNN_SIM_PAGE 4096u

typedef struct snn_sim snn_sim_t;

typedef enum {
    SNN_SIM_OK = 0,
    SNN_SIM_ERR_ARG,      /* bad argument (address outside an allocation, bad cfg) */
    SNN_SIM_ERR_NOMEM,    /* host allocation failed */
    SNN_SIM_ERR_IO,       /* waveform file could not be opened */
    SNN_SIM_ERR_TIMEOUT,  /* ap_done did not rise within the cycle budget, or no
                             m_axi transfer for stall_limit cycles: a hang */
    SNN_SIM_ERR_PROTOCOL, /* the kernel broke the AXI protocol (4 KiB crossing,
                             address outside every allocation, wlast, unstable
                             valid/payload, ap_done with transfers in flight) */
    SNN_SIM_ERR_STATE,    /* call out of order (wait without start, start while busy) */
} snn_sim_status;

typedef struct snn_sim_cfg {
    uint32_t mem_latency;     /* cycles from AR handshake to the first R beat (0 = default) */
    uint32_t write_latency;   /* cycles from the last W beat to the B response (0 = default) */
    uint32_t backpressure;    /* percent of cycles (0..90) in which each of arready,
                                 rvalid, awready, wready, bvalid is withheld */
    uint32_t max_outstanding; /* read/write bursts the model accepts before it
                                 drops arready/awready (0 = default) */
    uint32_t poll_interval;   /* idle cycles between two ap_done polls (0 = default) */
    uint64_t stall_limit;     /* cycles without any m_axi transfer before a running
                                 kernel is declared hung (0 = default, UINT64_MAX = off) */
    uint64_t seed;            /* back-pressure pattern and Verilator's random
                                 initial register values */
    const char *waveform;     /* FST file to trace to, NULL = no tracing */
    const char *plusargs;     /* extra Verilator command-line args, space separated
                                 (e.g. "+verilator+rand+reset+0"), NULL = none */
} snn_sim_cfg;

/* Which kernel a library simulates (snn_sim_info.arch). */
#define SNN_SIM_ARCH_TEST 0u /* the harness's test kernel (lanes) */
#define SNN_SIM_ARCH_PIPE 1u /* rtl/snn_kernel.sv (config, pipe) */

/* What the library was built from. The layer pipeline's maxima are per stage
 * (pipe): a deploy image is checked with snn_pipe_fit (include/snn-pipe.h)
 * before start. */
typedef struct snn_sim_info {
    uint32_t abi;              /* SNN_SIM_ABI */
    uint32_t lanes;            /* the test kernel's LANES parameter; 0 for the pipeline */
    const char *kernel;        /* top module name */
    const char *verilator;     /* Verilator version the model was made with */
    int32_t can_trace;         /* built with --trace-fst */
    uint32_t data_bits;        /* m_axi_gmem data width */
    uint32_t arch;             /* SNN_SIM_ARCH_TEST or SNN_SIM_ARCH_PIPE */
    const char *config;        /* pipe: the configuration of mk/sim.mk (PIPE_PARAMS_<config>);
                                  NULL otherwise */
    snn_pipe_params pipe;      /* pipe: the kernel's parameters (stage maxima, engines);
                                  zero otherwise */
} snn_sim_info;

/* Counters since create(). */
typedef struct snn_sim_stats {
    uint64_t cycles;          /* every clock cycle simulated (reset, register access, runs) */
    uint64_t run_cycles;      /* cycles inside start..ap_done of finished runs */
    uint64_t runs;            /* finished runs */
    uint64_t rd_bursts, rd_beats;
    uint64_t wr_bursts, wr_beats;
    uint64_t rd_stall_cycles; /* cycles a valid R beat waited for rready */
    double seconds;           /* wall time spent clocking the model */
} snn_sim_stats;

typedef struct snn_sim_api {
    uint32_t abi;             /* SNN_SIM_ABI of the library */
    uint32_t size;            /* sizeof(snn_sim_api) of the library */
    void (*info)(snn_sim_info *out);

    /* Build the model, hold ap_rst_n low for 16 cycles, release it. On failure
     * returns NULL with the reason in err (if err_size > 0). */
    snn_sim_t *(*create)(const snn_sim_cfg *cfg, char *err, size_t err_size);
    void (*destroy)(snn_sim_t *sim);          /* closes the waveform */
    const char *(*error)(const snn_sim_t *sim); /* message of the last failure */

    /* Device memory of the AXI model (sparse: pages appear when written). */
    int (*alloc)(snn_sim_t *sim, uint64_t bytes, uint64_t *addr);
    int (*free)(snn_sim_t *sim, uint64_t addr);
    int (*mem_write)(snn_sim_t *sim, uint64_t addr, const void *src, uint64_t n);
    int (*mem_read)(snn_sim_t *sim, uint64_t addr, void *dst, uint64_t n);

    /* One AXI-Lite transaction on s_axi_control (clocks the model until the
     * response; fails after 1000 cycles without one). */
    int (*reg_write)(snn_sim_t *sim, uint32_t offset, uint32_t value);
    int (*reg_read)(snn_sim_t *sim, uint32_t offset, uint32_t *value);

    /* start: write ap_start (arguments are written before with reg_write).
     * wait: clock, polling ap_done every poll_interval cycles, until it reads 1
     * or `budget` cycles have passed since start (SNN_SIM_ERR_TIMEOUT with the
     * state of the kernel and of m_axi in the message). *cycles = cycles from
     * the ap_start write to the poll that saw ap_done. run = start + wait. */
    int (*start)(snn_sim_t *sim);
    int (*wait)(snn_sim_t *sim, uint64_t budget, uint64_t *cycles);
    int (*run)(snn_sim_t *sim, uint64_t budget, uint64_t *cycles);

    /* Clock n idle cycles (AXI-Lite quiet; the memory model keeps serving). */
    int (*step)(snn_sim_t *sim, uint64_t n);
    /* Current level of the interrupt output. */
    int (*irq)(const snn_sim_t *sim);
    void (*stats)(const snn_sim_t *sim, snn_sim_stats *out);
} snn_sim_api;

/* The one exported symbol a loader needs. */
const snn_sim_api *snn_sim_get_api(void);
typedef const snn_sim_api *(*snn_sim_get_api_fn)(void);
#define SNN_SIM_ENTRY "snn_sim_get_api"

#ifdef __cplusplus
}
#endif
#endif
