/* cmd-info.c - `mpbn info`: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli.h"

int snn_cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mpbn info: not built yet\n");
    return 1;
}
