/*
 * main.c - entry point of `mpbn`: dispatches to the subcommands of cli.h.
 *
 *   mpbn train   train an SNN with MPBN on the CPU -> .safetensors
 *   mpbn eval    accuracy of a checkpoint (float) or deploy image (any device)
 *   mpbn fold    fold BN/MPBN, quantize -> deploy image (.snn)
 *   mpbn info    summary of a deploy image or a checkpoint
 *   mpbn compare run devices side by side, demand identical spikes
 *   mpbn bench   throughput, spikes, synaptic operations, energy per device
 *   mpbn landscape  1-D loss landscape of checkpoints (filter-normalised direction)
 *   mpbn help CMD   the same as mpbn CMD --help
 *   mpbn version    (or --version) the version and the deploy image format
 *
 * The options of each subcommand are a table in its file (host/cli/opts.h),
 * from which its help is generated.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "opts.h"
#include "snn-deploy-format.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"train", snn_cmd_train, "train an SNN with MPBN on the CPU, write a .safetensors checkpoint"},
    {"eval", snn_cmd_eval, "accuracy of a checkpoint (--device float) or deploy image (ref|csim|sim|xrt)"},
    {"fold", snn_cmd_fold, "fold BN and MPBN into weights and thresholds, quantize, write a deploy image"},
    {"info", snn_cmd_info, "summary of a deploy image or a checkpoint (--json for machines)"},
    {"compare", snn_cmd_compare, "run devices on the same images and demand identical spikes"},
    {"bench", snn_cmd_bench, "throughput, spikes, synaptic operations and energy per device"},
    {"landscape", snn_cmd_landscape, "1-D loss landscape of checkpoints along a filter-normalised "
                                     "random direction (CSV, plot)"},
};

/* Every variable mpbn reads (host/, driver/), one line each. */
static const struct {
    const char *name, *help;
} envs[] = {
    {"MPBN_PROGRESS", "0: no progress lines; 1: plain lines even on a terminal (default: redrawn "
                      "in place on a terminal, plain every ~10 s otherwise)"},
    {"MPBN_BLAS_REEXEC", "0: train and eval do not re-run themselves with "
                         "OPENBLAS_CORETYPE=SkylakeX on an AVX-512 CPU"},
    {"OPENBLAS_CORETYPE", "OpenBLAS kernel choice; when set, mpbn leaves it alone"},
    {"MPBN_SPIKE_CONV", "train/eval --device float: convolutions of spikes 0: always dense GEMM, "
                        "2: always event-driven (default: event-driven up to a spike rate where it is faster; "
                        "docs/trainer.md)"},
    {"MPBN_DENSE_CONV", "train/eval --device float: dense convolutions and input gradients winograd: "
                        "F(2x2, 3x3), direct: on a padded map, gemm: im2col + GEMM (default: winograd where "
                        "built with AVX-512, gemm otherwise)"},
    {"MPBN_REF_THREADS", "threads of the ref device (default: all cores)"},
    {"MPBN_LONG_RUN_SECONDS", "eval, bench, compare, fold --check, landscape: runs longer than this "
                              "many seconds are announced with a warning (default 180)"},
    {"MPBN_CSIM_FAULT", "I,L,S,N: csim flips the spike of image I, layer L, step S, neuron N "
                        "(tests of compare)"},
    {"MPBN_SIM_DIR", "first directory searched for libsnn-sim-L<N>.so (then <dir of mpbn>/sim)"},
    {"MPBN_SIM_WAVEFORM", "sim: FST waveform file when --waveform is not given"},
    {"MPBN_SIM_ARGS", "sim: Verilator +plusargs"},
    {"MPBN_SIM_CYCLE_BUDGET", "sim: cycles one kernel run may take (default: --timeout-ms at "
                              "100 MHz)"},
    {"XILINX_XRT", "xrt: the XRT install prefix; its lib/ holds XRT's driver library"},
    {"XCL_EMULATION_MODE", "xrt: sw_emu or hw_emu to run an emulation xclbin"},
    {"EMCONFIG_PATH", "xrt: directory of emconfig.json for emulation (default: the directory of "
                      "mpbn)"},
    {"MPBN_XRT_POWER_NODE", "xrt: file holding the board power in microwatts (default: found "
                            "in sysfs); with --cards, one file per card, comma-separated"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mpbn <command> [options]   (mpbn help <command> lists its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
    fprintf(f, "  %-8s %s\n", "help", "mpbn help CMD: the options of CMD (the same as mpbn CMD --help)");
    fprintf(f, "  %-8s %s\n", "version", "the version of mpbn and of the deploy image format "
                                         "(also --version)");
    fprintf(f, "\nenvironment:\n");
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++)
    {
        fprintf(f, "  %-22s ", envs[i].name);
        snn_opts_wrap(f, envs[i].help, 25, 25);
    }
}

static int version(void)
{
    printf("mpbn %s (deploy image format %u.%u)\n", SNN_VERSION, SNN_DEPLOY_VERSION_MAJOR,
           SNN_DEPLOY_VERSION_MINOR);
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%u.%u", SNN_DEPLOY_VERSION_MAJOR, SNN_DEPLOY_VERSION_MINOR);
    snn_json *j = snn_json_new();
    snn_json_str(j, "version", SNN_VERSION);
    snn_json_str(j, "deploy_image_format", fmt);
    return snn_json_print(j);
}

static int run(const char *name, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(name, cmds[i].name)) return cmds[i].fn(argc, argv);
    fprintf(stderr, "mpbn: unknown command '%s'\n", name);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        if (argc > 2) {
            fprintf(stderr, "mpbn version: unexpected argument '%s'\n", argv[2]);
            return 2;
        }
        return version();
    }
    if (!strcmp(argv[1], "help")) {
        if (argc > 3) {
            fprintf(stderr, "mpbn help: one command at a time (got '%s' and '%s')\n", argv[2],
                    argv[3]);
            return 2;
        }
        if (!strcmp(argv[2], "help") || !strcmp(argv[2], "version")) {
            usage(stdout);
            return 0;
        }
        char *help_argv[] = {argv[2], "--help", NULL};
        return run(argv[2], 2, help_argv);
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mpbn: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
