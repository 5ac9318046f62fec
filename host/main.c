/*
 * main.c - entry point of `mpbn`: dispatches to the subcommands of cli.h.
 *
 *   mpbn train   train an SNN with MPBN on the CPU -> .safetensors
 *   mpbn eval    accuracy of a checkpoint (float) or deploy image (any device)
 *   mpbn fold    fold BN/MPBN, quantize -> deploy image (.snn)
 *   mpbn info    summary of a deploy image
 *   mpbn compare run devices side by side, demand identical spikes
 *   mpbn bench   throughput, spikes, synaptic operations, energy per device
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"train", snn_cmd_train, "train an SNN with MPBN on the CPU, write a .safetensors checkpoint"},
    {"eval", snn_cmd_eval, "accuracy of a checkpoint (--device float) or deploy image (ref|csim|sim|xrt)"},
    {"fold", snn_cmd_fold, "fold BN and MPBN into weights and thresholds, quantize, write a deploy image"},
    {"info", snn_cmd_info, "print a summary of a deploy image (--json for machines)"},
    {"compare", snn_cmd_compare, "run devices on the same images and demand identical spikes"},
    {"bench", snn_cmd_bench, "throughput, spikes, synaptic operations and energy per device"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mpbn <command> [options]   (mpbn <command> --help for its options)\n\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mpbn: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
