/* cmd-fold.c - `mpbn fold`: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli.h"

int snn_cmd_fold(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mpbn fold: not built yet\n");
    return 1;
}
