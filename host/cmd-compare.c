/* cmd-compare.c - `mpbn compare`: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli.h"

int snn_cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mpbn compare: not built yet\n");
    return 1;
}
