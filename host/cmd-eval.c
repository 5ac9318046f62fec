/* cmd-eval.c - `mpbn eval`: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli.h"

int snn_cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mpbn eval: not built yet\n");
    return 1;
}
