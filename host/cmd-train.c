/* cmd-train.c - `mpbn train`: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli.h"

int snn_cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mpbn train: not built yet\n");
    return 1;
}
