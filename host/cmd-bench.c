/* cmd-bench.c - `mpbn bench`: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli.h"

int snn_cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mpbn bench: not built yet\n");
    return 1;
}
