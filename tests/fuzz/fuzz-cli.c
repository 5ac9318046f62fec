/*
 * fuzz-cli.c - libFuzzer harness for the option layer (host/cli/opts.c).
 *
 * The input, split at NUL bytes, is an argument list; it goes to the option
 * table of every subcommand in turn (argv[0] = the subcommand). With
 * snn_opts_parse_only set, a command parses its arguments against its own
 * table (rendering its help into memory on --help) and returns right after,
 * 0 or 2: no file is read or written, no device opened. Each argument also
 * goes through the number parsers, whose results must lie in the range and
 * read back the same.
 *
 *     make fuzz-cli        # or: build/fuzz/fuzz-cli build/fuzz/corpus-cli
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"

#define MAX_ARGS 64

static const struct {
    const char *name;
    int (*fn)(int, char **);
} cmds[] = {
    {"train", snn_cmd_train}, {"eval", snn_cmd_eval},       {"fold", snn_cmd_fold},
    {"info", snn_cmd_info},   {"compare", snn_cmd_compare}, {"bench", snn_cmd_bench},
    {"landscape", snn_cmd_landscape},
};

static void check_numbers(const char *s)
{
    uint64_t v = 0;
    if (snn_parse_u64(s, 3, 1000, &v) == SNN_OK) {
        if (v < 3 || v > 1000) abort();
        /* decimal input reads back as itself */
        char back[32];
        snprintf(back, sizeof back, "%" PRIu64, v);
        if (s[0] != '0' && strcmp(back, s) != 0) abort();
    }
    uint32_t w = 0;
    if (snn_parse_u32(s, 0, UINT32_MAX, &w) == SNN_OK && snn_parse_u64(s, 0, UINT32_MAX, &v) == SNN_OK &&
        v != w)
        abort();
    double d = 0;
    if (snn_parse_double(s, -1, 1, &d) == SNN_OK && !(d >= -1 && d <= 1)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[MAX_ARGS + 2];
    int argc = 1;
    for (size_t i = 0; i <= size && argc <= MAX_ARGS; i++) {
        argv[argc++] = buf + i;
        i += strlen(buf + i);
    }
    argv[argc] = NULL;
    for (int i = 1; i < argc; i++) check_numbers(argv[i]);

    snn_opts_parse_only = 1;
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        /* a command may keep pointers into argv; a fresh copy per command */
        char *args[MAX_ARGS + 2];
        memcpy(args, argv, sizeof args);
        args[0] = (char *)cmds[c].name;
        int rc = cmds[c].fn(argc, args);
        if (rc != 0 && rc != 2) abort();
    }
    snn_opts_parse_only = 0;
    free(buf);
    return 0;
}
